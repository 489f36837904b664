"""The what-if's tier part (rewards.tier_changes.tier_targets and the two reads built on it):
advocates per tier now and then, and who moves with their names, for proposed thresholds and
for extra points per advocate (a challenge's proposed points) — on SQLite (a VALUES table of the
extra points) and PostgreSQL (two array parameters). The expected tiers are written out by hand
from the thresholds below, not computed with the rule under test."""

from __future__ import annotations

import pytest

from hub.extensions import db
from hub.models import Tier
from hub.privacy import erase_advocate
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
