"""The report tables (issue 17) — per challenge, per group, redemptions, advocates with their asks
and burnout — for the period chosen on the page, and a streamed CSV of every table on the
reports page (attribution per advocate, per challenge, per group, redemptions, asks), each
honouring the period in its query string exactly as the page does (admin.periods)."""

from __future__ import annotations

from collections.abc import Iterator

from flask import Response, request
from sqlalchemy import select

from admin.console import bp, owner_only
from admin.periods import Period, chosen_period
from challenges import report_tables
from challenges.crm import reports
from hub.csv_files import csv_download
from hub.extensions import db
from hub.models import Advocate, User
from rewards.services import redemption_table

BATCH = 1000  # advocates named per query while the attribution CSV streams
PREVIEW = 20  # rows of the longer tables shown on the page; the CSV has every row


def tables_for(period: Period) -> dict[str, object]:
    """What the reports page shows besides the attribution table, for `period`."""
    redemptions, redemptions_total = redemption_table.redemption_table(
        period.starts_at, period.ends_before, limit=PREVIEW
    )
    asks, asks_total = report_tables.advocate_asks(period.starts_at, period.ends_before, limit=PREVIEW)
    return {
        "challenges": report_tables.challenge_performance(period.starts_at, period.ends_before),
        "groups": report_tables.group_performance(period.starts_at, period.ends_before),
        "redemptions": redemptions,
        "redemptions_total": redemptions_total,
        "asks": asks,
        "asks_total": asks_total,
        "preview": PREVIEW,
    }


def _filename(name: str, period: Period) -> str:
    return f"{name}_{period.file_suffix}.csv"


@bp.get("/reports/challenges.csv")
@owner_only
def challenges_csv() -> Response:
    """Per-challenge performance for the period (`?period=` or `?from=&to=`)."""
    period = chosen_period(request.args)
    rows = report_tables.challenge_performance(period.starts_at, period.ends_before)
    return csv_download(
        _filename("challenges", period),
        ("challenge_id", "title", "type", *report_tables.HEADER),
        ([r.key, r.name, r.kind, *report_tables.performance_cells(r)] for r in rows),
    )


@bp.get("/reports/groups.csv")
@owner_only
def groups_csv() -> Response:
    """Per-group performance for the period."""
    period = chosen_period(request.args)
    rows = report_tables.group_performance(period.starts_at, period.ends_before)
    return csv_download(
        _filename("groups", period),
        ("group_id", "group", *report_tables.HEADER),
        ([r.key, r.name, *report_tables.performance_cells(r)] for r in rows),
    )


@bp.get("/reports/redemptions.csv")
@owner_only
def report_redemptions_csv() -> Response:
    """Every redemption requested in the period, newest first."""
    period = chosen_period(request.args)
    return csv_download(
        _filename("redemptions", period),
        redemption_table.HEADER,
        (row.cells() for row in redemption_table.iter_redemptions(period.starts_at, period.ends_before)),
    )


@bp.get("/reports/asks.csv")
@owner_only
def asks_csv() -> Response:
    """Advocates with their asks in the period and their burnout bucket at its end."""
    period = chosen_period(request.args)
    return csv_download(
        _filename("asks", period),
        report_tables.ASKS_HEADER,
        (
            report_tables.asks_cells(row)
            for row in report_tables.iter_advocate_asks(period.starts_at, period.ends_before)
        ),
    )


ATTRIBUTION_HEADER = (
    "advocate_id",
    "name",
    "currency",
    "sourced_pipeline",
    "sourced_won",
    "influenced_pipeline",
    "influenced_won",
    "deals",
    "deals_won",
    "win_rate",
)


def _attribution_rows(period: Period) -> Iterator[list[object]]:
    rows, _ = reports.per_advocate(since=period.since, until=period.until)
    for start in range(0, len(rows), BATCH):
        batch = rows[start : start + BATCH]
        names = dict(
            db.session.execute(
                select(Advocate.id, User.name)
                .join(User, User.id == Advocate.user_id)
                .where(Advocate.id.in_([r.advocate_id for r in batch]))
            ).all()
        )
        for r in batch:
            yield [
                r.advocate_id,
                names.get(r.advocate_id, ""),
                r.currency,
                r.sourced_pipeline,
                r.sourced_won,
                r.influenced_pipeline,
                r.influenced_won,
                r.deals,
                r.deals_won,
                r.win_rate,
            ]


@bp.get("/reports/attribution.csv")
@owner_only
def attribution_csv() -> Response:
    """Attribution per advocate (and currency) for the deals created in the period."""
    period = chosen_period(request.args)
    return csv_download(_filename("attribution", period), ATTRIBUTION_HEADER, _attribution_rows(period))
