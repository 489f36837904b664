"""Advocate pages for points: the hub summary, leaderboard, my activity, the reward catalog and my redemptions."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import select

from hub.auth import roles_required
from hub.contracts import PageQuery, add_query_notice, read_or_400
from hub.errors import NotFound, VouchError
from hub.extensions import db
from hub.fragments import render_fragment
from hub.htmx import is_htmx, refresh_parts, refusal_text, register_part, render_page_or_partial
from hub.models import ALL_ROLES, Advocate, Group, Role
from hub.settings import get_setting
from hub.transactions import refusal_renders
from rewards import catalog, expiry, services, tiers
from rewards.badges import badge_catalogue
from rewards.contracts import LeaderboardPageQuery, RedeemForm
from rewards.leaderboard_view import leaderboard_payload
from rewards.models import RedemptionStatus

bp = Blueprint("rewards", __name__)

PERIOD_LABELS = {"all": "All time", "month": "This month", "quarter": "This quarter"}
PAGE_SIZE = 25


def tier_summary(advocate: Advocate) -> dict[str, Any]:
    basis_points = services.tier_basis_points(advocate.id, advocate.lifetime_points)
    return {
        "advocate": advocate,
        "progress": tiers.progress(basis_points, get_setting("tier_thresholds")),
        "basis": get_setting("tier_basis"),
        "expiring": [expiry.expiry_text(item) for item in expiry.upcoming(advocate.id)],
    }


def tier_section(advocate: Advocate) -> tuple[str, dict[str, Any]]:
    """The advocate's home page: balance, lifetime points and progress to the next tier."""
    return "rewards/_home_tier.html", tier_summary(advocate)


def badges_and_board_section(advocate: Advocate) -> tuple[str, dict[str, Any]]:
    """The advocate's home page: their badges beside the all-time leaderboard widget, both
    rendered once per process for what they show (hub.fragments): a reload or an htmx refetch
    by the same advocate while nothing moved renders neither again."""
    board = leaderboard_payload(advocate.user, "all", None, 5)
    catalogue = badge_catalogue(advocate.id)
    badges_key = tuple((entry.badge.code, entry.awarded_at, entry.progress) for entry in catalogue)
    widget_key = (
        tuple(tuple(entry.values()) for entry in board["entries"]),
        tuple(board["me"].values()) if board["me"] else None,
        advocate.tier.value,
    )
    return "rewards/_home_badges_board.html", {
        "badges_card": render_fragment(
            "rewards/_badges_card.html", badges_key, {"catalogue": catalogue, "to_earn_limit": 3}
        ),
        "widget": render_fragment(
            "rewards/_widget.html",
            widget_key,
            {"board": board, "period": "all", "period_labels": PERIOD_LABELS, "viewer_tier": advocate.tier.value},
        ),
    }


def recent_activity_section(advocate: Advocate) -> tuple[str, dict[str, Any]]:
    """The advocate's home page: their five latest ledger entries."""
    recent = services.home_recent_entries(advocate.id)
    return "rewards/_home_recent.html", {"recent": recent}


@bp.get("/me/summary")
@roles_required(Role.ADVOCATE)
def my_summary() -> ResponseReturnValue:
    """The header's balance and tier bar; htmx refreshes it after anything that awards points."""
    return render_template("rewards/_summary.html", **tier_summary(current_user.advocate))


@bp.get("/leaderboard")
@roles_required(*ALL_ROLES)
def leaderboard_page() -> ResponseReturnValue:
    args = read_or_400(LeaderboardPageQuery, request.args)
    period, page = args.period, args.page
    from rewards.leaderboard import count_ranked
    from rewards.leaderboard_view import resolve_group

    try:
        grp = resolve_group(args.group)
    except NotFound:  # a link to a group that is gone: the whole board, with a note (issue 12 item 8)
        add_query_notice(f"There is no group “{args.group}”, so the whole board is shown.")
        grp = None
    group = grp.id if grp else None
    board = leaderboard_payload(current_user, period, group, PAGE_SIZE, (page - 1) * PAGE_SIZE)
    total = count_ranked(period, grp.id if grp else None)
    groups: Sequence[Group]
    if current_user.role is Role.ADVOCATE:
        groups = sorted(current_user.advocate.groups, key=lambda g: g.name)
    else:
        groups = db.session.scalars(select(Group).order_by(Group.name)).all()
    context: dict[str, Any] = {
        "board": board,
        "period": period,
        "group": grp,
        "groups": groups,
        "page": page,
        "pages": max(1, -(-total // PAGE_SIZE)),
        "period_labels": PERIOD_LABELS,
        "page_size": PAGE_SIZE,
    }
    return render_page_or_partial("rewards/leaderboard.html", "rewards/_leaderboard_table.html", **context)


@bp.get("/leaderboard/widget")
@roles_required(*ALL_ROLES)
def leaderboard_widget() -> ResponseReturnValue:
    """The home page's top-5 board; its period tabs swap it in place."""
    period = read_or_400(LeaderboardPageQuery, request.args).period
    board = leaderboard_payload(current_user, period, None, 5)
    return render_template("rewards/_widget.html", board=board, period=period, period_labels=PERIOD_LABELS)


@bp.get("/me/activity")
@roles_required(Role.ADVOCATE)
def my_activity() -> ResponseReturnValue:
    advocate = current_user.advocate
    page = read_or_400(PageQuery, request.args).page
    entries, total = services.ledger_page(advocate.id, page, 50)
    return render_page_or_partial(
        "rewards/activity.html",
        "rewards/_ledger.html",
        entries=entries,
        total=total,
        page=page,
        pages=max(1, -(-total // 50)),
        catalogue=badge_catalogue(advocate.id),
        advocate=advocate,
    )


# --- the reward catalog ----------------------------------------------------------------------


def _advocate() -> Advocate:
    advocate: Advocate = current_user.advocate
    return advocate


@bp.get("/rewards")
@roles_required(Role.ADVOCATE)
def catalog_page() -> ResponseReturnValue:
    advocate = _advocate()
    return render_template(
        "rewards/catalog.html", items=catalog.catalog_for(advocate), advocate=advocate, low_stock=catalog.LOW_STOCK
    )


@bp.get("/me/balance")
@roles_required(Role.ADVOCATE)
def my_balance() -> ResponseReturnValue:
    """The balance figure on the catalog page (refreshed on `points-changed`)."""
    return f"{_advocate().balance:,}"


@bp.get("/rewards/<int:reward_id>")
@roles_required(Role.ADVOCATE)
def reward_card(reward_id: int) -> ResponseReturnValue:
    item = catalog.catalog_item(_advocate(), reward_id)
    return render_page_or_partial(
        "rewards/reward.html", "rewards/_reward_card.html", item=item, low_stock=catalog.LOW_STOCK
    )


def _confirm(
    item: catalog.CatalogItem, error: str | None = None, note: str = "", status: int = 200, address: str = ""
) -> ResponseReturnValue:
    return render_page_or_partial(
        "rewards/confirm.html",
        "rewards/_confirm.html",
        status,
        item=item,
        error=error,
        note=note,
        shipping_address=address,
        request_key=secrets.token_hex(16),
        balance_after=_advocate().balance - item.reward.points_cost,
    )


@bp.get("/rewards/<int:reward_id>/confirm")
@roles_required(Role.ADVOCATE)
def confirm_redeem(reward_id: int) -> ResponseReturnValue:
    """The confirm step: the price, the balance after, and a fresh per-render request key."""
    return _confirm(catalog.catalog_item(_advocate(), reward_id))


def _redeem_input() -> tuple[int, str, str, str]:
    """(the confirmed cost, the form's request key, the note, the shipping address) from the
    confirm form, or 400."""
    form = read_or_400(RedeemForm, request.form)
    return form.confirmed_cost, form.request_key, form.note or "", form.shipping_address or ""


def _redeem_refused(exc: VouchError, reward_id: int) -> ResponseReturnValue:
    """The confirm step again with the reason (out of stock, not enough points …)."""
    _cost, _key, note, address = _redeem_input()
    item = catalog.catalog_item(_advocate(), reward_id)
    return _confirm(item, refusal_text(exc), note, 200 if is_htmx() else 409, address=address)


@bp.post("/rewards/<int:reward_id>/redeem")
@roles_required(Role.ADVOCATE)
@refusal_renders(_redeem_refused)
def redeem(reward_id: int) -> ResponseReturnValue:
    """Redeem at the confirmed price; the form's request key makes a double submit charge once."""
    cost, key, note, address = _redeem_input()
    redemption = services.redeem_reward(_advocate().id, reward_id, cost, note, client_key=key, shipping_address=address)
    if not is_htmx():
        flash(f"Redeemed {redemption.reward.name} for {redemption.points:,} points.", "success")
        return redirect(url_for("rewards.my_redemptions"))
    response = make_response(render_template("rewards/_redeemed.html", redemption=redemption))
    return refresh_parts(response, BALANCE_PARTS, skip=(f"reward-card:{reward_id}",))


@bp.get("/me/redemptions")
@roles_required(Role.ADVOCATE)
def my_redemptions() -> ResponseReturnValue:
    page = read_or_400(PageQuery, request.args).page
    items, total = services.redemptions_page(page, 50, advocate_id=_advocate().id)
    return render_template(
        "rewards/redemptions.html",
        redemptions=items,
        page=page,
        pages=max(1, -(-total // 50)),
        statuses=RedemptionStatus,
    )


@bp.post("/me/redemptions/<int:redemption_id>/cancel")
@roles_required(Role.ADVOCATE)
@refusal_renders(lambda exc, redemption_id: _cancelled(redemption_id, exc.message))
def cancel_redemption(redemption_id: int) -> ResponseReturnValue:
    """Cancel my own redemption while it is requested (refund once); others' are 404."""
    services.cancel_redemption(redemption_id, _advocate().id)
    return _cancelled(redemption_id)


def _cancelled(redemption_id: int, error: str | None = None) -> ResponseReturnValue:
    """The redemptions page with what happened (flash), or (htmx) the redemption's row."""
    redemption = services.get_redemption(redemption_id, _advocate().id)
    if not is_htmx():
        flash(
            error or f"Cancelled; {redemption.points:,} points are back in your balance.",
            "error" if error else "success",
        )
        return redirect(url_for("rewards.my_redemptions"))
    response = render_page_or_partial(
        "rewards/redemptions.html", "rewards/_my_redemption_row.html", r=redemption, error=error
    )
    return response if error else refresh_parts(response, BALANCE_PARTS)


@bp.get("/rewards/images/<name>")
@roles_required(*ALL_ROLES)
def reward_image(name: str) -> ResponseReturnValue:
    path = catalog.image_path(name)
    if path is None:
        abort(404)
    mimetype = catalog.IMAGE_TYPES[path.suffix.lstrip(".")]
    response = send_file(path, mimetype=mimetype, max_age=86400)
    response.headers["Content-Disposition"] = "inline"
    return response


# --- page parts that depend on the balance (hub.htmx.refresh_parts) ---------------------------

# What a redemption, a cancelled one or an approval changes on the page in front of the advocate.
BALANCE_PARTS = ("summary", "balance", "reward-card", "tier-card")
# What an approval changes besides: the badges it may have earned.
APPROVAL_PARTS = (*BALANCE_PARTS, "badges")


def _summary_part(_key: str | None) -> str:
    chip = render_template("rewards/_summary_chip.html")
    return f'<div id="summary" hx-swap-oob="innerHTML">{chip}</div>'


def _balance_part(_key: str | None) -> str:
    return f'<strong id="catalog-balance" hx-swap-oob="innerHTML">{_advocate().balance:,}</strong>'


def _reward_card_part(key: str | None) -> str | None:
    if key is None or not key.isdigit():
        return None
    try:
        item = catalog.catalog_item(_advocate(), int(key))
    except NotFound:  # retired since the page loaded: leave the card as it is
        return None
    return render_template("rewards/_reward_card.html", item=item, low_stock=catalog.LOW_STOCK, oob=True)


def _tier_card_part(_key: str | None) -> str:
    return render_template("rewards/_tier_card.html", oob=True, **tier_summary(_advocate()))


register_part("summary", _summary_part)
register_part("balance", _balance_part)
register_part("reward-card", _reward_card_part)
register_part("tier-card", _tier_card_part)


def _badges_part(_key: str | None) -> str:
    return render_template("rewards/_badges_card.html", catalogue=badge_catalogue(_advocate().id), oob=True)


register_part("badges", _badges_part)
