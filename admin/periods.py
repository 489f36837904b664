"""The period switch of the dashboard and the reports page: this quarter (the default), last
quarter, year to date, or a custom range (`from`/`to`, both inclusive, UTC dates), resolved to
the one period rule of the reports (challenges.reports.report_period: the API, the figures and
every table read the same `ReportPeriod`).

A query that does not fit never fails the page (issue 17): an impossible or out-of-range date is
left out with a note (hub.contracts.read_or_400), a reversed range is shown the right way round
with a note, a range longer than the reports allow falls back to this quarter with a note; the
notes appear on the page above the switch. The CSV downloads read the same rule, so a CSV shows
what the page showed for the same query string."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Field

from challenges.reports import ReportPeriod, quarter_of, report_period
from hub.contracts import Query, add_query_notice, read_or_400
from hub.db import utcnow
from hub.errors import ValidationFailed
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
    """A chosen period: `preset` (a PRESETS key) and the `report` period it resolves to."""

    preset: str
    report: ReportPeriod

    @property
    def since(self) -> dt.date:
        """The first date (inclusive)."""
        return self.report.start

    @property
    def until(self) -> dt.date:
        """The last date (inclusive)."""
        return self.report.end

    @property
    def start(self) -> dt.date:
        """The first date (inclusive), as `ReportPeriod.start`."""
        return self.report.start

    @property
    def end(self) -> dt.date:
        """The last date (inclusive), as `ReportPeriod.end`."""
        return self.report.end

    @property
    def starts_at(self) -> dt.datetime:
        """The first instant in the period (aware UTC)."""
        return self.report.starts_at

    @property
    def ends_before(self) -> dt.datetime:
        """The first instant after the period (aware UTC)."""
        return self.report.ends_before

    @property
    def args(self) -> dict[str, str]:
        """The query string that selects this period again (links, CSV downloads, pagers)."""
        if self.preset != "custom":
            return {"period": self.preset}
        return {"period": "custom", "from": self.since.isoformat(), "to": self.until.isoformat()}

    @property
    def label(self) -> str:
        """How the page names it: "Apr 1, 2026 – Jun 30, 2026"."""
        return f"{self.since:%b %-d, %Y} – {self.until:%b %-d, %Y}"

    @property
    def file_suffix(self) -> str:
        """For download names: `2026-04-01_2026-06-30`."""
        return f"{self.since.isoformat()}_{self.until.isoformat()}"


def resolve(query: PeriodQuery, today: dt.date) -> Period:
    """The period a query asks for, as of `today` (UTC). A date given without a preset means a
    custom range, read by challenges.reports.report_period (only `from`: to the end of its
    quarter; only `to`: from the start of its quarter); a reversed range is swapped and a range
    the reports refuse (longer than 20 years) falls back to this quarter, each with a note."""
    preset = query.period or ("custom" if query.since or query.until else "this_quarter")
    this_quarter = quarter_of(today)
    if preset == "last_quarter":
        return Period(preset, quarter_of(this_quarter.start - dt.timedelta(days=1)))
    if preset == "year_to_date":
        return Period(preset, ReportPeriod(dt.date(today.year, 1, 1), today))
    if preset != "custom":
        return Period("this_quarter", this_quarter)
    since, until = query.since, query.until
    if since is None and until is None:
        return Period("this_quarter", this_quarter)
    if since and until and until < since:
        add_query_notice(
            f"The period ended before it began, so it is shown from {until:%b %-d, %Y} to {since:%b %-d, %Y}."
        )
        since, until = until, since
    try:
        chosen = report_period(since, until, today)
    except ValidationFailed as exc:
        reason = next(iter(exc.fields.values()))
        text = (reason[0] if isinstance(reason, list) else str(reason)).replace("`", "")
        add_query_notice(f"That period was not used ({text.rstrip('.')}), so this quarter is shown.")
        return Period("this_quarter", this_quarter)
    if since is None or until is None:
        given, filled = ("to", "start") if since is None else ("from", "end")
        add_query_notice(
            f"Only “{given}” was given, so the period runs {'from' if since is None else 'to'} the {filled} of "
            f"that quarter: {chosen.start:%b %-d, %Y} – {chosen.end:%b %-d, %Y}."
        )
    return Period("custom", chosen)


def chosen_period(args: Any) -> Period:
    """The period in a request's query string (`request.args`), as of now (UTC)."""
    return resolve(read_or_400(PeriodQuery, args), utcnow().date())
