"""The economy state machine (test_redemption_states) extended with earning, corrections,
switching expiry on and off, moving the clock and running expiry (twice): product.md §14.

The model keeps each advocate's lots as a queue — spending takes from the oldest lot with
points left, a refund puts back into the newest lot that was spent from, expiry takes what is
left of a due lot — independently of rewards.expiry's closed form. After every step, on top of
the economy machine's checks: balance ≥ 0 and = the ledger sum; lifetime = positive earns +
bonuses + positive adjustments − corrections; no earning entry expires twice; points credited
before the policy was first switched on never expire; every lot's remainder is the model's
(FIFO respected); and the expiry settlement marks skip only settled lots.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from unittest import mock

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import invariant, rule, run_state_machine_as_test
from sqlalchemy import func, select

from hub.errors import VouchError
from hub.extensions import db
from hub.models import Advocate
from rewards import expiry, ledger, program_settings, services
from rewards.models import EntryKind, LedgerEntry
from tests.rewards.test_redemption_states import Model, ModelRedemption, machine_for

CLOCKED = (
    "rewards.ledger",
    "rewards.expiry",
    "rewards.services.redemptions",
    "rewards.program_settings",
    "rewards.tier_changes",
    "rewards.leaderboard",
)


@dataclass
class Lot:
    entry_id: int
    credited_at: dt.datetime
    size: int
    spent: int = 0
    expired: int = 0
    has_expiry: bool = False

    @property
    def left(self) -> int:
        return self.size - self.spent - self.expired


class LotModel(Model):
    """The economy model with each advocate's lots (index → list of Lot, oldest first)."""

    def __init__(self) -> None:
        super().__init__()
        self.lots: dict[int, list[Lot]] = {}

    def credit(self, a: int, entry_id: int, at: dt.datetime, points: int) -> None:
        self.lots.setdefault(a, []).append(Lot(entry_id, at, points))

    def spend(self, a: int, points: int) -> None:
        for lot in self.lots.get(a, []):
            take = min(points, lot.left)
            lot.spent += take
            points -= take
        assert points == 0, "the model spent more than the lots hold"

    def give_back(self, a: int, points: int) -> None:
        for lot in reversed(self.lots.get(a, [])):
            back = min(points, lot.spent)
            lot.spent -= back
            points -= back
        assert points == 0

    def redeem(self, a: int, w: int, redemption_id: int) -> ModelRedemption:
        self.spend(a, self.rewards[w].cost)
        return super().redeem(a, w, redemption_id)

    def refund(self, r: ModelRedemption, status: str) -> None:
        self.give_back(r.advocate, r.points)
        super().refund(r, status)


def machine_with_expiry(app):
    base = machine_for(app)

    class ExpiryMachine(base):
        def __init__(self) -> None:
            self.clock = dt.datetime.now(dt.UTC).replace(microsecond=0)
            self.patches = [mock.patch(f"{module}.utcnow", lambda: self.clock) for module in CLOCKED]
            for patch in self.patches:
                patch.start()
            super().__init__()
            model = LotModel()
            model.__dict__.update({k: v for k, v in self.model.__dict__.items() if k != "lots"})
            self.model = model
            for i, advocate in enumerate(model.advocates):
                seed = db.session.scalar(select(LedgerEntry).where(LedgerEntry.advocate_id == advocate.id))
                model.credit(i, seed.id, seed.created_at, seed.delta)
            self.days: int | None = None
            self.since: dt.datetime | None = None
            self.first_since: dt.datetime | None = None
            self.keys = itertools.count()

        def teardown(self) -> None:
            for patch in self.patches:
                patch.stop()
            super().teardown()

        def posted(self, fn):
            try:
                result = fn()
                db.session.commit()
                return result
            except VouchError as exc:
                db.session.rollback()
                return exc.code

        # --- rules -------------------------------------------------------------------------

        @rule(a=st.integers(0, 2), points=st.integers(1, 900), kind=st.sampled_from(["earn", "bonus"]))
        def earn(self, a: int, points: int, kind: str) -> None:
            advocate = self.model.advocates[a]
            posted = self.posted(
                lambda: ledger.post_entry(
                    advocate.id, points, kind=kind, source_type="machine", source_id=next(self.keys), memo="Earned"
                )
            )
            advocate.balance += points
            advocate.lifetime += points
            self.model.credit(a, posted.entry.id, self.clock, points)

        @rule(a=st.integers(0, 2), points=st.integers(-700, 900).filter(bool), lifetime=st.booleans())
        def adjust(self, a: int, points: int, lifetime: bool) -> None:
            """Replaces the economy machine's adjust: positive credits a lot, negative spends;
            with `lifetime` (negative only) it is a correction that lowers lifetime points too."""
            advocate = self.model.advocates[a]
            correction = lifetime and points < 0
            entry = self.posted(
                lambda: services.adjust_points(advocate.id, points, "Model", self.staff_id, lifetime=correction)
            )
            if advocate.balance + points < 0 or (correction and advocate.lifetime + points < 0):
                assert entry == "insufficient_points"
                return
            assert not isinstance(entry, str), entry
            advocate.balance += points
            if points > 0:
                advocate.lifetime += points
                self.model.credit(a, entry.id, self.clock, points)
            else:
                self.model.spend(a, -points)
                if correction:
                    advocate.lifetime += points

        @rule(days=st.one_of(st.none(), st.integers(1, 60)))
        def switch_expiry(self, days: int | None) -> None:
            self.posted(lambda: program_settings.apply_settings({"points_expiry_days": days}, self.staff_id))
            if days is None:
                self.days = self.since = None
                return
            if self.days is None:
                self.since = self.clock
                self.first_since = self.first_since or self.clock
            self.days = days

        @rule(days=st.integers(1, 45))
        def tick(self, days: int) -> None:
            self.clock += dt.timedelta(days=days)

        @rule(twice=st.booleans())
        def run_expiry(self, twice: bool) -> None:
            expected = 0
            if self.days is not None:
                for a, lots in self.model.lots.items():
                    for lot in lots:
                        due = (
                            lot.credited_at >= self.since
                            and lot.credited_at + dt.timedelta(days=self.days) <= self.clock
                        )
                        if due and not lot.has_expiry and lot.left > 0:
                            expected += lot.left
                            self.model.advocates[a].balance -= lot.left
                            lot.expired += lot.left
                            lot.has_expiry = True
            run = self.posted(lambda: expiry.expire_points())
            assert run.entries_points == expected
            if twice:
                assert self.posted(lambda: expiry.expire_points()).entries_points == 0

        # --- invariants --------------------------------------------------------------------

        @invariant()
        def lots_follow_the_model(self) -> None:
            for a, advocate in enumerate(self.model.advocates):
                row = db.session.get(Advocate, advocate.id)
                assert (row.balance, row.lifetime_points) == (advocate.balance, advocate.lifetime)
                lots = {lot.entry_id: lot.remaining for lot in expiry.remaining_lots(expiry._entries_of(advocate.id))}
                assert lots == {lot.entry_id: lot.left for lot in self.model.lots.get(a, [])}, "FIFO"
                assert sum(lots.values()) == advocate.balance
            for days in (30, 90):  # the set-based total agrees with the per-advocate FIFO
                assert expiry.expiring_total(days) == sum(
                    item.points for a in self.model.advocates for item in expiry.upcoming(a.id, days)
                )
            per_lot = db.session.execute(
                select(LedgerEntry.source_id, func.count(), func.min(LedgerEntry.delta))
                .where(LedgerEntry.kind == EntryKind.EXPIRE)
                .group_by(LedgerEntry.source_id)
            ).all()
            expired = {int(source_id) for source_id, _, _ in per_lot}
            assert all(n == 1 and delta < 0 for _, n, delta in per_lot), "an earning entry expired twice"
            for lots in self.model.lots.values():
                for lot in lots:
                    assert (lot.entry_id in expired) == lot.has_expiry
                    if self.first_since is None or lot.credited_at < self.first_since:
                        assert not lot.has_expiry, "grandfathered points expired"

        @invariant()
        def settlement_marks_are_sound(self) -> None:
            """Every lot of the policy up to an advocate's settlement mark has its `expire` entry
            or nothing left (so a run may skip it), and none after the mark has one (so the
            per-advocate totals of `expiring_totals` may count every lot after it)."""
            if self.since is None:
                return
            for a, advocate in enumerate(self.model.advocates):
                mark = db.session.execute(
                    select(Advocate.expiry_settled_at, Advocate.expiry_settled_id).where(Advocate.id == advocate.id)
                ).one()
                if mark.expiry_settled_at is None:
                    continue
                for lot in self.model.lots.get(a, []):
                    if lot.credited_at < self.since:
                        continue
                    if (lot.credited_at, lot.entry_id) <= (mark.expiry_settled_at, mark.expiry_settled_id):
                        assert lot.has_expiry or lot.left == 0, "a lot with points to expire was skipped"
                    else:
                        assert not lot.has_expiry, "an expired lot after the settlement mark"

    return ExpiryMachine


def _run(app, examples: int, steps: int) -> None:
    run_state_machine_as_test(
        machine_with_expiry(app),
        settings=settings(
            max_examples=examples,
            stateful_step_count=steps,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )


@pytest.mark.multi_connection  # isolates each example itself
def test_expiry_state_machine_on_sqlite(app):
    _run(app, examples=10, steps=30)


@pytest.mark.services
@pytest.mark.multi_connection  # isolates each example itself
def test_expiry_state_machine_on_postgresql(pg_app):
    _run(pg_app, examples=10, steps=30)
