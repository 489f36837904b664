"""Typed reading of the values references, referrals and the CRM share: money, currency, emails."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from email_validator import EmailNotValidError, validate_email

MAX_MONEY = Decimal("9999999999999999.99")  # what Numeric(18, 2) holds
CURRENCY = re.compile(r"^[A-Z]{3}$")


def parse_money(value: Any, errors: dict[str, str], name: str, *, required: bool = False) -> Decimal | None:
    """A non-negative amount with at most 2 decimals, from a decimal string or a JSON number."""
    if value is None or value == "":
        if required:
            errors.setdefault(name, "This field is required.")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        errors.setdefault(name, 'A decimal amount such as "12500.00".')
        return None
    try:
        amount = Decimal(value.strip().replace(",", "") if isinstance(value, str) else str(value))
    except InvalidOperation:
        errors.setdefault(name, 'A decimal amount such as "12500.00".')
        return None
    if not amount.is_finite():
        errors.setdefault(name, "Must be a finite amount.")
        return None
    if amount < 0 or amount > MAX_MONEY:
        errors.setdefault(name, f"Must be between 0 and {MAX_MONEY:,}.")
        return None
    if amount != amount.quantize(Decimal("0.01")):
        errors.setdefault(name, "At most 2 decimal places.")
        return None
    return amount.quantize(Decimal("0.01"))


def parse_currency(
    value: Any, errors: dict[str, str], name: str = "currency", default: str | None = None
) -> str | None:
    if value is None or value == "":
        return default
    if not isinstance(value, str) or not CURRENCY.match(value.strip().upper()):
        errors.setdefault(name, "A three-letter ISO 4217 code such as USD.")
        return None
    return value.strip().upper()


def normalize_email_address(raw: Any, errors: dict[str, str], name: str = "email") -> str | None:
    """Syntax-checked, lower-cased email (no deliverability lookups)."""
    if not isinstance(raw, str) or not raw.strip():
        errors.setdefault(name, "An email address is required.")
        return None
    if len(raw.strip()) > 254:
        errors.setdefault(name, "At most 254 characters.")
        return None
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        errors.setdefault(name, str(exc))
        return None


def email_key(email: str) -> str:
    """The identity of a person's address for dedupe: case-insensitive and without a +tag,
    so `Ada+x@Example.com` and `ada@example.com` are the same person."""
    local, _, domain = email.strip().lower().rpartition("@")
    return f"{local.split('+', 1)[0]}@{domain}"


def like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def decimal_text(amount: Decimal | None) -> str | None:
    """An amount as the API writes money: a string with two decimals ("12500.00"), or None."""
    return None if amount is None else f"{amount:.2f}"
