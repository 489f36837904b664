"""Owner settings forms (the points economy, API tokens): fields only — the economy's values are
validated by rewards.program_settings (as PATCH /settings). Select choices use the {value: label}
shorthand (tuples are deprecated since WTForms 3.3)."""

from __future__ import annotations

from typing import Annotated

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField
from wtforms.widgets import NumberInput

from hub.fields import Conforms, Email, OneLine, currency_choices


class EconomySettingsForm(FlaskForm):
    """Every owner setting of the points economy; `confirm` applies what the preview showed."""

    silver = StringField("Silver from (points)", widget=NumberInput())
    gold = StringField("Gold from (points)", widget=NumberInput())
    basis = SelectField("Basis", choices={"lifetime": "Lifetime points", "rolling_365": "Points in the last 365 days"})
    point_value = StringField("Value of one point")
    point_currency = SelectField("Currency", choices=currency_choices, validate_choice=False)
    expiry_days = StringField("Points expire after (days)", widget=NumberInput())
    cost_amount = StringField("Program cost")
    cost_currency = SelectField("Cost currency", choices=currency_choices, validate_choice=False)
    trust_threshold = StringField("Trust review threshold (0–100)", widget=NumberInput())
    confirm = HiddenField()


class TokenForm(FlaskForm):
    user_email = StringField("Acts as (user email)", validators=[Conforms(Email)])
    name = StringField("Token name", validators=[Conforms(Annotated[str, OneLine(80)])])
