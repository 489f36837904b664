"""Manager and owner consoles. One role gate for the blueprint; owner-only views say so."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from admin.forms import AdjustForm, GroupForm, ImportForm, InviteForm, TierSettingsForm, TokenForm
from hub import accounts, imports, invitations, tokens
from hub.audit import record_audit
from hub.errors import VouchError
from hub.extensions import db
from hub.hooks import hooks
from hub.htmx import render_page_or_partial
from hub.models import STAFF_ROLES, Advocate, ApiToken, AuditEntry, Group, Role, Tier, User, advocate_groups
from hub.settings import get_setting, save_setting
from hub.validation import Fields
from rewards import services as rewards_services
from rewards import tiers
from rewards.badges import badges_of
from rewards.catalog import low_stock

bp = Blueprint("admin", __name__, url_prefix="/admin")
PAGE = 50


def staff(fn: Callable) -> Callable:
    fn.allowed_roles = STAFF_ROLES  # type: ignore[attr-defined]
    return fn


def owner_only(fn: Callable) -> Callable:
    fn.allowed_roles = frozenset({Role.OWNER})  # type: ignore[attr-defined]
    return fn


@bp.before_request
@login_required
def _role_gate():
    if current_user.role not in STAFF_ROLES:
        abort(403)
    view = current_app.view_functions.get(request.endpoint or "")
    if current_user.role not in getattr(view, "allowed_roles", STAFF_ROLES):
        abort(403)


def apply_field_errors(form, exc: VouchError) -> None:
    for name, messages in (exc.details.get("fields") or {}).items():
        field = getattr(form, name, None)
        target = field.errors if field is not None else form.form_errors
        target.extend(messages)
    if not exc.details.get("fields"):
        form.form_errors.append(exc.message)


@bp.get("/")
@staff
def dashboard():
    economy = rewards_services.points_economy()
    rewards_section = (
        "admin/_rewards_economy.html",
        {
            "points": economy,
            "by_status": rewards_services.redemption_counts(),
            "low_stock": low_stock(),
        },
    )
    return render_template(
        "admin/dashboard.html",
        by_tier=rewards_services.tier_counts(),
        outstanding=economy["outstanding"],
        issued=economy["issued"],
        dashboard_sections=[rewards_section],
    )


@bp.get("/advocates")
@staff
def advocates():
    f = Fields(request.args)
    q = f.str("q", max_length=100)
    tier = f.choice("tier", [t.value for t in Tier])
    group_id = f.int("group", minimum=1)
    page = f.int("page", minimum=1, maximum=100_000, default=1)
    if f.errors:
        abort(400)
    query = select(Advocate).join(User, User.id == Advocate.user_id).where(Advocate.is_erased.is_(False))
    if q:
        like = f"%{q.lower()}%"
        query = query.where(
            or_(
                func.lower(User.name).like(like),
                func.lower(User.email).like(like),
                func.lower(Advocate.company).like(like),
            )
        )
    if tier:
        query = query.where(Advocate.tier == tier)
    if group_id:
        query = query.join(advocate_groups, advocate_groups.c.advocate_id == Advocate.id).where(
            advocate_groups.c.group_id == group_id
        )
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.scalars(
        query.options(selectinload(Advocate.user)).order_by(User.name).limit(PAGE).offset((page - 1) * PAGE)
    ).all()
    facts = hooks().advocate_facts([a.id for a in rows])
    groups = db.session.scalars(select(Group).order_by(Group.name)).all()
    return render_page_or_partial(
        "admin/advocates.html",
        "admin/_advocate_rows.html",
        advocates=rows,
        facts=facts,
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE)),
        groups=groups,
        q=q or "",
        tier=tier or "",
        group_id=group_id,
        invite_form=InviteForm(),
        import_form=ImportForm(),
        group_form=GroupForm(),
    )


@bp.get("/advocates/<int:advocate_id>")
@staff
def advocate_profile(advocate_id: int):
    advocate = db.session.get(Advocate, advocate_id)
    if advocate is None or advocate.is_erased:
        abort(404)
    entries, total = rewards_services.ledger_page(advocate.id, 1, 50)
    return render_template(
        "admin/advocate.html",
        advocate=advocate,
        entries=entries,
        total_entries=total,
        badges=badges_of(advocate.id),
        facts=hooks().advocate_facts([advocate.id])[advocate.id],
        groups=db.session.scalars(select(Group).order_by(Group.name)).all(),
        adjust_form=AdjustForm(),
    )


@bp.post("/advocates/<int:advocate_id>/groups")
@staff
def advocate_groups_update(advocate_id: int):
    ids = [int(v) for v in request.form.getlist("group_ids") if v.isdigit()][:200]
    accounts.set_advocate_groups(advocate_id, ids, current_user.id)
    db.session.commit()
    flash("Groups saved.", "success")
    return redirect(url_for("admin.advocate_profile", advocate_id=advocate_id))


@bp.post("/advocates/<int:advocate_id>/adjust")
@owner_only
def adjust_points(advocate_id: int):
    advocate = db.session.get(Advocate, advocate_id)
    if advocate is None or advocate.is_erased:
        abort(404)
    form = AdjustForm()
    if form.validate_on_submit():
        checked = rewards_services.validate_adjustment(form.points.data, form.memo.data)
        if isinstance(checked, dict):
            for name, message in checked.items():
                getattr(form, name).errors.append(message)
        else:
            try:
                rewards_services.adjust_points(advocate.id, checked.points, checked.memo, current_user.id)
                db.session.commit()
                flash(f"Adjusted by {checked.points:+,} points.", "success")
                return redirect(url_for("admin.advocate_profile", advocate_id=advocate.id))
            except VouchError as exc:
                db.session.rollback()
                apply_field_errors(form, exc)
    entries, total = rewards_services.ledger_page(advocate.id, 1, 50)
    return render_template(
        "admin/advocate.html",
        advocate=advocate,
        entries=entries,
        total_entries=total,
        badges=badges_of(advocate.id),
        facts=hooks().advocate_facts([advocate.id])[advocate.id],
        groups=db.session.scalars(select(Group).order_by(Group.name)).all(),
        adjust_form=form,
    ), 422


@bp.route("/invite", methods=["GET", "POST"])
@staff
def invite():
    form = InviteForm()
    if form.validate_on_submit():
        role = Role(form.role.data)
        if role is not Role.ADVOCATE and current_user.role is not Role.OWNER:
            form.role.errors.append("Only owners can invite staff.")
        else:
            try:
                profile = accounts.clean_profile(
                    {
                        k: getattr(form, k).data
                        for k in ("email", "name", "title", "company", "industry", "company_size", "region", "groups")
                    }
                )
                invitations.invite(profile, current_user.id, role)
                db.session.commit()
                flash(f"Invitation sent to {profile.email} (if they do not have an account yet).", "success")
                return redirect(url_for("admin.advocates"))
            except VouchError as exc:
                db.session.rollback()
                apply_field_errors(form, exc)
    status = 422 if request.method == "POST" else 200
    return render_template("admin/invite.html", form=form), status


@bp.route("/advocates/import", methods=["GET", "POST"])
@staff
def import_advocates():
    form = ImportForm()
    result = None
    if form.validate_on_submit():
        raw = form.file.data.read(2 * 1024 * 1024 + 1)
        if len(raw) > 2 * 1024 * 1024:
            form.file.errors.append("The file is larger than 2 MB.")
        else:
            try:
                result = imports.import_advocates_csv(raw.decode("utf-8-sig", errors="replace"), current_user.id)
                db.session.commit()
            except VouchError as exc:
                db.session.rollback()
                apply_field_errors(form, exc)
    return render_template("admin/import.html", form=form, result=result)


@bp.route("/groups", methods=["GET", "POST"])
@staff
def groups():
    form = GroupForm()
    if form.validate_on_submit():
        try:
            accounts.create_group(form.name.data, form.description.data, current_user.id)
            db.session.commit()
            flash("Group created.", "success")
            return redirect(url_for("admin.groups"))
        except VouchError as exc:
            db.session.rollback()
            apply_field_errors(form, exc)
    counts = dict(
        db.session.execute(select(advocate_groups.c.group_id, func.count()).group_by(advocate_groups.c.group_id)).all()
    )
    rows = db.session.scalars(select(Group).order_by(Group.name)).all()
    return render_template("admin/groups.html", form=form, groups=rows, counts=counts)


@bp.route("/settings", methods=["GET", "POST"])
@owner_only
def settings():
    thresholds = get_setting("tier_thresholds")
    form = TierSettingsForm(silver=thresholds["silver"], gold=thresholds["gold"], basis=get_setting("tier_basis"))
    if form.validate_on_submit():
        problems = tiers.validate_thresholds(form.silver.data, form.gold.data)
        for name, message in problems.items():
            getattr(form, name).errors.append(message)
        if not problems:
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
            db.session.commit()
            flash(f"Tier settings saved; {changed} advocates changed tier.", "success")
            return redirect(url_for("admin.settings"))
    return render_template(
        "admin/settings.html", form=form, token_form=TokenForm(), new_token=None, tokens=_tokens()
    ), 422 if form.errors else 200


def _tokens() -> list[ApiToken]:
    return list(db.session.scalars(select(ApiToken).order_by(ApiToken.created_at.desc()).limit(200)))


@bp.post("/settings/tokens")
@owner_only
def create_token():
    form = TokenForm()
    new_token = None
    if form.validate_on_submit():
        user = db.session.scalar(select(User).where(User.email == form.user_email.data.strip().lower()))
        if user is None:
            form.user_email.errors.append("No user with this email.")
        else:
            _, new_token = tokens.create_api_token(user, form.name.data, current_user.id)
            db.session.commit()
    thresholds = get_setting("tier_thresholds")
    tier_form = TierSettingsForm(silver=thresholds["silver"], gold=thresholds["gold"], basis=get_setting("tier_basis"))
    return render_template(
        "admin/settings.html", form=tier_form, token_form=form, new_token=new_token, tokens=_tokens()
    ), 200 if new_token else 422


@bp.post("/settings/tokens/<int:token_id>/revoke")
@owner_only
def revoke_token(token_id: int):
    try:
        tokens.revoke_api_token(token_id, current_user.id)
    except VouchError:
        abort(404)
    db.session.commit()
    flash("Token revoked.", "success")
    return redirect(url_for("admin.settings"))


@bp.get("/audit")
@owner_only
def audit_log():
    f = Fields(request.args)
    page = f.int("page", minimum=1, maximum=100_000, default=1)
    if f.errors:
        abort(400)
    total = db.session.scalar(select(func.count()).select_from(AuditEntry))
    rows = db.session.scalars(
        select(AuditEntry)
        .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
        .limit(PAGE)
        .offset((page - 1) * PAGE)
    ).all()
    return render_template("admin/audit.html", entries=rows, page=page, pages=max(1, -(-total // PAGE)))


from admin import rewards_views  # noqa: E402,F401  (registers the reward and redemption consoles on bp)
