"""Charts of the owner's report figures (issue 17, ux.md "Charts"): each is a small JSON spec the
page carries in a `<script type="application/json">` block beside a table of the same numbers;
static/js/charts.js draws it with Chart.js. Colours are names of ux.md's palette (the accent,
its dark shade, muted grey, the status colours, the tier colours), resolved from the CSS
variables by the script, so the stylesheet stays the one place a colour is written."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from challenges import reports
from challenges.reports import monthly_rates
from challenges.review_rules import PLATFORMS
from hub.db import utcnow

# Series colours by the order a chart lists its series (static/css/app.css `--series-N`): the
# accent's shades and greys only — ux.md keeps the tier and status colours for status. A chart
# with more categories than colours shows the largest and sums the rest as "Other" (`_largest`).
SERIES_COLOURS = ("series-1", "series-2", "series-3", "series-4", "series-5", "series-6")
TIER_COLOURS = {"bronze": "bronze", "silver": "silver", "gold": "gold"}
BURNOUT_COLOURS = {"healthy": "ok", "acceptable": "accent", "at_risk": "warn", "burning": "bad"}
CHALLENGE_TYPE_NAMES = {
    "review": "Reviews",
    "social_share": "Social shares",
    "community_answer": "Community answers",
    "quiz": "Quizzes",
    "survey": "Surveys",
    "referral": "Referrals",
    "reference_call": "Reference calls",
    "webinar": "Webinars",
    "case_study": "Case studies",
    "speaking": "Speaking",
    "advisory_board": "Advisory board",
    "photo": "Photos and documents",
    "custom": "Custom",
}

PLATFORM_NAMES = {**PLATFORMS, "unspecified": "No platform named"}


@dataclass(frozen=True)
class Series:
    """One line or set of bars: its name, a value per label, and a palette colour name (or one
    per bar, as the tier and burnout charts colour each category)."""

    label: str
    values: Sequence[float | int | None]
    colour: str | list[str]


@dataclass(frozen=True)
class Chart:
    """A chart and the table of its numbers. `kind` is a Chart.js type ("bar", "line",
    "doughnut"); `labels` name the categories (months, tiers, buckets); `heading` names the
    label column of the table; `spark` draws it small without axes (the dashboard)."""

    key: str
    caption: str
    kind: str
    heading: str
    labels: list[str]
    series: list[Series]
    stacked: bool = False
    spark: bool = False
    unit: str = ""

    def spec(self) -> dict[str, Any]:
        """What static/js/charts.js reads."""
        return {
            "kind": self.kind,
            "labels": self.labels,
            "series": [{"label": s.label, "values": list(s.values), "colour": s.colour} for s in self.series],
            "stacked": self.stacked,
            "spark": self.spark,
            "unit": self.unit,
        }

    def rows(self) -> list[tuple[str, list[float | int | None]]]:
        """The table's rows: a label and its value in each series."""
        return [(label, [s.values[i] for s in self.series]) for i, label in enumerate(self.labels)]

    @property
    def is_empty(self) -> bool:
        return not any(v for s in self.series for v in s.values)


def month_label(month: str) -> str:
    """ "2026-03" → "Mar 2026"."""
    names = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    year, number = month.split("-")
    return f"{names[int(number) - 1]} {year}"


# A monthly chart over a long range groups its bars (a 20-year range would draw 240): by quarter
# beyond three years, by year beyond nine.
MAX_BARS = 36


def _bucket_of(month: str, size: str) -> str:
    year, number = month.split("-")
    if size == "quarter":
        return f"Q{(int(number) - 1) // 3 + 1} {year}"
    return year if size == "year" else month_label(month)


def _summed(months: list[str], values: list[int], size: str) -> list[int]:
    """`values` (one per month of `months`) summed per bar of `size`, in order."""
    totals: dict[str, int] = {}
    for month, value in zip(months, values, strict=True):
        key = _bucket_of(month, size)
        totals[key] = totals.get(key, 0) + value
    return list(totals.values())


def _largest(named: dict[str, list[int]]) -> list[tuple[str, list[int]]]:
    """Named series, at most one per series colour: the largest by total, the rest summed as
    "Other" (a stacked bar of 13 challenge types cannot be told apart)."""
    if len(named) <= len(SERIES_COLOURS):
        return list(named.items())
    ranked = sorted(named.items(), key=lambda item: -sum(item[1]))
    kept, rest = ranked[: len(SERIES_COLOURS) - 1], ranked[len(SERIES_COLOURS) - 1 :]
    kept_names = {name for name, _ in kept}
    ordered = [(name, values) for name, values in named.items() if name in kept_names]
    return [*ordered, ("Other", [sum(column) for column in zip(*(values for _, values in rest), strict=True)])]


def _stacked(named: dict[str, list[int]]) -> list[Series]:
    """A stacked chart's series: `_largest`'s, each in the next series colour."""
    return [Series(name, values, SERIES_COLOURS[i]) for i, (name, values) in enumerate(_largest(named))]


def report_charts(report: dict[str, Any], period: reports.ReportPeriod) -> list[Chart]:
    """The reports page's charts for `report` (challenges.reports.program_report of `period`):
    tier distribution, acts by challenge type, review velocity (in all and per review platform),
    points issued vs redeemed, burnout buckets, and sourced vs influenced pipeline. The series over
    time have a bar per month, or per quarter or year over a long range (MAX_BARS)."""
    months = period.months()
    size = "month" if len(months) <= MAX_BARS else "quarter" if len(months) <= 3 * MAX_BARS else "year"
    labels = list(dict.fromkeys(_bucket_of(m, size) for m in months))

    def bars(values: list[int]) -> list[int]:
        return _summed(months, values, size)

    tiers = report["advocates_by_tier"]
    acts = {
        CHALLENGE_TYPE_NAMES.get(kind, kind.replace("_", " ").title()): bars(list(per_month.values()))
        for kind, per_month in reports.acts_by_type_and_month(period).items()
    }
    platforms = {
        PLATFORM_NAMES.get(platform, platform.title()): bars([r["count"] for r in per_month])
        for platform, per_month in report["review_velocity_by_platform"].items()
    }
    issued = reports.trend("points_issued", period)
    redeemed = reports.trend("points_redeemed", period)
    burnout = report["burnout"]
    currency = report["currency"]
    return [
        Chart(
            "tiers",
            "Advocates by tier today" if period.is_running() else f"Advocates by tier on {period.end:%b %-d, %Y}",
            "bar",
            "Tier",
            [t.title() for t in tiers],
            [Series("Advocates", list(tiers.values()), [TIER_COLOURS[t] for t in tiers])],
        ),
        Chart(
            "acts",
            f"Approved acts per {size} by challenge type",
            "bar",
            size.title(),
            labels,
            _stacked(acts) or [Series("Approved acts", [0] * len(labels), "series-1")],
            stacked=True,
        ),
        Chart(
            "reviews",
            f"Review velocity: approved reviews per {size}",
            "bar",
            size.title(),
            labels,
            [Series("Approved reviews", bars([r["count"] for r in report["review_velocity"]]), "accent")],
        ),
        Chart(
            "reviews-by-platform",
            f"Review velocity per review platform: approved reviews per {size}",
            "bar",
            size.title(),
            labels,
            _stacked(platforms),
            stacked=True,
        ),
        Chart(
            "points",
            f"Points issued and redeemed per {size}",
            "bar",
            size.title(),
            labels,
            [
                Series("Issued", bars([p["value"] for p in issued]), "series-1"),
                Series("Redeemed (net of refunds)", bars([p["value"] for p in redeemed]), "series-2"),
            ],
            unit="points",
        ),
        Chart(
            "burnout",
            "Advocates by burnout risk (asks in the last 365 days)",
            "bar",
            "Burnout risk",
            ["Healthy (0–4)", "Acceptable (5–6)", "At risk (7–10)", "Burning (11+)"],
            [Series("Advocates", list(burnout.values()), [BURNOUT_COLOURS[b] for b in burnout])],
        ),
        Chart(
            "pipeline",
            f"Sourced and influenced pipeline and won revenue ({currency})",
            "bar",
            "Attribution",
            ["Sourced", "Influenced"],
            [
                Series(
                    "Pipeline", [float(report["sourced_pipeline"]), float(report["influenced_pipeline"])], "series-2"
                ),
                Series("Won", [float(report["sourced_won"]), float(report["influenced_won"])], "series-1"),
            ],
            unit=currency,
        ),
    ]


@dataclass(frozen=True)
class Headline:
    """A dashboard figure: its value for the period, the previous period's, the change between
    them, and a small trend chart where a monthly series exists."""

    key: str
    label: str
    value: str
    previous: str
    change: float | None
    unit: str = ""
    trend: Chart | None = None


def _spark(key: str, caption: str, series: list[dict], unit: str = "") -> Chart:
    return Chart(
        key,
        caption,
        "line",
        "Month",
        [month_label(p["period"]) for p in series],
        [Series(caption, [p["value"] for p in series], "accent")],
        spark=True,
        unit=unit,
    )


def _as_percent(series: list[dict]) -> list[dict]:
    """A monthly rate series (0–1, or None for a month without a whole) in percent points."""
    return [p | {"value": None if p["value"] is None else round(p["value"] * 100, 1)} for p in series]


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def _number(value: float | int | None, places: int = 0) -> str:
    return "—" if value is None else f"{value:,.{places}f}"


def dashboard_headlines(
    report: dict[str, Any], months: reports.ReportPeriod, now: dt.datetime | None = None
) -> list[Headline]:
    """The dashboard's headline figures (ux.md "Program dashboard") from `report`, each beside
    the previous period's value, and a monthly trend over `months` (the standing figures — the
    tiers and the points outstanding — at each month's end)."""
    before = report["previous"]
    now = now or utcnow()
    standing = _standing_when(report, now)

    def trend(metric: str, caption: str) -> Chart:
        return _spark(f"spark-{metric}", caption, reports.trend(metric, months))

    def pair(getter) -> tuple[Any, Any]:
        return getter(report), getter(before)

    active = pair(lambda r: r["active_advocates"])
    activation = pair(lambda r: r["activation_rate"])
    asks = pair(lambda r: r["asks_per_advocate"])
    at_risk = pair(lambda r: r["burnout"]["at_risk"] + r["burnout"]["burning"])
    reviews = pair(lambda r: sum(m["count"] for m in r["review_velocity"]))
    fill = pair(lambda r: r["reference_fill_rate"])
    to_fill = pair(lambda r: r["reference_median_hours_to_fill"])
    issued = pair(lambda r: r["points"]["issued"])
    redeemed = pair(lambda r: r["points"]["redeemed"])
    influenced = pair(lambda r: float(r["influenced_pipeline"]))
    change = reports.change
    outstanding = pair(lambda r: r["points"]["outstanding"])
    by_month = monthly_rates.tiers_by_month(months, now)
    tiers = [
        Headline(
            f"tier-{tier}",
            f"{tier.title()} advocates",
            _number(report["advocates_by_tier"][tier]),
            _number(before["advocates_by_tier"][tier]),
            change(report["advocates_by_tier"][tier], before["advocates_by_tier"][tier]),
            standing,
            _spark(f"spark-tier-{tier}", f"{tier.title()} advocates at each month's end", by_month[tier]),
        )
        for tier in report["advocates_by_tier"]
    ]
    return [
        *tiers,
        Headline(
            "active",
            "Active advocates",
            _number(active[0]),
            _number(active[1]),
            change(*active),
            "approved act in 90 days",
            trend("active_advocates", "Active advocates per month"),
        ),
        Headline(
            "activation",
            "Activation rate",
            _percent(activation[0]),
            _percent(activation[1]),
            change(*activation),
            "",
            _spark(
                "spark-activation",
                "Activation rate at each month's end",
                _as_percent(monthly_rates.activation_by_month(months, now)),
                "%",
            ),
        ),
        Headline(
            "asks",
            "Asks per advocate",
            _number(asks[0], 2),
            _number(asks[1], 2),
            change(*asks),
            f"{at_risk[0]:,} at risk or burning",
            trend("asks", "Asks per month"),
        ),
        Headline(
            "reviews",
            "Reviews approved",
            _number(reviews[0]),
            _number(reviews[1]),
            change(*reviews),
            "",
            trend("reviews", "Approved reviews per month"),
        ),
        Headline(
            "fill",
            "Reference fill rate",
            _percent(fill[0]),
            _percent(fill[1]),
            change(*fill),
            f"median {_number(to_fill[0], 1)} h to fill",
            _spark(
                "spark-fill",
                "Reference fill rate of the requests filed each month",
                _as_percent(monthly_rates.fill_rate_by_month(months)),
                "%",
            ),
        ),
        Headline(
            "issued",
            "Points issued",
            _number(issued[0]),
            _number(issued[1]),
            change(*issued),
            "",
            trend("points_issued", "Points issued per month"),
        ),
        Headline(
            "redeemed",
            "Points redeemed",
            _number(redeemed[0]),
            _number(redeemed[1]),
            change(*redeemed),
            "net of refunds",
            trend("points_redeemed", "Points redeemed per month"),
        ),
        Headline(
            "outstanding",
            "Points outstanding",
            _number(outstanding[0]),
            _number(outstanding[1]),
            change(*outstanding),
            standing,
            _spark(
                "spark-outstanding",
                "Points outstanding at each month's end",
                monthly_rates.outstanding_by_month(months),
                "points",
            ),
        ),
        Headline(
            "influenced",
            "Influenced pipeline",
            _number(influenced[0]),
            _number(influenced[1]),
            change(*influenced),
            report["currency"],
            _spark(
                "spark-influenced",
                f"Influenced pipeline of the deals created each month ({report['currency']})",
                monthly_rates.influenced_pipeline_by_month(months, report["currency"]),
                report["currency"],
            ),
        ),
    ]


def _standing_when(report: dict[str, Any], now: dt.datetime | None = None) -> str:
    """When a standing figure (tiers, outstanding points) of `report` was read: "today" while its
    period runs (the figures are as of now, not of its end in the future), else "at the period's
    end"."""
    return "today" if dt.date.fromisoformat(report["to"]) >= (now or utcnow()).date() else "at the period's end"


def report_figures(report: dict[str, Any]) -> list[Headline]:
    """The reports page's program figures (product.md §11; ux.md "Reports": the program report)
    from `report`, each beside the previous period's value: advocates and their activity, the
    points moved, and redemptions by status. The standing figures (tiers, outstanding points,
    liability) and the references and revenue have their own sections on the page."""
    before = report["previous"]
    change = reports.change

    def figure(key: str, label: str, getter, unit: str = "", shown=_number) -> Headline:
        now, then = getter(report), getter(before)
        return Headline(key, label, shown(now), shown(then), change(now, then), unit)

    figures = [
        figure("advocates", "Advocates", lambda r: r["advocates"], _standing_when(report)),
        figure("active", "Active advocates", lambda r: r["active_advocates"], "approved act in 90 days"),
        figure("activation", "Activation rate", lambda r: r["activation_rate"], "active ÷ advocates", _percent),
        figure(
            "participation",
            "Participation rate",
            lambda r: r["participation_rate"],
            "approved act in the period",
            _percent,
        ),
        figure("asks", "Asks per advocate", lambda r: r["asks_per_advocate"], "last 365 days", lambda v: _number(v, 2)),
        figure("reviews", "Reviews approved", lambda r: sum(m["count"] for m in r["review_velocity"])),
        figure("issued", "Points issued", lambda r: r["points"]["issued"]),
        figure("redeemed", "Points redeemed", lambda r: r["points"]["redeemed"], "net of refunds"),
        figure("expired", "Points expired", lambda r: r["points"]["expired"]),
        figure("adjusted-down", "Points taken off", lambda r: r["points"]["adjusted_down"], "negative adjustments"),
    ]
    figures += [
        figure(
            f"redemptions-{status}", f"{status.title()} redemptions", lambda r, s=status: r["redemptions_by_status"][s]
        )
        for status in report["redemptions_by_status"]
    ]
    return figures
