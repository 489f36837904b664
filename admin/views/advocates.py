"""The advocates console: the list (search, tier, group), an advocate's profile, groups and point
adjustments, invitations, the CSV import, and groups."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from admin.console import bp, owner_only, staff
from admin.forms.accounts import PERSONA_LABELS
from admin.forms.advocates import (
    AdjustForm,
    AdvocateEditForm,
    AdvocateFilter,
    EraseOnRequestForm,
    GroupForm,
    ImportForm,
    InviteForm,
    TrustClearForm,
)
from hub import accounts, imports, invitations, privacy, trust
from hub import groups as groups_service
from hub.accounts import AdvocateProfile
from hub.advocate_lists import Burnout, LastActive, advocates_query
from hub.contracts import add_query_notice, read_or_400
from hub.db import utcnow
from hub.extensions import db
from hub.fields import read
from hub.hooks import hooks
from hub.htmx import apply_errors, render_page_or_partial
from hub.models import Advocate, Group, Persona, Role, User
from hub.transactions import refusal_renders
from rewards import services as rewards_services
from rewards.badges import badges_of

PAGE = 50


@bp.get("/advocates")
@staff
def advocates():
    args = read_or_400(AdvocateFilter, request.args)
    q, tier, page = args.q, args.tier, args.page
    group_id = _group_id(args.group)
    query = advocates_query(**_filters(args, group_id), now=utcnow())
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
        persona=args.persona.value if args.persona else "",
        last_active=args.last_active.value if args.last_active else "",
        burnout=args.burnout.value if args.burnout else "",
        personas=list(Persona),
        persona_labels=PERSONA_LABELS,
        last_active_choices=list(LastActive),
        burnout_choices=list(Burnout),
        trust_below=args.trust_below,
        trust_threshold=trust.threshold(),
        invite_form=InviteForm(),
        import_form=ImportForm(),
        group_form=GroupForm(),
    )


LIST_FILTERS = ("q", "tier", "group", "persona", "last_active", "burnout", "trust_below")


LIST_FILTERS = ("q", "tier", "group", "persona", "last_active", "burnout", "trust_below")


def _filters(args: AdvocateFilter, group_id: int | None) -> dict:
    return {
        "q": args.q,
        "tier": args.tier,
        "group_id": group_id,
        "persona": args.persona,
        "last_active": args.last_active,
        "burnout": args.burnout,
        "trust_below": args.trust_below,
    }


def _group_id(group: str | None) -> int | None:
    """The filter's group: an id as the page's select sends it, or a name as people type it in a
    link (?group=EMEA); an unknown one is left out with a note (issue 12 item 8)."""
    if group is None:
        return None
    by_id = group.isascii() and group.isdigit()
    found = db.session.get(Group, int(group)) if by_id else accounts.group_by_name(group)
    if found is None:
        add_query_notice(f"There is no group “{group[:40]}”, so advocates of every group are shown.")
        return None
    return found.id


def _profile(advocate_id: int, adjust_form: AdjustForm, status: int = 200, clear_form: TrustClearForm | None = None):
    """An advocate's profile: points history, badges, facts, groups, the adjust form, and the
    trust score with its signals (each clearable with a reason)."""
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
        persona_labels=PERSONA_LABELS,
        adjust_form=adjust_form,
        erase_form=EraseOnRequestForm(formdata=None),
        trust_signals=trust.signals_of(advocate.id),
        trust_threshold=trust.threshold(),
        clear_form=clear_form or TrustClearForm(formdata=None),
    ), status


@bp.get("/advocates/<int:advocate_id>")
@staff
def advocate_profile(advocate_id: int):
    return _profile(advocate_id, AdjustForm())


@bp.post("/advocates/<int:advocate_id>/groups")
@staff
def advocate_groups_update(advocate_id: int):
    ids = [int(v) for v in request.form.getlist("group_ids") if v.isdigit()][:200]
    accounts.set_advocate_groups(advocate_id, ids, current_user.id)
    flash("Groups saved.", "success")
    return redirect(url_for("admin.advocate_profile", advocate_id=advocate_id))


EDIT_FIELDS = ("email", "name", "title", "company", "industry", "company_size", "region")


def _edit_page(advocate_id: int, form: AdvocateEditForm, status: int = 200):
    advocate = db.session.get(Advocate, advocate_id)
    if advocate is None or advocate.is_erased:
        abort(404)
    return render_template("admin/advocate_edit.html", advocate=advocate, form=form), status


@bp.route("/advocates/<int:advocate_id>/edit", methods=["GET", "POST"])
@staff
@refusal_renders(lambda exc, advocate_id: _edit_page(advocate_id, apply_errors(AdvocateEditForm(), exc), 422))
def advocate_edit(advocate_id: int):
    """Staff correct an advocate's profile (issue 14); audited by hub.accounts.update_profile."""
    advocate = db.session.get(Advocate, advocate_id)
    if advocate is None or advocate.is_erased:
        abort(404)
    if request.method == "GET":
        form = AdvocateEditForm(formdata=None, obj=advocate, email=advocate.user.email, name=advocate.user.name)
        return _edit_page(advocate_id, form)
    form = AdvocateEditForm()
    if not form.validate_on_submit():
        return _edit_page(advocate_id, form, 422)
    profile = read(AdvocateProfile, {k: form[k].data or None for k in EDIT_FIELDS})
    accounts.update_profile(advocate.user_id, {k: getattr(profile, k) for k in EDIT_FIELDS}, current_user.id)
    flash("Profile saved.", "success")
    return redirect(url_for("admin.advocate_profile", advocate_id=advocate_id))


@bp.post("/advocates/<int:advocate_id>/erase")
@owner_only
def erase_advocate(advocate_id: int):
    """Erasure on the advocate's emailed request (product.md §12); audited with the request."""
    form = EraseOnRequestForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            flash(errors[0], "error")
        return redirect(url_for("admin.advocate_profile", advocate_id=advocate_id))
    if db.session.get(Advocate, advocate_id) is None:
        abort(404)
    privacy.erase_advocate(advocate_id, current_user.id, f"emailed request: {(form.requested_by.data or '').strip()}")
    flash("The advocate was erased. Their points stay in the totals, anonymously.", "success")
    return redirect(url_for("admin.advocates"))


@bp.post("/advocates/<int:advocate_id>/adjust")
@owner_only
@refusal_renders(lambda exc, advocate_id: _profile(advocate_id, apply_errors(AdjustForm(), exc), 422))
def adjust_points(advocate_id: int):
    advocate = db.session.get(Advocate, advocate_id)
    if advocate is None or advocate.is_erased:
        abort(404)
    form = AdjustForm()
    if not form.validate_on_submit():
        return _profile(advocate_id, form, 422)
    checked = rewards_services.validate_adjustment(form.points.data, form.memo.data, form.lifetime.data)
    rewards_services.adjust_points(
        advocate.id, checked.points, checked.memo, current_user.id, lifetime=checked.lifetime
    )
    what = "Corrected" if checked.lifetime else "Adjusted"
    flash(f"{what} by {checked.points:+,} points.", "success")
    return redirect(url_for("admin.advocate_profile", advocate_id=advocate.id))


@bp.post("/advocates/<int:advocate_id>/trust-signals/<int:signal_id>/clear")
@staff
@refusal_renders(
    lambda exc, advocate_id, signal_id: _profile(
        advocate_id, AdjustForm(formdata=None), 422, apply_errors(TrustClearForm(), exc)
    )
)
def clear_trust_signal(advocate_id: int, signal_id: int):
    """Staff clear a trust signal with a reason; the score is recomputed with it."""
    form = TrustClearForm()
    if not form.validate_on_submit():
        return _profile(advocate_id, AdjustForm(formdata=None), 422, form)
    signal = trust.clear_signal(signal_id, current_user.id, form.reason.data or "", advocate_id=advocate_id)
    flash(f"Signal cleared: “{trust.KINDS[signal.kind].label}”. The trust score was recomputed.", "success")
    return redirect(url_for("admin.advocate_profile", advocate_id=advocate_id) + "#trust")


PROFILE_FIELDS = ("email", "name", "title", "company", "industry", "company_size", "region", "groups")


@bp.route("/invite", methods=["GET", "POST"])
@staff
@refusal_renders(lambda exc: (render_template("admin/invite.html", form=apply_errors(InviteForm(), exc)), 422))
def invite():
    form = InviteForm()
    if form.validate_on_submit():
        role = Role(form.role.data)
        if role is not Role.ADVOCATE and current_user.role is not Role.OWNER:
            form.role.errors.append("Only owners can invite staff.")
        else:
            profile = read(AdvocateProfile, {k: form[k].data for k in PROFILE_FIELDS})
            invitations.invite(profile, current_user.id, role)
            flash(f"Invitation sent to {profile.email} (if they do not have an account yet).", "success")
            return redirect(url_for("admin.advocates"))
    status = 422 if request.method == "POST" else 200
    return render_template("admin/invite.html", form=form), status


@bp.route("/advocates/import", methods=["GET", "POST"])
@staff
@refusal_renders(lambda exc: (render_template("admin/import.html", form=apply_errors(ImportForm(), exc)), 422))
def import_advocates():
    form = ImportForm()
    if form.validate_on_submit():
        raw = form.file.data.read(imports.MAX_IMPORT_BYTES + 1)
        run = imports.start_import(form.file.data.filename, raw, current_user.id)
        return redirect(url_for("admin.advocate_import_page", import_id=run.id))
    status = 422 if request.method == "POST" else 200
    return render_template("admin/import.html", form=form), status


@bp.get("/advocates/imports/<int:import_id>")
@staff
def advocate_import_page(import_id: int):
    run = db.session.get(imports.AdvocateImport, import_id)
    if run is None:
        abort(404)
    return render_template("admin/advocate_import.html", job=run)


@bp.get("/advocates/imports/<int:import_id>/progress")
@staff
def advocate_import_progress(import_id: int):
    """The progress partial htmx polls every second until the import is done or failed."""
    run = db.session.get(imports.AdvocateImport, import_id)
    if run is None:
        abort(404)
    return render_template("admin/_advocate_import_progress.html", job=run)


def _groups_page(form: GroupForm):
    rows = db.session.scalars(select(Group).order_by(Group.name)).all()
    return render_template("admin/groups.html", form=form, groups=rows, counts=groups_service.member_counts())


@bp.route("/groups", methods=["GET", "POST"])
@staff
@refusal_renders(lambda exc: _groups_page(apply_errors(GroupForm(), exc)))
def groups():
    form = GroupForm()
    if form.validate_on_submit():
        accounts.create_group(form.name.data, form.description.data, current_user.id)
        flash("Group created.", "success")
        return redirect(url_for("admin.groups"))
    return _groups_page(form)


@bp.post("/groups/assign")
@staff
@refusal_renders(lambda exc: _assigned(error=exc.message))
def groups_assign():
    """Add every advocate the filtered list shows to the chosen group (its filters come along as
    hidden fields, so "everyone shown" is the same query, recomputed now)."""
    args = read_or_400(AdvocateFilter, request.form)
    target = request.form.get("target", "")
    if not (target.isascii() and target.isdigit()) or db.session.get(Group, int(target)) is None:
        return _assigned(error="Choose the group to add them to.")
    added, already = groups_service.add_filtered(
        int(target), current_user.id, utcnow(), **_filters(args, _group_id(args.group))
    )
    name = db.session.get(Group, int(target)).name
    return _assigned(
        f"Added {added} advocate{'s' if added != 1 else ''} to {name}"
        + (f"; {already} were already in it." if already else ".")
    )


def _assigned(done: str = "", error: str | None = None):
    flash(error or done, "error" if error else "success")
    back: dict[str, Any] = {k: v for k, v in request.form.items() if k in LIST_FILTERS and v}
    return redirect(url_for("admin.advocates", **back))


@bp.route("/groups/<int:group_id>", methods=["GET", "POST"])
@staff
@refusal_renders(lambda exc, group_id: _group_page(group_id, apply_errors(GroupForm(), exc), 422))
def group_edit(group_id: int):
    """Rename a group or change its description."""
    form = GroupForm()
    if form.validate_on_submit():
        groups_service.rename_group(group_id, form.name.data, form.description.data or "", current_user.id)
        flash("Group saved.", "success")
        return redirect(url_for("admin.groups"))
    return _group_page(group_id, form, 422 if request.method == "POST" else 200)


def _group_page(group_id: int, form: GroupForm, status: int = 200):
    group = db.session.get(Group, group_id)
    if group is None:
        abort(404)
    if request.method == "GET":
        form = GroupForm(name=group.name, description=group.description)
    members = groups_service.member_count(group.id)
    return (
        render_template(
            "admin/group.html", group=group, form=form, members=members, used_by=groups_service.dependents(group.id)
        ),
        status,
    )


@bp.post("/groups/<int:group_id>/delete")
@staff
@refusal_renders(lambda exc, group_id: _group_deleted(group_id, exc.message))
def group_delete(group_id: int):
    name = groups_service.delete_group(group_id, current_user.id)
    flash(f"Deleted the group “{name}”; its members are still advocates.", "success")
    return redirect(url_for("admin.groups"))


def _group_deleted(group_id: int, error: str):
    flash(error, "error")
    return redirect(url_for("admin.group_edit", group_id=group_id))
