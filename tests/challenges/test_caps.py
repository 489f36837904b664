"""Cap arithmetic at window boundaries (explicit clock), idempotent claims, releases, burnout."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from challenges import caps
from challenges.models import Ask, AskKind
from hub.errors import CapReached, ValidationFailed
from hub.extensions import db
from hub.settings import save_setting
from tests.support.threads import committing, run_together

T0 = dt.datetime(2026, 11, 3, 15, 0, tzinfo=dt.UTC)


def claim(advocate_id: int, kind: AskKind, n: int, at: dt.datetime) -> Ask:
    ask = caps.claim_ask(advocate_id, kind, "test", f"{advocate_id}-{n}", at=at)
    db.session.commit()
    return ask


def test_reference_call_window_boundary(make_advocate):
    adv = make_advocate()
    claim(adv.id, AskKind.REFERENCE_CALL, 1, T0)
    inside = caps.check_ask(adv.id, AskKind.REFERENCE_CALL, T0 + dt.timedelta(days=30) - dt.timedelta(seconds=1))
    assert not inside.allowed
    assert inside.code == "reference_cap"
    assert inside.available_at == T0 + dt.timedelta(days=30)
    assert inside.reason == "You took a reference call on Nov 3 — next one from Dec 3"
    at_boundary = caps.check_ask(adv.id, AskKind.REFERENCE_CALL, T0 + dt.timedelta(days=30))
    assert at_boundary.allowed
    # A reference call is not a medium-effort ask.
    assert caps.check_ask(adv.id, AskKind.MEDIUM, T0 + dt.timedelta(days=1)).allowed


@pytest.mark.parametrize(("kind", "days"), [(AskKind.MEDIUM, 60), (AskKind.HIGH, 90)])
def test_effort_windows(make_advocate, kind, days):
    adv = make_advocate()
    claim(adv.id, kind, 1, T0)
    blocked = caps.check_ask(adv.id, kind, T0 + dt.timedelta(days=days, seconds=-1))
    assert not blocked.allowed and blocked.available_at == T0 + dt.timedelta(days=days)
    assert f"{kind.value}-effort challenge on Nov 3" in blocked.reason
    assert caps.check_ask(adv.id, kind, T0 + dt.timedelta(days=days)).allowed


def test_claim_raises_cap_reached_with_available_at(make_advocate):
    adv = make_advocate()
    claim(adv.id, AskKind.MEDIUM, 1, T0)
    with pytest.raises(CapReached) as info:
        caps.claim_ask(adv.id, AskKind.MEDIUM, "test", "second", at=T0 + dt.timedelta(days=10))
    assert info.value.details["available_at"] == T0 + dt.timedelta(days=60)
    db.session.rollback()
    assert db.session.query(Ask).count() == 1


def test_annual_cap_counts_all_kinds_and_releases_with_the_oldest(make_advocate):
    adv = make_advocate()
    times = [T0 + dt.timedelta(days=d) for d in (0, 31, 95, 200)]
    for n, (kind, at) in enumerate(
        zip([AskKind.REFERENCE_CALL, AskKind.MEDIUM, AskKind.HIGH, AskKind.REFERENCE_CALL], times, strict=True)
    ):
        claim(adv.id, kind, n, at)
    at = T0 + dt.timedelta(days=300)
    check = caps.check_ask(adv.id, AskKind.MEDIUM, at)
    assert not check.allowed and check.code == "annual_cap"
    assert check.available_at == T0 + dt.timedelta(days=365)
    assert caps.check_ask(adv.id, AskKind.MEDIUM, T0 + dt.timedelta(days=365)).allowed


def test_owner_policy_and_zero_limits(make_advocate):
    adv = make_advocate()
    save_setting(
        "caps_policy",
        {
            "reference_calls_per_30_days": 2,
            "medium_asks_per_60_days": 0,
            "high_asks_per_90_days": 1,
            "asks_per_365_days": 12,
        },
        None,
    )
    db.session.commit()
    claim(adv.id, AskKind.REFERENCE_CALL, 1, T0)
    assert caps.check_ask(adv.id, AskKind.REFERENCE_CALL, T0 + dt.timedelta(days=1)).allowed
    medium = caps.check_ask(adv.id, AskKind.MEDIUM, T0)
    assert not medium.allowed and medium.available_at is None and medium.code == "medium_cap"


def test_personal_cap_is_rolling_quarter(make_advocate):
    adv = make_advocate()
    adv.max_asks_per_quarter = 1
    db.session.commit()
    claim(adv.id, AskKind.REFERENCE_CALL, 1, T0)
    check = caps.check_ask(adv.id, AskKind.HIGH, T0 + dt.timedelta(days=10))
    assert not check.allowed and check.code == "personal_cap"
    assert check.available_at == T0 + dt.timedelta(days=90)
    adv.max_asks_per_quarter = 0
    db.session.commit()
    assert caps.check_ask(adv.id, AskKind.HIGH, T0 + dt.timedelta(days=200)).code == "personal_cap"


def test_blackouts_block_and_push_available_at(make_advocate):
    adv = make_advocate()
    adv.preferences = {
        "blackouts": [{"start": "2026-12-01", "end": "2026-12-10"}, {"start": "bad", "end": "2026-01-01"}]
    }
    db.session.commit()
    inside = caps.check_ask(adv.id, AskKind.MEDIUM, dt.datetime(2026, 12, 10, 23, 59, tzinfo=dt.UTC))
    assert not inside.allowed and inside.code == "blackout"
    assert inside.available_at == dt.datetime(2026, 12, 11, tzinfo=dt.UTC)
    assert caps.check_ask(adv.id, AskKind.MEDIUM, dt.datetime(2026, 12, 11, tzinfo=dt.UTC)).allowed
    # A cap that would open inside a blackout opens after it instead.
    claim(adv.id, AskKind.REFERENCE_CALL, 1, dt.datetime(2026, 11, 5, tzinfo=dt.UTC))
    check = caps.check_ask(adv.id, AskKind.REFERENCE_CALL, dt.datetime(2026, 11, 20, tzinfo=dt.UTC))
    assert check.available_at == dt.datetime(2026, 12, 11, tzinfo=dt.UTC)
    assert check.reason.endswith("next one from Dec 11")


def test_references_off(make_advocate):
    adv = make_advocate()
    adv.available_for_references = False
    db.session.commit()
    check = caps.check_ask(adv.id, AskKind.REFERENCE_CALL, T0)
    assert (check.allowed, check.code, check.available_at) == (False, "references_off", None)
    assert caps.check_ask(adv.id, AskKind.MEDIUM, T0).allowed


def test_claim_is_idempotent_and_release_stops_counting(make_advocate):
    adv = make_advocate()
    first = claim(adv.id, AskKind.MEDIUM, 1, T0)
    again = caps.claim_ask(adv.id, AskKind.MEDIUM, "test", f"{adv.id}-1", at=T0 + dt.timedelta(days=1))
    assert again.id == first.id
    assert caps.asks_last_365([adv.id], at=T0 + dt.timedelta(days=1)) == {adv.id: 1}
    assert caps.release_ask("test", f"{adv.id}-1")
    assert not caps.release_ask("test", f"{adv.id}-1")
    db.session.commit()
    assert caps.check_ask(adv.id, AskKind.MEDIUM, T0 + dt.timedelta(days=1)).allowed


@pytest.mark.parametrize(
    ("n", "bucket"),
    [
        (0, "healthy"),
        (4, "healthy"),
        (5, "acceptable"),
        (6, "acceptable"),
        (7, "at_risk"),
        (10, "at_risk"),
        (11, "burning"),
    ],
)
def test_burnout_buckets(n, bucket):
    assert caps.burnout_bucket(n) == bucket


def test_advocate_facts_reach_the_api(make_advocate, make_user, api):
    adv = make_advocate()
    now = dt.datetime.now(dt.UTC)
    for n in range(5):
        db.session.add(
            Ask(
                advocate_id=adv.id,
                kind=AskKind.MEDIUM,
                source_type="import",
                source_id=str(n),
                asked_at=now - dt.timedelta(days=10 * n + 1),
            )
        )
    db.session.add(
        Ask(
            advocate_id=adv.id,
            kind=AskKind.MEDIUM,
            source_type="import",
            source_id="old",
            asked_at=now - dt.timedelta(days=400),
        )
    )
    db.session.commit()
    body = api(make_user("manager")).get(f"/advocates/{adv.id}").get_json()
    assert (body["asks_last_365"], body["burnout"]) == (5, "acceptable")


def test_validate_policy():
    assert caps.validate_policy({k: 1 for k in caps.POLICY_FIELDS}) == {k: 1 for k in caps.POLICY_FIELDS}
    with pytest.raises(ValidationFailed) as refused:
        caps.validate_policy(
            {
                "reference_calls_per_30_days": -1,
                "medium_asks_per_60_days": 1.5,
                "high_asks_per_90_days": True,
                "asks_per_365_days": 10**9,
            }
        )
    errors = refused.value.fields
    assert set(errors) == set(caps.POLICY_FIELDS)


def parallel_claims(app, advocate_id: int, n: int) -> Counter:
    def claim_one(i: int) -> str:
        caps.claim_ask(advocate_id, AskKind.MEDIUM, "race", str(i))
        return "claimed"

    return run_together(n, committing(app, claim_one, (CapReached,)))


@pytest.mark.multi_connection
def test_parallel_claims_respect_cap_on_sqlite(app, make):
    with app.app_context():
        advocate_id = make.advocate().id
    assert parallel_claims(app, advocate_id, 10) == Counter({"claimed": 1, "cap_reached": 9})


@pytest.mark.services
@pytest.mark.parametrize("repeat", range(3))
@pytest.mark.multi_connection
def test_parallel_claims_respect_cap_on_postgresql(pg_app, make, repeat):
    with pg_app.app_context():
        advocate_id = make.advocate().id
    assert parallel_claims(pg_app, advocate_id, 10) == Counter({"claimed": 1, "cap_reached": 9})
    with pg_app.app_context():
        assert caps.asks_last_365([advocate_id]) == {advocate_id: 1}


def test_check_asks_reads_asks_once_and_agrees_with_check_ask_for_every_kind(make_advocate, sql_statements):
    """The feed asks about every kind at once; the answer must be the one check_ask gives."""
    adv = make_advocate()
    claim(adv.id, AskKind.REFERENCE_CALL, 1, T0)
    claim(adv.id, AskKind.MEDIUM, 2, T0 + dt.timedelta(days=2))
    at = T0 + dt.timedelta(days=10)
    sql_statements.clear()
    together = caps.check_asks(adv.id, list(AskKind), at)
    ask_reads = [s for s in sql_statements if "FROM asks" in s]
    assert len(ask_reads) == 1
    assert together == {kind: caps.check_ask(adv.id, kind, at) for kind in AskKind}
    assert not together[AskKind.REFERENCE_CALL].allowed and not together[AskKind.MEDIUM].allowed
    assert together[AskKind.HIGH].allowed
    assert caps.check_asks(adv.id, [], at) == {}
