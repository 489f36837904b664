"""Accounts and the advocate hub: login, logout, password reset, invitations, home, activity, and
an advocate's own data (download, erasure)."""

from __future__ import annotations

import json

from flask import Blueprint, Response, flash, make_response, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from hub import accounts, consent, invitations, privacy, tokens
from hub.auth import public, roles_required
from hub.errors import ValidationFailed, VouchError
from hub.extensions import limiter
from hub.fields import read
from hub.forms import (
    AcceptInviteForm,
    ChangePasswordForm,
    ConsentForm,
    EraseAccountForm,
    ForgotPasswordForm,
    LoginForm,
    NewPasswordForm,
    PersonalTokenForm,
    ProfileForm,
)
from hub.hooks import hooks
from hub.htmx import apply_errors, is_htmx, render_page_or_partial, trigger
from hub.models import ALL_ROLES, Role
from hub.notifications import mark_all_read, notifications_page, unread_count
from hub.security import safe_next_url, verify_password
from hub.transactions import refusal_renders

bp = Blueprint("hub", __name__)

GENERIC_LOGIN_ERROR = "That email and password do not match an account."
RESET_SENT = "If an account exists for that email, we have sent a link to reset its password."


def _login_account_key() -> str:
    return "acct:" + (request.form.get("email") or "").strip().lower()[:254]


def _failed_login(response) -> bool:
    return response.status_code != 302


def home_for(role: Role) -> str:
    """Where a role lands after login: the page its package registered (hub.hooks role_homes)."""
    return url_for(hooks().home_endpoint(role))


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit("30/minute;200/hour", methods=["POST"])
@limiter.limit("10/15minutes", methods=["POST"], key_func=_login_account_key, deduct_when=_failed_login)
def login():
    if current_user.is_authenticated:
        return redirect(home_for(current_user.role))
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data, form.password.data)
        if user is not None:
            session.clear()  # a fresh session at login: nothing carried over (no fixation)
            accounts.start_session(user, request.remote_addr, request.headers.get("User-Agent"))
            login_user(user, remember=form.remember.data)
            return redirect(safe_next_url(request.args.get("next"), home_for(user.role)))
        form.password.errors.append(GENERIC_LOGIN_ERROR)
        return render_template("auth/login.html", form=form), 200
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@roles_required(*ALL_ROLES)
def logout():
    accounts.end_session(current_user.get_id())
    logout_user()
    session.clear()
    flash("You are logged out.", "info")
    return redirect(url_for("hub.login"))


@bp.route("/forgot", methods=["GET", "POST"])
@public
@limiter.limit("10/hour", methods=["POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        accounts.request_password_reset(form.email.data)
        flash(RESET_SENT, "info")
        return redirect(url_for("hub.login"))
    return render_template("auth/forgot.html", form=form)


def _link_invalid(exc: VouchError):
    return render_template("auth/link_invalid.html", message=exc.message), 400


def _reset_refused(exc: VouchError, token: str):
    """A used or expired link is its own page (400); a refused password shows on the form."""
    if not isinstance(exc, ValidationFailed):
        return _link_invalid(exc)
    return render_template("auth/reset.html", form=apply_errors(NewPasswordForm(), exc))


@bp.route("/reset/<token>", methods=["GET", "POST"])
@public
@limiter.limit("20/hour", methods=["POST"])
@refusal_renders(_reset_refused)
def reset_password(token: str):
    accounts.reset_for_token(token)
    form = NewPasswordForm()
    if form.validate_on_submit():
        accounts.reset_password(token, form.password.data or "")
        flash("Your password is changed. Log in with the new one.", "success")
        return redirect(url_for("hub.login"))
    return render_template("auth/reset.html", form=form)


def _invite_refused(exc: VouchError, token: str):
    """A used or expired invitation is its own page (400); refused details show on the form."""
    if not isinstance(exc, ValidationFailed):
        return _link_invalid(exc)
    form = apply_errors(AcceptInviteForm(), exc)
    return render_template(
        "auth/invite.html", form=form, invite=invitations.invite_for_token(token), terms=consent.current_terms()[1]
    )


@bp.route("/invite/<token>", methods=["GET", "POST"])
@public
@limiter.limit("20/hour", methods=["POST"])
@refusal_renders(_invite_refused)
def accept_invite(token: str):
    invite = invitations.invite_for_token(token)
    form = AcceptInviteForm(name=invite.name)
    if form.validate_on_submit():
        user = invitations.accept_invite(token, form.name.data or "", form.password.data or "", form.consent.data)
        session.clear()
        accounts.start_session(user, request.remote_addr, request.headers.get("User-Agent"))
        login_user(user)
        flash("Welcome aboard! Here is your hub.", "success")
        return redirect(home_for(user.role))
    return render_template("auth/invite.html", form=form, invite=invite, terms=consent.current_terms()[1])


@bp.route("/account/password", methods=["GET", "POST"])
@roles_required(*ALL_ROLES)
@refusal_renders(lambda exc: render_template("auth/change_password.html", form=apply_errors(ChangePasswordForm(), exc)))
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        accounts.change_password(
            current_user, form.current_password.data, form.new_password.data, current_user.get_id()
        )
        flash("Password changed. Your other sessions were signed out.", "success")
        return redirect(home_for(current_user.role))
    return render_template("auth/change_password.html", form=form)


@bp.get("/")
@login_required
def home():
    if current_user.role is not Role.ADVOCATE:
        return redirect(home_for(current_user.role))
    advocate = current_user.advocate
    return render_template("hub/home.html", advocate=advocate, sections=hooks().sections_for(advocate))


home.allowed_roles = ALL_ROLES


@bp.get("/notifications")
@roles_required(*ALL_ROLES)
def notifications():
    items, _ = notifications_page(current_user.id, 1, 100)
    return render_page_or_partial("hub/notifications.html", "hub/_notifications_list.html", items=items)


@bp.post("/notifications/read")
@roles_required(*ALL_ROLES)
def notifications_read():
    mark_all_read(current_user.id)
    if not is_htmx():
        return redirect(url_for("hub.notifications"))
    items, _ = notifications_page(current_user.id, 1, 100)
    return trigger(make_response(render_template("hub/_notifications_list.html", items=items)), "notifications-changed")


@bp.get("/notifications/bell")
@roles_required(*ALL_ROLES)
def notification_bell():
    """The bell (polled). When it shows more unread than the page last saw, something happened
    elsewhere (an answer accepted, a completion approved): the header's points refresh too."""
    response = make_response(render_template("_macros/_bell.html"))
    seen = request.args.get("seen", type=int)
    if seen is not None and unread_count(current_user.id) > seen:
        trigger(response, "points-changed")
    return response


@bp.get("/me/export")
@roles_required(Role.ADVOCATE)
def export_data():
    """ "Download my data" (product.md §12): the API's export document as a file."""
    document = privacy.export_advocate(current_user.advocate.id)
    body = json.dumps(document, default=privacy.plain, ensure_ascii=False, indent=1)
    response = Response(body, mimetype="application/json")
    stamp = privacy.plain(document["exported_at"])[:10]
    response.headers["Content-Disposition"] = f'attachment; filename="vouch-my-data-{stamp}.json"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _erase_refused(exc: VouchError):
    return render_template("hub/erase.html", form=apply_errors(EraseAccountForm(), exc)), 422


@bp.route("/me/erase", methods=["GET", "POST"])
@roles_required(Role.ADVOCATE)
@limiter.limit("10/hour", methods=["POST"])
@refusal_renders(_erase_refused)
def erase_account():
    """Erase the advocate's own account after they enter their password again."""
    form = EraseAccountForm()
    if form.validate_on_submit():
        if not verify_password(current_user.password_hash, form.password.data or ""):
            raise ValidationFailed({"password": "That is not your password."})
        privacy.erase_advocate(current_user.advocate.id, current_user.id, "self")
        logout_user()
        session.clear()
        flash("Your account and personal data were erased. Thank you for being an advocate.", "info")
        return redirect(url_for("hub.login"))
    status = 422 if request.method == "POST" else 200
    return render_template("hub/erase.html", form=form), status


PROFILE_FIELDS = ("name", *accounts.ADVOCATE_PROFILE_FIELDS)


def _profile_page(form: ProfileForm, token_form: PersonalTokenForm, new_token: str | None = None, status: int = 200):
    is_advocate = current_user.role is Role.ADVOCATE
    return render_template(
        "hub/profile.html",
        form=form,
        token_form=token_form,
        fields=PROFILE_FIELDS if is_advocate else ("name",),
        tokens=tokens.tokens_of(current_user.id) if is_advocate else [],
        new_token=new_token,
    ), status


def _own_profile_form() -> ProfileForm:
    form = ProfileForm(formdata=None, name=current_user.name)
    if current_user.advocate is not None:
        for key in accounts.ADVOCATE_PROFILE_FIELDS:
            form[key].data = getattr(current_user.advocate, key) or ""
    return form


@bp.route("/me/profile", methods=["GET", "POST"])
@roles_required(*ALL_ROLES)
@refusal_renders(
    lambda exc: _profile_page(apply_errors(ProfileForm(), exc), PersonalTokenForm(formdata=None), None, 422)
)
def profile():
    """Everyone's profile page (issue 14): name — and for advocates title, company, industry,
    size band and region —, the change-password link, and an advocate's personal API tokens."""
    if request.method == "GET":
        return _profile_page(_own_profile_form(), PersonalTokenForm(formdata=None))
    form = ProfileForm()
    if not form.validate_on_submit():
        return _profile_page(form, PersonalTokenForm(formdata=None), None, 422)
    fields = PROFILE_FIELDS if current_user.role is Role.ADVOCATE else ("name",)
    data = read(accounts.ProfileBody, {k: form[k].data or None for k in fields})
    accounts.update_profile(current_user.id, {k: getattr(data, k) for k in fields}, current_user.id)
    flash("Profile saved.", "success")
    return redirect(url_for("hub.profile"))


@bp.post("/me/tokens")
@roles_required(Role.ADVOCATE)
@refusal_renders(lambda exc: _profile_page(_own_profile_form(), apply_errors(PersonalTokenForm(), exc), None, 422))
def create_personal_token():
    """An advocate's own API token (api.md: it acts as them); shown once on the page."""
    form = PersonalTokenForm()
    if not form.validate_on_submit():
        return _profile_page(_own_profile_form(), form, None, 422)
    _, plaintext = tokens.create_api_token(current_user, form.token_name.data, current_user.id)
    return _profile_page(_own_profile_form(), PersonalTokenForm(formdata=None), plaintext)


@bp.post("/me/tokens/<int:token_id>/revoke")
@roles_required(Role.ADVOCATE)
def revoke_personal_token(token_id: int):
    tokens.revoke_api_token(token_id, current_user.id, owner_id=current_user.id)
    flash("Token revoked.", "success")
    return redirect(url_for("hub.profile"))


# Pages an advocate may open before accepting new terms: the terms, leaving, and their data.
CONSENT_EXEMPT = frozenset(
    {"hub.consent_page", "hub.logout", "hub.export_data", "hub.erase_account", "static", "email.unsubscribe_link"}
)


@bp.before_app_request
def _terms_gate():
    """An advocate accepts the terms in force before anything else (product.md §12): after the
    owner publishes a new version, their next page is the terms (the API is not gated)."""
    if request.path.startswith("/api/") or request.endpoint in CONSENT_EXEMPT or request.endpoint is None:
        return None
    if current_user.is_authenticated and consent.needs_acceptance(current_user):
        return redirect(url_for("hub.consent_page", next=request.full_path if request.method == "GET" else None))
    return None


@bp.route("/consent", methods=["GET", "POST"])
@roles_required(Role.ADVOCATE)
def consent_page():
    """The program terms in force, to accept (once per version)."""
    version, text = consent.current_terms()
    form = ConsentForm()
    if form.validate_on_submit() and form.version.data != version:
        flash("The terms changed while you were reading them; here is the new text.", "info")
    elif form.validate_on_submit():
        consent.record_acceptance(current_user.advocate, version)
        flash("Thank you — the updated terms are accepted.", "success")
        return redirect(safe_next_url(request.args.get("next"), home_for(Role.ADVOCATE)))
    form.version.data = version
    accepted = current_user.advocate.consent_version == version
    status = 422 if request.method == "POST" else 200
    return render_template("hub/consent.html", form=form, text=text, version=version, accepted=accepted), status
