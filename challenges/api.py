"""JSON routes for challenges and completions (api.md), on the same services as the pages."""

from __future__ import annotations

import functools
import json
import weakref
from pathlib import Path
from typing import Any, cast

from flask import Response, url_for
from pydantic import PrivateAttr
from werkzeug.datastructures import FileStorage

from challenges import incentives, services, verifiers
from challenges.catalogue import Entry
from challenges.contracts import (
    ChallengeListQuery,
    ChallengePage,
    ChallengeReply,
    CompletionBulkBody,
    CompletionListQuery,
    CompletionPage,
    CompletionRejectBody,
    CompletionReply,
    EvidenceFileQuery,
    EvidenceFileReply,
    IncentiveAwarded,
    IncentiveOffered,
    IncentivePage,
    IncentiveQuery,
)
from challenges.models import Challenge, ChallengeStatus, Completion, EvidenceFile
from challenges.services import ChallengeBody, ChallengePatch, EvidenceBody, evidence_files
from challenges.services.submissions import EvidenceUpload
from hub import uploads
from hub.contracts import Body, BulkReply
from hub.csv_files import csv_text
from hub.endpoints import api_blueprint, endpoint
from hub.errors import NotFound
from hub.fields.dates import iso
from hub.markup import render_markdown
from hub.models import ALL_ROLES, STAFF_ROLES, Role, User
from hub.tokens import Caller

bp = api_blueprint("challenges_api")


def public_quiz(quiz: dict[str, Any] | None) -> dict[str, Any] | None:
    """The quiz without its answers (what advocates may see)."""
    if not quiz:
        return None
    return {"questions": [{"prompt": q["prompt"], "options": q.get("options") or []} for q in quiz["questions"]]}


def challenge_reply(
    challenge: Challenge | Entry,
    staff: bool,
    item: services.FeedItem | None = None,
    stats: dict[str, int] | None = None,
) -> ChallengeReply:
    """A challenge as staff (the marker, lifecycle times, completion counts), sales or an
    advocate (the quiz without answers; with `item`, their availability and record) see it.
    A published catalogue entry's reply for advocates is validated once per catalogue version
    (`_entry_reply`) and only the advocate's own fields are added per request."""
    if isinstance(challenge, Entry) and not staff and stats is None:
        base = _entry_reply(challenge)
        return base if item is None else base.model_copy(update=_item_fields(item))
    return ChallengeReply.model_validate(_reply_fields(challenge, staff, stats) | (_item_fields(item) if item else {}))


@functools.lru_cache(maxsize=4096)
def _entry_reply(entry: Entry) -> ChallengeReply:
    """The advocate's view of a catalogue entry (entries compare by identity: one per version)."""
    return ChallengeReply.model_validate(_reply_fields(entry, False, None))


@functools.lru_cache(maxsize=4096)
def _entry_json(entry: Entry) -> str:
    """`_entry_reply(entry)` as JSON without its closing brace: the fixed head of every feed
    item of this entry (the advocate's own fields are the reply's last ones, contracts)."""
    return _entry_reply(entry).model_dump_json()[:-1]


def _json_text(value: str | None) -> str:
    """A JSON string or null, written as pydantic writes one (UTF-8 kept, controls escaped)."""
    return "null" if value is None else json.dumps(value, ensure_ascii=False)


# Each feed item's JSON, kept while the item lives (a feed the process keeps for an advocate
# shares its items between requests, challenges.services.feed.feed_for; items are frozen).
_item_json: weakref.WeakKeyDictionary[services.FeedItem, str] = weakref.WeakKeyDictionary()


def feed_item_json(item: services.FeedItem) -> str:
    """A feed item (its challenge a catalogue Entry) as the JSON of
    `challenge_reply(item.challenge, False, item)`, byte for byte: the entry's JSON, compiled once
    per catalogue version, followed by the advocate's six fields written here (issue 22: the
    feed's replies were validated and serialised field by field on every request), once per
    item."""
    found = _item_json.get(item)
    if found is None:
        found = _item_json[item] = _written_item_json(item)
    return found


def _written_item_json(item: services.FeedItem) -> str:
    latest = item.latest
    return (
        f'{_entry_json(cast(Entry, item.challenge))},"available":{"true" if item.available else "false"},'
        f'"locked_reason":{_json_text(item.locked_reason)},"available_at":{_json_text(iso(item.available_at))},'
        f'"my_status":{_json_text(latest.status.value if latest else None)},'
        f'"my_latest_completion_id":{latest.id if latest else "null"},"times_completed":{item.times_done}}}'
    )


class FeedPage(ChallengePage):
    """A page of the advocate's feed whose JSON is written from pieces each checked against
    ChallengeReply once per catalogue version (`feed_item_json`): the endpoint takes it as the
    reply model it is (spectree then writes `model_dump_json()` without validating the JSON
    again — about a tenth of the feed's CPU, issue 22). `items` is left empty; only the JSON
    carries them."""

    _json: str = PrivateAttr("")

    def model_dump_json(self, **_options: Any) -> str:
        return self._json


def feed_page(items: list[services.FeedItem], args: ChallengeListQuery, total: int) -> FeedPage:
    """A page of the advocate's feed: the JSON of `ChallengePage.of` over the items' replies,
    byte for byte (`feed_item_json`)."""
    page = FeedPage.model_construct(items=[], page=args.page, per_page=args.per_page, total=total)
    body = ",".join(feed_item_json(i) for i in items)
    page._json = f'{{"items":[{body}],"page":{args.page},"per_page":{args.per_page},"total":{total}}}'
    return page


def _item_fields(item: services.FeedItem) -> dict[str, Any]:
    return {
        "available": item.available,
        "locked_reason": item.locked_reason,
        "available_at": item.available_at,
        "my_status": item.latest.status if item.latest else None,
        "my_latest_completion_id": item.latest.id if item.latest else None,
        "times_completed": item.times_done,
    }


def _reply_fields(challenge: Challenge | Entry, staff: bool, stats: dict[str, int] | None) -> dict[str, Any]:
    spec = verifiers.TYPES.get(challenge.type)
    fields: dict[str, Any] = {
        "id": challenge.id,
        "title": challenge.title,
        "type": challenge.type,
        "description": challenge.description,
        "description_html": challenge.description_html
        if isinstance(challenge, Entry)
        else render_markdown(challenge.description),
        "points": challenge.points,
        "bonus_points": challenge.bonus_points,
        "question_id": challenge.question_id,
        "effort": challenge.effort,
        "time_estimate": verifiers.EFFORT_TIME[challenge.effort],
        "verification": challenge.verification,
        "evidence": list(challenge.evidence or []),
        "allowed_domains": list(challenge.allowed_domains or []),
        "cooldown_days": challenge.cooldown_days,
        "max_per_advocate": challenge.max_per_advocate,
        "retry_limit": challenge.retry_limit,
        "retry_wait_hours": challenge.retry_wait_hours,
        "max_total": challenge.max_total,
        "starts_at": challenge.starts_at,
        "ends_at": challenge.ends_at,
        "target_tiers": list(challenge.target_tiers or []),
        "target_groups": sorted(g.name for g in challenge.target_groups),
        "status": challenge.status,
        "self_service": spec.self_service if spec else True,
        "how_to": spec.how_to if spec else "",
        "quiz": challenge.quiz if staff else public_quiz(challenge.quiz),
        "published_at": challenge.published_at,
        "platform": challenge.platform,
        "disclosure": challenge.disclosure,
        "banner": challenge.banner,
        "file_kinds": list(challenge.file_kinds or []),
    }
    if staff:
        fields |= {
            "marker": challenge.marker,
            "created_at": challenge.created_at,
            "closed_at": challenge.closed_at,
            "archived_at": challenge.archived_at,
        }
        if stats is not None:
            fields["completions"] = stats
    return fields


def file_reply(row: EvidenceFile) -> EvidenceFileReply:
    return EvidenceFileReply(
        completion_id=row.completion_id,
        name=row.name,
        content_type=row.content_type,
        size_bytes=row.size_bytes,
        sha256=row.sha256,
        uploaded_at=row.created_at,
        download_url=url_for("challenges_api.get_evidence_file", completion_id=row.completion_id, format="file"),
    )


def completion_reply(completion: Completion, staff: bool = False, file: EvidenceFile | None = None) -> CompletionReply:
    """A completion as staff or its advocate see it; `file`: its uploaded evidence, if any."""
    fields: dict[str, Any] = {
        "id": completion.id,
        "challenge_id": completion.challenge_id,
        "advocate_id": completion.advocate_id,
        "status": completion.status,
        "points_offered": completion.points_offered,
        "points_awarded": completion.points_awarded,
        "reason": completion.reason,
        "evidence_url": completion.evidence_url,
        "evidence_text": completion.evidence_text,
        "answers": completion.answers,
        "submitted_at": completion.submitted_at,
        "decided_at": completion.decided_at,
        "evidence_file": file_reply(file) if file is not None else None,
    }
    if staff:
        fields |= {
            "verification_note": completion.verification_note,
            "fetched_excerpt": completion.fetched_excerpt,
            "verification_attempts": completion.verification_attempts,
            "decided_by_id": completion.decided_by_id,
            "is_auto_approved": completion.is_auto_approved,
        }
    return CompletionReply.model_validate(fields)


def _staff_challenge(challenge: Challenge) -> ChallengeReply:
    return challenge_reply(challenge, True, stats=services.completion_stats([challenge.id])[challenge.id])


@endpoint(
    bp,
    "/challenges",
    "POST",
    roles=STAFF_ROLES,
    summary="Create a challenge (draft)",
    status=201,
    body=ChallengeBody,
    reply=ChallengeReply,
    idempotent=True,
    tag="challenges",
)
def create_challenge(user: User, data: ChallengeBody) -> tuple[ChallengeReply, int]:
    challenge = services.create_challenge(services.clean_challenge(data), user.id)
    return _staff_challenge(challenge), 201


@endpoint(
    bp,
    "/challenges/<int:challenge_id>",
    "PATCH",
    roles=STAFF_ROLES,
    summary="Edit a challenge",
    body=ChallengePatch,
    reply=ChallengeReply,
    tag="challenges",
)
def update_challenge(user: User, challenge_id: int, data: Body) -> ChallengeReply:
    challenge = services.get_challenge(challenge_id)
    merged = services.definition_dict(challenge) | {name: getattr(data, name) for name in data.model_fields_set}
    if "platform" in data.model_fields_set and "allowed_domains" not in data.model_fields_set:
        # a new review platform brings its own sites (clean_challenge fills them in)
        merged["allowed_domains"] = []
    challenge = services.update_challenge(challenge_id, services.clean_challenge(merged), user.id)
    return _staff_challenge(challenge)


def _transition_route(action: str, service) -> None:
    def route(user: User, challenge_id: int) -> ChallengeReply:
        return _staff_challenge(service(challenge_id, user.id))

    route.__name__ = f"{action}_challenge"
    endpoint(
        bp,
        f"/challenges/<int:challenge_id>/{action}",
        "POST",
        roles=STAFF_ROLES,
        summary=f"{action.title()} a challenge",
        reply=ChallengeReply,
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
    reply=ChallengeReply,
    tag="challenges",
)
def duplicate_challenge(user: User, challenge_id: int) -> tuple[ChallengeReply, int]:
    return _staff_challenge(services.duplicate_challenge(challenge_id, user.id)), 201


@endpoint(
    bp,
    "/challenges",
    roles=ALL_ROLES,
    summary="Advocates: their feed; staff: every challenge",
    tag="challenges",
    query=ChallengeListQuery,
    reply=ChallengePage,
    caller=True,
)
def list_challenges(user: Caller, args: ChallengeListQuery) -> ChallengePage:
    if user.role is Role.ADVOCATE:
        if user.advocate_id is None:
            raise LookupError(f"user {user.user_id} has no advocate profile")
        feed = services.feed_of(user.advocate_id)
        return feed_page(args.window(feed), args, len(feed))
    status = ChallengeStatus.PUBLISHED if user.role is Role.SALES else args.status
    items, total = services.list_challenges(status, args.page, args.per_page)
    if user.role is Role.SALES:
        return ChallengePage.of([challenge_reply(c, False) for c in items], args, total)
    stats = services.completion_stats([c.id for c in items])
    return ChallengePage.of([challenge_reply(c, True, stats=stats[c.id]) for c in items], args, total)


@endpoint(
    bp,
    "/challenges/<int:challenge_id>",
    roles=ALL_ROLES,
    summary="One challenge",
    reply=ChallengeReply,
    tag="challenges",
)
def get_challenge(user: User, challenge_id: int) -> ChallengeReply:
    if user.role is Role.ADVOCATE:
        challenge = services.visible_challenge(challenge_id, user.advocate_profile)
        return challenge_reply(challenge, False, services.feed_item(challenge, user.advocate_profile))
    challenge = services.get_challenge(challenge_id)
    if user.role is Role.SALES:
        if challenge.status is not ChallengeStatus.PUBLISHED:
            raise NotFound("Challenge not found.")
        return challenge_reply(challenge, False)
    return _staff_challenge(challenge)


@endpoint(
    bp,
    "/challenges/<int:challenge_id>/completions",
    "POST",
    roles={Role.ADVOCATE},
    status=201,
    summary="Complete a challenge",
    body=EvidenceBody,
    form=EvidenceUpload,
    upload=evidence_files.FIELD,
    reply=CompletionReply,
    idempotent=True,
    tag="challenges",
    caller=True,
)
def submit_completion(
    user: Caller, challenge_id: int, data: EvidenceBody, files: list[FileStorage]
) -> tuple[CompletionReply, int]:
    # The caller's advocate id from the per-process cache: the service locks and reads the row.
    if user.advocate_id is None:
        raise NotFound("Advocate not found.")
    sent = [services.SentFile(uploads.read_upload(f), f.filename) for f in files if f.filename or f.content_length]
    completion = services.submit_completion(challenge_id, user.advocate_id, data, files=sent)
    # A new completion has a file only when one was sent: no look-up for the rest.
    file = services.files_for([completion.id]).get(completion.id) if sent else None
    return completion_reply(completion, file=file), 201


@endpoint(
    bp,
    "/completions/<int:completion_id>",
    roles=STAFF_ROLES | {Role.ADVOCATE},
    summary="One completion",
    reply=CompletionReply,
    tag="challenges",
)
def get_completion(user: User, completion_id: int) -> CompletionReply:
    staff = user.role in STAFF_ROLES
    completion = services.completion_for(completion_id, None if staff else user.advocate_profile.id)
    return completion_reply(completion, staff, services.files_for([completion.id]).get(completion.id))


def _file_of(user: User, completion_id: int) -> tuple[EvidenceFile, Path]:
    """The file of a completion for staff (managers, owners) or its advocate; 404 otherwise."""
    if user.role in (Role.MANAGER, Role.OWNER):
        return services.file_of(completion_id, None)
    if user.role is Role.ADVOCATE:
        return services.file_of(completion_id, user.advocate_profile.id)
    raise NotFound("File not found.")


def _evidence_file_bytes(user: User, completion_id: int, args: EvidenceFileQuery) -> Response:
    row, path = _file_of(user, completion_id)
    response: Response = uploads.file_response(path, evidence_files.file_type(row), row.name, row.sha256)
    return response


@endpoint(
    bp,
    "/completions/<int:completion_id>/evidence-file",
    roles=ALL_ROLES,
    summary="The file sent with a completion (staff, its advocate): its description; ?format=file for the bytes",
    query=EvidenceFileQuery,
    reply=EvidenceFileReply,
    tag="challenges",
    download=_evidence_file_bytes,
)
def get_evidence_file(user: User, completion_id: int, args: EvidenceFileQuery) -> EvidenceFileReply:
    row, _path = _file_of(user, completion_id)
    return file_reply(row)


@endpoint(
    bp,
    "/completions",
    roles=STAFF_ROLES,
    summary="List completions",
    tag="challenges",
    query=CompletionListQuery,
    reply=CompletionPage,
)
def list_completions(user: User, args: CompletionListQuery) -> CompletionPage:
    items, total = services.list_completions(args.status, args.challenge_id, args.advocate_id, args.page, args.per_page)
    files = services.files_for([c.id for c in items])
    return CompletionPage.of([completion_reply(c, True, files.get(c.id)) for c in items], args, total)


@endpoint(
    bp,
    "/completions/<int:completion_id>/approve",
    "POST",
    roles=STAFF_ROLES,
    summary="Approve a completion",
    reply=CompletionReply,
    tag="challenges",
)
def approve_completion(user: User, completion_id: int) -> CompletionReply:
    completion = services.approve_completion(completion_id, user.id)
    return completion_reply(completion, True, services.files_for([completion.id]).get(completion.id))


@endpoint(
    bp,
    "/completions/bulk",
    "POST",
    roles=STAFF_ROLES,
    summary="Approve or reject several completions; each is decided on its own, refusals listed",
    body=CompletionBulkBody,
    reply=BulkReply,
    tag="challenges",
    idempotent=True,
)
def decide_completions(user: User, data: CompletionBulkBody) -> BulkReply:
    approve = data.decision == "approve"
    return BulkReply.of(services.decide_many(list(data.ids), user.id, approve, data.reason))


@endpoint(
    bp,
    "/completions/<int:completion_id>/reject",
    "POST",
    roles=STAFF_ROLES,
    summary="Reject a completion",
    body=CompletionRejectBody,
    reply=CompletionReply,
    tag="challenges",
)
def reject_completion(user: User, completion_id: int, data: CompletionRejectBody) -> CompletionReply:
    completion = services.reject_completion(completion_id, user.id, data.reason)
    return completion_reply(completion, True, services.files_for([completion.id]).get(completion.id))


def incentives_csv_response() -> Response:
    """The whole incentive log as CSV (offers, then awards), formulas neutralised."""
    return Response(
        csv_text(incentives.CSV_HEADER, incentives.csv_rows()),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=review-incentives.csv"},
    )


def _incentives_csv(user: User, args: IncentiveQuery) -> Response:
    return incentives_csv_response()


@endpoint(
    bp,
    "/reports/incentives",
    roles={Role.OWNER},
    summary="Review incentives offered and awarded (the FTC rule's record); ?format=csv for the whole log",
    query=IncentiveQuery,
    reply=IncentivePage,
    tag="challenges",
    csv=_incentives_csv,
)
def incentive_report(user: User, args: IncentiveQuery) -> IncentivePage:
    items, total = incentives.awarded(limit=args.per_page, offset=args.offset)
    offered = [IncentiveOffered.model_validate(o, from_attributes=True) for o in incentives.offered()]
    awarded = [IncentiveAwarded.model_validate(a, from_attributes=True) for a in items]
    return IncentivePage.of(awarded, args, total, offered=offered)
