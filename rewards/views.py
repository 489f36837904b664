"""Advocate pages for points: the hub summary, leaderboard and my activity."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user
from sqlalchemy import select

from hub.auth import roles_required
from hub.errors import NotFound
from hub.extensions import db
from hub.htmx import render_page_or_partial
from hub.models import ALL_ROLES, Advocate, Group, Role
from hub.providers import home_sections
from hub.settings import get_setting
from hub.validation import Fields
from rewards import services, tiers
from rewards.badges import badges_of
from rewards.leaderboard_view import leaderboard_payload

bp = Blueprint("rewards", __name__)

PERIOD_LABELS = {"all": "All time", "month": "This month", "quarter": "This quarter"}
PAGE_SIZE = 25


def tier_summary(advocate: Advocate) -> dict:
    basis_points = services.tier_basis_points(advocate.id, advocate.lifetime_points)
    return {
        "advocate": advocate,
        "progress": tiers.progress(basis_points, get_setting("tier_thresholds")),
        "basis": get_setting("tier_basis"),
    }


def hub_summary(advocate: Advocate) -> dict:
    recent, _ = services.ledger_page(advocate.id, 1, 5)
    board = leaderboard_payload(advocate.user, "all", None, 5)
    return tier_summary(advocate) | {
        "badges": badges_of(advocate.id),
        "recent": recent,
        "board": board,
        "period": "all",
        "period_labels": PERIOD_LABELS,
        "sections": home_sections(advocate),
    }


@bp.get("/me/summary")
@roles_required(Role.ADVOCATE)
def my_summary():
    """The header's balance and tier bar; htmx refreshes it after anything that awards points."""
    return render_template("rewards/_summary.html", **tier_summary(current_user.advocate))


@bp.get("/leaderboard")
@roles_required(*ALL_ROLES)
def leaderboard_page():
    f = Fields(request.args)
    period = f.choice("period", list(PERIOD_LABELS), default="all")
    group = f.str("group", max_length=80)
    page = f.int("page", minimum=1, maximum=10_000, default=1)
    if f.errors:
        abort(400)
    try:
        board = leaderboard_payload(current_user, period, group, PAGE_SIZE, (page - 1) * PAGE_SIZE)
    except NotFound:
        abort(404)
    from rewards.leaderboard import count_ranked
    from rewards.leaderboard_view import resolve_group

    grp = resolve_group(group)
    total = count_ranked(period, grp.id if grp else None)
    if current_user.role is Role.ADVOCATE:
        groups = sorted(current_user.advocate.groups, key=lambda g: g.name)
    else:
        groups = db.session.scalars(select(Group).order_by(Group.name)).all()
    context = {
        "board": board, "period": period, "group": grp, "groups": groups, "page": page,
        "pages": max(1, -(-total // PAGE_SIZE)), "period_labels": PERIOD_LABELS, "page_size": PAGE_SIZE,
    }
    return render_page_or_partial("rewards/leaderboard.html", "rewards/_leaderboard_table.html", **context)


@bp.get("/leaderboard/widget")
@roles_required(*ALL_ROLES)
def leaderboard_widget():
    """The home page's top-5 board; its period tabs swap it in place."""
    f = Fields(request.args)
    period = f.choice("period", list(PERIOD_LABELS), default="all")
    if f.errors:
        abort(400)
    board = leaderboard_payload(current_user, period, None, 5)
    return render_template("rewards/_widget.html", board=board, period=period, period_labels=PERIOD_LABELS)


@bp.get("/me/activity")
@roles_required(Role.ADVOCATE)
def my_activity():
    advocate = current_user.advocate
    f = Fields(request.args)
    page = f.int("page", minimum=1, maximum=100_000, default=1)
    if f.errors:
        abort(400)
    entries, total = services.ledger_page(advocate.id, page, 50)
    return render_page_or_partial(
        "rewards/activity.html", "rewards/_ledger.html",
        entries=entries, total=total, page=page, pages=max(1, -(-total // 50)),
        badges=badges_of(advocate.id), advocate=advocate,
    )
