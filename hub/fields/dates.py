"""Date and time fields: ISO 8601 within 1900-01-01 … 2999-12-31, times in UTC (hub.fields;
issue 13 item 1)."""

from __future__ import annotations

import datetime as dt
import functools
import re
import zoneinfo
from typing import Any

from hub.fields.base import (
    MAX_DATE,
    MIN_DATE,
    FieldType,
    invalid,
)
from hub.fields.text import (
    _text,
)

# The calendar-date form only (ASCII digits): fromisoformat alone also takes week dates
# ("2026-W01-1"), compact forms ("20260101") and, in str, other scripts' digits.
_CALENDAR_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class IsoDate(FieldType):
    """A calendar date, ISO 8601 "YYYY-MM-DD" ("2026-12-01"); a whole, valid ISO date-time
    starting with one ("2026-12-01T10:00:00Z") is read as the date it starts with. Anything after
    the date that is not a valid time ("2026-12-01garbage", "2026-12-01T25:99") is refused, never
    cut off."""

    def check(self, value: Any) -> dt.date:
        if isinstance(value, dt.datetime):
            return _within_dates(value.date())
        if isinstance(value, dt.date):
            return _within_dates(value)
        text = _text(value).strip()
        day = None
        if 10 <= len(text) <= 40 and _CALENDAR_DATE.fullmatch(text[:10]):
            try:
                day = dt.date.fromisoformat(text[:10])
                if len(text) > 10:
                    dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
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


@functools.cache
def time_zone_names() -> frozenset[str]:
    """The IANA time zone names this machine knows (zoneinfo: the system database or tzdata)."""
    return frozenset(zoneinfo.available_timezones())


class TimeZoneName(FieldType):
    """An IANA time zone name such as "Europe/Paris" (what a browser's
    `Intl.DateTimeFormat().resolvedOptions().timeZone` gives), exactly as the database spells it."""

    MAX = 64

    def check(self, value: Any) -> str:
        name = _text(value).strip()
        if len(name) > self.MAX or name not in time_zone_names():
            raise invalid("An IANA time zone such as Europe/Paris or America/New_York.")
        return name

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "maxLength": self.MAX, "description": "An IANA time zone such as Europe/Paris"}
