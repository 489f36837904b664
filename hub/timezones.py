"""Times in the reader's own time zone (issue 19): an advocate chooses an IANA zone in their
profile (the page proposes the browser's); pages, notices and emails for them show dates and
times there. Everyone else, and an advocate who has not chosen, reads UTC. Times are stored and
computed in aware UTC everywhere; conversion happens only when a time is written for a person."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from flask import has_request_context
from flask_login import current_user
from sqlalchemy import select

from hub.extensions import db
from hub.fields import time_zone_names
from hub.models import Advocate, Role

UTC = zoneinfo.ZoneInfo("UTC")


def zone_named(name: str | None) -> zoneinfo.ZoneInfo:
    """The zone of an IANA name; UTC for None or a name this machine does not know (a zone
    removed from the database after it was saved must not break a page)."""
    if name and name in time_zone_names():
        return zoneinfo.ZoneInfo(name)
    return UTC


def advocate_zone(advocate_id: int) -> zoneinfo.ZoneInfo:
    """The advocate's chosen zone (UTC until they choose one), for text written outside a
    request of theirs: notices, emails, jobs."""
    return zone_named(db.session.scalar(select(Advocate.time_zone).where(Advocate.id == advocate_id)))


def viewer_zone() -> zoneinfo.ZoneInfo:
    """The zone of the person this request renders for: a signed-in advocate's chosen zone, UTC
    otherwise (staff consoles, public pages, jobs). The advocate row is the one the request
    already loaded for the signed-in user, so this costs no query after the first."""
    if not has_request_context():
        return UTC
    # The proxy resolved once: a hub page formats ~30 dates, each asking this (issue 22).
    user = current_user._get_current_object()
    if not user or not user.is_authenticated or user.role is not Role.ADVOCATE or user.advocate is None:
        return UTC
    return zone_named(user.advocate.time_zone)


def localize(value: dt.datetime, zone: zoneinfo.ZoneInfo | None = None) -> dt.datetime:
    """`value` (aware, or naive meaning UTC) as wall-clock time in `zone` (default: the viewer's)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(zone or viewer_zone())


def format_date(value: dt.datetime | dt.date | None, zone: zoneinfo.ZoneInfo | None = None) -> str:
    """ "Nov 3, 2026": the calendar day in `zone` (a datetime is converted; a date is a day)."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = localize(value, zone)
    return f"{value:%b} {value.day}, {value.year}"


def format_datetime(value: dt.datetime | None, zone: zoneinfo.ZoneInfo | None = None) -> str:
    """ "Nov 3, 2026 14:05 CET": wall-clock time in `zone` with the zone's abbreviation then
    (so a summer date says CEST), or "UTC"."""
    if value is None:
        return ""
    local = localize(value, zone)
    return f"{local:%b} {local.day}, {local.year} {local:%H:%M} {local.tzname() or 'UTC'}"
