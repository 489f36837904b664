"""Attribution arithmetic: sourced vs influenced, equal split with a cent remainder rule,
deals without touches, lost deals, touches after the close, and program win rates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from challenges.crm import attribution, reports
from challenges.crm.models import AttributionCredit, AttributionTouch
from challenges.references import services
from challenges.referrals import services as referrals
from hub.extensions import db
from tests.support.attribution import overcredited_deals, snapshot


def _referral(advocate, email):
    referral = referrals.submit_referral(
        advocate.id, referrals.parse_referral({"name": "Lead", "email": email, "company": "Acme", "consent": True})
    )
    db.session.commit()
    return referral


def _reference_call(refs, make, advocate, external_id=None):
    rr = refs.request(make.user("sales"), opportunity_external_id=external_id)
    manager = make.user("manager")
    services.assign(rr.id, advocate.id, manager.id)
    services.respond(rr.id, advocate.id, accept=True)
    db.session.commit()
    return rr


def credits() -> dict[tuple[int, int], tuple[Decimal, Decimal]]:
    return {
        (c.opportunity_id, c.advocate_id): (c.sourced_amount, c.influenced_amount)
        for c in db.session.scalars(db.select(AttributionCredit))
    }


def test_sourced_goes_to_the_referrer_and_influenced_splits_equally(refs, make):
    referrer = make.advocate(company="Elsewhere")
    caller = make.advocate(company="Other Co")
    insider = make.advocate(company="  ACME ")  # same account, whatever the case and spacing
    referral = _referral(referrer, "lead@acme.example")
    rr = _reference_call(refs, make, caller)
    opp = refs.opportunity(
        account="Acme",
        amount="1000.00",
        referral_id=referral.id,
        reference_request_ids=[rr.id],
        is_closed=True,
        is_won=True,
        close_date="2099-01-01",
    )
    attribution.tally([opp.id])
    db.session.commit()

    kinds = {(t.advocate_id, t.kind.value) for t in db.session.scalars(db.select(AttributionTouch))}
    assert kinds == {(referrer.id, "referral"), (caller.id, "reference_call"), (insider.id, "same_account")}
    got = credits()
    first, second, third = sorted([referrer.id, caller.id, insider.id])
    assert got[(opp.id, first)][1] == Decimal("333.34")  # the remainder cent to the lowest id
    assert got[(opp.id, second)][1] == Decimal("333.33")
    assert got[(opp.id, third)][1] == Decimal("333.33")
    assert sum(v[1] for v in got.values()) == Decimal("1000.00")
    assert got[(opp.id, referrer.id)][0] == Decimal("1000.00")
    assert got[(opp.id, caller.id)][0] == got[(opp.id, insider.id)][0] == Decimal("0.00")

    rows = {r.advocate_id: r for r in reports.per_advocate()[0]}
    assert rows[referrer.id].sourced_pipeline == rows[referrer.id].sourced_won == Decimal("1000.00")
    assert rows[caller.id].influenced_won == Decimal("333.33") and rows[caller.id].sourced_won == Decimal("0.00")
    assert overcredited_deals() == 0


def test_one_advocate_with_several_touches_gets_one_share(refs, make):
    both = make.advocate(company="Acme")
    other = make.advocate(company="Acme")
    referral = _referral(both, "buyer@acme.example")
    opp = refs.opportunity(account="Acme", amount="100.00", referral_id=referral.id)
    attribution.tally([opp.id])
    got = credits()
    assert got[(opp.id, both.id)] == (Decimal("100.00"), Decimal("50.00"))
    assert got[(opp.id, other.id)] == (Decimal("0.00"), Decimal("50.00"))


def test_tiny_amounts_split_without_overcrediting(refs, make):
    advocates = [make.advocate(company="Penny Ltd") for _ in range(3)]
    opp = refs.opportunity(account="Penny Ltd", amount="0.01")
    zero = refs.opportunity(account="Penny Ltd", amount="0")
    attribution.tally(None)
    got = credits()
    shares = [got[(opp.id, a.id)][1] for a in advocates]
    assert shares == [Decimal("0.01"), Decimal("0.00"), Decimal("0.00")]
    assert [got[(zero.id, a.id)][1] for a in advocates] == [Decimal("0.00")] * 3
    assert overcredited_deals() == 0


def test_deals_without_touches_get_no_credit_and_lost_deals_are_pipeline_only(refs, make):
    insider = make.advocate(company="Lost Corp")
    untouched = refs.opportunity(
        account="Nobody Knows", amount="5000.00", is_closed=True, is_won=True, close_date="2026-03-01"
    )
    lost = refs.opportunity(account="Lost Corp", amount="800.00", is_closed=True, is_won=False, close_date="2099-03-01")
    attribution.tally(None)
    got = credits()
    assert not [k for k in got if k[0] == untouched.id]
    assert got[(lost.id, insider.id)] == (Decimal("0.00"), Decimal("800.00"))
    row = reports.per_advocate([insider.id])[0][0]
    assert (row.influenced_pipeline, row.influenced_won, row.deals_closed, row.deals_won) == (
        Decimal("800.00"),
        Decimal("0.00"),
        1,
        0,
    )
    assert row.win_rate == 0.0


def test_touches_after_the_close_do_not_count(refs, make):
    late = make.advocate(company="Closed Early")
    late.joined_at = dt.datetime(2026, 2, 2, 9, 0, tzinfo=dt.UTC)
    on_the_day = make.advocate(company="Closed Early")
    on_the_day.joined_at = dt.datetime(2026, 2, 1, 23, 59, tzinfo=dt.UTC)
    db.session.commit()
    opp = refs.opportunity(account="Closed Early", amount="10.00", is_closed=True, is_won=True, close_date="2026-02-01")
    attribution.tally([opp.id])
    assert set(credits()) == {(opp.id, on_the_day.id)}


def test_program_win_rates_and_sales_cycle_with_and_without_reference(refs, make):
    caller = make.advocate(company="Caller Co")
    rr1 = _reference_call(refs, make, caller, "ref-won")
    refs.opportunity(
        external_id="ref-won",
        account="A",
        amount="100",
        is_closed=True,
        is_won=True,
        created_date="2026-01-01",
        close_date="2099-01-31",
    )
    refs.opportunity(
        account="B", amount="100", is_closed=True, is_won=True, created_date="2026-01-01", close_date="2026-03-02"
    )
    refs.opportunity(
        account="C", amount="100", is_closed=True, is_won=False, created_date="2026-01-01", close_date="2026-02-01"
    )
    refs.opportunity(account="D", amount="100", is_closed=False)
    attribution.tally(None)
    program = reports.program("USD")
    assert rr1.opportunity_external_id == "ref-won"
    assert program.deals_with_reference == 1 and program.win_rate_with_reference == 1.0
    assert program.deals_without_reference == 2 and program.win_rate_without_reference == 0.5
    assert program.median_cycle_days_without_reference == 60.0
    assert program.influenced_won == Decimal("100.00") and program.sourced_won == Decimal("0.00")


def test_other_currencies_are_reported_beside_never_summed(refs, make):
    make.advocate(company="Euro AG")
    refs.opportunity(
        account="Euro AG", amount="250.00", currency="EUR", is_closed=True, is_won=True, close_date="2099-01-01"
    )
    attribution.tally(None)
    program = reports.program("USD")
    assert program.influenced_won == Decimal("0.00")
    assert program.other_currencies["EUR"]["influenced_won"] == Decimal("250.00")


def test_a_tally_that_fails_half_way_changes_nothing(refs, make, monkeypatch):
    make.advocate(company="Acme")
    opp = refs.opportunity(account="Acme", amount="90.00")
    attribution.tally(None)
    db.session.commit()
    before = snapshot()

    def broken(scope):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(attribution, "_credit_query", broken)
    with pytest.raises(RuntimeError):
        attribution.tally([opp.id])  # touches were already deleted and re-inserted when it failed
    db.session.rollback()
    assert snapshot() == before


@given(st.lists(st.tuples(st.integers(min_value=0, max_value=400), st.integers(min_value=1, max_value=5)), max_size=30))
def test_median_from_counts_is_the_median_of_the_expanded_values(counts):
    """The program report takes medians from a (value, count) histogram the database groups."""
    import statistics

    expanded = [value for value, n in counts for _ in range(n)]
    expected = float(statistics.median(expanded)) if expanded else None
    assert reports._median_of_counts(counts) == expected


def test_attribution_per_advocate_honours_the_period_as_the_program_totals_do(refs, make, client, login, api):
    """Issue 17: with a range set, the per-advocate table shows the deals created in it, as the
    program's figures do — not all-time figures."""
    insider = make.advocate(company="Acme", name="Ina Insider")
    january = refs.opportunity(account="Acme", amount="1000.00", created_date="2026-01-05", is_closed=True, is_won=True)
    may = refs.opportunity(account="Acme", amount="300.00", created_date="2026-05-05")
    attribution.tally([january.id, may.id])
    db.session.commit()

    [all_time], _ = reports.per_advocate([insider.id])
    assert (all_time.influenced_pipeline, all_time.influenced_won, all_time.deals) == (
        Decimal("1300.00"),
        Decimal("1000.00"),
        2,
    )
    q2, total = reports.per_advocate(since=dt.date(2026, 4, 1), until=dt.date(2026, 6, 30))
    assert total == 1
    assert (q2[0].advocate_id, q2[0].influenced_pipeline, q2[0].influenced_won, q2[0].deals) == (
        insider.id,
        Decimal("300.00"),
        Decimal("0.00"),
        1,
    )
    assert reports.program("USD", dt.date(2026, 4, 1), dt.date(2026, 6, 30)).influenced_pipeline == Decimal("300.00")
    assert reports.per_advocate(since=dt.date(2026, 7, 1), until=dt.date(2026, 9, 30)) == ([], 0)

    owner = make.user("owner")
    items = api(owner).get("/reports/attribution?from=2026-04-01&to=2026-06-30").json["items"]
    assert [(r["advocate_id"], r["influenced_pipeline"], r["deals"]) for r in items] == [(insider.id, "300.00", 1)]
    assert api(owner).get("/reports/attribution").json["items"][0]["influenced_pipeline"] == "1300.00"  # all deals
    login(client, owner)
    q1_page = client.get("/admin/reports?period=custom&from=2026-01-01&to=2026-03-31").get_data(as_text=True)
    table = q1_page[q1_page.index('data-testid="attribution-table"') :]
    assert "Ina Insider" in table and "1,000.00" in table and "300.00" not in table.split("</table>")[0]
    q3_page = client.get("/admin/reports?period=custom&from=2026-07-01&to=2026-09-30").get_data(as_text=True)
    assert 'data-testid="attribution-empty"' in q3_page
    q2_csv = client.get("/admin/reports/attribution.csv?period=custom&from=2026-04-01&to=2026-06-30").get_data(
        as_text=True
    )
    assert q2_csv.splitlines()[1:] == [f"{insider.id},Ina Insider,USD,0.00,0.00,300.00,0.00,1,0,"]
