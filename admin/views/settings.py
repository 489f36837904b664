"""Owner settings: the points economy (tiers, point value, expiry, program cost, trust threshold)
with a what-if preview before applying, API tokens, and the audit log."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from admin.console import bp, owner_only
from admin.forms.settings import EconomySettingsForm, TokenForm
from hub import audit, tokens
from hub.audit import AuditFilter
from hub.contracts import AuditQuery, add_query_notice, read_or_400
from hub.csv_files import csv_download
from hub.errors import ValidationFailed, VouchError
from hub.extensions import db
from hub.htmx import apply_errors
from hub.models import ApiToken, Role, User
from hub.transactions import refusal_renders
from rewards import program_settings
from rewards.simulations import simulate

PAGE = 50


# The settings document's field names (rewards.program_settings) → the form's fields.
FORM_FIELDS = {
    "tier_thresholds.silver": "silver",
    "tier_thresholds.gold": "gold",
    "tier_thresholds": "gold",
    "tier_basis": "basis",
    "point_value.amount": "point_value",
    "point_value.currency": "point_currency",
    "point_value": "point_value",
    "points_expiry_days": "expiry_days",
    "program_cost.amount": "cost_amount",
    "program_cost.currency": "cost_currency",
    "program_cost": "cost_amount",
    "trust_review_threshold": "trust_threshold",
}


def _economy_form() -> EconomySettingsForm:
    now = program_settings.current_settings()
    return EconomySettingsForm(
        silver=now["tier_thresholds"]["silver"],
        gold=now["tier_thresholds"]["gold"],
        basis=now["tier_basis"],
        point_value=now["point_value"]["amount"],
        point_currency=now["point_value"]["currency"],
        expiry_days=now["points_expiry_days"] or "",
        cost_amount=now["program_cost"]["amount"],
        cost_currency=now["program_cost"]["currency"],
        trust_threshold=now["trust_review_threshold"],
    )


def _changes(form: EconomySettingsForm) -> dict:
    """The settings the form proposes, as PATCH /settings would take them; fields the post left
    out stay as they are."""
    sent = request.form
    now = program_settings.current_settings()
    changes: dict = {}
    if "silver" in sent or "gold" in sent:
        changes["tier_thresholds"] = {
            "silver": form.silver.data if "silver" in sent else now["tier_thresholds"]["silver"],
            "gold": form.gold.data if "gold" in sent else now["tier_thresholds"]["gold"],
        }
    if "basis" in sent:
        changes["tier_basis"] = form.basis.data
    if "point_value" in sent or "point_currency" in sent:
        changes["point_value"] = {
            "amount": sent.get("point_value", now["point_value"]["amount"]),
            "currency": sent.get("point_currency", now["point_value"]["currency"]),
        }
    if "expiry_days" in sent:
        changes["points_expiry_days"] = sent["expiry_days"].strip() or None
    if "cost_amount" in sent or "cost_currency" in sent:
        changes["program_cost"] = {
            "amount": sent.get("cost_amount", now["program_cost"]["amount"]),
            "currency": sent.get("cost_currency", now["program_cost"]["currency"]),
        }
    if "trust_threshold" in sent:
        changes["trust_review_threshold"] = sent["trust_threshold"]
    return changes


def _form_errors(form: EconomySettingsForm, exc: VouchError) -> EconomySettingsForm:
    """A refusal's field errors under the form's fields (the settings document names them)."""
    fields = exc.details.get("fields") or {}
    if not fields:
        return apply_errors(form, exc)
    renamed: dict[str, list[str]] = {}
    for name, messages in fields.items():
        renamed.setdefault(FORM_FIELDS.get(name, name), []).extend(messages)
    return apply_errors(form, ValidationFailed(renamed, exc.message))


def _settings_page(
    form: EconomySettingsForm,
    token_form: TokenForm,
    new_token: str | None = None,
    status: int = 200,
    preview: dict | None = None,
):
    return render_template(
        "admin/settings.html",
        form=form,
        token_form=token_form,
        new_token=new_token,
        tokens=_tokens(),
        preview=preview,
        settings=program_settings.current_settings(),
    ), status


def _refused(exc: VouchError):
    form = EconomySettingsForm()
    return _settings_page(_form_errors(form, exc), TokenForm(), status=422)


@bp.route("/settings", methods=["GET", "POST"])
@owner_only
@refusal_renders(_refused)
def settings():
    """GET: the settings. POST: a preview of the proposed settings (who moves tier, liability
    and expiry now and then — rewards.simulations, writing nothing); POST with confirm=1 applies
    them (validated, audited, tiers recomputed)."""
    if request.method == "GET":
        return _settings_page(_economy_form(), TokenForm())
    form = EconomySettingsForm()
    if not form.validate_on_submit():
        return _settings_page(form, TokenForm(), status=422)
    changes = _changes(form)
    if form.confirm.data != "1":
        preview = simulate(changes)
        return _settings_page(form, TokenForm(), preview=preview)
    _, moved = program_settings.apply_settings(changes, current_user.id)
    flash(f"Settings saved; {moved} advocates changed tier.", "success")
    return redirect(url_for("admin.settings"))


def _tokens() -> list[ApiToken]:
    return list(db.session.scalars(select(ApiToken).order_by(ApiToken.created_at.desc()).limit(200)))


@bp.post("/settings/tokens")
@owner_only
@refusal_renders(lambda exc: _settings_page(_economy_form(), apply_errors(TokenForm(), exc), status=422))
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
    return _settings_page(_economy_form(), form, new_token, 200 if new_token else 422)


@bp.post("/settings/tokens/<int:token_id>/revoke")
@owner_only
def revoke_token(token_id: int):
    tokens.revoke_api_token(token_id, current_user.id)
    flash("Token revoked.", "success")
    return redirect(url_for("admin.settings"))


def _audit_filter() -> tuple[AuditFilter, int]:
    """The audit log's filter from the query string; a reversed date range is shown the right
    way round with a note (never a 400 page, issue 17)."""
    query = read_or_400(AuditQuery, request.args)
    since, until = query.since, query.until
    if since and until and until < since:
        add_query_notice(
            f"The dates ended before they began, so entries from {until:%b %-d, %Y} to {since:%b %-d, %Y} are shown."
        )
        since, until = until, since
    return AuditFilter(query.actor, query.action, since, until), query.page


@bp.get("/audit")
@owner_only
def audit_log():
    where, page = _audit_filter()
    rows, total = audit.audit_page(where, PAGE, (page - 1) * PAGE)
    actors, actions = audit.audit_choices()
    args = {
        k: v
        for k, v in (
            ("actor", where.actor_id),
            ("action", where.action),
            ("from", where.since.isoformat() if where.since else None),
            ("to", where.until.isoformat() if where.until else None),
        )
        if v is not None
    }
    return render_template(
        "admin/audit.html",
        entries=[(entry, audit.changes(entry.before, entry.after)) for entry in rows],
        names=audit.target_names(rows),
        page=page,
        pages=max(1, -(-total // PAGE)),
        total=total,
        where=where,
        args=args,
        actors=actors,
        actions=actions,
    )


@bp.get("/audit.csv")
@owner_only
def audit_csv():
    """The audit log as CSV, filtered as the page is: one row per changed field (an entry
    without a diff is one row with empty field columns), newest first."""
    where, _ = _audit_filter()

    def rows():
        for entry, target_name in audit.iter_audit_named(where):
            who = (entry.actor.name, entry.actor.email) if entry.actor else ("system", "")
            head = [entry.id, entry.created_at.isoformat(), *who, entry.action, entry.target_type, entry.target_id]
            for change in audit.changes(entry.before, entry.after) or [None]:
                cells = (change.field, change.before, change.after) if change else ("", "", "")
                yield [*head, target_name, *cells]

    suffix = f"{where.since or 'start'}_{where.until or 'now'}"
    return csv_download(
        f"audit_{suffix}.csv",
        (
            "entry_id",
            "at",
            "actor",
            "actor_email",
            "action",
            "target_type",
            "target_id",
            "target_name",
            "field",
            "before",
            "after",
        ),
        rows(),
    )
