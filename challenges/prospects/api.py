"""JSON routes for finding advocates (api.md "Endpoints of the second release"): the
advocacy-score import (a text/csv body), candidates and their invitation, nominations."""

from __future__ import annotations

from flask import request
from sqlalchemy import func, select

from challenges.prospects import candidates, nominations, scores
from challenges.prospects.contracts import (
    CandidateInvited,
    NominationPage,
    NominationReply,
    ScoreCandidatePage,
    ScoreCandidateQuery,
    ScoreCandidateReply,
    ScoreImportReply,
)
from challenges.prospects.models import Nomination
from challenges.prospects.nominations import DeclineBody, NominationBody
from hub.contracts import PageQuery
from hub.endpoints import api_blueprint, endpoint
from hub.errors import NotFound, ValidationFailed
from hub.extensions import db
from hub.models import STAFF_ROLES, User

bp = api_blueprint("prospects_api")
TAG = "prospects"


@endpoint(
    bp,
    "/advocacy-scores/import",
    "POST",
    roles=STAFF_ROLES,
    tag=TAG,
    summary="Import advocacy scores: a text/csv body with the header "
    "email,name,company,nps,feature_adoption_pct,health_score,tenure_months,social_mentions,responded_before",
    reply=ScoreImportReply,
)
def import_scores(user: User) -> ScoreImportReply:
    if request.mimetype not in ("text/csv", "text/plain", "application/csv"):
        raise ValidationFailed({"body": "Send the CSV file as the body with Content-Type: text/csv."})
    job = scores.start_import("api.csv", request.get_data(cache=True), user.id, run_now=True)
    return ScoreImportReply.model_validate(
        {
            "imported": job.imported_count,
            "updated": job.updated_count,
            "errors": [{"line": line, "reason": reason} for line, reason in job.errors],
        }
    )


def candidate_reply(row: candidates.CandidateRow) -> ScoreCandidateReply:
    s = row.score
    return ScoreCandidateReply(
        id=s.id,
        email=s.email,
        name=s.name,
        company=s.company,
        account_id=s.account_id,
        score=s.score,
        qualified=s.qualified,
        reasons=list(s.reasons or []),
        status=row.status,
        advocate_id=row.advocate_id,
    )


@endpoint(
    bp,
    "/candidates",
    roles=STAFF_ROLES,
    tag=TAG,
    summary="Scored contacts, best score first (qualified=true: score over 60 only)",
    query=ScoreCandidateQuery,
    reply=ScoreCandidatePage,
)
def list_candidates(user: User, args: ScoreCandidateQuery) -> ScoreCandidatePage:
    rows, total = candidates.candidates(bool(args.qualified), args.per_page, args.offset)
    return ScoreCandidatePage.of([candidate_reply(r) for r in rows], args, total)


@endpoint(
    bp,
    "/candidates/<int:candidate_id>/invite",
    "POST",
    roles=STAFF_ROLES,
    tag=TAG,
    summary="Invite a candidate (the normal invitation); 409 invalid_state if already invited or a user",
    reply=CandidateInvited,
    status=201,
)
def invite_candidate(user: User, candidate_id: int) -> tuple[CandidateInvited, int]:
    row = candidates.invite(candidate_id, user.id)
    return CandidateInvited(candidate_id=row.id, email=row.email, status="invited"), 201


def nomination_reply(row: Nomination) -> NominationReply:
    return NominationReply(
        id=row.id,
        email=row.email,
        name=row.name,
        company=row.company,
        title=row.title,
        reason=row.reason,
        status=row.status.value,
        nominated_by=row.nominated_by_id,
        decided_at=row.decided_at,
        decline_reason=row.decline_reason,
    )


@endpoint(
    bp,
    "/nominations",
    "POST",
    roles=nominations.NOMINATORS,
    tag=TAG,
    summary="Nominate a customer contact; 409 invalid_state if a user or already nominated",
    body=NominationBody,
    reply=NominationReply,
    status=201,
)
def nominate(user: User, data: NominationBody) -> tuple[NominationReply, int]:
    return nomination_reply(nominations.nominate(data, user)), 201


@endpoint(
    bp,
    "/nominations",
    roles=nominations.NOMINATORS,
    tag=TAG,
    summary="Nominations (sales: their own), newest first",
    query=PageQuery,
    reply=NominationPage,
)
def list_nominations(user: User, args: PageQuery) -> NominationPage:
    query = nominations.visible_to(user)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.scalars(
        query.order_by(Nomination.created_at.desc(), Nomination.id.desc()).limit(args.per_page).offset(args.offset)
    ).all()
    return NominationPage.of([nomination_reply(r) for r in rows], args, total)


@endpoint(
    bp,
    "/nominations/<int:nomination_id>/approve",
    "POST",
    roles=STAFF_ROLES,
    tag=TAG,
    summary="Approve a nomination: the contact is invited, the nominator told",
    reply=NominationReply,
)
def approve_nomination(user: User, nomination_id: int) -> NominationReply:
    return nomination_reply(nominations.approve(nomination_id, user))


@endpoint(
    bp,
    "/nominations/<int:nomination_id>/decline",
    "POST",
    roles=STAFF_ROLES,
    tag=TAG,
    summary="Decline a nomination with a reason; the nominator is told",
    body=DeclineBody,
    reply=NominationReply,
)
def decline_nomination(user: User, nomination_id: int, data: DeclineBody) -> NominationReply:
    if db.session.get(Nomination, nomination_id) is None:
        raise NotFound("Nomination not found.")
    return nomination_reply(nominations.decline(nomination_id, user, data.reason))
