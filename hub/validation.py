"""Typed reading of JSON bodies and query strings: collects field errors, never trusts types.

Unknown keys are ignored (so `points`, `status`, `advocate_id` smuggled into a body change
nothing); every known key is type- and range-checked, and the first error per field wins.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from typing import Any

from hub.errors import ValidationFailed

MAX_INT = 2**31 - 1
_MISSING = object()


class Fields:
    def __init__(self, data: Mapping[str, Any] | None) -> None:
        self.data = data or {}
        self.errors: dict[str, str] = {}

    def _get(self, name: str, required: bool) -> Any:
        value = self.data.get(name, _MISSING)
        if value is _MISSING or value is None or value == "":
            if required:
                self.errors.setdefault(name, "This field is required.")
            return _MISSING
        return value

    def int(
        self, name: str, *, required: bool = False, minimum: int = 0, maximum: int = MAX_INT, default: Any = None
    ) -> Any:
        value = self._get(name, required)
        if value is _MISSING:
            return default
        if isinstance(value, str) and value.strip().lstrip("-").isdigit() and len(value.strip()) < 12:
            value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
                self.errors.setdefault(name, "Must be a finite whole number.")
            else:
                self.errors.setdefault(name, "Must be a whole number.")
            return default
        if value < minimum or value > maximum:
            self.errors.setdefault(name, f"Must be between {minimum:,} and {maximum:,}.")
            return default
        return value

    def str(
        self, name: str, *, required: bool = False, max_length: int = 255, default: Any = None, strip: bool = True
    ) -> Any:
        value = self._get(name, required)
        if value is _MISSING:
            return default
        if not isinstance(value, str):
            self.errors.setdefault(name, "Must be text.")
            return default
        value = value.strip() if strip else value
        if required and not value:
            self.errors.setdefault(name, "This field is required.")
            return default
        if len(value) > max_length:
            self.errors.setdefault(name, f"At most {max_length:,} characters.")
            return default
        return value

    def choice(self, name: str, choices: Iterable[str], *, required: bool = False, default: Any = None) -> Any:
        options = list(choices)
        value = self._get(name, required)
        if value is _MISSING:
            return default
        if not isinstance(value, str) or value not in options:
            self.errors.setdefault(name, f"One of: {', '.join(options)}.")
            return default
        return value

    def bool(self, name: str, *, required: bool = False, default: Any = None) -> Any:
        value = self._get(name, required)
        if value is _MISSING:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in {"true", "false", "1", "0", "on", "off"}:
            return value.lower() in {"true", "1", "on"}
        self.errors.setdefault(name, "Must be true or false.")
        return default

    def datetime(self, name: str, *, required: bool = False, default: Any = None) -> Any:
        value = self._get(name, required)
        if value is _MISSING:
            return default
        parsed = parse_datetime(value)
        if parsed is None:
            self.errors.setdefault(name, "An ISO 8601 date or time, e.g. 2026-12-01T09:00:00Z.")
            return default
        return parsed

    def date(self, name: str, *, required: bool = False, default: Any = None) -> Any:
        value = self._get(name, required)
        if value is _MISSING:
            return default
        try:
            return dt.date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else _bad()
        except ValueError:
            self.errors.setdefault(name, "A date like 2026-12-01.")
            return default

    def str_list(
        self,
        name: str,
        *,
        max_items: int = 50,
        max_length: int = 80,
        choices: Iterable[str] | None = None,
        default: Any = None,
    ) -> Any:
        value = self._get(name, False)
        if value is _MISSING:
            return default
        allowed = set(choices) if choices is not None else None
        if (
            not isinstance(value, list)
            or len(value) > max_items
            or not all(isinstance(v, str) and 0 < len(v.strip()) <= max_length for v in value)
        ):
            self.errors.setdefault(name, f"A list of up to {max_items} texts of at most {max_length} characters.")
            return default
        if allowed is not None and not set(value) <= allowed:
            self.errors.setdefault(name, f"Each one of: {', '.join(sorted(allowed))}.")
            return default
        return list(dict.fromkeys(v.strip() for v in value))

    def done(self) -> None:
        if self.errors:
            raise ValidationFailed(self.errors)


def _bad():
    raise ValueError("bad")


def parse_datetime(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or len(value) > 40:
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def iso(value: dt.datetime | dt.date | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    return value.isoformat()
