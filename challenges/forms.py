"""Challenge, completion, preferences and caps forms: validation and conversion only, each field through
the same type as the API's body (ChallengeBody, EvidenceBody, CompletionRejectBody)."""

from __future__ import annotations

from typing import Annotated, Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    FileField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    URLField,
)
from wtforms.validators import Optional
from wtforms.widgets import CheckboxInput, DateInput, ListWidget, NumberInput

from challenges import caps, review_rules, verifiers
from challenges.contracts import CompletionRejectBody
from challenges.models import Effort
from challenges.services import MAX_QUESTIONS, ChallengeBody, EvidenceBody
from hub.contracts import PageQuery
from hub.fields import ROW_ID, Conforms, Date, MultiLine, OneLine, OneOf, WholeNumber

QUIZ_HELP = (
    "One question per line: the question, then its options, separated by “|”. "
    "Mark the right option of a quiz with a leading *. A survey line without options asks for free text."
)


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


PolicyNumber = Annotated[int, WholeNumber(0, caps.POLICY_MAX)]


def _number(label: str, check: Conforms, **kwargs: Any) -> StringField:
    """A number typed as text (its type says which), shown as a number input."""
    return StringField(label, widget=NumberInput(), validators=[check], **kwargs)


class ChallengeForm(FlaskForm):
    title = StringField("Title", validators=[Conforms.of(ChallengeBody, "title")])
    type = SelectField("Type", choices={k: t.label for k, t in verifiers.TYPES.items()})
    description = TextAreaField("Description (Markdown)", validators=[Conforms.of(ChallengeBody, "description")])
    points = _number("Points", Conforms.of(ChallengeBody, "points"))
    bonus_points = _number("Bonus points (referral won)", Conforms.of(ChallengeBody, "bonus_points"), default=0)
    effort = SelectField(
        "Effort", choices={"": "Type default"} | {e.value: e.value.title() for e in Effort}, validators=[Optional()]
    )
    verification = SelectField(
        "Verification",
        choices={"": "Type default"} | {k: v.label for k, v in verifiers.VERIFIERS.items()},
        validators=[Optional()],
    )
    evidence = MultiCheckboxField(
        "Evidence required (none ticked: the type's default)",
        choices={
            "url": "A link",
            "text": "A short text",
            "answers": "Quiz or survey answers",
            "file": "A file (photo or PDF)",
        },
    )
    file_kinds = MultiCheckboxField(
        "Files taken (with a file as evidence; none ticked: both)",
        choices={"image": "Photos and images (PNG, JPEG, WebP, GIF)", "pdf": "PDF documents"},
    )
    allowed_domains = StringField(
        "Allowed domains for link checks (comma-separated)",
        validators=[Conforms(Annotated[str, OneLine(2000)], required=False)],
    )
    marker = StringField("Marker text the page must contain", validators=[Conforms.of(ChallengeBody, "marker")])
    quiz_text = TextAreaField(
        "Questions", validators=[Conforms(Annotated[str, MultiLine(20_000, strip=False)], required=False)]
    )
    pass_mark = _number(
        "Right answers needed (empty: all)", Conforms(Annotated[int, WholeNumber(1, MAX_QUESTIONS)], required=False)
    )
    question_id = _number("Community question id (community answers)", Conforms.of(ChallengeBody, "question_id"))
    cooldown_days = _number(
        "Cooldown between completions (days)", Conforms.of(ChallengeBody, "cooldown_days"), default=0
    )
    max_per_advocate = _number(
        "Times each advocate may complete it", Conforms.of(ChallengeBody, "max_per_advocate", required=True), default=1
    )
    retry_limit = _number(
        "Tries after a rejection before a wait", Conforms.of(ChallengeBody, "retry_limit", required=True), default=3
    )
    retry_wait_hours = _number(
        "Wait after the last of those tries (hours)",
        Conforms.of(ChallengeBody, "retry_wait_hours", required=True),
        default=24,
    )
    max_total = _number("Total places (empty: unlimited)", Conforms.of(ChallengeBody, "max_total"))
    starts_at = DateTimeLocalField("Opens (UTC)", format="%Y-%m-%dT%H:%M", validators=[Optional()])
    ends_at = DateTimeLocalField("Closes (UTC)", format="%Y-%m-%dT%H:%M", validators=[Optional()])
    target_tiers = MultiCheckboxField(
        "Only these tiers (none ticked: all)", choices={"bronze": "Bronze", "silver": "Silver", "gold": "Gold"}
    )
    target_groups = MultiCheckboxField("Only these groups (none ticked: all)", choices={})
    platform = SelectField(
        "Review site (reviews)", choices=review_rules.PLATFORMS, default=review_rules.DEFAULT_PLATFORM
    )
    disclosure = TextAreaField(
        "Disclosure the advocate includes in the review",
        validators=[Conforms.of(ChallengeBody, "disclosure")],
        default=review_rules.DEFAULT_DISCLOSURE,
    )
    banner = SelectField("Card banner", choices={"": "None"} | verifiers.BANNERS, validate_choice=False)

    def to_data(self) -> dict[str, Any]:
        """The form as clean_challenge's input (domain rules are checked there)."""
        quiz = parse_quiz(self.quiz_text.data or "", self.type.data, self.pass_mark.data)
        return {
            "title": self.title.data,
            "type": self.type.data,
            "description": self.description.data or "",
            "points": self.points.data,
            "bonus_points": self.bonus_points.data or 0,
            "question_id": self.question_id.data,
            "effort": self.effort.data or None,
            "verification": self.verification.data or None,
            "evidence": list(self.evidence.data or []) or None,
            "allowed_domains": [d.strip() for d in (self.allowed_domains.data or "").split(",") if d.strip()],
            "marker": self.marker.data,
            "cooldown_days": self.cooldown_days.data or 0,
            "max_per_advocate": self.max_per_advocate.data,
            "retry_limit": self.retry_limit.data,
            "retry_wait_hours": self.retry_wait_hours.data,
            "max_total": self.max_total.data,
            "starts_at": _utc(self.starts_at.data),
            "ends_at": _utc(self.ends_at.data),
            "target_tiers": list(self.target_tiers.data or []),
            "target_groups": list(self.target_groups.data or []),
            "quiz": quiz,
            "platform": self.platform.data or None,
            "disclosure": self.disclosure.data or None,
            "banner": self.banner.data or None,
            "file_kinds": list(self.file_kinds.data or []),
        }

    def fill_from(self, data: dict[str, Any]) -> None:
        """Load a challenge definition (services.definition_dict) into the form."""
        for name in (
            "title",
            "type",
            "description",
            "points",
            "bonus_points",
            "question_id",
            "effort",
            "verification",
            "marker",
            "cooldown_days",
            "max_per_advocate",
            "retry_limit",
            "retry_wait_hours",
            "max_total",
            "banner",
        ):
            getattr(self, name).data = data.get(name)
        self.platform.data = data.get("platform") or review_rules.DEFAULT_PLATFORM
        self.disclosure.data = data.get("disclosure") or review_rules.DEFAULT_DISCLOSURE
        self.evidence.data = list(data.get("evidence") or [])
        self.file_kinds.data = list(data.get("file_kinds") or [])
        self.allowed_domains.data = ", ".join(data.get("allowed_domains") or [])
        self.target_tiers.data = list(data.get("target_tiers") or [])
        self.target_groups.data = list(data.get("target_groups") or [])
        self.quiz_text.data = quiz_to_text(data.get("quiz"))
        self.pass_mark.data = (data.get("quiz") or {}).get("pass_mark")
        for name in ("starts_at", "ends_at"):
            value = data.get(name)
            getattr(self, name).data = _naive(value)


def _utc(value) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:00Z") if value else None


def _naive(value: str | None):
    import datetime as dt

    if not value:
        return None
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).replace(tzinfo=None)


def parse_quiz(text: str, ctype: str | None, pass_mark: int | str | None) -> dict[str, Any] | None:
    """The editor's one-line-per-question format → the stored quiz shape (validated later)."""
    questions = []
    for line in text.splitlines():
        parts = [p.strip() for p in line.split("|")]
        if not parts[0]:
            continue
        options, answer = [], None
        for n, option in enumerate(p for p in parts[1:] if p):
            if option.startswith("*"):
                answer = n
                option = option[1:].strip()
            options.append(option)
        questions.append({"prompt": parts[0], "options": options, "answer": answer})
    if not questions:
        return None
    return {"questions": questions, "pass_mark": pass_mark if ctype == "quiz" else None}


def quiz_to_text(quiz: dict[str, Any] | None) -> str:
    lines = []
    for q in (quiz or {}).get("questions") or []:
        options = ["*" + o if q.get("answer") == n else o for n, o in enumerate(q.get("options") or [])]
        lines.append(" | ".join([q["prompt"], *options]))
    return "\n".join(lines)


class CompletionForm(FlaskForm):
    """Evidence fields; which are required depends on the challenge (checked by the service)."""

    evidence_url = URLField("Link", validators=[Conforms.of(EvidenceBody, "evidence_url")])
    evidence_text = TextAreaField("What you did", validators=[Conforms.of(EvidenceBody, "evidence_text")])
    # Read by the view from request.files and checked by the service (by content); here so a
    # refusal shows under the file input.
    evidence_file = FileField("Your file")


class RejectForm(FlaskForm):
    reason = StringField("Reason (the advocate sees it)", validators=[Conforms.of(CompletionRejectBody, "reason")])


class PreferencesForm(FlaskForm):
    activity_types = MultiCheckboxField("Activities I like", choices={k: t.label for k, t in verifiers.TYPES.items()})
    available_for_references = BooleanField("I am available for reference calls")
    max_asks_per_quarter = _number(
        "At most this many asks per quarter (empty: the program's limits)", Conforms(PolicyNumber, required=False)
    )
    show_on_leaderboard = BooleanField("Show my name on leaderboards")


class BlackoutForm(FlaskForm):
    start = StringField("From", widget=DateInput(), validators=[Conforms(Date)])
    end = StringField("Until (inclusive)", widget=DateInput(), validators=[Conforms(Date)])


class CapsPolicyForm(FlaskForm):
    reference_calls_per_30_days = _number(caps.POLICY_FIELDS["reference_calls_per_30_days"], Conforms(PolicyNumber))
    medium_asks_per_60_days = _number(caps.POLICY_FIELDS["medium_asks_per_60_days"], Conforms(PolicyNumber))
    high_asks_per_90_days = _number(caps.POLICY_FIELDS["high_asks_per_90_days"], Conforms(PolicyNumber))
    asks_per_365_days = _number(caps.POLICY_FIELDS["asks_per_365_days"], Conforms(PolicyNumber))


class ReviewQueueQuery(PageQuery):
    """The review queue's filters: one challenge (by id) or type, and how long it has waited."""

    challenge: Annotated[int | None, ROW_ID] = None
    type: Annotated[str | None, OneOf(verifiers.TYPES)] = None
    age: Annotated[int, WholeNumber(0, 3650)] = 0
