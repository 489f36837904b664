"""A stateful property test: random interleavings of submit, approve, reject, a verifier
verdict delivered twice, point edits and clock jumps. A plain-Python model predicts every
outcome; the ledger, limits and caps invariants (reliability.md I1, I2, I6, I7) are checked
against the database after every step."""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test
from sqlalchemy import func, select

from challenges import services, verifiers
from challenges.models import Ask, Challenge, Completion, CompletionStatus
from hub.errors import VouchError
from hub.extensions import db
from hub.models import Advocate
from rewards.models import LedgerEntry
from tests.support.factories import Factory
from tests.support.isolation import rolled_back

START = dt.datetime(2026, 1, 5, 12, 0, tzinfo=dt.UTC)

# (type, points, max_per_advocate, cooldown_days, max_total) — all decided by people (no jobs).
CHALLENGES = [
    ("custom", 50, 2, 3, None),
    ("webinar", 150, 1, 0, None),
    ("case_study", 900, 1, 0, 1),
    ("speaking", 700, 2, 100, None),
]
EFFORT = {"custom": None, "webinar": "medium", "case_study": "high", "speaking": "high"}
WINDOWS = {"medium": (1, 60), "high": (1, 90)}
N_ADVOCATES = 2


class ChallengeMachine(RuleBasedStateMachine):
    app = None

    def __init__(self) -> None:
        super().__init__()
        self.isolation = contextlib.ExitStack()  # each example on its own rolled-back transaction
        self.isolation.enter_context(rolled_back(self.app))
        self.isolation.enter_context(self.app.app_context())
        factory = Factory()
        self.advocates = [factory.advocate().id for _ in range(N_ADVOCATES)]
        self.challenges = []
        for ctype, points, per_advocate, cooldown, total in CHALLENGES:
            c = services.create_challenge(
                services.clean_challenge(
                    {
                        "title": ctype,
                        "type": ctype,
                        "points": points,
                        "max_per_advocate": per_advocate,
                        "cooldown_days": cooldown,
                        "max_total": total,
                    }
                ),
                None,
            )
            services.publish_challenge(c.id, None)
            self.challenges.append(c.id)
        db.session.commit()
        self.retries = {
            c.id: (c.retry_limit, c.retry_wait_hours)
            for c in db.session.scalars(select(Challenge).where(Challenge.id.in_(self.challenges)))
        }
        self.clock = START
        self.points = {cid: spec[1] for cid, spec in zip(self.challenges, CHALLENGES, strict=True)}
        # Model: completion id -> dict(advocate, challenge, status, price, at)
        self.completions: dict[int, dict] = {}

    def teardown(self) -> None:
        db.session.remove()
        self.isolation.close()

    # --- the model's predictions --------------------------------------------------------------

    def _counting(self, advocate=None, challenge=None):
        return [
            c
            for c in self.completions.values()
            if c["status"] != "rejected"
            and (advocate is None or c["advocate"] == advocate)
            and (challenge is None or c["challenge"] == challenge)
        ]

    def predict_submit(self, a: int, ch: int) -> str:
        index = self.challenges.index(ch)
        ctype, _, per_advocate, cooldown, total = CHALLENGES[index]
        mine = self._counting(a, ch)
        if any(c["status"] == "pending_review" for c in mine):
            return "already_submitted"
        if len(mine) >= per_advocate:
            return "limit_reached"
        if mine and cooldown and self.clock < max(c["at"] for c in mine) + dt.timedelta(days=cooldown):
            return "limit_reached"
        # Tries after rejections (issue 19): every `retry_limit`-th rejected try since the last
        # counting one starts a wait of `retry_wait_hours` from its decision (decided now, on the
        # real clock: the decisions take no `at`).
        last_counting = max((c["at"] for c in mine), default=None)
        tries = sorted(
            c["decided_at"]
            for c in self.completions.values()
            if c["advocate"] == a
            and c["challenge"] == ch
            and c["status"] == "rejected"
            and (last_counting is None or c["at"] > last_counting)
        )
        retry_limit, wait_hours = self.retries[ch]
        if tries and len(tries) % retry_limit == 0 and self.clock < tries[-1] + dt.timedelta(hours=wait_hours):
            return "limit_reached"
        if total is not None and len(self._counting(challenge=ch)) >= total:
            return "limit_reached"
        kind = EFFORT[ctype]
        if kind:
            asks = [c for c in self._counting(a) if EFFORT[CHALLENGES[self.challenges.index(c["challenge"])][0]]]
            limit, days = WINDOWS[kind]
            same = [
                c
                for c in asks
                if EFFORT[CHALLENGES[self.challenges.index(c["challenge"])][0]] == kind
                and c["at"] > self.clock - dt.timedelta(days=days)
            ]
            yearly = [c for c in asks if c["at"] > self.clock - dt.timedelta(days=365)]
            if len(same) >= limit or len(yearly) >= 4:
                return "cap_reached"
        return "ok"

    # --- rules ----------------------------------------------------------------------------------

    @rule(a=st.integers(0, N_ADVOCATES - 1), c=st.integers(0, len(CHALLENGES) - 1))
    def submit(self, a: int, c: int) -> None:
        advocate, challenge = self.advocates[a], self.challenges[c]
        expected = self.predict_submit(advocate, challenge)
        try:
            completion = services.submit_completion(challenge, advocate, {"evidence_text": "done"}, at=self.clock)
            db.session.commit()
            outcome = "ok"
        except VouchError as exc:
            db.session.rollback()
            outcome = exc.code
        assert outcome == expected
        if outcome == "ok":
            self.completions[completion.id] = {
                "advocate": advocate,
                "challenge": challenge,
                "status": "pending_review",
                "price": self.points[challenge],
                "at": self.clock,
            }

    def _decide(self, index: int, action) -> None:
        cid = sorted(self.completions)[index % len(self.completions)]
        undecided = self.completions[cid]["status"] == "pending_review"
        try:
            new_status = action(cid)
            db.session.commit()
            assert undecided
            self.completions[cid]["status"] = new_status
            self.completions[cid]["decided_at"] = db.session.get(Completion, cid).decided_at
        except VouchError as exc:
            db.session.rollback()
            assert not undecided and exc.code == "invalid_state"

    @precondition(lambda self: self.completions)
    @rule(i=st.integers(0, 1000))
    def approve(self, i: int) -> None:
        self._decide(i, lambda cid: services.approve_completion(cid, None).status.value)

    @precondition(lambda self: self.completions)
    @rule(i=st.integers(0, 1000))
    def reject(self, i: int) -> None:
        self._decide(i, lambda cid: services.reject_completion(cid, None, "Not this time").status.value)

    @precondition(lambda self: self.completions)
    @rule(i=st.integers(0, 1000))
    def verifier_approves_twice(self, i: int) -> None:
        cid = sorted(self.completions)[i % len(self.completions)]
        undecided = self.completions[cid]["status"] == "pending_review"
        db.session.get(Completion, cid).status = (
            CompletionStatus.VERIFYING if undecided else (db.session.get(Completion, cid).status)
        )
        db.session.commit()
        first = services.apply_verdict(cid, verifiers.Verdict("approve"))
        second = services.apply_verdict(cid, verifiers.Verdict("approve"))
        db.session.commit()
        assert (first, second) == (
            ("approved", "already_decided") if undecided else ("already_decided", "already_decided")
        )
        if undecided:
            self.completions[cid]["status"] = "approved"

    @rule(c=st.integers(0, len(CHALLENGES) - 1), points=st.integers(1, 5000))
    def change_points(self, c: int, points: int) -> None:
        challenge = services.get_challenge(self.challenges[c])
        services.update_challenge(challenge.id, services.input_from(challenge, points=points), None)
        db.session.commit()
        self.points[challenge.id] = points

    @rule(days=st.sampled_from([1, 2, 3, 29, 59, 60, 89, 90, 200]))
    def advance_clock(self, days: int) -> None:
        self.clock += dt.timedelta(days=days)

    # --- invariants -----------------------------------------------------------------------------

    @invariant()
    def ledger_matches_decisions(self) -> None:
        entries = {
            int(e.source_id): e
            for e in db.session.scalars(select(LedgerEntry).where(LedgerEntry.source_type == "completion"))
        }
        for cid, model in self.completions.items():
            row = db.session.get(Completion, cid)
            assert row.status.value == model["status"]
            if model["status"] == "approved":
                assert entries[cid].delta == model["price"] == row.points_awarded  # I2 + I6
            else:
                assert cid not in entries
        assert len(entries) == sum(1 for m in self.completions.values() if m["status"] == "approved")
        for advocate in self.advocates:
            total = db.session.scalar(
                select(func.coalesce(func.sum(LedgerEntry.delta), 0)).where(LedgerEntry.advocate_id == advocate)
            )
            assert db.session.get(Advocate, advocate).balance == total >= 0  # I1, I4

    @invariant()
    def limits_and_caps_hold(self) -> None:
        for advocate in self.advocates:
            asks = db.session.scalars(
                select(Ask).where(Ask.advocate_id == advocate, Ask.cancelled_at.is_(None)).order_by(Ask.asked_at)
            ).all()
            for ask in asks:  # I7: no window ever holds more asks than its cap
                limit, days = WINDOWS[ask.kind.value]
                window = [
                    b
                    for b in asks
                    if b.kind == ask.kind and ask.asked_at - dt.timedelta(days=days) < b.asked_at <= ask.asked_at
                ]
                assert len(window) <= limit
                assert len([b for b in asks if ask.asked_at - dt.timedelta(days=365) < b.asked_at <= ask.asked_at]) <= 4
            for ch, spec in zip(self.challenges, CHALLENGES, strict=True):
                counting = self._counting(advocate, ch)
                assert len(counting) <= spec[2]
                assert sum(1 for c in counting if c["status"] == "pending_review") <= 1
        for ch, spec in zip(self.challenges, CHALLENGES, strict=True):
            if spec[4] is not None:
                assert len(self._counting(challenge=ch)) <= spec[4]


@pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
@pytest.mark.multi_connection  # isolates each example itself
def test_challenge_state_machine(app):
    ChallengeMachine.app = app
    run_state_machine_as_test(
        ChallengeMachine,
        settings=settings(
            max_examples=15,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
