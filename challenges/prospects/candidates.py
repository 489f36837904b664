"""Candidates (product.md §13): scored contacts, best score first, with the signals that scored
and where each stands — `new`, `invited` (an invitation went out) or `joined` (a user has the
email); inviting one or many through the normal invitation flow; and the funnel qualified →
invited → joined → first approved act."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, case, exists, func, select, update

from challenges.models import Completion, CompletionStatus
from challenges.prospects.models import AdvocacyScore
from hub import invitations
from hub.accounts import AdvocateProfile
from hub.db import execute_dml, utcnow
from hub.errors import InvalidState, NotFound
from hub.extensions import db
from hub.fields import read
from hub.models import Advocate, User


@dataclass(frozen=True)
class CandidateRow:
    score: AdvocacyScore
    status: str
    advocate_id: int | None


def _listing(qualified_only: bool):
    query = (
        select(AdvocacyScore, User.id, Advocate.id)
        .outerjoin(User, User.email == AdvocacyScore.email)
        .outerjoin(Advocate, Advocate.user_id == User.id)
    )
    if qualified_only:
        query = query.where(AdvocacyScore.qualified.is_(True))
    return query


def candidates(qualified_only: bool = False, limit: int = 50, offset: int = 0) -> tuple[list[CandidateRow], int]:
    """A page of candidates, best score first (then email), and the total."""
    query = _listing(qualified_only)
    total_query = select(func.count()).select_from(AdvocacyScore)
    if qualified_only:
        total_query = total_query.where(AdvocacyScore.qualified.is_(True))
    rows = db.session.execute(
        query.order_by(AdvocacyScore.score.desc(), AdvocacyScore.email).limit(limit).offset(offset)
    ).all()
    return [CandidateRow(s, _status(s, user_id), advocate_id) for s, user_id, advocate_id in rows], (
        db.session.scalar(total_query) or 0
    )


def _status(row: AdvocacyScore, user_id: int | None) -> str:
    if user_id is not None:
        return "joined"
    return "invited" if row.invited_at is not None else "new"


def invite(candidate_id: int, actor_id: int) -> AdvocacyScore:
    """Invite this candidate (hub.invitations: single-use link by email). Refused with
    InvalidState when already invited or already a user; the claim is one conditional UPDATE,
    so two clicks at once send one invitation."""
    row = db.session.get(AdvocacyScore, candidate_id)
    if row is None:
        raise NotFound("Candidate not found.")
    if db.session.scalar(select(User.id).where(User.email == row.email)) is not None:
        raise InvalidState("This person already has an account.")
    claimed = execute_dml(
        update(AdvocacyScore)
        .where(AdvocacyScore.id == row.id, AdvocacyScore.invited_at.is_(None))
        .values(invited_at=utcnow(), invited_by_id=actor_id)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        raise InvalidState("This candidate was already invited.")
    profile = read(AdvocateProfile, {"email": row.email, "name": row.name, "company": row.company})
    if invitations.invite(profile, actor_id) is None:
        raise InvalidState("This person already has an account.")
    db.session.refresh(row)
    return row


@dataclass(frozen=True)
class InviteMany:
    invited: list[int]
    skipped: list[tuple[int, str]]


def invite_many(candidate_ids: list[int], actor_id: int) -> InviteMany:
    """Invite each; the ones refused (already invited, already a user, unknown) are skipped with
    the reason, each in its own savepoint so the others still go out."""
    invited, skipped = [], []
    for candidate_id in dict.fromkeys(candidate_ids):
        try:
            with db.session.begin_nested():
                invite(candidate_id, actor_id)
            invited.append(candidate_id)
        except (InvalidState, NotFound) as exc:
            skipped.append((candidate_id, exc.message))
    return InviteMany(invited, skipped)


@dataclass(frozen=True)
class Funnel:
    qualified: int
    invited: int
    joined: int
    first_act: int


def funnel() -> Funnel:
    """Of the qualified candidates: how many were invited, joined (a user with the email; an
    advocate who joined without the candidate invitation counts too) and have at least one
    approved completion."""
    s = AdvocacyScore
    acted = exists().where(Completion.advocate_id == Advocate.id, Completion.status == CompletionStatus.APPROVED)
    row = db.session.execute(
        select(
            func.count(s.id),
            func.sum(case((s.invited_at.is_not(None), 1), else_=0)),
            func.sum(case((Advocate.id.is_not(None), 1), else_=0)),
            func.sum(case((and_(Advocate.id.is_not(None), acted), 1), else_=0)),
        )
        .select_from(s)
        .outerjoin(User, User.email == s.email)
        .outerjoin(Advocate, Advocate.user_id == User.id)
        .where(s.qualified.is_(True))
    ).one()
    return Funnel(row[0] or 0, int(row[1] or 0), int(row[2] or 0), int(row[3] or 0))
