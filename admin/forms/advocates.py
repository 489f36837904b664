"""Advocate console forms (invite, CSV import, groups, point adjustment): validation only. Select
choices use the {value: label} shorthand (tuples are deprecated since WTForms 3.3)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, Email, InputRequired, Length, NumberRange, Optional

from hub.models import COMPANY_SIZES, Role
from rewards.ledger import MAX_DELTA


class InviteForm(FlaskForm):
    email = StringField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    role = SelectField("Role", choices={r.value: r.value.title() for r in Role}, default="advocate")
    title = StringField("Title", validators=[Optional(), Length(max=120)])
    company = StringField("Company", validators=[Optional(), Length(max=160)])
    industry = StringField("Industry", validators=[Optional(), Length(max=80)])
    company_size = SelectField(
        "Company size", choices={"": "—"} | {s: s for s in COMPANY_SIZES}, validators=[Optional()]
    )
    region = StringField("Region", validators=[Optional(), Length(max=80)])
    groups = StringField("Groups (comma-separated)", validators=[Optional(), Length(max=500)])


class ImportForm(FlaskForm):
    file = FileField("CSV file", validators=[FileRequired(), FileAllowed(["csv", "txt"], "A .csv file, please.")])


class GroupForm(FlaskForm):
    name = StringField("Group name", validators=[DataRequired(), Length(max=80)])
    description = StringField("Description", validators=[Optional(), Length(max=255)])


class AdjustForm(FlaskForm):
    points = IntegerField(
        "Points (negative to deduct)",
        validators=[InputRequired("Enter a whole number."), NumberRange(-MAX_DELTA, MAX_DELTA)],
    )
    memo = StringField("Reason", validators=[DataRequired("Say why."), Length(max=255)])
