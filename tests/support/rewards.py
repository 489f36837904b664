"""Helpers for reward tests that work in any app context (SQLite or PostgreSQL)."""

from __future__ import annotations

from html.parser import HTMLParser


def new_reward(**values) -> int:
    """Create a reward in the current app context (committed); returns its id."""
    from hub.extensions import db
    from rewards import catalog

    # Not sent by post unless a test says so (a swag reward would be by default: SHIPPED_KINDS).
    body = {"name": "Hoodie", "kind": "swag", "points_cost": 100, "needs_shipping": False} | values
    reward = catalog.create_reward(catalog.read_reward_input(body, partial=False), None)
    db.session.commit()
    return reward.id


def balance_of(advocate_id: int) -> int:
    """The balance summed from the ledger itself (to check the cached balance against)."""
    from sqlalchemy import func, select

    from hub.extensions import db
    from rewards.models import LedgerEntry

    return db.session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.delta), 0)).where(LedgerEntry.advocate_id == advocate_id)
    )


def check_rewards_invariants() -> None:
    """Assert reliability.md I1, I2, I4, I5 and I6 against what the database holds now."""
    from sqlalchemy import func, select

    from hub.extensions import db
    from hub.models import Advocate
    from rewards.models import HOLDING_STATUSES, LedgerEntry, Redemption, RedemptionStatus, Reward, lifetime_expression

    db.session.expire_all()
    sums = {
        a: (s, life)
        for a, s, life in db.session.execute(
            select(LedgerEntry.advocate_id, func.sum(LedgerEntry.delta), lifetime_expression()).group_by(
                LedgerEntry.advocate_id
            )
        ).all()
    }
    for advocate_id, cached_balance, cached_lifetime in db.session.execute(
        select(Advocate.id, Advocate.balance, Advocate.lifetime_points)
    ).all():
        summed, lifetime = sums.get(advocate_id, (0, 0))
        assert cached_balance == summed >= 0, ("I1/I4 balance", advocate_id, cached_balance, summed)
        assert cached_lifetime == lifetime, ("I4 lifetime", advocate_id, cached_lifetime, lifetime)
    duplicates = db.session.execute(
        select(LedgerEntry.advocate_id, LedgerEntry.kind, LedgerEntry.source_type, LedgerEntry.source_id)
        .group_by(LedgerEntry.advocate_id, LedgerEntry.kind, LedgerEntry.source_type, LedgerEntry.source_id)
        .having(func.count() > 1)
    ).all()
    assert not duplicates, ("I2 duplicate entries", duplicates)
    by_source: dict[tuple[str, str], list[int]] = {}
    for kind, source_id, delta in db.session.execute(
        select(LedgerEntry.kind, LedgerEntry.source_id, LedgerEntry.delta).where(
            LedgerEntry.source_type == "redemption"
        )
    ).all():
        by_source.setdefault((str(kind), source_id), []).append(delta)
    redemptions = db.session.scalars(select(Redemption)).all()
    for r in redemptions:
        assert by_source.get(("redeem", str(r.id))) == [-r.points], ("I2/I6 redeem entry", r.id)
        refunded = r.status in (RedemptionStatus.REJECTED, RedemptionStatus.CANCELLED)
        expected = [r.points] if refunded else None
        assert by_source.get(("refund", str(r.id))) == expected, ("I2 refund entry", r.id, r.status)
    assert len(by_source) == len(redemptions) + sum(
        r.status in (RedemptionStatus.REJECTED, RedemptionStatus.CANCELLED) for r in redemptions
    ), "ledger entries for redemptions that do not exist"
    held = dict(
        db.session.execute(
            select(Redemption.reward_id, func.count())
            .where(Redemption.status.in_(HOLDING_STATUSES))
            .group_by(Redemption.reward_id)
        ).all()
    )
    for reward in db.session.scalars(select(Reward)).all():
        if reward.stock_total is None:
            assert reward.stock_remaining is None
        else:
            assert reward.stock_remaining == reward.stock_total - held.get(reward.id, 0) >= 0, (
                "I5 stock",
                reward.id,
                reward.stock_total,
                reward.stock_remaining,
                held.get(reward.id, 0),
            )
        if reward.per_advocate_limit is not None:
            over = db.session.execute(
                select(Redemption.advocate_id)
                .where(Redemption.reward_id == reward.id, Redemption.status.in_(HOLDING_STATUSES))
                .group_by(Redemption.advocate_id)
                .having(func.count() > reward.per_advocate_limit)
            ).all()
            assert not over, ("I7 per-advocate limit", reward.id, over)
    from rewards.services import points_economy

    by_kind = dict(
        db.session.execute(select(LedgerEntry.kind, func.sum(LedgerEntry.delta)).group_by(LedgerEntry.kind)).all()
    )
    assert points_economy() == {  # the dashboard's figures, read from caches, equal the ledger's
        "issued": db.session.scalar(select(lifetime_expression())) or 0,
        "redeemed": -((by_kind.get("redeem") or 0) + (by_kind.get("refund") or 0)),
        "outstanding": sum(s for s, _ in sums.values()),
    }, "points economy drifted from the ledger"


def parsed_tags(html: str) -> list[tuple[str, list]]:
    """Every real element in `html` with its attributes (escaped text is not an element)."""
    found: list[tuple[str, list]] = []

    class Collector(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, attrs))

    Collector().feed(html)
    return found


def assert_harmless(html: str) -> None:
    """No script-capable element, event handler, htmx attribute or javascript: URL."""
    for tag, attrs in parsed_tags(html):
        assert tag not in {"script", "img", "svg", "iframe", "object", "embed", "style"}, tag
        for name, value in attrs:
            assert not name.startswith(("on", "hx-", "data-hx")), name
            assert not (value or "").lower().lstrip().startswith("javascript"), value
