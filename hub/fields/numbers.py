"""Number fields: amounts of money and points with real thousands groups only, currency codes
and whole numbers within PostgreSQL's integer (hub.fields; issue 12 item 5, issue 13 item 1)."""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from babel import Locale
from babel.numbers import get_currency_name, get_territory_currencies

from hub.fields.base import (
    MAX_INT,
    MAX_MONEY,
    FieldType,
    invalid,
)
from hub.fields.text import (
    _text,
)

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


@functools.cache
def currencies() -> dict[str, str]:
    """The ISO 4217 currencies that are legal tender in some territory today, code → English name
    ("EUR" → "Euro"), ordered by code: the choices of every currency field. From the Unicode CLDR
    through Babel, so a retired currency (DEM), a test code (XXX) or a metal (XAU) is not one."""
    today = dt.date.today()
    codes: set[str] = set()
    for territory in Locale("en").territories:
        # Region codes such as "150" (Europe) name groups of territories, not a currency area.
        if isinstance(territory, str) and territory.isalpha():
            codes.update(get_territory_currencies(territory, start_date=today, tender=True))
    return {code: get_currency_name(code, locale="en") for code in sorted(codes)}


class CurrencyCode(FieldType):
    """A three-letter ISO 4217 currency code in use today (`currencies()`), upper-cased
    ("usd" → "USD")."""

    def check(self, value: Any) -> str:
        code = _text(value).strip().upper()
        if not re.fullmatch(r"[A-Z]{3}", code):
            raise invalid("A three-letter ISO 4217 code such as USD.")
        if code not in currencies():
            raise invalid(f"{code} is not a currency in use (ISO 4217), e.g. USD, EUR or GBP.")
        return code

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "pattern": "^[A-Z]{3}$", "enum": list(currencies())}


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
