"""CRM console forms (CSV import, webhooks, integration token, program cost): rendering and CSRF;
the services validate."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, StringField
from wtforms.validators import DataRequired, Length


class OpportunityImportForm(FlaskForm):
    file = FileField("CSV file", validators=[FileRequired(), FileAllowed(["csv", "txt"], "A .csv file, please.")])


class WebhookForm(FlaskForm):
    url = StringField("Receiver URL", validators=[DataRequired(), Length(max=500)])
    referral_created = BooleanField("referral.created", default=True)
    reference_accepted = BooleanField("reference.accepted", default=True)


class IntegrationTokenForm(FlaskForm):
    name = StringField("Token name", validators=[DataRequired(), Length(max=80)], default="CRM integration")


class ProgramCostForm(FlaskForm):
    amount = StringField("Program cost", validators=[DataRequired(), Length(max=24)])
    currency = StringField("Currency", validators=[DataRequired(), Length(max=3)])
