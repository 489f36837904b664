"""The accounts console (product.md §13): accounts with coverage, the gaps and short segments
with the next step, one account (advocates with persona and readiness, opportunities,
revenue), rename / domain / merge, and an advocate's persona."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from admin.console import bp, staff
from admin.forms.accounts import PERSONA_LABELS, AccountEditForm, AccountFilter, MergeForm, PersonaForm
from challenges.accounts import queries, services
from hub.contracts import read_or_400
from hub.htmx import apply_errors
from hub.transactions import refusal_renders

PAGE = 50


@bp.get("/accounts")
@staff
def accounts_page():
    args = read_or_400(AccountFilter, request.args)
    gap = args.coverage == "gap"
    rows = queries.account_rows(args.q, gap=gap)
    return render_template(
        "admin/accounts.html",
        rows=args.window(rows),
        total=len(rows),
        page=args.page,
        pages=max(1, -(-len(rows) // args.per_page)),
        q=args.q or "",
        gap=gap,
        segments=queries.segment_gaps() if gap else [],
    )


def _account_page(account_id: int, edit_form=None, merge_form=None, status: int = 200):
    detail = queries.account_detail(account_id)
    if detail is None:
        abort(404)
    edit_form = edit_form or AccountEditForm(name=detail.row.name, domain=detail.row.domain or "")
    return render_template(
        "admin/account.html",
        detail=detail,
        edit_form=edit_form,
        merge_form=merge_form or MergeForm(),
        persona_labels=PERSONA_LABELS,
        persona_form=PersonaForm(),
    ), status


@bp.get("/accounts/<int:account_id>")
@staff
def account_page(account_id: int):
    return _account_page(account_id)


@bp.post("/accounts/<int:account_id>")
@staff
@refusal_renders(
    lambda exc, account_id: _account_page(account_id, edit_form=apply_errors(AccountEditForm(), exc), status=422)
)
def account_edit(account_id: int):
    form = AccountEditForm()
    if not form.validate_on_submit():
        return _account_page(account_id, edit_form=form, status=422)
    services.rename(account_id, form.name.data or "", current_user.id)
    services.set_domain(account_id, form.domain.data, current_user.id)
    flash("Account saved.", "success")
    return redirect(url_for("admin.account_page", account_id=account_id))


@bp.post("/accounts/<int:account_id>/merge")
@staff
@refusal_renders(
    lambda exc, account_id: _account_page(account_id, merge_form=apply_errors(MergeForm(), exc), status=422)
)
def account_merge(account_id: int):
    form = MergeForm()
    if not form.validate_on_submit():
        return _account_page(account_id, merge_form=form, status=422)
    survivor = services.merge(account_id, int(str(form.into_id.data)), current_user.id)
    flash(f"Merged into {survivor.name}.", "success")
    return redirect(url_for("admin.account_page", account_id=survivor.id))


@bp.post("/advocates/<int:advocate_id>/persona")
@staff
def advocate_persona(advocate_id: int):
    form = PersonaForm()
    if not form.validate_on_submit():
        abort(400)
    advocate = services.set_persona(advocate_id, form.persona.data or None, current_user.id)
    flash("Persona saved.", "success")
    back = request.form.get("next_account")
    if back and back.isdigit():
        return redirect(url_for("admin.account_page", account_id=int(back)))
    return redirect(url_for("admin.advocate_profile", advocate_id=advocate.id))
