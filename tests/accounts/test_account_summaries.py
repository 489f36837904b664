"""The per-account summary rows (challenges.accounts.summaries) that the coverage list reads:
after any sequence of changes through the services — advocates joining, moving, leaving caps'
reach, asks claimed and released, deals won and lost, approvals, merges, deactivations — every
row equals what `queries.account_rows` computes from scratch, and the API and the console show
the same coverage list. Readiness that changes with time alone needs the daily refresh."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections import Counter

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from challenges import caps
from challenges import services as challenge_services
from challenges.accounts import queries, services, summaries
from challenges.accounts.models import AccountSummary
from challenges.cli import challenges_cli
from challenges.crm import opportunities
from challenges.crm.attribution import tally
from challenges.services import preferences
from hub import people
from hub.db import utcnow
from hub.errors import InvalidState
from hub.extensions import db
from hub.models import Account, Advocate
from tests.support.challenges import create_challenge
from tests.support.threads import run_together

COMPANIES = ("Alpha", "Bravo Inc", "Charlie Ltd.")

advocate_index = st.integers(0, 40)
company = st.integers(0, len(COMPANIES) - 1)
OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("join"), company, st.booleans()),
        st.tuples(st.just("availability"), advocate_index),
        st.tuples(st.just("blackout"), advocate_index, st.booleans()),
        st.tuples(st.just("ask"), advocate_index, st.sampled_from([3, 40, 400])),
        st.tuples(st.just("release"), advocate_index),
        st.tuples(st.just("deal"), company, st.sampled_from(["open", "won", "lost"])),
        st.tuples(st.just("approve"), advocate_index),
        st.tuples(st.just("move"), advocate_index, company),
        st.tuples(st.just("deactivate"), advocate_index),
        st.tuples(st.just("merge"), company, company),
    ),
    min_size=1,
    max_size=10,
)


def _stored() -> dict[int, tuple]:
    rows = db.session.scalars(select(AccountSummary)).all()
    return {
        r.account_id: (
            r.advocates,
            r.reference_ready,
            r.open_pipeline,
            r.sourced_won,
            r.influenced_won,
            r.last_act_at,
            r.currency,
            r.is_gap,
            r.sort_name,
        )
        for r in rows
    }


def _from_scratch() -> dict[int, tuple]:
    return {
        r.id: (
            r.advocates,
            r.reference_ready,
            r.open_pipeline,
            r.sourced_won,
            r.influenced_won,
            r.last_act_at,
            r.currency,
            r.is_gap,
            r.name.casefold(),
        )
        for r in queries.account_rows()
    }


def _deal(name: str, outcome: str) -> None:
    closed = outcome != "open"
    data = {
        "external_id": f"opp-{secrets.token_hex(5)}",
        "name": "Deal",
        "account": name,
        "amount": f"{secrets.randbelow(90000) + 100}.{secrets.randbelow(100):02d}",
        "currency": "USD",
        "stage": {"open": "Discovery", "won": "Closed Won", "lost": "Closed Lost"}[outcome],
        "created_date": "2026-01-05",
        "is_closed": closed,
        "is_won": outcome == "won",
    } | ({"close_date": (utcnow().date() + dt.timedelta(days=1)).isoformat()} if closed else {})
    result = opportunities.upsert_opportunity(opportunities.parse_opportunity(data), tally=False)
    tally([result.opportunity.id])  # what the tally job does after commit, in its own transaction


def _apply(step: tuple, make, manager_id: int, advocates: list[int], asks: list[tuple[int, str]]) -> None:
    kind, *args = step
    pick = advocates[args[0] % len(advocates)] if advocates and kind not in ("join", "deal", "merge") else None
    now = utcnow()
    if kind == "join":
        advocate = make.advocate(company=COMPANIES[args[0]])
        advocate.available_for_references = args[1]
        advocates.append(advocate.id)
    elif pick is None and kind not in ("deal", "merge"):
        return
    elif kind == "availability":
        advocate = db.session.get_one(Advocate, pick)
        advocate.available_for_references = not advocate.available_for_references
    elif kind == "blackout":
        today = now.date()
        start = today - dt.timedelta(days=1) if args[1] else today + dt.timedelta(days=30)
        preferences.add_blackout(pick, start, start + dt.timedelta(days=5), today=today)
    elif kind == "ask":
        source = secrets.token_hex(4)
        caps.claim_ask(pick, "reference_call", "test", source, at=now - dt.timedelta(days=args[1]), handed_over=True)
        asks.append((pick, source))
    elif kind == "release":
        mine = [source for advocate_id, source in asks if advocate_id == pick]
        if mine:
            caps.release_ask("test", mine[-1])
    elif kind == "deal":
        _deal(COMPANIES[args[0]], args[1])
    elif kind == "approve":
        if caps.current_break(db.session.get_one(Advocate, pick)) is not None:
            return  # on a break an advocate takes on no challenge (one break rule, issue 19)
        challenge = create_challenge(manager_id, title=f"Act {secrets.token_hex(3)}")
        completion = challenge_services.submit_completion(challenge.id, pick, {"evidence_text": "Done"})
        db.session.commit()
        challenge_services.approve_completion(completion.id, manager_id)
    elif kind == "move":
        advocate = db.session.get_one(Advocate, pick)
        advocate.company = COMPANIES[args[1]]
        from hub.account_links import link_advocate

        link_advocate(advocate)
    elif kind == "deactivate":
        advocate = db.session.get_one(Advocate, pick)
        people.update_user(advocate.user_id, manager_id, is_active=False)
    elif kind == "merge":
        ids = []
        for name in (COMPANIES[args[0]], COMPANIES[args[1]]):
            account = db.session.scalar(select(Account).where(Account.name == name))
            ids.append(account.merged_into_id or account.id if account is not None else None)
        if None in ids or ids[0] == ids[1]:
            return
        try:
            services.merge(ids[0], ids[1], manager_id)
        except InvalidState:  # merged through a chain already
            db.session.rollback()
            return
    db.session.commit()


@settings(
    max_examples=25,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(steps=OPERATIONS)
def test_summaries_equal_a_computation_from_scratch_after_any_changes(api, make, steps):
    manager = make.user("manager")
    advocates: list[int] = []
    asks: list[tuple[int, str]] = []
    for step in steps:
        _apply(step, make, manager.id, advocates, asks)
        assert _stored() == _from_scratch(), step

    gap_rows, total = queries.account_page(gap=True, limit=100)
    expected = [r for r in queries.account_rows(gap=True)]
    assert [(r.id, r.advocates, r.reference_ready, r.open_pipeline) for r in gap_rows] == [
        (r.id, r.advocates, r.reference_ready, r.open_pipeline) for r in expected
    ]
    assert total == len(expected)
    listed = api(manager).get("/accounts?coverage=gap&per_page=100").json
    assert [item["id"] for item in listed["items"]] == [r.id for r in expected]
    assert listed["total"] == total


def test_the_console_lists_the_gaps_the_api_lists_in_the_same_order(app, api, make, as_role):
    for name in ("Zulu", "yankee", "Xray"):
        make.advocate(company=name)
    _deal("Xray", "open")
    _deal("Whiskey", "open")
    db.session.commit()
    owner = as_role("owner")
    api_names = [i["name"] for i in api(owner.user).get("/accounts?coverage=gap").json["items"]]
    page = owner.get("/admin/accounts?coverage=gap").get_data(as_text=True)
    shown = [n for n in re.findall(r">\s*(Zulu|yankee|Xray|Whiskey)\s*<", page)]
    # deals first (most open pipeline first), then by name case-insensitively
    assert api_names[-2:] == ["yankee", "Zulu"] and set(api_names[:2]) == {"Xray", "Whiskey"}
    assert list(dict.fromkeys(shown)) == api_names


def test_readiness_that_changes_with_time_needs_the_daily_refresh(app, ctx, make):
    ada = make.advocate(company="Timely")
    make.advocate(company="Timely")
    now = utcnow()
    # a reference call 29 days ago: capped by "one per 30 days" until tomorrow
    caps.claim_ask(ada.id, "reference_call", "test", "recent", at=now - dt.timedelta(days=29), handed_over=True)
    db.session.commit()
    row = db.session.get(AccountSummary, ada.account_id)
    assert (row.advocates, row.reference_ready, row.is_gap) == (2, 1, True)

    summaries.rebuild_all(at=now + dt.timedelta(days=2))  # what the daily job finds two days later
    db.session.commit()
    db.session.expire_all()
    row = db.session.get(AccountSummary, ada.account_id)
    assert (row.reference_ready, row.is_gap) == (2, False)
    result = app.test_cli_runner().invoke(challenges_cli, ["refresh-account-summaries"])
    assert result.exit_code == 0 and "account summary row(s) written" in result.output
    db.session.expire_all()
    assert db.session.get(AccountSummary, ada.account_id).reference_ready == 1  # today again: capped


def test_a_merged_account_loses_its_row_and_the_survivor_counts_everyone(ctx, make):
    manager = make.user("manager")
    one, two = make.advocate(company="Merge Me"), make.advocate(company="Survivor")
    merged_id, survivor_id = one.account_id, two.account_id
    services.merge(merged_id, survivor_id, manager.id)
    db.session.commit()
    assert db.session.get(AccountSummary, merged_id) is None
    row = db.session.get(AccountSummary, survivor_id)
    assert (row.advocates, row.reference_ready, row.is_gap) == (2, 2, False)


@pytest.mark.services
@pytest.mark.multi_connection  # two threads commit on their own connections
def test_advocates_joining_one_account_at_once_are_all_counted_on_postgres(pg_app, make):
    """Each refresh locks the account row before it reads, so the second transaction's summary
    is computed after the first committed and counts both newcomers."""
    with pg_app.app_context():
        account_id = make.advocate(company="Racy Co").account_id
        db.session.remove()

    def join(_: int) -> str:
        with pg_app.app_context():
            try:
                make.advocate(company="Racy Co")
                return "ok"
            finally:
                db.session.remove()

    for _ in range(3):
        assert run_together(2, join) == Counter({"ok": 2})
    with pg_app.app_context():
        row = db.session.get(AccountSummary, account_id)
        assert (row.advocates, row.reference_ready, row.is_gap) == (7, 7, False)
        assert _stored() == _from_scratch()
        db.session.remove()
