"""The referral form: rendering and CSRF; the referrals service validates."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional


class ReferralForm(FlaskForm):
    name = StringField("Their name", validators=[DataRequired(), Length(max=120)])
    email = StringField("Their email", validators=[DataRequired(), Length(max=254)])
    company = StringField("Their company", validators=[DataRequired(), Length(max=160)])
    title = StringField("Their title", validators=[Optional(), Length(max=120)])
    notes = TextAreaField("Why they would be a good fit", validators=[Optional(), Length(max=2000)])
    consent = BooleanField("They agreed that we may contact them.")
