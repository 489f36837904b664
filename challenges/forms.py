"""Challenge, completion, preferences and caps forms: validation and conversion only."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    URLField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from challenges import caps, verifiers
from challenges.models import Effort
from challenges.services import MAX_DESCRIPTION, MAX_EVIDENCE_TEXT, MAX_POINTS, MAX_REASON, MAX_URL

QUIZ_HELP = (
    "One question per line: the question, then its options, separated by “|”. "
    "Mark the right option of a quiz with a leading *. A survey line without options asks for free text."
)


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ChallengeForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired(), Length(max=160)])
    type = SelectField("Type", choices={k: t.label for k, t in verifiers.TYPES.items()})
    description = TextAreaField("Description (Markdown)", validators=[Optional(), Length(max=MAX_DESCRIPTION)])
    points = IntegerField("Points", validators=[InputRequired("Enter the points."), NumberRange(1, MAX_POINTS)])
    bonus_points = IntegerField(
        "Bonus points (referral won)", default=0, validators=[Optional(), NumberRange(0, MAX_POINTS)]
    )
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
        choices={"url": "A link", "text": "A short text", "answers": "Quiz or survey answers"},
    )
    allowed_domains = StringField(
        "Allowed domains for link checks (comma-separated)", validators=[Optional(), Length(max=2000)]
    )
    marker = StringField("Marker text the page must contain", validators=[Optional(), Length(max=200)])
    quiz_text = TextAreaField("Questions", validators=[Optional(), Length(max=20_000)])
    pass_mark = IntegerField("Right answers needed (empty: all)", validators=[Optional(), NumberRange(1, 30)])
    question_id = IntegerField(
        "Community question id (community answers)", validators=[Optional(), NumberRange(1, 2**31 - 1)]
    )
    cooldown_days = IntegerField(
        "Cooldown between completions (days)", default=0, validators=[Optional(), NumberRange(0, 3650)]
    )
    max_per_advocate = IntegerField(
        "Times each advocate may complete it", default=1, validators=[InputRequired(), NumberRange(1, 1000)]
    )
    max_total = IntegerField("Total places (empty: unlimited)", validators=[Optional(), NumberRange(1, 1_000_000)])
    starts_at = DateTimeLocalField("Opens (UTC)", format="%Y-%m-%dT%H:%M", validators=[Optional()])
    ends_at = DateTimeLocalField("Closes (UTC)", format="%Y-%m-%dT%H:%M", validators=[Optional()])
    target_tiers = MultiCheckboxField(
        "Only these tiers (none ticked: all)", choices={"bronze": "Bronze", "silver": "Silver", "gold": "Gold"}
    )
    target_groups = MultiCheckboxField("Only these groups (none ticked: all)", choices={})

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
            "max_total": self.max_total.data,
            "starts_at": _utc(self.starts_at.data),
            "ends_at": _utc(self.ends_at.data),
            "target_tiers": list(self.target_tiers.data or []),
            "target_groups": list(self.target_groups.data or []),
            "quiz": quiz,
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
            "max_total",
        ):
            getattr(self, name).data = data.get(name)
        self.evidence.data = list(data.get("evidence") or [])
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


def parse_quiz(text: str, ctype: str | None, pass_mark: int | None) -> dict[str, Any] | None:
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

    evidence_url = URLField("Link", validators=[Optional(), Length(max=MAX_URL)])
    evidence_text = TextAreaField("What you did", validators=[Optional(), Length(max=MAX_EVIDENCE_TEXT)])


class RejectForm(FlaskForm):
    reason = StringField("Reason (the advocate sees it)", validators=[DataRequired("Say why."), Length(max=MAX_REASON)])


class PreferencesForm(FlaskForm):
    activity_types = MultiCheckboxField("Activities I like", choices={k: t.label for k, t in verifiers.TYPES.items()})
    available_for_references = BooleanField("I am available for reference calls")
    max_asks_per_quarter = IntegerField(
        "At most this many asks per quarter (empty: the program's limits)",
        validators=[Optional(), NumberRange(0, caps.POLICY_MAX)],
    )
    show_on_leaderboard = BooleanField("Show my name on leaderboards")


class BlackoutForm(FlaskForm):
    start = DateField("From", validators=[InputRequired("Pick the first day.")])
    end = DateField("Until (inclusive)", validators=[InputRequired("Pick the last day.")])


class CapsPolicyForm(FlaskForm):
    reference_calls_per_30_days = IntegerField(
        caps.POLICY_FIELDS["reference_calls_per_30_days"], validators=[InputRequired(), NumberRange(0, caps.POLICY_MAX)]
    )
    medium_asks_per_60_days = IntegerField(
        caps.POLICY_FIELDS["medium_asks_per_60_days"], validators=[InputRequired(), NumberRange(0, caps.POLICY_MAX)]
    )
    high_asks_per_90_days = IntegerField(
        caps.POLICY_FIELDS["high_asks_per_90_days"], validators=[InputRequired(), NumberRange(0, caps.POLICY_MAX)]
    )
    asks_per_365_days = IntegerField(
        caps.POLICY_FIELDS["asks_per_365_days"], validators=[InputRequired(), NumberRange(0, caps.POLICY_MAX)]
    )
