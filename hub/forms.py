"""Account forms: validation only (emails and names through hub.fields, as everywhere)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from hub.accounts import MIN_PASSWORD
from hub.fields import Conforms, Email, PersonName, time_zone_names
from hub.models import COMPANY_SIZES


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])
    remember = BooleanField("Keep me signed in")


class ForgotPasswordForm(FlaskForm):
    email = EmailField("Email", validators=[Conforms(Email)])


class NewPasswordForm(FlaskForm):
    password = PasswordField("New password", validators=[DataRequired(), Length(min=MIN_PASSWORD, max=200)])
    confirm = PasswordField("Repeat it", validators=[DataRequired(), EqualTo("password", "The passwords differ.")])


class AcceptInviteForm(NewPasswordForm):
    name = StringField("Your name", validators=[Conforms(PersonName)])
    consent = BooleanField(
        "I agree to take part in the advocate program and to the privacy terms above.",
        validators=[DataRequired("Please accept the program terms to join.")],
    )


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired(), Length(max=200)])
    new_password = PasswordField("New password", validators=[DataRequired(), Length(min=MIN_PASSWORD, max=200)])


class EraseAccountForm(FlaskForm):
    """Erasure cannot be undone: the password again, and an explicit yes."""

    password = PasswordField("Your password", validators=[DataRequired(), Length(max=200)])
    confirm = BooleanField(
        "I understand my account and personal data are erased for good.",
        validators=[DataRequired("Tick the box to confirm.")],
    )


class ProfileForm(FlaskForm):
    """The profile page: fields are read through hub.accounts.ProfileBody (the API's rules)."""

    name = StringField("Name")
    title = StringField("Title")
    company = StringField("Company")
    industry = StringField("Industry")
    company_size = SelectField("Company size", choices={"": "—"} | {s: s for s in COMPANY_SIZES}, validate_choice=False)
    region = StringField("Region")
    # Every IANA zone, read through ProfileBody's TimeZoneName; the page proposes the browser's.
    time_zone = SelectField(
        "Time zone",
        choices=lambda: {"": "UTC (not chosen)"} | {z: z.replace("_", " ") for z in sorted(time_zone_names())},
        validate_choice=False,
    )


class PersonalTokenForm(FlaskForm):
    token_name = StringField("Token name", validators=[DataRequired(), Length(max=80)])


class ConsentForm(FlaskForm):
    """Accepting the program terms: the version shown (so a text changed meanwhile is not
    accepted unseen) and an explicit yes."""

    version = HiddenField()
    accept = BooleanField(
        "I accept these program terms.", validators=[DataRequired("Please accept the terms to continue.")]
    )
