"""Staff consoles for the reward catalog (`/admin/rewards`) and the redemption queue (`/admin/redemptions`)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from flask import (
    Response,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user
from sqlalchemy import func, select

from admin.console import bp, staff
from admin.forms.rewards import (
    ActiveToggle,
    RedemptionBulkForm,
    RedemptionExportQuery,
    RedemptionQueueQuery,
    RewardForm,
)
from hub.bulk import selected_ids
from hub.contracts import read_or_400
from hub.csv_files import csv_safe
from hub.errors import VouchError
from hub.extensions import db
from hub.htmx import apply_errors, is_htmx, refusal_text, render_page_or_partial
from hub.transactions import refusal_renders
from rewards import catalog, services
from rewards.models import HOLDING_STATUSES, Redemption, RedemptionStatus, Reward

PAGE = 50
EXPORT_BATCH = 500
BULK_TABS = (RedemptionStatus.REQUESTED.value, RedemptionStatus.APPROVED.value)  # tabs with a bulk bar


def _held_counts() -> dict[int, int]:
    return dict(
        db.session.execute(
            select(Redemption.reward_id, func.count())
            .where(Redemption.status.in_(HOLDING_STATUSES))
            .group_by(Redemption.reward_id)
        ).all()
    )


@bp.get("/rewards")
@staff
def rewards():
    rows = db.session.scalars(select(Reward).order_by(Reward.is_active.desc(), Reward.name)).all()
    low = catalog.low_stock()
    return render_template(
        "admin/rewards.html", rewards=rows, held=_held_counts(), low=low, low_ids={r.id for r in low}
    )


def _save_reward(form: RewardForm, reward: Reward | None) -> Reward:
    """Validate with the API's rules, save, store the image (a refusal propagates)."""
    upload = form.image.data
    values = catalog.read_reward_input(form.values(), partial=False)
    if reward is None:
        reward = catalog.create_reward(values, current_user.id)
    else:
        reward = catalog.update_reward(reward.id, values, current_user.id)
    if upload and getattr(upload, "filename", ""):
        catalog.set_reward_image(reward.id, upload.read(catalog.MAX_IMAGE_BYTES + 1), current_user.id)
    elif form.remove_image.data and reward.image_name:
        catalog.clear_reward_image(reward.id, current_user.id)
    return reward


def _reward_form_page(form: RewardForm, reward: Reward | None):
    """The editor; 422 when a POST left errors on the form."""
    status = 422 if request.method == "POST" and (form.errors or form.form_errors) else 200
    return render_template("admin/reward_form.html", form=form, reward=reward), status


def _reward_or_404(reward_id: int) -> Reward:
    reward = db.session.get(Reward, reward_id)
    if reward is None:
        abort(404)
    return reward


@bp.route("/rewards/new", methods=["GET", "POST"])
@staff
@refusal_renders(lambda exc: _reward_form_page(apply_errors(RewardForm(), exc), None))
def reward_new():
    form = RewardForm()
    if not form.validate_on_submit():
        return _reward_form_page(form, None)
    saved = _save_reward(form, None)
    flash(f"Added {saved.name}.", "success")
    return redirect(url_for("admin.rewards"))


def _edit_refused(exc: VouchError, reward_id: int):
    reward = _reward_or_404(reward_id)
    return _reward_form_page(apply_errors(RewardForm(obj=_FormData(reward)), exc), reward)


@bp.route("/rewards/<int:reward_id>/edit", methods=["GET", "POST"])
@staff
@refusal_renders(_edit_refused)
def reward_edit(reward_id: int):
    reward = _reward_or_404(reward_id)
    form = RewardForm(obj=_FormData(reward))
    if not form.validate_on_submit():
        return _reward_form_page(form, reward)
    saved = _save_reward(form, reward)
    flash(f"Saved {saved.name}.", "success")
    return redirect(url_for("admin.rewards"))


class _FormData:
    """The reward as the form shows it (numbers as text, blank = unlimited)."""

    def __init__(self, reward: Reward) -> None:
        self.name, self.description, self.kind = reward.name, reward.description, reward.kind.value
        self.points_cost = str(reward.points_cost)
        self.stock = "" if reward.stock_total is None else str(reward.stock_total)
        self.min_tier = reward.min_tier.value
        self.per_advocate_limit = "" if reward.per_advocate_limit is None else str(reward.per_advocate_limit)
        self.requires_approval, self.active = reward.requires_approval, reward.is_active
        self.needs_shipping = reward.needs_shipping


@bp.post("/rewards/<int:reward_id>/active")
@staff
def reward_active(reward_id: int):
    """Retire or bring back a reward (htmx swaps its row)."""
    active = read_or_400(ActiveToggle, request.form).active
    reward = catalog.set_active(reward_id, active, current_user.id)
    if not is_htmx():
        flash(f"{reward.name} is {'active' if active else 'retired'}.", "success")
        return redirect(url_for("admin.rewards"))
    low_ids = {r.id for r in catalog.low_stock()}
    return render_template("admin/_reward_row.html", r=reward, held=_held_counts(), low_ids=low_ids)


def _queue_context(status: RedemptionStatus, page: int = 1, message: str | None = None) -> dict:
    items, total = services.redemptions_page(page, PAGE, status)
    low = catalog.low_stock()
    return {
        "redemptions": items,
        "current_status": status,
        "page": page,
        "pages": max(1, -(-total // PAGE)),
        "counts": services.redemption_counts(),
        "low": low,
        "low_ids": {r.id for r in low},
        "statuses": [s.value for s in RedemptionStatus],
        "bulk_tabs": BULK_TABS,
        "message": message,
    }


@bp.get("/redemptions")
@staff
def redemptions():
    args = read_or_400(RedemptionQueueQuery, request.args)
    return render_page_or_partial(
        "admin/redemptions.html", "admin/_redemption_rows.html", **_queue_context(args.status, args.page)
    )


def _decided(redemption_id: int, done: str = "", error: str | None = None):
    """After a queue action: htmx gets the row back (with the refusal if any) and the status
    tabs' counts out of band, else the queue with what happened. `done` is the success message,
    formatted with the redemption as `r`."""
    redemption = services.get_redemption(redemption_id)
    if not is_htmx():
        flash(error or done.format(r=redemption), "error" if error else "success")
        return redirect(url_for("admin.redemptions", status=request.args.get("status") or None))
    shown = read_or_400(RedemptionQueueQuery, request.args).status.value
    context = {
        "r": redemption,
        "error": error,
        "low_ids": {r.id for r in catalog.low_stock()},
        "current_status": shown,
        "bulk": shown in BULK_TABS,
        "counts": services.redemption_counts(),
        "statuses": [s.value for s in RedemptionStatus],
        "oob": True,
    }
    return make_response(
        render_template("admin/_redemption_row.html", **context)
        + render_template("admin/_redemption_tabs.html", **context)
    )


def _decision_refused(exc: VouchError, redemption_id: int):
    return _decided(redemption_id, error=refusal_text(exc))


@bp.post("/redemptions/<int:redemption_id>/approve")
@staff
@refusal_renders(_decision_refused)
def redemption_approve(redemption_id: int):
    services.approve_redemption(redemption_id, current_user.id)
    return _decided(redemption_id, "Approved #{r.id}.")


@bp.post("/redemptions/<int:redemption_id>/reject")
@staff
@refusal_renders(_decision_refused)
def redemption_reject(redemption_id: int):
    services.reject_redemption(redemption_id, current_user.id, request.form.get("reason", "")[:2000])
    return _decided(redemption_id, "Rejected #{r.id}; the points were refunded.")


@bp.post("/redemptions/<int:redemption_id>/fulfil")
@staff
@refusal_renders(_decision_refused)
def redemption_fulfil(redemption_id: int):
    services.fulfil_redemption(redemption_id, current_user.id, request.form.get("note", "")[:2000])
    return _decided(redemption_id, "Fulfilled #{r.id}.")


def _bulk_done(status: RedemptionStatus, message: str):
    """After a bulk action: htmx gets the tab's rows again (decided ones gone), the message and
    the tabs' counts out of band; a plain POST gets a flash and the queue."""
    if not is_htmx():
        flash(message, "info")
        return redirect(url_for("admin.redemptions", status=status.value))
    context = _queue_context(status, message=message)
    return render_template("admin/_redemption_rows.html", **context) + render_template(
        "admin/_redemption_tabs.html", oob=True, **context
    )


def _bulk_refused(exc: VouchError):
    return _bulk_done(read_or_400(RedemptionBulkForm, request.form).status, refusal_text(exc))


@bp.post("/redemptions/bulk")
@staff
@refusal_renders(_bulk_refused)
def redemptions_bulk():
    """Approve, fulfil (one note for all) or reject (one reason) the selected redemptions; each
    goes through the single-item rule and one that fails is named with its reason."""
    form = read_or_400(RedemptionBulkForm, request.form)
    outcome = services.decide_redemptions(
        selected_ids(request.form), current_user.id, form.action, reason=form.reason, note=form.note
    )
    verb = {"approve": "Approved", "fulfil": "Fulfilled", "reject": "Rejected (and refunded)"}[form.action]
    return _bulk_done(form.status, outcome.summary(verb))


CSV_COLUMNS = (
    "id",
    "status",
    "advocate",
    "email",
    "reward",
    "kind",
    "points",
    "note",
    "shipping_address",
    "requested_at",
    "decided_at",
    "fulfilled_at",
    "fulfil_note",
    "reason",
)


@bp.get("/redemptions.csv")
@staff
def redemptions_csv():
    """Every redemption (or one status's) as CSV, streamed in batches of EXPORT_BATCH rows so a
    large program never builds the file in memory; text that a spreadsheet would run as a
    formula is neutralised (csv_safe)."""
    status = read_or_400(RedemptionExportQuery, request.args).status

    def rows() -> Iterator[str]:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        for batch in services.redemption_export_batches(status, EXPORT_BATCH):
            for row in batch:
                writer.writerow([csv_safe(value) for value in row])
            yield out.getvalue()
            out.seek(0)
            out.truncate()
        if out.tell():
            yield out.getvalue()

    name = f"redemptions-{status.value}.csv" if status else "redemptions.csv"
    return Response(
        stream_with_context(rows()),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename={name}"},
    )
