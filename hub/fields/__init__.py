"""The field types every input goes through, in one package: one-line and multi-line text (a
person's name among them), email addresses, money, ISO dates and times, whole numbers, flags,
choices and lists.

Each is a pydantic `Annotated` type — `Annotated[str, OneLine(160)]`, `Email`, `Annotated[Decimal,
Amount()]` — so a rule written here holds in the three places input arrives:

- API bodies and query strings: the request models (`hub.contracts`) are built from these types;
- forms: `Conforms(type)` is a WTForms validator running the same type, so a form and the API can
  never disagree;
- CSV importers: `read_row(model, row)` reads a row into the same model, column by column.

Rules (issue 12 items 1, 3, 5; issue 13 item 1): text is trimmed (whitespace and invisible
characters at both ends), refused when it holds a control character (newline and tab only in
multi-line text, where CRLF becomes LF) or an unpaired surrogate, and limited in length; one-line
text (names, titles) must keep a visible character once invisible and direction-override
characters are set aside. A blank text, date, amount or choice is "not given" (None where the
field is optional, "This field is required." where it is not), while a blank number is an error;
whole numbers never come from floats or booleans and are within PostgreSQL's `integer`; amounts
and points typed as text take commas only as real thousands groups ("12,500.50", never
"12500,50"); amounts are non-negative with at most two decimals (what `Numeric(18, 2)` holds);
dates and times are ISO 8601 within 1900-01-01 … 2999-12-31 (room for date arithmetic), times in
UTC; an email's domain is kept IDNA-encoded. Error messages are written for people ("At most 160
characters.").
"""

from __future__ import annotations

from hub.fields.base import (
    MAX_DATE,
    MAX_EMAIL,
    MAX_INT,
    MAX_MONEY,
    MIN_DATE,
    REQUIRED,
    FieldType,
    Model,
    field_errors,
    first_message,
    invalid,
)
from hub.fields.choices import Flag, ListOf, OneOf
from hub.fields.dates import DATE_RANGE, IsoDate, IsoDateTime, TimeZoneName, iso, parse_datetime, time_zone_names
from hub.fields.named import ROW_ID, Currency, Date, DateTime, Email, Money, PersonName, RowId, Timestamp
from hub.fields.numbers import Amount, CurrencyCode, WholeNumber, currencies, ungroup
from hub.fields.reading import Conforms, currency_choices, read, read_row, read_value
from hub.fields.text import EmailAddress, MultiLine, NameOrId, OneLine, is_visible

__all__ = [
    "DATE_RANGE",
    "MAX_DATE",
    "MAX_EMAIL",
    "MAX_INT",
    "MAX_MONEY",
    "MIN_DATE",
    "REQUIRED",
    "ROW_ID",
    "Amount",
    "Conforms",
    "Currency",
    "CurrencyCode",
    "Date",
    "DateTime",
    "Email",
    "EmailAddress",
    "FieldType",
    "Flag",
    "IsoDate",
    "IsoDateTime",
    "ListOf",
    "Model",
    "Money",
    "MultiLine",
    "NameOrId",
    "OneLine",
    "OneOf",
    "PersonName",
    "RowId",
    "TimeZoneName",
    "Timestamp",
    "WholeNumber",
    "currencies",
    "currency_choices",
    "field_errors",
    "first_message",
    "invalid",
    "is_visible",
    "iso",
    "parse_datetime",
    "read",
    "read_row",
    "read_value",
    "time_zone_names",
    "ungroup",
]
