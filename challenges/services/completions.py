"""Reading completions: one (as its advocate or staff may see it), a filtered page, and the ones
stuck in verification."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import joinedload

from challenges.models import (
    Challenge,
    Completion,
    CompletionStatus,
)
from hub.errors import (
    NotFound,
)
from hub.extensions import db
from hub.home_reads import HomeRead, rows_of


def completion_for(completion_id: int, advocate_id: int | None) -> Completion:
    """A completion for staff (advocate_id None) or for its own advocate; else 404."""
    completion = db.session.get(Completion, completion_id)
    if completion is None or (advocate_id is not None and completion.advocate_id != advocate_id):
        raise NotFound("Completion not found.")
    return completion


def list_completions(
    status: str | None,
    challenge_id: int | None,
    advocate_id: int | None,
    page: int,
    per_page: int,
    oldest_first: bool = False,
    challenge_type: str | None = None,
    older_than: dt.datetime | None = None,
) -> tuple[list[Completion], int]:
    query = select(Completion)
    if status:
        query = query.where(Completion.status == status)
    if challenge_id:
        query = query.where(Completion.challenge_id == challenge_id)
    if advocate_id:
        query = query.where(Completion.advocate_id == advocate_id)
    if challenge_type:
        query = query.join(Challenge, Challenge.id == Completion.challenge_id).where(Challenge.type == challenge_type)
    if older_than:
        query = query.where(Completion.submitted_at <= older_than)
    total = db.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    order = (
        (Completion.submitted_at.asc(), Completion.id.asc())
        if oldest_first
        else (Completion.submitted_at.desc(), Completion.id.desc())
    )
    items = db.session.scalars(query.order_by(*order).limit(per_page).offset((page - 1) * per_page)).all()
    return list(items), total


def stuck_completions(older_than: dt.datetime, limit: int = 500) -> list[Completion]:
    """Completions still submitted/verifying since before `older_than` (lost or killed jobs)."""
    return list(
        db.session.scalars(
            select(Completion)
            .where(
                Completion.status.in_((CompletionStatus.SUBMITTED, CompletionStatus.VERIFYING)),
                func.coalesce(Completion.verifying_started_at, Completion.submitted_at) <= older_than,
            )
            .order_by(Completion.submitted_at)
            .limit(limit)
        )
    )


def fresh_completion(completion_id: int, with_challenge: bool = False) -> Completion | None:
    """The completion as the database has it now (one SELECT; with its challenge joined)."""
    options = [joinedload(Completion.challenge).lazyload(Challenge.target_groups)] if with_challenge else []
    return db.session.get(Completion, completion_id, options=options, populate_existing=True)


def _first_approved_statement() -> Select[*tuple[Any, ...]]:
    return (
        select(Completion.id)
        .where(Completion.advocate_id == bindparam("advocate_id"), Completion.status == CompletionStatus.APPROVED)
        .limit(1)
    )


# The hub page's "getting started" check, read with its other cards in one statement
# (hub.home_reads; registered by challenges.hooks).
FIRST_APPROVED = HomeRead("first_approved_completion", _first_approved_statement)


def has_approved_completion(advocate_id: int) -> bool:
    """Whether the advocate has any approved completion (one indexed EXISTS; on the hub page,
    from its cards' reads taken together)."""
    return bool(rows_of(FIRST_APPROVED, advocate_id=advocate_id))
