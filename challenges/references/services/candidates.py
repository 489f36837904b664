"""Who can take a reference request: available advocates ranked by fit (references.matching),
the others excluded with the caps' reason; and what sales can use when nobody can."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from challenges import caps
from challenges.models import Ask, AskKind, Challenge, ChallengeStatus, Completion, CompletionStatus
from challenges.references import matching
from challenges.references.models import (
    AssignmentStatus,
    ReferenceAssignment,
    ReferenceRequest,
)
from hub.db import utcnow
from hub.errors import NotFound
from hub.extensions import db
from hub.models import Advocate, User


@dataclass(frozen=True)
class Matches:
    candidates: list[matching.Candidate]
    exclusions: list[matching.Exclusion]

    @property
    def excluded_counts(self) -> list[tuple[str, str, int]]:
        return matching.exclusion_counts(self.exclusions)


def find_matches(request_id: int, at: dt.datetime | None = None) -> Matches:
    """Every available advocate ranked by fit, then least recently tapped; the others excluded
    with the caps' reason (capped, blackout, not available) or because they were already asked."""
    at = at or utcnow()
    request = db.session.get(ReferenceRequest, request_id)
    if request is None:
        raise NotFound("Reference request not found.")
    rows = db.session.execute(
        select(Advocate, User.name)
        .join(User, User.id == Advocate.user_id)
        .where(Advocate.is_erased.is_(False), User.is_active_user.is_(True))
        .order_by(Advocate.id)
    ).all()
    asked = set(
        db.session.scalars(select(ReferenceAssignment.advocate_id).where(ReferenceAssignment.request_id == request.id))
    )
    last_tapped = dict(
        db.session.execute(
            select(Ask.advocate_id, func.max(Ask.asked_at))
            .where(Ask.kind == AskKind.REFERENCE_CALL, Ask.cancelled_at.is_(None))
            .group_by(Ask.advocate_id)
        ).all()
    )
    past_use_cases: dict[int, set[str]] = {}
    for advocate_id, use_case in db.session.execute(
        select(ReferenceAssignment.advocate_id, ReferenceRequest.use_case)
        .join(ReferenceRequest, ReferenceRequest.id == ReferenceAssignment.request_id)
        .where(ReferenceAssignment.status.in_([AssignmentStatus.ACCEPTED, AssignmentStatus.COMPLETED]))
    ):
        past_use_cases.setdefault(advocate_id, set()).add(use_case)
    available: list[matching.AdvocateFit] = []
    exclusions: list[matching.Exclusion] = []
    public = request.format.value in matching.PUBLIC_FORMATS
    for advocate, name in rows:
        if advocate.id in asked:
            exclusions.append(matching.Exclusion(advocate.id, name, "already_asked", None, None))
            continue
        persona = advocate.persona.value if advocate.persona else None
        if public and persona == matching.PRIVATE_REFERENCE:  # §13: never for a public format
            exclusions.append(matching.Exclusion(advocate.id, name, matching.PRIVATE_REFERENCE, None, None))
            continue
        check = caps.check_ask(advocate.id, AskKind.REFERENCE_CALL, at)
        if not check.allowed:
            exclusions.append(
                matching.Exclusion(advocate.id, name, check.code or "capped", check.reason, check.available_at)
            )
            continue
        preferred = (advocate.preferences or {}).get("use_cases")
        use_cases = {u for u in preferred if isinstance(u, str)} if isinstance(preferred, list) else set()
        available.append(
            matching.AdvocateFit(
                advocate.id,
                name,
                advocate.company,
                advocate.title,
                advocate.industry,
                advocate.company_size,
                advocate.region,
                frozenset(use_cases | past_use_cases.get(advocate.id, set())),
                last_tapped.get(advocate.id),
                persona,
            )
        )
    profile = matching.RequestFit(
        request.industry, request.company_size, request.use_case, request.region, request.format.value
    )
    return Matches(matching.rank(profile, available, at), exclusions)


def alternatives_for(request: ReferenceRequest, limit: int = 5) -> list[dict[str, Any]]:
    """Published case studies and reviews by advocates (same industry first)."""
    same_industry = func.lower(func.coalesce(Advocate.industry, "")) == request.industry.lower()
    found: list[dict[str, Any]] = []
    for kind in ("case_study", "review"):
        rows = db.session.execute(
            select(Challenge.title, Completion.evidence_url, Advocate.company, Advocate.industry)
            .join(Completion, Completion.challenge_id == Challenge.id)
            .join(Advocate, Advocate.id == Completion.advocate_id)
            .where(
                Challenge.type == kind, Completion.status == CompletionStatus.APPROVED, Advocate.is_erased.is_(False)
            )
            .order_by(same_industry.desc(), Completion.decided_at.desc())
            .limit(limit)
        ).all()
        for title, url, company, industry in rows:
            found.append(
                {
                    "kind": kind,
                    "title": title,
                    "url": url if url and url.startswith("http") else None,
                    "company": company,
                    "industry": industry,
                }
            )
        if kind == "case_study" and not rows:
            for (title,) in db.session.execute(
                select(Challenge.title)
                .where(Challenge.type == kind, Challenge.status == ChallengeStatus.PUBLISHED)
                .order_by(Challenge.id.desc())
                .limit(limit)
            ):
                found.append({"kind": kind, "title": title, "url": None, "company": None, "industry": None})
    return found
