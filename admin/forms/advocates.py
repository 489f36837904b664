"""Advocate console forms (invite, CSV import, groups, point adjustment): validation only. Select
choices use the {value: label} shorthand (tuples are deprecated since WTForms 3.3)."""

from __future__ import annotations

from typing import Annotated

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import NumberInput

from hub.accounts import AdvocateProfile, GroupDescription, GroupName
from hub.advocate_lists import Burnout, LastActive
from hub.contracts import PageQuery, TrustClearBody
from hub.fields import Conforms, NameOrId, OneLine, OneOf, WholeNumber
from hub.models import COMPANY_SIZES, Persona, Role, Tier
from rewards.ledger import MAX_DELTA
from rewards.services import Adjustment

# The form sends text; the API a JSON number (Adjustment.points refuses quoted numbers there).
Points = Annotated[int, WholeNumber(-MAX_DELTA, MAX_DELTA)]


class InviteForm(FlaskForm):
    """An invitation: the profile's fields through AdvocateProfile's types (as the API's body)."""

    email = StringField("Email", validators=[Conforms.of(AdvocateProfile, "email")])
    name = StringField("Name", validators=[Conforms.of(AdvocateProfile, "name")])
    role = SelectField("Role", choices={r.value: r.value.title() for r in Role}, default="advocate")
    title = StringField("Title", validators=[Conforms.of(AdvocateProfile, "title")])
    company = StringField("Company", validators=[Conforms.of(AdvocateProfile, "company")])
    industry = StringField("Industry", validators=[Conforms.of(AdvocateProfile, "industry")])
    company_size = SelectField(
        "Company size", choices={"": "—"} | {s: s for s in COMPANY_SIZES}, validators=[Optional()]
    )
    region = StringField("Region", validators=[Conforms.of(AdvocateProfile, "region")])
    groups = StringField("Groups (comma-separated)", validators=[Conforms.of(AdvocateProfile, "groups")])


class AdvocateEditForm(FlaskForm):
    """Staff correcting an advocate's profile (the API's `PATCH /advocates/{id}` rules)."""

    email = StringField("Email", validators=[Conforms.of(AdvocateProfile, "email")])
    name = StringField("Name", validators=[Conforms.of(AdvocateProfile, "name")])
    title = StringField("Title", validators=[Conforms.of(AdvocateProfile, "title")])
    company = StringField("Company", validators=[Conforms.of(AdvocateProfile, "company")])
    industry = StringField("Industry", validators=[Conforms.of(AdvocateProfile, "industry")])
    company_size = SelectField(
        "Company size", choices={"": "—"} | {s: s for s in COMPANY_SIZES}, validators=[Optional()]
    )
    region = StringField("Region", validators=[Conforms.of(AdvocateProfile, "region")])


class ImportForm(FlaskForm):
    file = FileField("CSV file", validators=[FileRequired(), FileAllowed(["csv", "txt"], "A .csv file, please.")])


class GroupForm(FlaskForm):
    name = StringField("Group name", validators=[Conforms(GroupName)])
    description = StringField("Description", validators=[Conforms(GroupDescription, required=False)])


class AdjustForm(FlaskForm):
    """An owner's adjustment, through rewards' Adjustment (as the API's body)."""

    points = StringField("Points (negative to deduct)", widget=NumberInput(), validators=[Conforms(Points)])
    memo = StringField("Reason", validators=[Conforms.of(Adjustment, "memo")])
    lifetime = BooleanField("Correction: also lower lifetime points")


class AdvocateFilter(PageQuery):
    """The advocates list: search (name, email, company), tier, group (by id, as the page's own
    filter sends it, or by name, as people type it), persona, last active, burnout, page."""

    q: Annotated[str | None, OneLine(100)] = None
    tier: Annotated[Tier | None, OneOf(Tier)] = None
    group: Annotated[str | None, NameOrId(80)] = None
    persona: Annotated[Persona | None, OneOf(Persona)] = None
    last_active: Annotated[LastActive | None, OneOf(LastActive)] = None
    burnout: Annotated[Burnout | None, OneOf(Burnout)] = None
    # advocates whose trust score is below this (the page offers the owner's threshold)
    trust_below: Annotated[int | None, WholeNumber(0, 101)] = None


class EraseOnRequestForm(FlaskForm):
    """An owner erasing an advocate who asked by email: whose request, and an explicit yes."""

    requested_by = StringField("Request", validators=[DataRequired("Say whose request this is."), Length(max=200)])
    confirm = BooleanField(
        "Erase this advocate's account and personal data for good.",
        validators=[DataRequired("Tick the box to confirm.")],
    )


class TrustClearForm(FlaskForm):
    """Clearing a trust signal: why it does not count (kept with the signal, audited)."""

    reason = StringField("Why this signal does not count", validators=[Conforms.of(TrustClearBody, "reason")])
