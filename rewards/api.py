"""JSON routes for ledgers, owner adjustments and leaderboards."""

from __future__ import annotations

from flask import request

from hub.api import advocate_for, api_blueprint, endpoint, page_args, paginated
from hub.errors import ValidationFailed
from hub.models import ALL_ROLES, STAFF_ROLES, Role, User
from hub.validation import Fields, iso
from rewards import services
from rewards.leaderboard_view import leaderboard_payload
from rewards.models import LedgerEntry

bp = api_blueprint("rewards_api")


def entry_json(entry: LedgerEntry) -> dict:
    return {
        "id": entry.id,
        "delta": entry.delta,
        "kind": str(entry.kind),
        "source_type": entry.source_type,
        "source_id": entry.source_id,
        "memo": entry.memo,
        "created_at": iso(entry.created_at),
    }


@endpoint(bp, "/advocates/<int:advocate_id>/ledger", roles=ALL_ROLES - {Role.SALES},
          summary="An advocate's ledger with balance", tag="rewards",
          query={"page": "integer", "per_page": "integer"})
def ledger(user: User, advocate_id: int) -> dict:
    advocate = advocate_for(user, advocate_id)
    page, per_page = page_args()
    items, total = services.ledger_page(advocate.id, page, per_page)
    return paginated([entry_json(e) for e in items], page, per_page, total) | {"balance": advocate.balance}


@endpoint(bp, "/advocates/<int:advocate_id>/adjustments", "POST", roles={Role.OWNER}, status=201,
          summary="Adjust an advocate's points (owner)", tag="rewards", idempotent=True,
          body={"type": "object", "required": ["points", "memo"], "properties": {
              "points": {"type": "integer"}, "memo": {"type": "string", "maxLength": 255}}})
def adjust(user: User, advocate_id: int, data: dict) -> tuple[dict, int]:
    advocate = advocate_for(user, advocate_id)
    checked = services.validate_adjustment(data.get("points"), data.get("memo"))
    if isinstance(checked, dict):
        raise ValidationFailed(checked)
    entry = services.adjust_points(advocate.id, checked.points, checked.memo, user.id)
    return entry_json(entry) | {"balance": advocate.balance}, 201


@endpoint(bp, "/leaderboard", roles=ALL_ROLES, summary="Leaderboard with the caller's own rank",
          tag="rewards", query={"period": "string", "group": "string", "limit": "integer"})
def leaderboard(user: User) -> dict:
    f = Fields(request.args)
    period = f.choice("period", ["all", "month", "quarter"], default="all")
    group = f.str("group", max_length=80)
    limit = f.int("limit", minimum=1, maximum=100, default=10)
    f.done()
    return leaderboard_payload(user, period, group, limit)


__all__ = ["STAFF_ROLES", "bp"]
