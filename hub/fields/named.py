"""The named field types the contracts use: a person's name, an email, money, dates and ids
(hub.fields)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel

from hub.fields.base import (
    MAX_INT,
)
from hub.fields.dates import (
    IsoDate,
    IsoDateTime,
)
from hub.fields.numbers import Amount, CurrencyCode, WholeNumber
from hub.fields.text import (
    EmailAddress,
    OneLine,
)

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
