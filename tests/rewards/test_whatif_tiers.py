"""The what-if's reads: its tier part (rewards.tier_changes.tier_targets and the two reads built on
it) — advocates per tier now and then, and who moves with their names, for proposed thresholds
and for extra points per advocate (a challenge's proposed points) — and its expiry totals now
and under a proposed N (one pass over the lots), on SQLite (a VALUES table of the extra points)
and PostgreSQL (two array parameters). The expected tiers and totals are written out by hand
from the inputs below, not computed with the rules under test."""

from __future__ import annotations

import datetime as dt

import pytest

from hub.db import utcnow
from hub.extensions import db
from hub.models import Tier
from hub.privacy import erase_advocate
from hub.settings import save_setting
from rewards import ledger
from rewards.simulations import simulate
from rewards.tier_changes import stale_tiers, tier_movers, tier_transitions

B, S, G = Tier.BRONZE, Tier.SILVER, Tier.GOLD
PROPOSED = {"silver": 1500, "gold": 6000}
# Stored tiers under the defaults (silver 1,000, gold 5,000), then under PROPOSED.
PROGRAM = {0: (B, B), 999: (B, B), 1000: (S, B), 1499: (S, B), 1500: (S, S), 4999: (S, S), 5000: (G, S)}
PROGRAM |= {5999: (G, S), 6000: (G, G), 12000: (G, G)}


def build(make) -> dict[int, int]:
    """Points → advocate id, one advocate per PROGRAM entry, plus an erased Gold advocate."""
    ids = {points: make.advocate(points=points, name=f"Has {points}").id for points in PROGRAM}
    erased = make.advocate(points=7000, name="Gone")
    erase_advocate(erased.id, None, "operator")
    db.session.commit()
    ids[-1] = erased.id
    return ids


def check_tier_reads(make) -> None:
    ids = build(make)
    for basis in ("lifetime", "rolling_365"):
        movers = tier_movers(PROPOSED, basis)
        expected = [(ids[p], f"Has {p}", now, then) for p, (now, then) in PROGRAM.items() if now != then]
        assert movers == expected
        assert stale_tiers(PROPOSED, basis) == [(a, now, then) for a, _, now, then in expected]
        assert tier_transitions(PROPOSED, basis) == {(S, B): 2, (G, S): 2, (B, B): 2, (S, S): 2, (G, G): 2}

    # Extra points: 0 + 1,500 reaches Silver; 1,499 + 1 and 5,999 + 1 stay where they are; the
    # erased advocate and an unknown id count nowhere.
    extra = {ids[0]: 1500, ids[1499]: 1, ids[5999]: 1, ids[-1]: 100, 10**9: 5}
    movers = tier_movers(PROPOSED, "lifetime", extra)
    assert [(a, now, then) for a, _, now, then in movers] == [(ids[0], B, S), (ids[1000], S, B), (ids[5000], G, S)]
    transitions = tier_transitions(PROPOSED, "lifetime", extra)
    assert transitions == {(B, S): 1, (B, B): 1, (S, B): 1, (S, S): 3, (G, S): 1, (G, G): 3}

    result = simulate({"tier_thresholds": PROPOSED}, extra)
    assert result["now"]["advocates_by_tier"] == {"bronze": 2, "silver": 4, "gold": 4}
    assert result["then"]["advocates_by_tier"] == {"bronze": 2, "silver": 5, "gold": 3}
    assert [(m["advocate_id"], m["name"]) for m in result["tier_moves"]["up"]] == [(ids[0], "Has 0")]
    assert [m["advocate_id"] for m in result["tier_moves"]["down"]] == [ids[1000], ids[5000]]
    # Outstanding then = balances (the program's points plus the erased advocate's, which the
    # ledger keeps) + every extra point given, as the reply has always counted them.
    outstanding = sum(PROGRAM) + 7000
    assert result["now"]["outstanding"] == outstanding
    assert result["then"]["outstanding"] == outstanding + sum(extra.values())


def test_tier_reads_on_sqlite(ctx, make):
    check_tier_reads(make)


@pytest.mark.services
def test_tier_reads_on_postgresql(pg_ctx, make):
    check_tier_reads(make)


def check_expiry_totals(make) -> None:
    now = utcnow()

    def post(advocate_id: int, delta: int, kind: str, key: str, days_ago: int) -> None:
        at = now - dt.timedelta(days=days_ago)
        ledger.post_entry(advocate_id, delta, kind=kind, source_type="test", source_id=key, memo="x", at=at)

    a, b = make.advocate(), make.advocate()
    post(a.id, 500, "earn", "a-old", 250)  # before the policy's start: never expires
    save_setting("points_expiry_days", 60, None)
    save_setting("points_expiry_since", (now - dt.timedelta(days=200)).isoformat(), None)
    post(a.id, 100, "earn", "a1", 50)
    post(a.id, 40, "bonus", "a2", 20)
    post(b.id, 100, "earn", "b1", 50)
    post(b.id, -30, "redeem", "b-spent", 40)  # b1 holds 70
    db.session.commit()

    # N = 60 now: a1 expires in 10 days, a2 in 40, b1 in 10.
    # N = 30: a1 is overdue (still held, no run yet), a2 and b1 expire in 10 days.
    # N = 120: a1 and b1 expire in 70 days, a2 in 100.
    for days, then in ((30, (210, 210)), (120, (0, 170)), (60, (170, 210))):
        result = simulate({"points_expiry_days": days})
        assert (result["now"]["expiring_30d"], result["now"]["expiring_90d"]) == (170, 210)
        assert (result["then"]["expiring_30d"], result["then"]["expiring_90d"]) == then
    switched_off = simulate({"points_expiry_days": None})
    assert (switched_off["then"]["expiring_30d"], switched_off["then"]["expiring_90d"]) == (0, 0)


def test_expiry_totals_now_and_then_on_sqlite(ctx, make):
    check_expiry_totals(make)


@pytest.mark.services
def test_expiry_totals_now_and_then_on_postgresql(pg_ctx, make):
    check_expiry_totals(make)
