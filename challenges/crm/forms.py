"""CRM console forms (CSV import, webhooks, integration token, program cost): rendering, CSRF and the
field types (hub.fields) the services read again."""

from __future__ import annotations

from typing import Annotated

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, SelectField, StringField

from hub.fields import Conforms, Money, OneLine, currency_choices


class OpportunityImportForm(FlaskForm):
    file = FileField("CSV file", validators=[FileRequired(), FileAllowed(["csv", "txt"], "A .csv file, please.")])


class WebhookForm(FlaskForm):
    url = StringField("Receiver URL", validators=[Conforms(Annotated[str, OneLine(500)])])
    referral_created = BooleanField("referral.created", default=True)
    reference_accepted = BooleanField("reference.accepted", default=True)


class IntegrationTokenForm(FlaskForm):
    name = StringField("Token name", validators=[Conforms(Annotated[str, OneLine(80)])], default="CRM integration")


class ProgramCostForm(FlaskForm):
    amount = StringField("Program cost", validators=[Conforms.of(Money, "amount")])
    currency = SelectField(
        "Currency", choices=currency_choices, validate_choice=False, validators=[Conforms.of(Money, "currency")]
    )
