"""Reference-request forms (filing, feedback, assigning, unfilled): rendering, CSRF, and each field
through the type of the services' bodies (RequestBody, FeedbackBody, AssignBody, UnfilledBody)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.widgets import DateInput

from challenges.references.contracts import AssignBody
from challenges.references.models import CallFormat, Stage
from challenges.references.services import FeedbackBody, RequestBody, UnfilledBody
from hub.fields import Conforms, currency_choices
from hub.models import COMPANY_SIZES

try:
    from wtforms import SelectChoice  # type: ignore[attr-defined]  # new in WTForms 3.3; types-WTForms 3.2 lacks it
except ImportError:  # WTForms < 3.3 takes (value, label) tuples
    SelectChoice = None


def options(pairs: list[tuple[str, str]]) -> list:
    """Select choices in the form this WTForms version wants (tuples are deprecated in 3.3)."""
    return [SelectChoice(value, label) if SelectChoice else (value, label) for value, label in pairs]


STAGES = options([(stage.value, stage.label) for stage in Stage])


FORMATS = options([(call_format.value, call_format.label) for call_format in CallFormat])


def _of(name: str) -> list[Conforms]:
    return [Conforms.of(RequestBody, name)]


class ReferenceRequestForm(FlaskForm):
    prospect_company = StringField("Prospect company", validators=_of("prospect_company"))
    industry = StringField("Industry", validators=_of("industry"))
    company_size = SelectField(
        "Company size",
        choices=options([("", "—")] + [(s, s) for s in COMPANY_SIZES]),
        validate_choice=False,
        validators=_of("company_size"),
    )
    region = StringField("Region", validators=_of("region"))
    use_case = StringField("Use case", validators=_of("use_case"))
    stage = SelectField("Deal stage", choices=STAGES)
    deal_size = StringField("Deal size", validators=_of("deal_size"))
    currency = SelectField(
        "Currency", choices=currency_choices, validate_choice=False, validators=_of("currency"), default="USD"
    )
    needed_by = StringField("Needed by", widget=DateInput(), validators=_of("needed_by"))
    format = SelectField("Format", choices=FORMATS)
    topics = StringField("Topics (comma-separated)", validators=_of("topics"))
    opportunity_external_id = StringField("CRM opportunity id", validators=_of("opportunity_external_id"))


class FeedbackForm(FlaskForm):
    rating = SelectField("How did the call go? (1–5)", choices=options([(str(i), str(i)) for i in range(5, 0, -1)]))
    helped = SelectField("Did it help the deal?", choices=options([("true", "Yes"), ("false", "No")]))
    notes = TextAreaField("Notes", validators=[Conforms.of(FeedbackBody, "notes")])


class AssignForm(FlaskForm):
    advocate_id = HiddenField(validators=[Conforms.of(AssignBody, "advocate_id")])


class UnfilledForm(FlaskForm):
    note = TextAreaField("Note for the sales rep", validators=[Conforms.of(UnfilledBody, "note")])
