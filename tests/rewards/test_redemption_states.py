"""Stateful property test of the points economy (reliability.md "How to test it").

Hypothesis drives redeem (API with reused Idempotency-Keys, and the browser form's request
key), approve, reject, cancel (also by another advocate: IDOR), fulfil, adjust, change cost,
change stock and retire/restore. A plain-Python model predicts every answer; after every
step the database must match the model and I1, I2, I4, I5, I6 (and the per-advocate limit)
must hold. Small on SQLite in every run; larger on PostgreSQL with `-m services`.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test
from sqlalchemy import select

from hub import accounts, tokens
from hub.errors import VouchError
from hub.extensions import db
from hub.models import Advocate
from rewards import catalog, ledger, services
from rewards.models import Redemption, Reward
from tests.support.isolation import rolled_back
from tests.support.rewards import check_rewards_invariants, new_reward

TIER_RANK = {"bronze": 0, "silver": 1, "gold": 2}
START_POINTS = (300, 600, 1200)
HOLDING = ("requested", "approved", "fulfilled")


@dataclass
class ModelReward:
    id: int
    cost: int
    stock_total: int | None
    remaining: int | None
    limit: int | None
    approval: bool
    min_tier: str
    active: bool = True


@dataclass
class ModelAdvocate:
    id: int
    user_id: int
    token: str
    balance: int
    lifetime: int

    @property
    def tier(self) -> str:
        return "gold" if self.lifetime >= 5000 else "silver" if self.lifetime >= 1000 else "bronze"


@dataclass
class ModelRedemption:
    id: int
    advocate: int
    reward: int
    points: int
    status: str


@dataclass
class Model:
    advocates: list[ModelAdvocate] = field(default_factory=list)
    rewards: list[ModelReward] = field(default_factory=list)
    redemptions: list[ModelRedemption] = field(default_factory=list)
    api_keys: dict = field(default_factory=dict)  # (advocate, key) → (reward, cost, status, body)
    form_keys: dict = field(default_factory=dict)  # (advocate, key) → redemption index

    def held(self, advocate: int, reward: int | None = None) -> int:
        return sum(
            1
            for r in self.redemptions
            if r.status in HOLDING
            and (reward is None or r.reward == reward)
            and (advocate is None or r.advocate == advocate)
        )

    def refusal(self, a: int, w: int, confirmed: int) -> str | None:
        """The error code the service must answer, or None when the redemption goes through."""
        reward, advocate = self.rewards[w], self.advocates[a]
        if not reward.active:
            return "not_found"
        if confirmed != reward.cost:
            return "price_changed"
        if TIER_RANK[advocate.tier] < TIER_RANK[reward.min_tier]:
            return "tier_required"
        if reward.limit is not None and self.held(a, w) >= reward.limit:
            return "limit_reached"
        if reward.remaining == 0:
            return "out_of_stock"
        if advocate.balance < reward.cost:
            return "insufficient_points"
        return None

    def redeem(self, a: int, w: int, redemption_id: int) -> ModelRedemption:
        reward = self.rewards[w]
        self.advocates[a].balance -= reward.cost
        if reward.remaining is not None:
            reward.remaining -= 1
        status = "requested" if reward.approval else "approved"
        made = ModelRedemption(redemption_id, a, w, reward.cost, status)
        self.redemptions.append(made)
        return made

    def refund(self, r: ModelRedemption, status: str) -> None:
        r.status = status
        self.advocates[r.advocate].balance += r.points
        reward = self.rewards[r.reward]
        if reward.remaining is not None:
            reward.remaining += 1


def machine_for(app):
    class EconomyMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.isolation = contextlib.ExitStack()  # each example on its own rolled-back transaction
            self.isolation.enter_context(rolled_back(app))
            self.isolation.enter_context(app.app_context())
            self.client = app.test_client()
            self.model = Model()
            staff = accounts.create_user("staff@example.com", "Staff", "manager", None)
            for i, points in enumerate(START_POINTS):
                advocate = accounts.create_advocate(
                    accounts.AdvocateProfile(email=f"a{i}@example.com", name=f"Advocate {i}"), None
                )
                ledger.post_entry(
                    advocate.id, points, kind="earn", source_type="seed", source_id=str(advocate.id), memo="Seed"
                )
                _, token = tokens.create_api_token(advocate.user, "t", None)
                self.model.advocates.append(ModelAdvocate(advocate.id, advocate.user_id, token, points, points))
            _, self.staff_token = tokens.create_api_token(staff, "t", None)
            self.staff_id = staff.id
            db.session.commit()
            for cost, stock, limit, approval, tier in (
                (100, 2, None, True, "bronze"),
                (250, None, 1, False, "bronze"),
                (50, 1, None, True, "silver"),
            ):
                reward_id = new_reward(
                    points_cost=cost, stock=stock, per_advocate_limit=limit, requires_approval=approval, min_tier=tier
                )
                self.model.rewards.append(ModelReward(reward_id, cost, stock, stock, limit, approval, tier))

        def teardown(self) -> None:
            db.session.remove()
            self.isolation.close()

        def call(self, method: str, path: str, token: str, body: dict | None = None, key: str | None = None):
            headers = {"Authorization": f"Bearer {token}"} | ({"Idempotency-Key": key} if key else {})
            response = self.client.open(f"/api/v1{path}", method=method, json=body or {}, headers=headers)
            assert response.status_code != 500, response.get_data(as_text=True)
            return response

        # --- rules ---------------------------------------------------------------------------

        @rule(a=st.integers(0, 2), w=st.integers(0, 2), stale=st.booleans(), key=st.sampled_from([None, "k1", "k2"]))
        def redeem_api(self, a: int, w: int, stale: bool, key: str | None) -> None:
            m = self.model
            confirmed = m.rewards[w].cost + (7 if stale else 0)
            response = self.call(
                "POST",
                f"/rewards/{m.rewards[w].id}/redemptions",
                m.advocates[a].token,
                {"confirmed_cost": confirmed},
                key,
            )
            if key and (a, key) in m.api_keys:
                first = m.api_keys[(a, key)]
                if first[:2] == (w, confirmed):
                    assert (response.status_code, response.json) == first[2:], "replay differs"
                    assert response.headers.get("Idempotent-Replayed") == "true"
                else:
                    assert response.status_code == 422
                    assert response.json["error"]["code"] == "invalid"
                return
            expected = m.refusal(a, w, confirmed)
            if expected is None:
                assert response.status_code == 201, response.json
                made = m.redeem(a, w, response.json["id"])
                assert (response.json["points"], response.json["status"]) == (made.points, made.status)
            else:
                assert response.status_code == (404 if expected == "not_found" else 409), response.json
                assert response.json["error"]["code"] == expected
            if key:
                m.api_keys[(a, key)] = (w, confirmed, response.status_code, response.json)

        @rule(a=st.integers(0, 2), w=st.integers(0, 2), key=st.sampled_from(["f1", "f2", "f3"]))
        def redeem_form(self, a: int, w: int, key: str) -> None:
            """The browser path: the form's request key makes a second submit return the first."""
            m = self.model
            key_hex = key.encode().hex().ljust(32, "0")
            outcome = self.service(
                lambda: services.redeem_reward(
                    m.advocates[a].id, m.rewards[w].id, m.rewards[w].cost, None, client_key=key_hex
                )
            )
            if (a, key) in m.form_keys:
                first = m.redemptions[m.form_keys[(a, key)]]
                if first.reward == w:
                    assert outcome == first.id
                else:
                    assert outcome == "invalid_state"
                return
            expected = m.refusal(a, w, m.rewards[w].cost)
            if expected is None:
                assert isinstance(outcome, int), outcome
                m.redeem(a, w, outcome)
                m.form_keys[(a, key)] = len(m.redemptions) - 1
            else:
                assert outcome == expected

        def service(self, fn):
            try:
                result = fn()
                db.session.commit()
                return result.id
            except VouchError as exc:
                db.session.rollback()
                return exc.code

        @precondition(lambda self: self.model.redemptions)
        @rule(i=st.integers(0, 1000))
        def approve(self, i: int) -> None:
            r = self.model.redemptions[i % len(self.model.redemptions)]
            response = self.call("POST", f"/redemptions/{r.id}/approve", self.staff_token)
            if r.status == "requested":
                assert response.status_code == 200 and response.json["status"] == "approved"
                r.status = "approved"
            else:
                assert response.status_code == 409 and response.json["error"]["code"] == "invalid_state"

        @precondition(lambda self: self.model.redemptions)
        @rule(i=st.integers(0, 1000), twice=st.booleans())
        def reject(self, i: int, twice: bool) -> None:
            r = self.model.redemptions[i % len(self.model.redemptions)]
            was = r.status
            for attempt in range(2 if twice else 1):
                response = self.call("POST", f"/redemptions/{r.id}/reject", self.staff_token, {"reason": "No"})
                if was in ("requested", "approved") and attempt == 0:
                    assert response.status_code == 200 and response.json["status"] == "rejected"
                    self.model.refund(r, "rejected")
                else:
                    assert response.status_code == 409 and response.json["error"]["code"] == "invalid_state"

        @precondition(lambda self: self.model.redemptions)
        @rule(i=st.integers(0, 1000), intruder=st.booleans())
        def cancel(self, i: int, intruder: bool) -> None:
            r = self.model.redemptions[i % len(self.model.redemptions)]
            who = (r.advocate + 1) % 3 if intruder else r.advocate
            response = self.call("POST", f"/redemptions/{r.id}/cancel", self.model.advocates[who].token)
            if intruder:
                assert response.status_code == 404
            elif r.status == "requested":
                assert response.status_code == 200 and response.json["status"] == "cancelled"
                self.model.refund(r, "cancelled")
            else:
                assert response.status_code == 409 and response.json["error"]["code"] == "invalid_state"

        @precondition(lambda self: self.model.redemptions)
        @rule(i=st.integers(0, 1000))
        def fulfil(self, i: int) -> None:
            r = self.model.redemptions[i % len(self.model.redemptions)]
            response = self.call("POST", f"/redemptions/{r.id}/fulfill", self.staff_token, {"note": "Sent"})
            if r.status == "approved":
                assert response.status_code == 200 and response.json["status"] == "fulfilled"
                r.status = "fulfilled"
            else:
                assert response.status_code == 409 and response.json["error"]["code"] == "invalid_state"

        @rule(a=st.integers(0, 2), points=st.integers(-700, 900).filter(bool))
        def adjust(self, a: int, points: int) -> None:
            advocate = self.model.advocates[a]
            outcome = self.service(lambda: services.adjust_points(advocate.id, points, "Model", self.staff_id))
            if advocate.balance + points < 0:
                assert outcome == "insufficient_points"
                return
            assert isinstance(outcome, int)
            advocate.balance += points
            advocate.lifetime += max(points, 0)

        @rule(w=st.integers(0, 2), cost=st.integers(10, 400))
        def change_cost(self, w: int, cost: int) -> None:
            reward = self.model.rewards[w]
            self.service(lambda: catalog.update_reward(reward.id, {"points_cost": cost}, self.staff_id))
            reward.cost = cost

        @rule(w=st.integers(0, 2), total=st.one_of(st.none(), st.integers(0, 4)))
        def change_stock(self, w: int, total: int | None) -> None:
            reward = self.model.rewards[w]
            response = self.call("PATCH", f"/rewards/{reward.id}", self.staff_token, {"stock": total})
            held = self.model.held(None, w)
            if total is not None and total < held:
                assert response.status_code == 422 and "stock" in response.json["error"]["fields"]
                return
            assert response.status_code == 200, response.json
            reward.stock_total = total
            reward.remaining = None if total is None else total - held

        @rule(w=st.integers(0, 2), active=st.booleans())
        def retire_or_restore(self, w: int, active: bool) -> None:
            reward = self.model.rewards[w]
            self.service(lambda: catalog.set_active(reward.id, active, self.staff_id))
            reward.active = active

        # --- invariants ----------------------------------------------------------------------

        @invariant()
        def database_matches_model_and_invariants_hold(self) -> None:
            check_rewards_invariants()
            m = self.model
            balances = dict(db.session.execute(select(Advocate.id, Advocate.balance)).all())
            assert balances == {a.id: a.balance for a in m.advocates}
            statuses = {rid: str(s) for rid, s in db.session.execute(select(Redemption.id, Redemption.status))}
            assert statuses == {r.id: r.status for r in m.redemptions}
            stock = dict(db.session.execute(select(Reward.id, Reward.stock_remaining)).all())
            assert stock == {w.id: w.remaining for w in m.rewards}

    return EconomyMachine


def _run(app, examples: int, steps: int) -> None:
    run_state_machine_as_test(
        machine_for(app),
        settings=settings(
            max_examples=examples,
            stateful_step_count=steps,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )


@pytest.mark.multi_connection  # isolates each example itself
def test_economy_state_machine_on_sqlite(app):
    _run(app, examples=12, steps=25)


@pytest.mark.services
@pytest.mark.multi_connection  # isolates each example itself
def test_economy_state_machine_on_postgresql(pg_app):
    _run(pg_app, examples=40, steps=40)
