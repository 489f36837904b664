"""Challenge definitions: the limits of each field, and the validation of a definition from any
source (form, API, duplicate) into a typed ChallengeInput, with the editor's warnings."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from challenges import verifiers
from challenges.models import (
    Effort,
)
from hub.extensions import db
from hub.models import Group, Tier
from hub.validation import Fields

MAX_POINTS = 100_000


MAX_DESCRIPTION = 20_000


MAX_EVIDENCE_TEXT = 5_000


MAX_URL = 2_000


MAX_REASON = 1_000


MAX_QUESTIONS = 30


MAX_OPTIONS = 10


INT_FIELDS = ("points", "bonus_points", "question_id", "cooldown_days", "max_per_advocate", "max_total")


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
    "max_total",
    "starts_at",
    "ends_at",
    "target_tiers",
    "quiz",
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
    max_total: int | None = None
    starts_at: dt.datetime | None = None
    ends_at: dt.datetime | None = None
    target_tiers: tuple[str, ...] = ()
    target_groups: tuple[str, ...] = ()
    quiz: dict[str, Any] | None = None


def clean_challenge(data: Mapping[str, Any], strict_empty: bool = True) -> ChallengeInput:
    """Validate a challenge definition; raises ValidationFailed with every field error.

    Unknown keys (status, id, created_by …) are ignored. With `strict_empty` (JSON) an
    empty string for a number is an error rather than "not given".
    """
    f = Fields(data)
    if strict_empty:
        for name in INT_FIELDS:
            if data.get(name) == "":
                f.errors[name] = "Must be a whole number."
    title = f.str("title", required=True, max_length=160)
    ctype = f.choice("type", list(verifiers.TYPES), required=True)
    spec = verifiers.TYPES.get(ctype) if ctype else None
    description = f.str("description", max_length=MAX_DESCRIPTION, default="", strip=False)
    points = f.int("points", required=True, minimum=1, maximum=MAX_POINTS)
    bonus = f.int("bonus_points", minimum=0, maximum=MAX_POINTS, default=0)
    question_id = f.int("question_id", minimum=1)
    effort = f.choice("effort", [e.value for e in Effort], default=spec.effort.value if spec else None)
    verification = f.choice("verification", list(verifiers.VERIFIERS), default=spec.verification if spec else None)
    evidence = f.str_list(
        "evidence", max_items=3, choices=verifiers.EVIDENCE_KINDS, default=list(spec.evidence) if spec else []
    )
    domains = f.str_list("allowed_domains", max_items=20, max_length=253, default=[])
    marker = f.str("marker", max_length=200)
    cooldown = f.int("cooldown_days", minimum=0, maximum=3650, default=0)
    per_advocate = f.int("max_per_advocate", minimum=1, maximum=1000, default=1)
    max_total = f.int("max_total", minimum=1, maximum=1_000_000)
    starts_at = f.datetime("starts_at")
    ends_at = f.datetime("ends_at")
    tiers = f.str_list("target_tiers", max_items=3, choices=[t.value for t in Tier], default=[])
    groups = f.str_list("target_groups", max_items=50, max_length=80, default=[])
    quiz = _clean_quiz(data.get("quiz"), ctype, f.errors)
    clean_domains = []
    for domain in domains or []:
        d = domain.lower().strip().rstrip(".")
        d = re.sub(r"^https?://", "", d).split("/")[0]
        if not _DOMAIN.match(d):
            f.errors.setdefault("allowed_domains", f"“{domain}” is not a domain name like g2.com.")
        clean_domains.append(d)
    if starts_at and ends_at and ends_at <= starts_at:
        f.errors.setdefault("ends_at", "The end must be after the start.")
    if groups:
        known = {g.lower(): g for g in db.session.scalars(select(Group.name))}
        unknown = [g for g in groups if g.lower() not in known]
        if unknown:
            f.errors.setdefault("target_groups", f"Unknown group: {', '.join(unknown)}.")
        groups = [known.get(g.lower(), g) for g in groups]
    f.done()
    return ChallengeInput(
        title=title,
        type=ctype,
        description=description or "",
        points=points,
        effort=Effort(effort),
        verification=verification,
        evidence=tuple(evidence),
        bonus_points=bonus,
        question_id=question_id,
        allowed_domains=tuple(dict.fromkeys(clean_domains)),
        marker=marker or None,
        cooldown_days=cooldown,
        max_per_advocate=per_advocate,
        max_total=max_total,
        starts_at=starts_at,
        ends_at=ends_at,
        target_tiers=tuple(tiers),
        target_groups=tuple(groups),
        quiz=quiz,
    )


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


def _clean_quiz(raw: Any, ctype: str | None, errors: dict[str, str]) -> dict[str, Any] | None:
    if raw is None or raw == "" or raw == {}:
        return None
    graded = ctype == "quiz"
    problem = None
    questions = raw.get("questions") if isinstance(raw, dict) else None
    if not isinstance(questions, list) or not 1 <= len(questions) <= MAX_QUESTIONS:
        problem = f'A quiz is {{"questions": [...]}} with 1 to {MAX_QUESTIONS} questions.'
    clean: list[dict[str, Any]] = []
    for n, q in enumerate(questions or [], start=1):
        if problem:
            break
        prompt = q.get("prompt") if isinstance(q, dict) else None
        options = q.get("options", []) if isinstance(q, dict) else None
        answer = q.get("answer") if isinstance(q, dict) else None
        if not isinstance(prompt, str) or not 0 < len(prompt.strip()) <= 500:
            problem = f"Question {n} needs a prompt of at most 500 characters."
        elif (
            not isinstance(options, list)
            or len(options) > MAX_OPTIONS
            or not all(isinstance(o, str) and 0 < len(o.strip()) <= 200 for o in options)
        ):
            problem = f"Question {n}: up to {MAX_OPTIONS} options of at most 200 characters."
        elif graded and len(options) < 2:
            problem = f"Question {n} needs at least two options."
        elif graded and (isinstance(answer, bool) or not isinstance(answer, int) or not 0 <= answer < len(options)):
            problem = f"Question {n} needs the number of its right option (0 for the first)."
        else:
            clean.append(
                {
                    "prompt": prompt.strip(),
                    "options": [o.strip() for o in options],
                    "answer": answer if graded else None,
                }
            )
    pass_mark = raw.get("pass_mark") if isinstance(raw, dict) else None
    if (
        not problem
        and pass_mark is not None
        and (isinstance(pass_mark, bool) or not isinstance(pass_mark, int) or not 1 <= pass_mark <= len(clean))
    ):
        problem = f"The pass mark is a whole number from 1 to {len(clean)}."
    if problem:
        errors.setdefault("quiz", problem)
        return None
    return {"questions": clean, "pass_mark": pass_mark if graded else None}
