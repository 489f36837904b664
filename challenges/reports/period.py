"""The period a report covers: calendar dates (both inclusive, UTC), the previous period of the
same length it is compared with, and the months it spans."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from hub.db import utcnow
from hub.errors import ValidationFailed

# The longest period a report or a trend covers: 20 years (with their leap days at most 7,305 days)
# keeps a monthly series at 240 points.
MAX_DAYS = 20 * 365 + 5


@dataclass(frozen=True)
class ReportPeriod:
    """Dates `start` … `end`, both inclusive, read in UTC. `end` may be in the future (the current
    quarter): figures "as of the end" are then as of now (`as_of`)."""

    start: dt.date
    end: dt.date

    @property
    def days(self) -> int:
        """The number of calendar days in the period (≥ 1)."""
        return (self.end - self.start).days + 1

    @property
    def previous(self) -> ReportPeriod:
        """The period this one is compared with: the one just before it, as long. A period that
        starts on a month's first day is compared with the same calendar shape as many months
        earlier — a quarter with the quarter before (Jul–Sep with Apr–Jun, not the 92 days from
        Mar 31), a month with the month before, Jan 1 – Dec 1 with Jan 1 – Dec 1 of the year
        before; a month's last day stays a month's last day. Any other period: the same number
        of days ending the day before it starts. Never overlaps this period."""
        if self.start.day != 1:
            return ReportPeriod(self.start - dt.timedelta(days=self.days), self.start - dt.timedelta(days=1))
        months = (self.end.year - self.start.year) * 12 + self.end.month - self.start.month + 1
        last_of_month = (self.end + dt.timedelta(days=1)).day == 1
        end_month = _months_before(self.end.replace(day=1), months)
        if last_of_month:
            end = _months_before(end_month, -1) - dt.timedelta(days=1)
        else:
            end = end_month.replace(day=min(self.end.day, (_months_before(end_month, -1) - end_month).days))
        return ReportPeriod(_months_before(self.start, months), end)

    @property
    def starts_at(self) -> dt.datetime:
        """Midnight UTC at the start of `start` (inclusive bound)."""
        return dt.datetime.combine(self.start, dt.time(), tzinfo=dt.UTC)

    @property
    def ends_before(self) -> dt.datetime:
        """Midnight UTC after `end` (exclusive bound)."""
        return dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)

    def as_of(self, now: dt.datetime | None = None) -> dt.datetime:
        """The moment the period's standing figures (tiers, balances, burnout) are read at: its
        end, or now while the period is still running (exclusive bound, aware UTC)."""
        return min(self.ends_before, now or utcnow())

    def is_running(self, now: dt.datetime | None = None) -> bool:
        """Whether the period has not ended yet, so "as of its end" means now."""
        return self.ends_before >= (now or utcnow())

    def months(self) -> list[str]:
        """The months the period touches, oldest first, as "YYYY-MM"."""
        months = []
        year, month = self.start.year, self.start.month
        while (year, month) <= (self.end.year, self.end.month):
            months.append(f"{year:04d}-{month:02d}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return months

    def month_starts(self) -> list[dt.date]:
        """The first day of each month the period touches, oldest first."""
        return [dt.date(int(m[:4]), int(m[5:]), 1) for m in self.months()]

    def as_json(self) -> dict[str, str]:
        """`{"from": "YYYY-MM-DD", "to": "YYYY-MM-DD"}`."""
        return {"from": self.start.isoformat(), "to": self.end.isoformat()}


def _months_before(first: dt.date, months: int) -> dt.date:
    """The first day of the month `months` calendar months before `first`'s (after, if negative)."""
    index = first.year * 12 + first.month - 1 - months
    return dt.date(index // 12, index % 12 + 1, 1)


def quarter_of(day: dt.date) -> ReportPeriod:
    """The calendar quarter containing `day`."""
    first_month = 3 * ((day.month - 1) // 3) + 1
    start = dt.date(day.year, first_month, 1)
    after = dt.date(day.year + 1, 1, 1) if first_month == 10 else dt.date(day.year, first_month + 3, 1)
    return ReportPeriod(start, after - dt.timedelta(days=1))


def trailing_months(day: dt.date, count: int = 12) -> ReportPeriod:
    """The `count` calendar months ending with `day`'s month, up to `day` itself."""
    year, month = day.year, day.month - (count - 1)
    while month < 1:
        year, month = year - 1, month + 12
    return ReportPeriod(dt.date(year, month, 1), day)


def report_period(
    since: dt.date | None, until: dt.date | None, today: dt.date | None = None, *, trend: bool = False
) -> ReportPeriod:
    """The period `from`/`to` name (api.md `/reports/program`, `/reports/trends`), both inclusive.

    Neither given: the current quarter (a trend: the twelve months to today). Only `from`: to the
    end of that date's quarter. Only `to`: from the start of that date's quarter. Raises
    ValidationFailed (422 `invalid`, naming `to`) when `to` is before `from` or the period is
    longer than MAX_DAYS, and naming `from` (or `to` when only it was given) when the period
    starts after today."""
    today = today or utcnow().date()
    given = "from" if since is not None else "to"
    if until is None:
        if since is None:
            return trailing_months(today) if trend else quarter_of(today)
        until = quarter_of(since).end
    elif since is None:
        since = quarter_of(until).start
    if since > today:
        # A period that has not begun has no figures yet; "as of its end" would read today's
        # standing figures and show them as a future quarter's.
        raise ValidationFailed({given: "Must be today or earlier: that period has not begun."})
    if until < since:
        raise ValidationFailed({"to": "Must be on or after `from`."})
    if (until - since).days + 1 > MAX_DAYS:
        raise ValidationFailed({"to": "At most 20 years after `from`."})
    return ReportPeriod(since, until)
