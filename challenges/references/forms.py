"""Reference-request forms (filing, feedback, assigning, unfilled): rendering and CSRF; the
services validate."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from hub.models import COMPANY_SIZES

try:
    from wtforms import SelectChoice
except ImportError:  # WTForms < 3.3 takes (value, label) tuples
    SelectChoice = None


def options(pairs: list[tuple[str, str]]) -> list:
    """Select choices in the form this WTForms version wants (tuples are deprecated in 3.3)."""
    return [SelectChoice(value, label) if SelectChoice else (value, label) for value, label in pairs]


STAGES = options([("evaluation", "Evaluation"), ("poc", "Proof of concept"), ("negotiation", "Negotiation")])


FORMATS = options([("phone", "Phone call"), ("video", "Video call"), ("email", "Email exchange")])


class ReferenceRequestForm(FlaskForm):
    prospect_company = StringField("Prospect company", validators=[DataRequired(), Length(max=160)])
    industry = StringField("Industry", validators=[DataRequired(), Length(max=80)])
    company_size = SelectField("Company size", choices=options([("", "—")] + [(s, s) for s in COMPANY_SIZES]))
    region = StringField("Region", validators=[Optional(), Length(max=80)])
    use_case = StringField("Use case", validators=[DataRequired(), Length(max=200)])
    stage = SelectField("Deal stage", choices=STAGES)
    deal_size = StringField("Deal size", validators=[Optional(), Length(max=24)])
    currency = StringField("Currency", validators=[Optional(), Length(max=3)], default="USD")
    needed_by = DateField("Needed by", validators=[DataRequired("Choose a date.")])
    format = SelectField("Format", choices=FORMATS)
    topics = StringField("Topics (comma-separated)", validators=[Optional(), Length(max=900)])
    opportunity_external_id = StringField("CRM opportunity id", validators=[Optional(), Length(max=64)])


class FeedbackForm(FlaskForm):
    rating = SelectField("How did the call go? (1–5)", choices=options([(str(i), str(i)) for i in range(5, 0, -1)]))
    helped = SelectField("Did it help the deal?", choices=options([("true", "Yes"), ("false", "No")]))
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=2000)])


class AssignForm(FlaskForm):
    advocate_id = HiddenField(validators=[DataRequired()])


class UnfilledForm(FlaskForm):
    note = TextAreaField("Note for the sales rep", validators=[Optional(), Length(max=500)])
