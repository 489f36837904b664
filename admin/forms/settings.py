"""Owner settings forms (tiers, API tokens): validation only, through hub.fields. Select choices use
the {value: label} shorthand (tuples are deprecated since WTForms 3.3)."""

from __future__ import annotations

from typing import Annotated

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.widgets import NumberInput

from hub.fields import Conforms, Email, OneLine, WholeNumber


class TierSettingsForm(FlaskForm):
    silver = StringField(
        "Silver from (points)", widget=NumberInput(), validators=[Conforms(Annotated[int, WholeNumber(1, 100_000_000)])]
    )
    gold = StringField(
        "Gold from (points)", widget=NumberInput(), validators=[Conforms(Annotated[int, WholeNumber(2, 100_000_000)])]
    )
    basis = SelectField("Basis", choices={"lifetime": "Lifetime points", "rolling_365": "Points in the last 365 days"})


class TokenForm(FlaskForm):
    user_email = StringField("Acts as (user email)", validators=[Conforms(Email)])
    name = StringField("Token name", validators=[Conforms(Annotated[str, OneLine(80)])])
