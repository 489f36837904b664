"""Challenge definitions: the limits of each field (written once: the API's ChallengeBody and the
admin form both read them), and the reading of a definition from any source (form, API,
duplicate) into a typed ChallengeInput, with the editor's warnings."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Field, ValidationError, ValidatorFunctionWrapHandler, WrapValidator
from sqlalchemy import select

from challenges import review_rules, urlcheck, verifiers
from challenges.models import (
    Effort,
)
from hub.community.models import Question
from hub.contracts import Body, patch_of
from hub.errors import ValidationFailed
from hub.extensions import db
from hub.fields import (
    ROW_ID,
    IsoDateTime,
    ListOf,
    MultiLine,
    OneLine,
    OneOf,
    WholeNumber,
    first_message,
    invalid,
    read,
)
from hub.models import Group, Tier
from hub.uploads import FAMILIES

MAX_POINTS = 100_000


MAX_DESCRIPTION = 20_000


MAX_EVIDENCE_TEXT = 5_000


MAX_URL = 2_000


MAX_REASON = 1_000


MAX_QUESTIONS = 30


MAX_OPTIONS = 10


EDITABLE = (
    "title",
    "type",
    "description",
    "points",
    "bonus_points",
    "question_id",
    "effort",
    "verification",
    "evidence",
    "allowed_domains",
    "marker",
    "cooldown_days",
    "max_per_advocate",
    "retry_limit",
    "retry_wait_hours",
    "max_total",
    "starts_at",
    "ends_at",
    "target_tiers",
    "quiz",
    "platform",
    "disclosure",
    "banner",
    "file_kinds",
)


_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


@dataclass(frozen=True)
class ChallengeInput:
    """A validated challenge definition (from the API's JSON or the admin form)."""

    title: str
    type: str
    description: str
    points: int
    effort: Effort
    verification: str
    evidence: tuple[str, ...]
    bonus_points: int = 0
    question_id: int | None = None
    allowed_domains: tuple[str, ...] = ()
    marker: str | None = None
    cooldown_days: int = 0
    max_per_advocate: int = 1
    retry_limit: int = 3
    retry_wait_hours: int = 24
    max_total: int | None = None
    starts_at: dt.datetime | None = None
    ends_at: dt.datetime | None = None
    target_tiers: tuple[str, ...] = ()
    target_groups: tuple[str, ...] = ()
    quiz: dict[str, Any] | None = None
    # review challenges only (product.md §15): the review site, and the line asked of the advocate
    platform: str | None = None
    disclosure: str | None = None
    banner: str | None = None
    # with "file" evidence: the kinds of file taken (hub.uploads.FAMILIES); empty: both
    file_kinds: tuple[str, ...] = ()


def _quiz_as_one_field(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """A quiz is one field to the editor: its problems are reported on `quiz`, naming the question."""
    if value == "" or value == {}:
        return None
    try:
        return handler(value)
    except ValidationError as exc:
        loc = exc.errors(include_url=False)[0]["loc"]
        if len(loc) >= 2 and loc[0] == "questions" and isinstance(loc[1], int):
            raise invalid(f"Question {loc[1] + 1}: {first_message(exc)}") from None
        raise invalid(f'A quiz is {{"questions": [...]}} with 1 to {MAX_QUESTIONS} questions.') from None


class QuizQuestion(Body):
    """A question with its options (none: a survey's free-text question) and, in a graded quiz,
    the position of its right option (0 for the first)."""

    prompt: Annotated[str, OneLine(500)]
    options: Annotated[
        tuple[str, ...],
        ListOf(
            Annotated[str, OneLine(200)],
            max_items=MAX_OPTIONS,
            unique=False,
            message=f"Up to {MAX_OPTIONS} options of at most 200 characters.",
        ),
    ] = ()
    answer: Annotated[int | None, WholeNumber(0, MAX_OPTIONS - 1)] = None


class Quiz(Body):
    questions: Annotated[list[QuizQuestion], Field(min_length=1, max_length=MAX_QUESTIONS)]
    pass_mark: Annotated[int | None, WholeNumber(1, MAX_QUESTIONS)] = None


class ChallengeBody(Body):
    """A challenge definition as staff write it (API body or the admin form). Left out, `effort`,
    `verification` and `evidence` take the type's defaults (challenges.verifiers.TYPES)."""

    title: Annotated[str, OneLine(160)]
    type: Annotated[str, OneOf(verifiers.TYPES)]
    description: Annotated[str | None, MultiLine(MAX_DESCRIPTION, strip=False)] = None
    points: Annotated[int, WholeNumber(1, MAX_POINTS)]
    bonus_points: Annotated[int | None, WholeNumber(0, MAX_POINTS)] = None
    question_id: Annotated[int | None, ROW_ID] = None
    effort: Annotated[Effort | None, OneOf(Effort)] = None
    verification: Annotated[str | None, OneOf(verifiers.VERIFIERS)] = None
    evidence: Annotated[
        tuple[str, ...] | None,
        ListOf(Annotated[str, OneOf(verifiers.EVIDENCE_KINDS)], max_items=len(verifiers.EVIDENCE_KINDS)),
    ] = None
    allowed_domains: Annotated[
        tuple[str, ...],
        ListOf(Annotated[str, OneLine(253)], max_items=20, message="Up to 20 domain names like g2.com."),
    ] = ()
    marker: Annotated[str | None, OneLine(200)] = None
    cooldown_days: Annotated[int | None, WholeNumber(0, 3650)] = None
    max_per_advocate: Annotated[int | None, WholeNumber(1, 1000)] = None
    retry_limit: Annotated[int | None, WholeNumber(1, 100)] = None
    retry_wait_hours: Annotated[int | None, WholeNumber(0, 8760)] = None
    max_total: Annotated[int | None, WholeNumber(1, 1_000_000)] = None
    starts_at: Annotated[dt.datetime | None, IsoDateTime()] = None
    ends_at: Annotated[dt.datetime | None, IsoDateTime()] = None
    target_tiers: Annotated[tuple[Tier, ...], ListOf(Annotated[Tier, OneOf(Tier)], max_items=3)] = ()
    target_groups: Annotated[
        tuple[str, ...],
        ListOf(Annotated[str, OneLine(80)], max_items=50, message="Up to 50 group names of at most 80 characters."),
    ] = ()
    quiz: Annotated[Quiz | None, WrapValidator(_quiz_as_one_field)] = None
    platform: Annotated[str | None, OneOf(review_rules.PLATFORMS)] = None
    disclosure: Annotated[str | None, MultiLine(review_rules.MAX_DISCLOSURE)] = None
    banner: Annotated[str | None, OneOf(verifiers.BANNERS)] = None
    file_kinds: Annotated[tuple[str, ...], ListOf(Annotated[str, OneOf(FAMILIES)], max_items=len(FAMILIES))] = ()


ChallengePatch = patch_of(ChallengeBody)


def clean_challenge(data: Mapping[str, Any] | ChallengeBody) -> ChallengeInput:
    """A challenge definition (read through ChallengeBody when a mapping) checked against the
    rules that need its type or the database: the type's defaults, allowed domains, the dates in
    order, known groups, a graded quiz's answers. Raises ValidationFailed with every field error.
    Unknown keys (status, id, created_by …) are ignored."""
    body = data if isinstance(data, ChallengeBody) else read(ChallengeBody, data)
    spec = verifiers.TYPES[body.type]
    errors: dict[str, str] = {}
    clean_domains = []
    for domain in body.allowed_domains:
        d = domain.lower().strip().rstrip(".")
        d = re.sub(r"^https?://", "", d).split("/")[0]
        if not _DOMAIN.match(d):
            errors.setdefault("allowed_domains", f"“{domain}” is not a domain name like g2.com.")
        clean_domains.append(d)
    if body.starts_at and body.ends_at and body.ends_at <= body.starts_at:
        errors["ends_at"] = "The end must be after the start."
    groups = list(body.target_groups)
    if groups:
        known = {g.lower(): g for g in db.session.scalars(select(Group.name))}
        unknown = [g for g in groups if g.lower() not in known]
        if unknown:
            errors["target_groups"] = f"Unknown group: {', '.join(unknown)}."
        groups = [known.get(g.lower(), g) for g in groups]
    verification = body.verification or spec.verification
    evidence = body.evidence if body.evidence is not None else tuple(spec.evidence)
    # A field the type, its verification and its evidence do not use is dropped, never stored
    # (the editor hides it; an API body may still send it).
    used = verifiers.field_names_for(body.type, verification, evidence)
    if "allowed_domains" not in used:
        clean_domains = []
    question_id = body.question_id if "question_id" in used else None
    if question_id is not None and not _visible_question(question_id):
        errors["question_id"] = f"No visible community question has the id {question_id}."
    quiz = _quiz_rules(body.quiz if "quiz" in used else None, graded=body.type == "quiz", errors=errors)
    platform, disclosure = None, None
    wording: dict[str, str | None] = {}
    if body.type == "review":
        platform = body.platform or review_rules.DEFAULT_PLATFORM
        disclosure = body.disclosure or review_rules.DEFAULT_DISCLOSURE
        clean_domains = _review_domains(platform, clean_domains, errors)
        wording = {"title": body.title, "description": body.description, "disclosure": disclosure}
    elif review_rules.asks_for_review(body.title, body.description):
        wording = {"title": body.title, "description": body.description}
    for name, message in review_rules.wording_errors(wording).items():
        errors.setdefault(name, message)
    if "file" in evidence and verification not in verifiers.FILE_VERIFICATIONS:
        errors.setdefault(
            "verification", "A file is looked at by a person: choose Manual review, or no file as evidence."
        )
    if errors:
        raise ValidationFailed(errors)
    return ChallengeInput(
        title=body.title,
        type=body.type,
        description=body.description or "",
        points=body.points,
        effort=body.effort or spec.effort,
        verification=verification,
        evidence=evidence,
        bonus_points=(body.bonus_points or 0) if "bonus_points" in used else 0,
        question_id=question_id,
        allowed_domains=tuple(dict.fromkeys(clean_domains)),
        marker=body.marker if "marker" in used else None,
        cooldown_days=body.cooldown_days or 0,
        max_per_advocate=body.max_per_advocate if body.max_per_advocate is not None else 1,
        retry_limit=body.retry_limit if body.retry_limit is not None else 3,
        retry_wait_hours=body.retry_wait_hours if body.retry_wait_hours is not None else 24,
        max_total=body.max_total,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        target_tiers=tuple(str(t) for t in body.target_tiers),
        target_groups=tuple(groups),
        quiz=quiz,
        platform=platform,
        disclosure=disclosure,
        banner=body.banner,
        file_kinds=tuple(k for k in FAMILIES if k in body.file_kinds) if "file" in evidence else (),
    )


def _visible_question(question_id: int) -> bool:
    """Whether a community question with this id exists and is not hidden by a moderator."""
    return (
        db.session.scalar(select(Question.id).where(Question.id == question_id, Question.is_hidden.is_(False)))
        is not None
    )


def _review_domains(platform: str, domains: list[str], errors: dict[str, str]) -> list[str]:
    """A review's allowed domains: the platform's sites when none are given; given ones must be
    among them (a G2 review is not checked on capterra.com)."""
    sites = review_rules.PLATFORM_SITES[platform]
    if not sites:
        return domains
    if not domains:
        return list(sites)
    stray = [d for d in domains if not urlcheck.host_allowed(d, sites)]
    if stray:
        errors.setdefault(
            "allowed_domains",
            f"A {review_rules.PLATFORMS[platform]} review lives on {', '.join(sites)}; "
            f"{', '.join(stray)} is not one of them.",
        )
    return domains


def challenge_warnings(inp: ChallengeInput) -> list[str]:
    """Gaps that do not block saving or publishing but send every completion to review."""
    warnings = []
    if inp.verification == "url_check" and not inp.allowed_domains:
        warnings.append("Link checks need allowed domains (e.g. g2.com): without them every link goes to review.")
    if inp.verification == "url_check" and not inp.marker:
        warnings.append("Without marker text, link checks cannot approve: every link goes to review.")
    if "answers" in inp.evidence and not inp.quiz:
        warnings.append("Add the questions advocates will answer.")
    return warnings


def _quiz_rules(quiz: Quiz | None, *, graded: bool, errors: dict[str, str]) -> dict[str, Any] | None:
    """The stored quiz: a graded one (type `quiz`) needs two options and the right one's position
    per question, and a pass mark within its questions; a survey keeps neither."""
    if quiz is None:
        return None
    for n, q in enumerate(quiz.questions, start=1):
        if graded and len(q.options) < 2:
            errors["quiz"] = f"Question {n} needs at least two options."
            return None
        if graded and (q.answer is None or not 0 <= q.answer < len(q.options)):
            errors["quiz"] = f"Question {n} needs the number of its right option (0 for the first)."
            return None
    if graded and quiz.pass_mark is not None and quiz.pass_mark > len(quiz.questions):
        errors["quiz"] = f"The pass mark is a whole number from 1 to {len(quiz.questions)}."
        return None
    return {
        "questions": [
            {"prompt": q.prompt, "options": list(q.options), "answer": q.answer if graded else None}
            for q in quiz.questions
        ],
        "pass_mark": quiz.pass_mark if graded else None,
    }
