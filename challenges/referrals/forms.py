"""The referral form: rendering, CSRF, and each field through ReferralInput's type (the API's body);
the referrals service reads it again and checks consent."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField, TextAreaField

from challenges.referrals.services import ReferralInput
from hub.fields import Conforms


class ReferralForm(FlaskForm):
    name = StringField("Their name", validators=[Conforms.of(ReferralInput, "name")])
    email = StringField("Their email", validators=[Conforms.of(ReferralInput, "email")])
    company = StringField("Their company", validators=[Conforms.of(ReferralInput, "company")])
    title = StringField("Their title", validators=[Conforms.of(ReferralInput, "title")])
    notes = TextAreaField("Why they would be a good fit", validators=[Conforms.of(ReferralInput, "notes")])
    consent = BooleanField("They agreed that we may contact them.")
