"""Challenge, completion, preferences and caps forms: validation and conversion only, each field through
the same type as the API's body (ChallengeBody, EvidenceBody, CompletionRejectBody)."""

from __future__ import annotations

from typing import Annotated, Any

from flask import has_request_context, request
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

from challenges import caps, quiz_builder, review_rules, verifiers
from challenges.contracts import CompletionRejectBody
from challenges.models import Effort
from challenges.services import MAX_QUESTIONS, ChallengeBody, EvidenceBody
from hub.contracts import PageQuery, Query
from hub.fields import ROW_ID, Conforms, Date, OneLine, OneOf, WholeNumber


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
    pass_mark = _number(
        "Right answers needed (empty: all)", Conforms(Annotated[int, WholeNumber(1, MAX_QUESTIONS)], required=False)
    )
    # The picker's choices are the view's (visible questions); the id is checked by clean_challenge.
    question_id = SelectField(
        "Community question (empty: any question)",
        choices={"": "Any question"},
        validators=[Conforms.of(ChallengeBody, "question_id")],
        validate_choice=False,
    )
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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        submitted = has_request_context() and request.method == "POST"
        # The quiz builder's questions (quiz_builder): as typed when submitted, else none yet.
        self.quiz_rows: list[quiz_builder.QuizRow] = quiz_builder.rows_from_form(request.form) if submitted else []
        self.quiz_error: str | None = None
        self._quiz: dict[str, Any] | None = None

    def used_fields(self) -> frozenset[str]:
        """The type-specific fields the chosen type, verification and evidence use (verifiers.
        field_names_for); none while the type is not a known one."""
        if self.type.data not in verifiers.TYPES:
            return frozenset()
        return verifiers.field_names_for(
            self.type.data, self.verification.data or None, list(self.evidence.data or []) or None
        )

    def validate(self, extra_validators: Any = None) -> bool:
        """The fields' own checks, then the quiz builder's rows (each problem on its row) when
        the challenge uses questions, and a graded quiz's pass mark against its questions."""
        valid = super().validate(extra_validators)
        self._quiz, self.quiz_error = None, None
        if "quiz" not in self.used_fields():
            return valid
        graded = self.type.data == "quiz"
        pass_mark = self.pass_mark.data if graded and not self.pass_mark.errors else None
        self._quiz, self.quiz_error = quiz_builder.quiz_from_rows(
            self.quiz_rows, graded=graded, pass_mark=int(pass_mark) if pass_mark not in (None, "") else None
        )
        if self._quiz and graded and pass_mark not in (None, "") and int(pass_mark) > len(self._quiz["questions"]):
            self.pass_mark.errors = [
                *self.pass_mark.errors,
                f"The pass mark is a whole number from 1 to {len(self._quiz['questions'])}.",
            ]
            valid = False
        return valid and self.quiz_error is None and not any(row.errors for row in self.quiz_rows)

    def quiz_problems(self) -> dict[str, list[str]]:
        """The quiz builder's problems after validate(), by the name the preview lists them under."""
        problems = {}
        if self.quiz_error:
            problems["questions"] = [self.quiz_error]
        for n, row in enumerate(self.quiz_rows, start=1):
            for message in row.errors.values():
                problems.setdefault(f"question {n}", []).append(message)
        return problems

    def to_data(self) -> dict[str, Any]:
        """The form as clean_challenge's input (domain rules are checked there), after validate().
        A type-specific field the type does not use is left out (verifiers.field_names_for)."""
        used = self.used_fields()
        return {
            "title": self.title.data,
            "type": self.type.data,
            "description": self.description.data or "",
            "points": self.points.data,
            "bonus_points": (self.bonus_points.data or 0) if "bonus_points" in used else 0,
            "question_id": (self.question_id.data or None) if "question_id" in used else None,
            "effort": self.effort.data or None,
            "verification": self.verification.data or None,
            "evidence": list(self.evidence.data or []) or None,
            "allowed_domains": [d.strip() for d in (self.allowed_domains.data or "").split(",") if d.strip()]
            if "allowed_domains" in used
            else [],
            "marker": self.marker.data if "marker" in used else None,
            "cooldown_days": self.cooldown_days.data or 0,
            "max_per_advocate": self.max_per_advocate.data,
            "retry_limit": self.retry_limit.data,
            "retry_wait_hours": self.retry_wait_hours.data,
            "max_total": self.max_total.data,
            "starts_at": _utc(self.starts_at.data),
            "ends_at": _utc(self.ends_at.data),
            "target_tiers": list(self.target_tiers.data or []),
            "target_groups": list(self.target_groups.data or []),
            "quiz": self._quiz if "quiz" in used else None,
            "platform": (self.platform.data or None) if "platform" in used else None,
            "disclosure": (self.disclosure.data or None) if "disclosure" in used else None,
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
        self.question_id.data = str(data["question_id"]) if data.get("question_id") else ""
        self.platform.data = data.get("platform") or review_rules.DEFAULT_PLATFORM
        self.disclosure.data = data.get("disclosure") or review_rules.DEFAULT_DISCLOSURE
        self.evidence.data = list(data.get("evidence") or [])
        self.file_kinds.data = list(data.get("file_kinds") or [])
        self.allowed_domains.data = ", ".join(data.get("allowed_domains") or [])
        self.target_tiers.data = list(data.get("target_tiers") or [])
        self.target_groups.data = list(data.get("target_groups") or [])
        self.quiz_rows = quiz_builder.rows_from_quiz(data.get("quiz"))
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


class QuestionPickQuery(Query):
    """The editor's question picker search: title text, and the question already chosen."""

    q: Annotated[str | None, OneLine(200)] = None
    question_id: Annotated[int | None, ROW_ID] = None


class ReviewQueueQuery(PageQuery):
    """The review queue's filters: one challenge (by id) or type, and how long it has waited."""

    challenge: Annotated[int | None, ROW_ID] = None
    type: Annotated[str | None, OneOf(verifiers.TYPES)] = None
    age: Annotated[int, WholeNumber(0, 3650)] = 0
