"""JSON routes for challenges and completions (api.md), on the same services as the pages."""

from __future__ import annotations

from typing import Any

from flask import request

from challenges import services, verifiers
from challenges.models import Challenge, ChallengeStatus, Completion, CompletionStatus
from hub.endpoints import api_blueprint, endpoint, page_args, paginated
from hub.errors import NotFound
from hub.markup import render_markdown
from hub.models import ALL_ROLES, STAFF_ROLES, Role, User
from hub.validation import Fields, iso

bp = api_blueprint("challenges_api")

_STR_LIST = {"type": "array", "items": {"type": "string"}}
CHALLENGE_PROPERTIES = {
    "title": {"type": "string", "maxLength": 160},
    "type": {"type": "string", "enum": list(verifiers.TYPES)},
    "description": {"type": "string", "maxLength": services.MAX_DESCRIPTION},
    "points": {"type": "integer", "minimum": 1, "maximum": services.MAX_POINTS},
    "bonus_points": {"type": "integer", "minimum": 0, "maximum": services.MAX_POINTS},
    "question_id": {"type": "integer", "minimum": 1},
    "effort": {"type": "string", "enum": ["low", "medium", "high"]},
    "verification": {"type": "string", "enum": list(verifiers.VERIFIERS)},
    "evidence": {"type": "array", "items": {"type": "string", "enum": list(verifiers.EVIDENCE_KINDS)}},
    "allowed_domains": _STR_LIST,
    "marker": {"type": "string", "maxLength": 200},
    "cooldown_days": {"type": "integer", "minimum": 0, "maximum": 3650},
    "max_per_advocate": {"type": "integer", "minimum": 1, "maximum": 1000},
    "max_total": {"type": "integer", "minimum": 1, "maximum": 1_000_000},
    "starts_at": {"type": "string", "format": "date-time"},
    "ends_at": {"type": "string", "format": "date-time"},
    "target_tiers": {"type": "array", "items": {"type": "string", "enum": ["bronze", "silver", "gold"]}},
    "target_groups": _STR_LIST,
    "quiz": {"type": "object"},
}
CHALLENGE_BODY = {"type": "object", "required": ["title", "type", "points"], "properties": CHALLENGE_PROPERTIES}
PATCH_BODY = {"type": "object", "properties": CHALLENGE_PROPERTIES}
COMPLETION_BODY = {
    "type": "object",
    "properties": {
        "evidence_url": {"type": "string", "maxLength": services.MAX_URL},
        "evidence_text": {"type": "string", "maxLength": services.MAX_EVIDENCE_TEXT},
        "answers": {"type": "array"},
    },
}
REJECT_BODY = {
    "type": "object",
    "required": ["reason"],
    "properties": {"reason": {"type": "string", "maxLength": services.MAX_REASON}},
}


def public_quiz(quiz: dict[str, Any] | None) -> dict[str, Any] | None:
    """The quiz without its answers (what advocates may see)."""
    if not quiz:
        return None
    return {"questions": [{"prompt": q["prompt"], "options": q.get("options") or []} for q in quiz["questions"]]}


def challenge_json(
    challenge: Challenge, staff: bool, item: services.FeedItem | None = None, stats: dict[str, int] | None = None
) -> dict[str, Any]:
    spec = verifiers.TYPES.get(challenge.type)
    payload: dict[str, Any] = {
        "id": challenge.id,
        "title": challenge.title,
        "type": challenge.type,
        "description": challenge.description,
        "description_html": render_markdown(challenge.description),
        "points": challenge.points,
        "bonus_points": challenge.bonus_points,
        "question_id": challenge.question_id,
        "effort": str(challenge.effort),
        "time_estimate": verifiers.EFFORT_TIME[challenge.effort],
        "verification": challenge.verification,
        "evidence": list(challenge.evidence or []),
        "allowed_domains": list(challenge.allowed_domains or []),
        "cooldown_days": challenge.cooldown_days,
        "max_per_advocate": challenge.max_per_advocate,
        "max_total": challenge.max_total,
        "starts_at": iso(challenge.starts_at),
        "ends_at": iso(challenge.ends_at),
        "target_tiers": list(challenge.target_tiers or []),
        "target_groups": sorted(g.name for g in challenge.target_groups),
        "status": str(challenge.status),
        "self_service": spec.self_service if spec else True,
        "how_to": spec.how_to if spec else "",
        "quiz": challenge.quiz if staff else public_quiz(challenge.quiz),
        "published_at": iso(challenge.published_at),
    }
    if staff:
        payload |= {
            "marker": challenge.marker,
            "created_at": iso(challenge.created_at),
            "closed_at": iso(challenge.closed_at),
            "archived_at": iso(challenge.archived_at),
        }
        if stats is not None:
            payload["completions"] = stats
    if item is not None:
        payload |= {
            "available": item.available,
            "locked_reason": item.locked_reason,
            "available_at": iso(item.available_at),
            "my_status": str(item.latest.status) if item.latest else None,
            "my_latest_completion_id": item.latest.id if item.latest else None,
            "times_completed": item.times_done,
        }
    return payload


def completion_json(completion: Completion, staff: bool = False) -> dict[str, Any]:
    payload = {
        "id": completion.id,
        "challenge_id": completion.challenge_id,
        "advocate_id": completion.advocate_id,
        "status": str(completion.status),
        "points_offered": completion.points_offered,
        "points_awarded": completion.points_awarded,
        "reason": completion.reason,
        "evidence_url": completion.evidence_url,
        "evidence_text": completion.evidence_text,
        "answers": completion.answers,
        "submitted_at": iso(completion.submitted_at),
        "decided_at": iso(completion.decided_at),
    }
    if staff:
        payload |= {
            "verification_note": completion.verification_note,
            "fetched_excerpt": completion.fetched_excerpt,
            "verification_attempts": completion.verification_attempts,
            "decided_by_id": completion.decided_by_id,
            "is_auto_approved": completion.is_auto_approved,
        }
    return payload


def _staff_challenge(challenge: Challenge) -> dict[str, Any]:
    return challenge_json(challenge, True, stats=services.completion_stats([challenge.id])[challenge.id])


@endpoint(
    bp,
    "/challenges",
    "POST",
    roles=STAFF_ROLES,
    summary="Create a challenge (draft)",
    status=201,
    body=CHALLENGE_BODY,
    idempotent=True,
    tag="challenges",
)
def create_challenge(user: User, data: dict) -> tuple[dict, int]:
    challenge = services.create_challenge(services.clean_challenge(data), user.id)
    return _staff_challenge(challenge), 201


@endpoint(
    bp,
    "/challenges/<int:challenge_id>",
    "PATCH",
    roles=STAFF_ROLES,
    summary="Edit a challenge",
    body=PATCH_BODY,
    tag="challenges",
)
def update_challenge(user: User, challenge_id: int, data: dict) -> dict:
    challenge = services.get_challenge(challenge_id)
    merged = services.definition_dict(challenge) | {k: v for k, v in data.items() if k in CHALLENGE_PROPERTIES}
    challenge = services.update_challenge(challenge_id, services.clean_challenge(merged), user.id)
    return _staff_challenge(challenge)


def _transition_route(action: str, service) -> None:
    def route(user: User, challenge_id: int) -> dict:
        return _staff_challenge(service(challenge_id, user.id))

    route.__name__ = f"{action}_challenge"
    endpoint(
        bp,
        f"/challenges/<int:challenge_id>/{action}",
        "POST",
        roles=STAFF_ROLES,
        summary=f"{action.title()} a challenge",
        tag="challenges",
    )(route)


for _action, _service in (
    ("publish", services.publish_challenge),
    ("close", services.close_challenge),
    ("archive", services.archive_challenge),
):
    _transition_route(_action, _service)


@endpoint(
    bp,
    "/challenges/<int:challenge_id>/duplicate",
    "POST",
    roles=STAFF_ROLES,
    status=201,
    summary="Copy a challenge into a new draft",
    tag="challenges",
)
def duplicate_challenge(user: User, challenge_id: int) -> tuple[dict, int]:
    return _staff_challenge(services.duplicate_challenge(challenge_id, user.id)), 201


@endpoint(
    bp,
    "/challenges",
    roles=ALL_ROLES,
    summary="Advocates: their feed; staff: every challenge",
    tag="challenges",
    query={"status": "string", "page": "integer", "per_page": "integer"},
)
def list_challenges(user: User) -> dict:
    page, per_page = page_args()
    f = Fields(request.args)
    status = f.choice("status", [s.value for s in ChallengeStatus])
    f.done()
    if user.role is Role.ADVOCATE:
        feed = services.feed_for(user.advocate)
        window = feed[(page - 1) * per_page : page * per_page]
        return paginated([challenge_json(i.challenge, False, i) for i in window], page, per_page, len(feed))
    if user.role is Role.SALES:
        status = ChallengeStatus.PUBLISHED.value
    items, total = services.list_challenges(status, page, per_page)
    if user.role is Role.SALES:
        return paginated([challenge_json(c, False) for c in items], page, per_page, total)
    stats = services.completion_stats([c.id for c in items])
    return paginated([challenge_json(c, True, stats=stats[c.id]) for c in items], page, per_page, total)


@endpoint(bp, "/challenges/<int:challenge_id>", roles=ALL_ROLES, summary="One challenge", tag="challenges")
def get_challenge(user: User, challenge_id: int) -> dict:
    if user.role is Role.ADVOCATE:
        challenge = services.visible_challenge(challenge_id, user.advocate)
        return challenge_json(challenge, False, services.feed_item(challenge, user.advocate))
    challenge = services.get_challenge(challenge_id)
    if user.role is Role.SALES:
        if challenge.status is not ChallengeStatus.PUBLISHED:
            raise NotFound("Challenge not found.")
        return challenge_json(challenge, False)
    return _staff_challenge(challenge)


@endpoint(
    bp,
    "/challenges/<int:challenge_id>/completions",
    "POST",
    roles={Role.ADVOCATE},
    status=201,
    summary="Complete a challenge",
    body=COMPLETION_BODY,
    idempotent=True,
    tag="challenges",
)
def submit_completion(user: User, challenge_id: int, data: dict) -> tuple[dict, int]:
    completion = services.submit_completion(challenge_id, user.advocate.id, data)
    return completion_json(completion), 201


@endpoint(
    bp,
    "/completions/<int:completion_id>",
    roles=STAFF_ROLES | {Role.ADVOCATE},
    summary="One completion",
    tag="challenges",
)
def get_completion(user: User, completion_id: int) -> dict:
    staff = user.role in STAFF_ROLES
    completion = services.completion_for(completion_id, None if staff else user.advocate.id)
    return completion_json(completion, staff)


@endpoint(
    bp,
    "/completions",
    roles=STAFF_ROLES,
    summary="List completions",
    tag="challenges",
    query={
        "status": "string",
        "challenge_id": "integer",
        "advocate_id": "integer",
        "page": "integer",
        "per_page": "integer",
    },
)
def list_completions(user: User) -> dict:
    page, per_page = page_args()
    f = Fields(request.args)
    status = f.choice("status", [s.value for s in CompletionStatus])
    challenge_id = f.int("challenge_id", minimum=1)
    advocate_id = f.int("advocate_id", minimum=1)
    f.done()
    items, total = services.list_completions(status, challenge_id, advocate_id, page, per_page)
    return paginated([completion_json(c, True) for c in items], page, per_page, total)


@endpoint(
    bp,
    "/completions/<int:completion_id>/approve",
    "POST",
    roles=STAFF_ROLES,
    summary="Approve a completion",
    tag="challenges",
)
def approve_completion(user: User, completion_id: int) -> dict:
    return completion_json(services.approve_completion(completion_id, user.id), True)


@endpoint(
    bp,
    "/completions/<int:completion_id>/reject",
    "POST",
    roles=STAFF_ROLES,
    summary="Reject a completion",
    body=REJECT_BODY,
    tag="challenges",
)
def reject_completion(user: User, completion_id: int, data: dict) -> dict:
    f = Fields(data)
    reason = f.str("reason", required=True, max_length=services.MAX_REASON)
    f.done()
    return completion_json(services.reject_completion(completion_id, user.id, reason), True)
