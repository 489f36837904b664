"""The approved-acts tally the reports read (`ActDayTotal`): counted one approval at a time in the
approval's own transaction (challenges.services.approve_completion), and rebuilt from the
completions in one grouped statement (the migration that added it, the bench seeder)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import cast, delete, func, insert, select
from sqlalchemy.sql.elements import ColumnElement

from challenges.models import ACT_TOTAL_SHARDS, ActDayTotal, Challenge, Completion, CompletionStatus
from hub.db import table_of, upsert_add
from hub.extensions import db


def count_approved_act(advocate_id: int, challenge_type: str, decided_at: dt.datetime) -> None:
    """Add one approved act of `challenge_type` on `decided_at`'s UTC day (call once per approval,
    in its transaction: approval is a conditional UPDATE that succeeds once per completion)."""
    upsert_add(
        db.session,
        table_of(ActDayTotal),
        {
            "day": decided_at.astimezone(dt.UTC).date(),
            "challenge_type": challenge_type,
            "shard": advocate_id % ACT_TOTAL_SHARDS,
        },
        "acts",
        1,
    )


def rebuild_act_totals() -> None:
    """Recompute `ActDayTotal` from the approved completions (one grouped INSERT … SELECT)."""
    session = db.session
    decided = Completion.decided_at
    day: ColumnElement[dt.date] = (
        cast(func.timezone("UTC", decided), ActDayTotal.day.type)
        if session.get_bind().dialect.name == "postgresql"
        else func.date(decided)
    )
    shard = Completion.advocate_id % ACT_TOTAL_SHARDS
    grouped = (
        select(day, Challenge.type, shard, func.count())
        .join(Challenge, Challenge.id == Completion.challenge_id)
        .where(Completion.status == CompletionStatus.APPROVED, decided.is_not(None))
        .group_by(day, Challenge.type, shard)
    )
    session.execute(delete(ActDayTotal))
    session.execute(insert(ActDayTotal).from_select(["day", "challenge_type", "shard", "acts"], grouped))
