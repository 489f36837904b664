"""The field types every input goes through, in one place: one-line and multi-line text (a
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

import datetime as dt
import math
import re
import types
import unicodedata
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from enum import Enum
from functools import cached_property
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, GetCoreSchemaHandler, GetJsonSchemaHandler, TypeAdapter, ValidationError
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema
from wtforms.validators import StopValidation

from hub.errors import ValidationFailed

MAX_INT = 2**31 - 1  # PostgreSQL `integer`


MAX_MONEY = Decimal("9999999999999999.99")  # what Numeric(18, 2) holds


MAX_EMAIL = 254  # RFC 5321's path limit less the angle brackets


# Dates Vouch stores and computes with: far enough either side for any real program, and far
# enough from year 1 and 9999 that adding a period or a zone offset never overflows.
MIN_DATE = dt.date(1900, 1, 1)
MAX_DATE = dt.date(2999, 12, 31)


REQUIRED = "This field is required."


Model = TypeVar("Model", bound=BaseModel)


def invalid(message: str) -> PydanticCustomError:
    """The error a field type raises; the message is shown as written (braces included)."""
    return PydanticCustomError("invalid", "{message}", {"message": message})


def _allows_none(source: Any) -> bool:
    return get_origin(source) in (Union, types.UnionType) and type(None) in get_args(source)


def _is_blank(value: Any) -> bool:
    return isinstance(value, str) and not value.strip()


class FieldType:
    """A field type's rule, used as `Annotated[T, Rule(...)]` (or `Annotated[T | None, ...]` for
    an optional field, where None and blanks become None).

    Subclasses implement `check` (a given, non-blank value → the clean value, or raise
    `invalid(...)`), `schema` (its JSON Schema) and, when the clean value is not JSON as it is,
    `dump` (the clean value → its JSON form)."""

    blank_is_missing = True  # "" and whitespace count as not given (numbers say False)
    missing_message = REQUIRED
    empty: Any = None  # what a field that cannot be null holds when not given (lists: none)

    def check(self, value: Any) -> Any:
        raise NotImplementedError

    def schema(self) -> dict[str, Any]:
        raise NotImplementedError

    def dump(self, value: Any) -> Any:
        return value

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        nullable = _allows_none(source)

        def validate(value: Any) -> Any:
            if value is None or (self.blank_is_missing and _is_blank(value)):
                if nullable:
                    return None
                if self.empty is not None:
                    return self.empty
                raise invalid(self.missing_message)
            return self.check(value)

        return core_schema.no_info_plain_validator_function(
            validate,
            serialization=core_schema.plain_serializer_function_ser_schema(self.dump, when_used="json-unless-none"),
            metadata={"vouch_nullable": nullable},
        )

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        own = self.schema()
        if (schema.get("metadata") or {}).get("vouch_nullable"):
            return {"anyOf": [own, {"type": "null"}]}
        return own


_LINE_BREAKS = "\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"

# Letters that render as blank space (Hangul fillers, the braille blank, Khmer inherent vowels):
# Unicode counts them as letters or symbols, readers see nothing.
_BLANK_LOOKING = frozenset("\u115f\u1160\u3164\uffa0\u2800\u17b4\u17b5")


def is_visible(char: str) -> bool:
    """Whether `char` shows as something: a letter, digit, punctuation or symbol (not a format,
    direction-override, combining, space or control character, nor a blank-looking letter)."""
    return unicodedata.category(char)[0] in "LNPS" and char not in _BLANK_LOOKING


def _trim(text: str) -> str:
    """`text` without whitespace and invisible characters (zero-width spaces, BOMs, direction
    marks) at either end."""
    start, end = 0, len(text)
    while start < end and (text[start].isspace() or unicodedata.category(text[start]) in ("Cf", "Zs")):
        start += 1
    while end > start and (text[end - 1].isspace() or unicodedata.category(text[end - 1]) in ("Cf", "Zs")):
        end -= 1
    return text[start:end]


def _text(value: Any, *, multiline: bool = False) -> str:
    """A string checked for what no field may hold: NUL and other control characters (newline
    and tab only when `multiline`; CRLF and CR become LF there) and unpaired surrogates."""
    if not isinstance(value, str):
        raise invalid("Must be text.")
    if "\x00" in value:
        raise invalid("Text may not contain NUL characters.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise invalid("Text may not contain unpaired surrogates.") from None
    if multiline:
        value = value.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n")
    for char in value:
        if multiline and char in "\n\t":
            continue
        if char in _LINE_BREAKS:
            raise invalid("Must be on one line.")
        if unicodedata.category(char) == "Cc":
            raise invalid(f"Text may not contain control characters (U+{ord(char):04X}).")
    return value


class OneLine(FieldType):
    """Text on one line (a title, a company, a name), stripped, of `min_length` to `max_length`
    characters. `missing` words the error for a blank (e.g. "Say why." for a reason)."""

    def __init__(self, max_length: int, *, min_length: int = 1, missing: str = REQUIRED) -> None:
        self.max_length = max_length
        self.min_length = min_length
        self.missing_message = missing

    def check(self, value: Any) -> str:
        text = self._within_limits(_trim(_text(value)))
        if not any(is_visible(char) for char in text):
            raise invalid("Must contain visible characters.")
        return text

    def _within_limits(self, text: str) -> str:
        if self.min_length > 1 and not self.min_length <= len(text) <= self.max_length:
            raise invalid(f"Field must be between {self.min_length:,} and {self.max_length:,} characters.")
        if len(text) > self.max_length:
            raise invalid(f"At most {self.max_length:,} characters.")
        return text

    # What openapi.json states of the text rules (a JSON Schema regex, ECMA and Python alike).
    PATTERN = r"^[^\u0000-\u001f\u007f-\u009f\u2028\u2029]*$"
    RULE = "One line of text: no control characters or line breaks, and at least one visible character."

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "string", "maxLength": self.max_length, "pattern": self.PATTERN}
        if self.min_length > 1:
            schema["minLength"] = self.min_length
        return schema | {"description": self.RULE}


class MultiLine(OneLine):
    """Text of several lines (Markdown, notes, evidence): stripped at both ends unless
    `strip=False` (where leading spaces carry meaning, e.g. Markdown's indented code)."""

    PATTERN = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$"
    RULE = "Text: no control characters but newlines and tabs, and at least one visible character."

    def __init__(self, max_length: int, *, min_length: int = 1, strip: bool = True, missing: str = REQUIRED) -> None:
        super().__init__(max_length, min_length=min_length, missing=missing)
        self.strip = strip

    def check(self, value: Any) -> str:
        text = _text(value, multiline=True)
        counted = self._within_limits(_trim(text))
        if not any(is_visible(char) for char in counted):
            raise invalid("Must contain visible characters.")
        return counted if self.strip else text


class NameOrId(OneLine):
    """A row named by its name or its id (`?group=EMEA` or `?group=7`): one-line text, where a
    text of digits is an id and so within PostgreSQL's `integer`."""

    def check(self, value: Any) -> str:
        text = super().check(value)
        if text.isascii() and text.isdigit() and int(text) > MAX_INT:
            raise invalid(f"An id is at most {MAX_INT:,}; or give the name.")
        return text

    def schema(self) -> dict[str, Any]:
        return super().schema() | {"description": f"A name, or an id from 1 to {MAX_INT}. {self.RULE}"}


class EmailAddress(FieldType):
    """A syntactically valid email address (no DNS lookups), normalized and lower-cased, its
    domain IDNA-encoded (`ana@bücher.example` → `ana@xn--bcher-kva.example`: the form SMTP sends
    and one spelling per address). A non-ASCII local part is kept; sending it needs a server
    offering SMTPUTF8 (hub.email.sending)."""

    def check(self, value: Any) -> str:
        text = _trim(_text(value))
        if len(text) > MAX_EMAIL:
            raise invalid(f"At most {MAX_EMAIL} characters.")
        try:
            checked = validate_email(text, check_deliverability=False)
        except EmailNotValidError as exc:
            raise invalid(str(exc)) from None
        address = f"{checked.local_part}@{checked.ascii_domain}".lower()
        if len(address) > MAX_EMAIL:
            raise invalid(f"At most {MAX_EMAIL} characters.")
        return address

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "format": "email", "maxLength": MAX_EMAIL}


_DIGITS = re.compile(r"[0-9]+")
_GROUPED = re.compile(r"[0-9]{1,3}(,[0-9]{3})+")


def ungroup(text: str) -> str | None:
    """The digits of a whole number typed as text — plain ("12500") or in real thousands groups
    ("12,500", "1,234,567") — or None. "1,5", "12500,50" and "1,2,3,4" are None: a comma that is
    not a thousands separator is most likely a decimal comma, and guessing would store a value a
    hundred times off (issue 12 item 5)."""
    if _DIGITS.fullmatch(text):
        return text
    if _GROUPED.fullmatch(text):
        return text.replace(",", "")
    return None


def _decimal_text(text: str) -> str | None:
    whole, dot, cents = text.strip().partition(".")
    sign = "-" if whole.startswith("-") else ""
    digits = ungroup(whole.removeprefix("-"))
    if digits is None or (dot and not _DIGITS.fullmatch(cents)):
        return None
    return f"{sign}{digits}{dot}{cents}"


class Amount(FieldType):
    """An amount of money: a decimal string ("12500.00", "12,500.50" — a comma only between real
    thousands groups; "12500,50" is refused, not read as 1,250,050) or a JSON number, from 0 to
    what Numeric(18, 2) holds, with at most two decimals. The API writes amounts as strings with
    two decimals."""

    PATTERN = r"^([0-9]{1,16}|[0-9]{1,3}(,[0-9]{3}){1,5})(\.[0-9]{1,2})?$"

    def check(self, value: Any) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
            raise invalid('A decimal amount such as "12500.00".')
        text = _decimal_text(value) if isinstance(value, str) else str(value)
        if (
            text is None
            and isinstance(value, str)
            and value.strip().lower().lstrip("+-") in ("nan", "snan", "inf", "infinity")
        ):
            raise invalid("Must be a finite amount.")
        if text is None:
            if isinstance(value, str) and "," in value:
                raise invalid('Use a point for decimals and commas only between thousands: "12,500.50" or "12500.50".')
            raise invalid('A decimal amount such as "12500.00".')
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise invalid('A decimal amount such as "12500.00".') from None
        if not amount.is_finite():
            raise invalid("Must be a finite amount.")
        if amount < 0 or amount > MAX_MONEY:
            raise invalid(f"Must be between 0 and {MAX_MONEY:,}.")
        if amount != amount.quantize(Decimal("0.01")):
            raise invalid("At most 2 decimal places.")
        return amount.quantize(Decimal("0.01"))

    def dump(self, value: Decimal) -> str:
        return f"{value:.2f}"

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "pattern": self.PATTERN, "description": "A decimal amount such as 12500.00"}


class CurrencyCode(FieldType):
    """A three-letter ISO 4217 currency code, upper-cased ("usd" → "USD")."""

    def check(self, value: Any) -> str:
        code = _text(value).strip().upper()
        if not re.fullmatch(r"[A-Z]{3}", code):
            raise invalid("A three-letter ISO 4217 code such as USD.")
        return code

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "pattern": "^[A-Z]{3}$"}


class IsoDate(FieldType):
    """A calendar date, ISO 8601 ("2026-12-01"); a date-time is read as its date."""

    def check(self, value: Any) -> dt.date:
        if isinstance(value, dt.datetime):
            return _within_dates(value.date())
        if isinstance(value, dt.date):
            return _within_dates(value)
        text = _text(value).strip()
        try:
            day = dt.date.fromisoformat(text[:10]) if 10 <= len(text) <= 40 else None
        except ValueError:
            day = None
        if day is None:
            raise invalid("A date like 2026-12-01.")
        return _within_dates(day)

    def dump(self, value: dt.date) -> str:
        return value.isoformat()

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "format": "date", "description": DATE_RANGE}


DATE_RANGE = f"From {MIN_DATE.isoformat()} to {MAX_DATE.isoformat()}."


def _within_dates(day: dt.date) -> dt.date:
    if not MIN_DATE <= day <= MAX_DATE:
        raise invalid(f"A date from {MIN_DATE.isoformat()} to {MAX_DATE.isoformat()}.")
    return day


def _iso_datetime(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        return dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None


def _utc_within(moment: dt.datetime) -> dt.datetime | None:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    try:
        moment = moment.astimezone(dt.UTC)
    except OverflowError:  # 9999-12-31T23:59:59-12:00 is in year 10000 in UTC
        return None
    return moment if MIN_DATE <= moment.date() <= MAX_DATE else None


def parse_datetime(value: Any) -> dt.datetime | None:
    """An ISO 8601 date or date-time string as an aware UTC datetime (no zone means UTC), or None
    (also for a time whose UTC date is outside MIN_DATE … MAX_DATE)."""
    moment = _iso_datetime(value)
    return None if moment is None else _utc_within(moment)


def iso(value: dt.datetime | dt.date | None) -> str | None:
    """How the API writes times: ISO 8601 in UTC with a Z ("2026-12-01T09:00:00Z"); dates as
    "2026-12-01"."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    return value.isoformat()


class IsoDateTime(FieldType):
    """A point in time, ISO 8601 ("2026-12-01T09:00:00Z"; no zone means UTC), held in UTC, its
    UTC date within MIN_DATE … MAX_DATE."""

    def check(self, value: Any) -> dt.datetime:
        moment = value if isinstance(value, dt.datetime) else _iso_datetime(value)
        if moment is None:
            raise invalid("An ISO 8601 date or time, e.g. 2026-12-01T09:00:00Z.")
        within = _utc_within(moment)
        if within is None:
            raise invalid(f"A time from {MIN_DATE.isoformat()} to {MAX_DATE.isoformat()} (UTC).")
        return within

    def dump(self, value: dt.datetime) -> str | None:
        return iso(value)

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "format": "date-time", "description": DATE_RANGE}


class WholeNumber(FieldType):
    """A whole number from `minimum` to `maximum` (by default what PostgreSQL's `integer` holds):
    a JSON integer or (unless `from_text=False`, where a quoted number is refused as a likely
    mistake) a text of digits, plain or in real thousands groups as a form shows it ("1,200");
    never a float, a boolean, a blank or a decimal comma ("1,5")."""

    blank_is_missing = False

    def __init__(self, minimum: int = 0, maximum: int = MAX_INT, *, from_text: bool = True) -> None:
        self.minimum = minimum
        self.maximum = maximum
        self.from_text = from_text

    def check(self, value: Any) -> int:
        if self.from_text and isinstance(value, str):
            text = value.strip()
            digits = ungroup(text.removeprefix("-")) if len(text) <= 40 else None
            if digits is not None:
                value = -int(digits) if text.startswith("-") else int(digits)
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and not math.isfinite(value):
                raise invalid("Must be a finite whole number.")
            raise invalid("Must be a whole number.")
        if not self.minimum <= value <= self.maximum:
            raise invalid(f"Must be between {self.minimum:,} and {self.maximum:,}.")
        return value

    def schema(self) -> dict[str, Any]:
        return {"type": "integer", "minimum": self.minimum, "maximum": self.maximum}


class Flag(FieldType):
    """True or false: a JSON boolean, or true/false, yes/no, on/off, 1/0 as text (a blank is
    false, as an unticked box)."""

    blank_is_missing = False
    TRUE = frozenset({"true", "1", "on", "yes", "y", "t"})
    FALSE = frozenset({"false", "0", "off", "no", "n", "f", ""})

    def check(self, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in self.TRUE | self.FALSE:
            return value.strip().lower() in self.TRUE
        raise invalid("Must be true or false.")

    def schema(self) -> dict[str, Any]:
        return {"type": "boolean"}


class OneOf(FieldType):
    """One of a set of values: an Enum (the member is returned), a registry's keys or a list,
    read when validating so a registry filled at start-up is current."""

    def __init__(self, choices: type[Enum] | Mapping[str, Any] | Iterable[str]) -> None:
        self.choices = choices

    @property
    def options(self) -> list[str]:
        if isinstance(self.choices, type) and issubclass(self.choices, Enum):
            return [str(member.value) for member in self.choices]
        return [str(option) for option in self.choices]

    def check(self, value: Any) -> Any:
        options = self.options
        if not isinstance(value, str) or value not in options:
            raise invalid(f"One of: {', '.join(options)}.")
        if isinstance(self.choices, type) and issubclass(self.choices, Enum):
            return self.choices(value)
        return value

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "enum": self.options}


class ListOf(FieldType):
    """A list of items of one field type, at most `max_items`, duplicates dropped (first kept)
    unless `unique=False` (where positions matter, as a quiz's options).
    With `split` a text is read as a list too ("EMEA; Beta" → ["EMEA", "Beta"]), as CSV cells
    and comma-separated form fields send lists. A bad item is reported on the list itself, with
    `message` when given, else the item's own error. Left out, null or blank, a list that
    cannot be null is empty."""

    empty: Any = ()

    def __init__(
        self,
        item: Any,
        *,
        max_items: int,
        message: str | None = None,
        split: str | None = None,
        unique: bool = True,
    ) -> None:
        self.item = item
        self.max_items = max_items
        self.message = message
        self.split = split
        self.unique = unique

    @cached_property
    def _item(self) -> TypeAdapter[Any]:
        return TypeAdapter(self.item)

    def check(self, value: Any) -> tuple[Any, ...]:
        if isinstance(value, str) and self.split:
            value = [part.strip() for part in re.split(f"[{re.escape(self.split)}]", value) if part.strip()]
        if not isinstance(value, list | tuple) or len(value) > self.max_items:
            raise invalid(self.message or f"A list of at most {self.max_items} items.")
        clean: list[Any] = []
        for item in value:
            try:
                checked = self._item.validate_python(item)
            except ValidationError as exc:
                raise invalid(self.message or first_message(exc)) from None
            if not self.unique or checked not in clean:
                clean.append(checked)
        return tuple(clean)

    def dump(self, value: Iterable[Any]) -> list[Any]:
        return [self._item.dump_python(item, mode="json") for item in value]

    def schema(self) -> dict[str, Any]:
        return {"type": "array", "items": self._item.json_schema(), "maxItems": self.max_items}


# --- the named types ---------------------------------------------------------------------------

PersonName = Annotated[str, OneLine(120)]
Email = Annotated[str, EmailAddress()]
Currency = Annotated[str, CurrencyCode()]
Date = Annotated[dt.date, IsoDate()]
DateTime = Annotated[dt.datetime, IsoDateTime()]
ROW_ID = WholeNumber(1, MAX_INT)  # an id of a row: `Annotated[int | None, ROW_ID]` where optional
RowId = Annotated[int, ROW_ID]
Timestamp = Annotated[dt.datetime, IsoDateTime()]  # replies: written as "2026-12-01T09:00:00Z"


class Money(BaseModel):
    """An amount with its currency (what the API writes as {"amount": "12.50", "currency": "EUR"})."""

    amount: Annotated[Decimal, Amount()]
    currency: Currency


# --- reading input -----------------------------------------------------------------------------

_NATIVE_MESSAGES = {
    "missing": REQUIRED,
    "model_type": "Must be an object.",
    "model_attributes_type": "Must be an object.",
    "dict_type": "Must be an object.",
    "list_type": "Must be a list.",
    "tuple_type": "Must be a list.",
    "string_type": "Must be text.",
    "bool_type": "Must be true or false.",
    "bool_parsing": "Must be true or false.",
    "int_type": "Must be a whole number.",
    "int_parsing": "Must be a whole number.",
    "int_from_float": "Must be a whole number.",
}


def _message(error: Any) -> str:
    if error["type"] == "invalid":
        return str(error["msg"])
    if error["type"] == "string_too_long":
        return f"At most {error['ctx']['max_length']:,} characters."
    return _NATIVE_MESSAGES.get(error["type"], str(error["msg"]))


def first_message(exc: ValidationError) -> str:
    """The first error's message, as people read it."""
    return _message(exc.errors(include_url=False)[0])


def field_errors(exc: ValidationError) -> dict[str, list[str] | str]:
    """pydantic's errors as the api.md `fields` object: {field: [message]}, the first error per
    field, nested fields by their dotted path ("quiz.questions")."""
    fields: dict[str, list[str] | str] = {}
    for error in exc.errors(include_url=False):
        name = ".".join(str(part) for part in error["loc"]) or "body"
        fields.setdefault(name, [_message(error)])
    return fields


def read(model: type[Model], data: Any) -> Model:
    """`data` (a mapping: JSON body, form data, a CSV row) as a `model`; raises ValidationFailed
    with every field's error. Unknown keys are ignored."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed(field_errors(exc)) from None


def read_value(kind: Any, value: Any, name: str) -> Any:
    """One value as the field type `kind`; raises ValidationFailed on `name`."""
    try:
        return _adapter(kind).validate_python(value)
    except ValidationError as exc:
        raise ValidationFailed({name: first_message(exc)}) from None


def read_row(model: type[Model], row: Mapping[str, Any]) -> Model:
    """A CSV row as a `model`: each column through its field type, a blank cell being a column
    left out."""
    return read(model, {key: value for key, value in row.items() if not (value is None or _is_blank(value))})


_adapters: dict[Any, TypeAdapter[Any]] = {}


def _adapter(kind: Any) -> TypeAdapter[Any]:
    adapter = _adapters.get(kind)
    if adapter is None:
        adapter = _adapters[kind] = TypeAdapter(kind)
    return adapter


def _rule(kind: Any) -> FieldType | None:
    return next((m for m in getattr(kind, "__metadata__", ()) if isinstance(m, FieldType)), None)


class Conforms:
    """A WTForms validator that reads the field through a field type, the same one the API's
    models use: the field's data becomes the clean value (stripped text, a normalized email, a
    Decimal, a date), or the field shows the type's message. `required=False` lets a blank
    through as `default` (None). `Conforms.of(Model, "name")` uses that model field's type, and
    whether it is required and its default. Sets the flags the widgets render (`required`,
    `maxlength`, `min`, `max`)."""

    def __init__(self, kind: Any, *, required: bool = True, default: Any = None) -> None:
        self.kind = kind
        self.required = required
        self.default = default
        rule = _rule(kind)
        flags: dict[str, Any] = {"required": True} if required else {}
        if isinstance(rule, OneLine):
            flags["maxlength"] = rule.max_length
        elif isinstance(rule, EmailAddress):
            flags["maxlength"] = MAX_EMAIL
        elif isinstance(rule, WholeNumber):
            flags |= {"min": rule.minimum, "max": rule.maximum}
        self.field_flags = flags

    @classmethod
    def of(cls, model: type[BaseModel], name: str, *, required: bool | None = None) -> Conforms:
        info = model.model_fields[name]
        kind = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
        default = None if info.is_required() else info.get_default(call_default_factory=True)
        return cls(kind, required=info.is_required() if required is None else required, default=default)

    def __call__(self, form: Any, field: Any) -> None:
        value = field.data
        blank = value is None or value == [] or _is_blank(value)
        if blank and not self.required:
            field.data = self.default
            field.errors[:] = []
            raise StopValidation()
        try:
            field.data = _adapter(self.kind).validate_python(value)
        except ValidationError as exc:
            field.errors[:] = []
            raise StopValidation(first_message(exc)) from None
        if field.data is None:  # a required field whose type would let a blank through as None
            raise StopValidation(REQUIRED)
