"""Owner settings forms (tiers, API tokens): validation only. Select choices use the
{value: label} shorthand (tuples are deprecated since WTForms 3.3)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, Email, InputRequired, Length, NumberRange


class TierSettingsForm(FlaskForm):
    silver = IntegerField("Silver from (points)", validators=[InputRequired(), NumberRange(1, 100_000_000)])
    gold = IntegerField("Gold from (points)", validators=[InputRequired(), NumberRange(2, 100_000_000)])
    basis = SelectField("Basis", choices={"lifetime": "Lifetime points", "rolling_365": "Points in the last 365 days"})


class TokenForm(FlaskForm):
    user_email = StringField("Acts as (user email)", validators=[DataRequired(), Email(), Length(max=254)])
    name = StringField("Token name", validators=[DataRequired(), Length(max=80)])
