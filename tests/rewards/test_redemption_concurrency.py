"""Redemptions racing each other: reliability.md cases 10, 11, 14, 15, 16, 17, 18 (and 19's retry path).

Every case releases its threads together with a threading.Barrier; each thread has its own
app context, session and connection. PostgreSQL cases are `services`; SQLite cases always run
(SQLite serializes writers with BEGIN IMMEDIATE, so contention is waiting, never overselling).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from hub.errors import VouchError
from hub.extensions import db
from hub.models import Advocate
from hub.transactions import in_transaction
from rewards import catalog, services
from rewards.models import EntryKind, LedgerEntry, Redemption, Reward
from rewards.services import redemptions
from tests.support.rewards import balance_of, check_rewards_invariants, new_reward
from tests.support.threads import committing, run_together


def run_parallel(app, n: int, work: Callable[[int], object]) -> Counter:
    """Run `work(i)` in n threads released together, each committing its own transaction;
    count outcomes (the result, or the refusal's error code)."""
    return run_together(n, committing(app, work, (VouchError,)))


def redeem(advocate_ids: list[int], reward_id: int, confirmed: int | None = None) -> Callable[[int], str]:
    def work(i: int) -> str:
        services.redeem_reward(advocate_ids[i], reward_id, confirmed)
        return "redeemed"

    return work


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def debits() -> int:
    return count(LedgerEntry, LedgerEntry.kind == EntryKind.REDEEM)


# --- PostgreSQL -------------------------------------------------------------------------------


@pytest.mark.services
@pytest.mark.parametrize("repeat", range(3))
@pytest.mark.multi_connection
def test_stock_one_and_25_advocates_at_once_sells_one(pg_app, make, repeat):
    with pg_app.app_context():
        reward_id = new_reward(points_cost=100, stock=1)
        advocates = [make.advocate(points=100).id for _ in range(25)]
    outcomes = run_parallel(pg_app, 25, redeem(advocates, reward_id))
    assert outcomes == Counter({"redeemed": 1, "out_of_stock": 24})
    with pg_app.app_context():
        assert db.session.get(Reward, reward_id).stock_remaining == 0
        assert count(Redemption) == 1 and debits() == 1
        assert sorted(db.session.scalars(select(Advocate.balance))) == [0] + [100] * 24
        check_rewards_invariants()


@pytest.mark.services
@pytest.mark.parametrize("repeat", range(3))
@pytest.mark.parametrize("same_reward", [True, False])
@pytest.mark.multi_connection
def test_balance_100_and_two_80s_at_once_one_succeeds(pg_app, make, repeat, same_reward):
    with pg_app.app_context():
        first = new_reward(points_cost=80)
        rewards = [first, first if same_reward else new_reward(name="Mug", points_cost=80)]
        advocate_id = make.advocate(points=100).id

    def work(i: int) -> str:
        services.redeem_reward(advocate_id, rewards[i], 80)
        return "redeemed"

    outcomes = run_parallel(pg_app, 2, work)
    assert outcomes == Counter({"redeemed": 1, "insufficient_points": 1})
    with pg_app.app_context():
        assert db.session.get(Advocate, advocate_id).balance == 20 == balance_of(advocate_id)
        assert count(Redemption) == 1 and debits() == 1


@pytest.mark.services
@pytest.mark.parametrize("repeat", range(3))
@pytest.mark.parametrize("action", ["reject", "cancel"])
@pytest.mark.multi_connection
def test_three_rejections_at_once_refund_once(pg_app, make, repeat, action):
    with pg_app.app_context():
        reward_id = new_reward(points_cost=60, stock=2, requires_approval=True)
        advocate_id = make.advocate(points=100).id
        staff_id = make.user("manager").id
        redemption_id = services.redeem_reward(advocate_id, reward_id, 60).id
        db.session.commit()

    def work(_i: int) -> str:
        if action == "reject":
            services.reject_redemption(redemption_id, staff_id, "No more stock at the vendor")
        else:
            services.cancel_redemption(redemption_id, advocate_id)
        return "done"

    outcomes = run_parallel(pg_app, 3, work)
    assert outcomes == Counter({"done": 1, "invalid_state": 2})
    with pg_app.app_context():
        assert count(LedgerEntry, LedgerEntry.kind == EntryKind.REFUND) == 1
        assert db.session.get(Advocate, advocate_id).balance == 100
        assert db.session.get(Reward, reward_id).stock_remaining == 2


@pytest.mark.services
@pytest.mark.parametrize("repeat", range(3))
@pytest.mark.multi_connection
def test_per_advocate_limit_holds_under_ten_parallel_requests(pg_app, make, repeat):
    with pg_app.app_context():
        reward_id = new_reward(points_cost=10, per_advocate_limit=2)
        advocate_id = make.advocate(points=1000).id
    outcomes = run_parallel(pg_app, 10, redeem([advocate_id] * 10, reward_id))
    assert outcomes == Counter({"redeemed": 2, "limit_reached": 8})
    with pg_app.app_context():
        assert count(Redemption, Redemption.advocate_id == advocate_id) == 2
        assert db.session.get(Advocate, advocate_id).balance == 980


@pytest.mark.services
@pytest.mark.parametrize("repeat", range(2))
@pytest.mark.multi_connection
def test_price_change_racing_redemptions_charges_the_confirmed_price_or_refuses(pg_app, make, repeat):
    with pg_app.app_context():
        reward_id = new_reward(points_cost=100, stock=50)
        advocates = [make.advocate(points=1000).id for _ in range(9)]
        staff_id = make.user("manager").id

    def work(i: int) -> str:
        if i == 9:
            catalog.update_reward(reward_id, {"points_cost": 150}, staff_id)
            return "repriced"
        services.redeem_reward(advocates[i], reward_id, 100)
        return "redeemed"

    outcomes = run_parallel(pg_app, 10, work)
    assert outcomes["repriced"] == 1 and outcomes["redeemed"] + outcomes["price_changed"] == 9
    with pg_app.app_context():
        points = db.session.scalars(select(Redemption.points)).all()
        assert points == [100] * outcomes["redeemed"]
        deltas = db.session.scalars(select(LedgerEntry.delta).where(LedgerEntry.kind == EntryKind.REDEEM)).all()
        assert sorted(deltas) == [-100] * outcomes["redeemed"]
        check_rewards_invariants()


@pytest.mark.services
@pytest.mark.parametrize("repeat", range(2))
@pytest.mark.multi_connection
def test_switching_to_limited_stock_while_redeeming_keeps_stock_exact(pg_app, make, repeat):
    with pg_app.app_context():
        reward_id = new_reward(points_cost=10)
        advocates = [make.advocate(points=100).id for _ in range(8)]
        staff_id = make.user("manager").id

    def work(i: int) -> str:
        if i == 8:
            catalog.update_reward(reward_id, {"stock": 12}, staff_id)
            return "restocked"
        # As the API runs it: two redeemers that waited for the switch may deadlock on the
        # stock decrement (redemptions._unlimited_reward); the boundary re-runs the loser's unit.
        in_transaction(lambda: services.redeem_reward(advocates[i], reward_id))
        return "redeemed"

    outcomes = run_together(9, committing(pg_app, work, (VouchError,)))
    assert outcomes == Counter({"redeemed": 8, "restocked": 1})
    with pg_app.app_context():
        assert db.session.get(Reward, reward_id).stock_remaining == 4
        check_rewards_invariants()


@pytest.mark.services
@pytest.mark.parametrize("where", ["before_debit", "after_debit"])
def test_failure_inside_the_transaction_rolls_everything_back(pg_app, make, monkeypatch, where):
    with pg_app.app_context():
        reward_id = new_reward(points_cost=100, stock=5)
        advocate_id = make.advocate(points=500).id
    real_post = redemptions.post_entry

    def failing_post(*args, **kwargs):
        if where == "after_debit":
            real_post(*args, **kwargs)
        raise RuntimeError("injected crash")

    monkeypatch.setattr(redemptions, "post_entry", failing_post)
    with pg_app.app_context():
        with pytest.raises(RuntimeError, match="injected"):
            services.redeem_reward(advocate_id, reward_id, 100)
        db.session.rollback()
        db.session.remove()
    with pg_app.app_context():
        assert db.session.get(Reward, reward_id).stock_remaining == 5
        assert count(Redemption) == 0 and debits() == 0
        assert db.session.get(Advocate, advocate_id).balance == 500


@pytest.mark.services
@pytest.mark.multi_connection
def test_api_under_contention_answers_201_or_409_never_500(pg_app, make):
    outcomes = _api_storm(pg_app, make)
    assert outcomes == Counter({201: 1, 409: 11})


@pytest.mark.services
@pytest.mark.parametrize("repeat", range(3))
@pytest.mark.multi_connection
def test_same_idempotency_key_in_flight_twice_redeems_once(pg_app, make, repeat):
    outcomes = _same_key_storm(pg_app, make)
    assert outcomes[201] >= 1 and set(outcomes) <= {201, 409}


# --- SQLite (always) ---------------------------------------------------------------------------


@pytest.mark.multi_connection
def test_sqlite_stock_one_and_ten_threads_sells_one(app, make):
    with app.app_context():
        reward_id = new_reward(points_cost=100, stock=1)
        advocates = [make.advocate(points=100).id for _ in range(10)]
    outcomes = run_parallel(app, 10, redeem(advocates, reward_id))
    assert outcomes == Counter({"redeemed": 1, "out_of_stock": 9})
    with app.app_context():
        assert db.session.get(Reward, reward_id).stock_remaining == 0
        assert count(Redemption) == 1 and debits() == 1


@pytest.mark.multi_connection
def test_sqlite_balance_100_and_two_80s_one_succeeds(app, make):
    with app.app_context():
        reward_id = new_reward(points_cost=80)
        advocate_id = make.advocate(points=100).id
    outcomes = run_parallel(app, 2, redeem([advocate_id] * 2, reward_id))
    assert outcomes == Counter({"redeemed": 1, "insufficient_points": 1})
    with app.app_context():
        assert db.session.get(Advocate, advocate_id).balance == 20 == balance_of(advocate_id)


@pytest.mark.multi_connection
def test_sqlite_per_advocate_limit_under_parallel_requests(app, make):
    with app.app_context():
        reward_id = new_reward(points_cost=10, per_advocate_limit=1)
        advocate_id = make.advocate(points=1000).id
    outcomes = run_parallel(app, 6, redeem([advocate_id] * 6, reward_id))
    assert outcomes == Counter({"redeemed": 1, "limit_reached": 5})


@pytest.mark.multi_connection
def test_sqlite_api_contention_is_never_a_500(app, make):
    outcomes = _api_storm(app, make)
    assert set(outcomes) <= {201, 409, 503} and outcomes[201] == 1
    with app.app_context():
        assert count(Redemption) == 1 and debits() == 1


def test_sqlite_injected_failure_in_the_api_rolls_back(app, make, api, monkeypatch, ctx):
    reward_id = new_reward(points_cost=100, stock=2)
    advocate = make.advocate(points=500)
    client = api(advocate.user)

    def failing_post(*args, **kwargs):
        raise RuntimeError("injected crash")

    monkeypatch.setattr(redemptions, "post_entry", failing_post)
    response = client.post(f"/rewards/{reward_id}/redemptions")
    assert response.status_code == 500 and response.json["error"]["code"] == "server_error"
    db.session.expire_all()
    assert db.session.get(Reward, reward_id).stock_remaining == 2
    assert count(Redemption) == 0 and db.session.get(Advocate, advocate.id).balance == 500


@pytest.mark.multi_connection
def test_sqlite_same_idempotency_key_in_flight_twice_redeems_once(app, make):
    outcomes = _same_key_storm(app, make)
    assert outcomes[201] >= 1 and set(outcomes) <= {201, 409, 503}


def _same_key_storm(app, make) -> Counter:
    """One advocate sends the same request with the same Idempotency-Key from 6 threads at once:
    one runs; the others replay its 201 or get 409 while it is in flight; one debit in all."""
    with app.app_context():
        reward_id = new_reward(points_cost=50)
        advocate = make.advocate(points=1000)
        advocate_id, token = advocate.id, make.token(advocate.user)
    barrier = threading.Barrier(6)
    statuses: Counter = Counter()
    bodies: list[dict] = []
    lock = threading.Lock()

    def runner() -> None:
        client = app.test_client()
        barrier.wait()
        response = client.post(
            f"/api/v1/rewards/{reward_id}/redemptions",
            json={"note": "once"},
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "same-key"},
        )
        with lock:
            statuses[response.status_code] += 1
            if response.status_code == 201:
                bodies.append(response.json)

    threads = [threading.Thread(target=runner) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(body == bodies[0] for body in bodies)
    with app.app_context():
        assert count(Redemption) == 1 and debits() == 1
        assert db.session.get(Advocate, advocate_id).balance == 950
    return statuses


def _api_storm(app, make) -> Counter:
    """12 advocates POST the last unit of stock through the HTTP API at once."""
    with app.app_context():
        reward_id = new_reward(points_cost=50, stock=1)
        tokens = [make.token(make.advocate(points=100).user) for _ in range(12)]

    def post(i: int) -> int:
        return (
            app.test_client()
            .post(
                f"/api/v1/rewards/{reward_id}/redemptions",
                json={"confirmed_cost": 50},
                headers={"Authorization": f"Bearer {tokens[i]}", "Idempotency-Key": tokens[i][:16]},
            )
            .status_code
        )

    return run_together(len(tokens), post)


@pytest.mark.services
@pytest.mark.multi_connection
def test_unlimited_reward_redemptions_do_not_wait_for_each_other(pg_app, make):
    """An open redemption of an unlimited reward must not hold the next advocate's redemption
    (a stock UPDATE's row lock would, for the whole transaction); a staff edit still waits."""
    from sqlalchemy import text

    with pg_app.app_context():
        reward_id = new_reward(points_cost=10)
        first, second = (make.advocate(points=100).id for _ in range(2))
        staff_id = make.user("manager").id
    holding = threading.Event()
    release = threading.Event()

    def hold_open_redemption() -> None:
        with pg_app.app_context():
            services.redeem_reward(first, reward_id)
            holding.set()
            release.wait(30)
            db.session.commit()
            db.session.remove()

    holder = threading.Thread(target=hold_open_redemption)
    holder.start()
    try:
        assert holding.wait(30)
        with pg_app.app_context():
            db.session.execute(text("SET LOCAL lock_timeout = '3s'"))
            services.redeem_reward(second, reward_id)  # would time out on the row lock before
            db.session.commit()
            db.session.execute(text("SET LOCAL lock_timeout = '300ms'"))
            with pytest.raises(Exception, match="lock timeout"):
                catalog.update_reward(reward_id, {"stock": 5}, staff_id)
            db.session.rollback()
            db.session.remove()
    finally:
        release.set()
        holder.join(30)
    with pg_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Redemption)) == 2
        check_rewards_invariants()
