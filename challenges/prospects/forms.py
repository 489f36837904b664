"""The "Nominate a customer" form: the fields of NominationBody, through the same types."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField

from challenges.prospects.nominations import NominationBody
from hub.fields import Conforms


class NominationForm(FlaskForm):
    name = StringField("Name", validators=[Conforms.of(NominationBody, "name")])
    email = StringField("Email", validators=[Conforms.of(NominationBody, "email")])
    company = StringField("Company", validators=[Conforms.of(NominationBody, "company")])
    title = StringField("Title", validators=[Conforms.of(NominationBody, "title")])
    reason = TextAreaField("Why this customer?", validators=[Conforms.of(NominationBody, "reason")])
