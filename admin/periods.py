"""The period switch of the dashboard and the reports page: this quarter (the default), last
quarter, year to date, or a custom range (`from`/`to`, both inclusive, UTC dates).

A query that does not fit never fails the page (issue 17): an impossible or out-of-range date is
left out with a note (hub.contracts.read_or_400), a reversed range is shown the right way round
with a note, and the note appears on the page beside the switch."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Field

from hub.contracts import Query, add_query_notice, read_or_400
from hub.db import utcnow
from hub.fields import IsoDate, OneOf

PRESETS = {
    "this_quarter": "This quarter",
    "last_quarter": "Last quarter",
    "year_to_date": "Year to date",
    "custom": "Custom",
}


class PeriodQuery(Query):
    """`?period=this_quarter|last_quarter|year_to_date|custom&from=&to=`; dates inclusive."""

    period: Annotated[str | None, OneOf(PRESETS)] = None
    since: Annotated[dt.date | None, IsoDate()] = Field(None, alias="from")
    until: Annotated[dt.date | None, IsoDate()] = Field(None, alias="to")


@dataclass(frozen=True)
class Period:
    """A chosen period: `preset` (a PRESETS key), `since`/`until` inclusive dates (None = open
    end, only for a custom range given one date)."""

    preset: str
    since: dt.date | None
    until: dt.date | None

    @property
    def start(self) -> dt.datetime | None:
        """The first instant in the period (aware UTC), None when open."""
        return dt.datetime.combine(self.since, dt.time(), tzinfo=dt.UTC) if self.since else None

    @property
    def end(self) -> dt.datetime | None:
        """The first instant after the period (aware UTC), None when open."""
        if self.until is None:
            return None
        return dt.datetime.combine(self.until + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)

    @property
    def args(self) -> dict[str, str]:
        """The query string that selects this period again (links, CSV downloads, pagers)."""
        if self.preset != "custom":
            return {"period": self.preset}
        found = {"period": "custom"}
        if self.since:
            found["from"] = self.since.isoformat()
        if self.until:
            found["to"] = self.until.isoformat()
        return found

    @property
    def label(self) -> str:
        """How the page names it: "Apr 1, 2026 – Jun 30, 2026" (open ends say so)."""
        first = f"{self.since:%b %-d, %Y}" if self.since else "the beginning"
        last = f"{self.until:%b %-d, %Y}" if self.until else "today"
        return f"{first} – {last}"

    @property
    def file_suffix(self) -> str:
        """For download names: `2026-04-01_2026-06-30` (`start`/`now` for open ends)."""
        return f"{self.since.isoformat() if self.since else 'start'}_{self.until.isoformat() if self.until else 'now'}"


def quarter_of(day: dt.date) -> tuple[dt.date, dt.date]:
    """The calendar quarter holding `day`: its first and last dates."""
    first_month = 3 * ((day.month - 1) // 3) + 1
    first = dt.date(day.year, first_month, 1)
    next_first = dt.date(day.year + (first_month == 10), 1 if first_month == 10 else first_month + 3, 1)
    return first, next_first - dt.timedelta(days=1)


def resolve(query: PeriodQuery, today: dt.date) -> Period:
    """The period a query asks for, as of `today` (UTC). A date given without a preset means a
    custom range; a reversed range is swapped with a note for the page."""
    preset = query.period or ("custom" if query.since or query.until else "this_quarter")
    if preset == "this_quarter":
        return Period(preset, *quarter_of(today))
    if preset == "last_quarter":
        return Period(preset, *quarter_of(quarter_of(today)[0] - dt.timedelta(days=1)))
    if preset == "year_to_date":
        return Period(preset, dt.date(today.year, 1, 1), today)
    since, until = query.since, query.until
    if since and until and until < since:
        add_query_notice(
            f"The period ended before it began, so it is shown from {until:%b %-d, %Y} to {since:%b %-d, %Y}."
        )
        since, until = until, since
    return Period("custom", since, until)


def chosen_period(args: Any) -> Period:
    """The period in a request's query string (`request.args`), as of now (UTC)."""
    return resolve(read_or_400(PeriodQuery, args), utcnow().date())
