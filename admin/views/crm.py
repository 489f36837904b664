"""CRM console: opportunities, CSV import with progress, integration tokens, webhooks."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from admin.console import bp, owner_only, staff
from challenges.crm import imports, integration, webhooks
from challenges.crm.forms import IntegrationTokenForm, OpportunityImportForm, WebhookForm
from challenges.crm.models import CrmImport, Opportunity, WebhookDelivery, WebhookEndpoint
from hub.audit import record_audit
from hub.contracts import PageQuery, read_or_400
from hub.extensions import db
from hub.htmx import apply_errors
from hub.models import Role
from hub.queue import enqueue_after_commit
from hub.transactions import refusal_renders

PAGE = 50


def _crm_page(import_form=None, token_form=None, webhook_form=None, new_token=None, new_secret=None, status=200):
    page = read_or_400(PageQuery, request.args).page
    total = db.session.scalar(select(func.count()).select_from(Opportunity))
    opportunities = db.session.scalars(
        select(Opportunity)
        .order_by(Opportunity.updated_at.desc(), Opportunity.id.desc())
        .limit(PAGE)
        .offset((page - 1) * PAGE)
    ).all()
    imports = db.session.scalars(select(CrmImport).order_by(CrmImport.id.desc()).limit(5)).all()
    is_owner = current_user.role is Role.OWNER
    return render_template(
        "admin/crm.html",
        opportunities=opportunities,
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE)),
        imports=imports,
        is_owner=is_owner,
        import_form=import_form or OpportunityImportForm(),
        token_form=token_form or IntegrationTokenForm(),
        webhook_form=webhook_form or WebhookForm(),
        new_token=new_token,
        new_secret=new_secret,
        endpoints=db.session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)).all() if is_owner else [],
        deliveries=db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id.desc()).limit(30)).all()
        if is_owner
        else [],
    ), status


@bp.get("/crm")
@staff
def crm_console():
    return _crm_page()


@bp.post("/crm/import")
@staff
@refusal_renders(lambda exc: _crm_page(import_form=apply_errors(OpportunityImportForm(), exc), status=422))
def crm_import():
    form = OpportunityImportForm()
    if not form.validate_on_submit():
        return _crm_page(import_form=form, status=422)
    upload = form.file.data
    job = imports.start_import(upload.filename, upload.read(imports.MAX_IMPORT_BYTES + 1), current_user.id)
    return redirect(url_for("admin.crm_import_page", import_id=job.id))


@bp.get("/crm/imports/<int:import_id>")
@staff
def crm_import_page(import_id: int):
    job = db.session.get(CrmImport, import_id)
    if job is None:
        abort(404)
    return render_template("admin/crm_import.html", job=job, preview=imports.preview(job))


@bp.post("/crm/imports/<int:import_id>/confirm")
@staff
def crm_import_confirm(import_id: int):
    """Start an import of a recognised CRM export once its column mapping was seen."""
    imports.confirm_import(import_id, current_user.id)
    return redirect(url_for("admin.crm_import_page", import_id=import_id))


@bp.get("/crm/imports/<int:import_id>/progress")
@staff
def crm_import_progress(import_id: int):
    """The progress partial htmx polls every second until the import is done."""
    job = db.session.get(CrmImport, import_id)
    if job is None:
        abort(404)
    return render_template("admin/_crm_import_progress.html", job=job)


@bp.post("/crm/tokens")
@owner_only
@refusal_renders(lambda exc: _crm_page(token_form=apply_errors(IntegrationTokenForm(), exc), status=422))
def crm_token():
    form = IntegrationTokenForm()
    if not form.validate_on_submit():
        return _crm_page(token_form=form, status=422)
    _, new_token = integration.create_integration_token(current_user.id, form.name.data, current_user.id)
    return _crm_page(token_form=form, new_token=new_token)


@bp.post("/crm/webhooks")
@owner_only
@refusal_renders(lambda exc: _crm_page(webhook_form=apply_errors(WebhookForm(), exc), status=422))
def crm_webhook_create():
    form = WebhookForm()
    if not form.validate_on_submit():
        return _crm_page(webhook_form=form, status=422)
    events = [
        e
        for e, on in (
            ("referral.created", form.referral_created.data),
            ("reference.accepted", form.reference_accepted.data),
        )
        if on
    ]
    endpoint = webhooks.create_endpoint(form.url.data, events, current_user.id)
    return _crm_page(webhook_form=form, new_secret=endpoint.secret)


def _toggle(endpoint_id: int, active: bool):
    webhooks.set_endpoint_active(endpoint_id, active, current_user.id)
    flash(f"Webhook {'enabled' if active else 'disabled'}.", "success")
    return redirect(url_for("admin.crm_console"))


@bp.post("/crm/webhooks/<int:endpoint_id>/enable")
@owner_only
def crm_webhook_enable(endpoint_id: int):
    return _toggle(endpoint_id, True)


@bp.post("/crm/webhooks/<int:endpoint_id>/disable")
@owner_only
def crm_webhook_disable(endpoint_id: int):
    return _toggle(endpoint_id, False)


@bp.post("/crm/deliveries/<int:delivery_id>/replay")
@owner_only
def crm_delivery_replay(delivery_id: int):
    webhooks.replay(delivery_id, current_user.id)
    flash("Delivery queued again.", "success")
    return redirect(url_for("admin.crm_console"))


@bp.post("/crm/tally")
@owner_only
def crm_tally():
    from challenges.crm.jobs import tally_all_job

    record_audit(current_user.id, "attribution.recount", "attribution", "all")
    enqueue_after_commit(tally_all_job, job_id="attribution-full")
    flash("Attribution recount queued.", "success")
    return redirect(url_for("admin.crm_console"))
