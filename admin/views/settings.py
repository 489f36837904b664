"""Owner settings: tier thresholds and basis, API tokens, and the audit log."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from admin.console import bp, owner_only
from admin.forms.settings import TierSettingsForm, TokenForm
from hub import tokens
from hub.audit import record_audit
from hub.contracts import PageQuery, read_or_400
from hub.extensions import db
from hub.htmx import apply_errors
from hub.models import ApiToken, AuditEntry, Role, User
from hub.settings import get_setting, save_setting
from hub.transactions import refusal_renders
from rewards import services as rewards_services
from rewards import tiers

PAGE = 50


def _tier_form() -> TierSettingsForm:
    thresholds = get_setting("tier_thresholds")
    return TierSettingsForm(silver=thresholds["silver"], gold=thresholds["gold"], basis=get_setting("tier_basis"))


def _settings_page(form: TierSettingsForm, token_form: TokenForm, new_token: str | None = None, status: int = 200):
    return render_template(
        "admin/settings.html", form=form, token_form=token_form, new_token=new_token, tokens=_tokens()
    ), status


@bp.route("/settings", methods=["GET", "POST"])
@owner_only
@refusal_renders(lambda exc: _settings_page(apply_errors(_tier_form(), exc), TokenForm(), status=422))
def settings():
    form = _tier_form()
    if form.validate_on_submit():
        tiers.validate_thresholds(form.silver.data, form.gold.data)
        new = {"silver": form.silver.data, "gold": form.gold.data}
        before, _ = save_setting("tier_thresholds", new, current_user.id)
        before_basis, _ = save_setting("tier_basis", form.basis.data, current_user.id)
        record_audit(
            current_user.id,
            "settings.tiers",
            "setting",
            "tier_thresholds",
            {"thresholds": before, "basis": before_basis},
            {"thresholds": new, "basis": form.basis.data},
        )
        changed = rewards_services.recompute_all_tiers()
        flash(f"Tier settings saved; {changed} advocates changed tier.", "success")
        return redirect(url_for("admin.settings"))
    return _settings_page(form, TokenForm(), status=422 if form.errors else 200)


def _tokens() -> list[ApiToken]:
    return list(db.session.scalars(select(ApiToken).order_by(ApiToken.created_at.desc()).limit(200)))


@bp.post("/settings/tokens")
@owner_only
@refusal_renders(lambda exc: _settings_page(_tier_form(), apply_errors(TokenForm(), exc), status=422))
def create_token():
    form = TokenForm()
    new_token = None
    if form.validate_on_submit():
        user = db.session.scalar(select(User).where(User.email == form.user_email.data.strip().lower()))
        if user is None:
            form.user_email.errors.append("No user with this email.")
        elif user.role is Role.ADVOCATE:
            # An advocate's token is theirs to make and revoke, on their profile page (issue 14).
            form.user_email.errors.append("Advocates create their own tokens on their profile page.")
        elif not user.is_active_user:
            # A deactivated user's tokens answer 401 (issue 14): a new one would not work either.
            form.user_email.errors.append("This user is deactivated; reactivate them on the Users page first.")
        else:
            _, new_token = tokens.create_api_token(user, form.name.data, current_user.id)
    return _settings_page(_tier_form(), form, new_token, 200 if new_token else 422)


@bp.post("/settings/tokens/<int:token_id>/revoke")
@owner_only
def revoke_token(token_id: int):
    tokens.revoke_api_token(token_id, current_user.id)
    flash("Token revoked.", "success")
    return redirect(url_for("admin.settings"))


@bp.get("/audit")
@owner_only
def audit_log():
    page = read_or_400(PageQuery, request.args).page
    total = db.session.scalar(select(func.count()).select_from(AuditEntry))
    rows = db.session.scalars(
        select(AuditEntry)
        .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
        .limit(PAGE)
        .offset((page - 1) * PAGE)
    ).all()
    return render_template("admin/audit.html", entries=rows, page=page, pages=max(1, -(-total // PAGE)))
