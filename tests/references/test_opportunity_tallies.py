"""The opportunity tallies (one row per deal, kept by the attribution tally) that the program
report reads: what incremental tallies keep equals a full rebuild and a recount of each deal by
hand, and the program figures read from them equal the same figures summed from the credits and
the touches (the way the report read them before)."""

from __future__ import annotations

import datetime as dt
import random
import secrets
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import case, func, select

from challenges.crm import attribution, reports
from challenges.crm.models import AttributionCredit, AttributionTouch, Opportunity, OpportunityTally, TouchKind
from challenges.crm.reports import _cents, _median_of_counts
from challenges.references import services
from challenges.referrals import services as referrals
from hub.extensions import db
from tests.support.attribution import snapshot

DEAL = st.fixed_dictionaries(
    {
        "cents": st.integers(min_value=0, max_value=500_000),
        "currency": st.sampled_from(["USD", "EUR"]),
        "month": st.integers(min_value=1, max_value=6),
        "outcome": st.sampled_from(["open", "lost", "won"]),
        "cycle": st.integers(min_value=0, max_value=3),
        "referred": st.booleans(),
        "called": st.booleans(),
        "insiders": st.integers(min_value=0, max_value=2),
    }
)
# Deals are created in 2098 and close then: every touch made today counts (it is before the close).
YEAR = 2098


def _deal(refs, make, deal: dict) -> tuple[int, dict]:
    """One opportunity with the touches `deal` asks for; returns its id and its row by hand."""
    account = f"Acct {secrets.token_hex(4)}"
    for _ in range(deal["insiders"]):
        make.advocate(company=account)
    referral_id = None
    if deal["referred"]:
        referrer = make.advocate(company=f"Elsewhere {secrets.token_hex(4)}")
        referral_id = referrals.submit_referral(
            referrer.id,
            referrals.parse_referral(
                {
                    "name": "Lead",
                    "email": f"lead-{secrets.token_hex(4)}@prospect.example",
                    "company": "Prospect Co",
                    "consent": True,
                }
            ),
        ).id
    request_ids = []
    if deal["called"]:
        caller = make.advocate(company=f"Other {secrets.token_hex(4)}")
        rr = refs.request(make.user("sales"))
        services.assign(rr.id, caller.id, make.user("manager").id)
        services.respond(rr.id, caller.id, accept=True)
        request_ids.append(rr.id)
    created = dt.date(YEAR, deal["month"], 10)
    closed = deal["outcome"] != "open"
    amount = Decimal(deal["cents"]) / 100
    opportunity = refs.opportunity(
        account=account,
        amount=f"{amount:.2f}",
        currency=deal["currency"],
        created_date=created.isoformat(),
        is_closed=closed,
        is_won=deal["outcome"] == "won",
        close_date=(created + dt.timedelta(days=deal["cycle"])).isoformat() if closed else None,
        referral_id=referral_id,
        reference_request_ids=request_ids,
    )
    advocates = deal["insiders"] + int(deal["referred"]) + int(deal["called"])
    by_hand = {
        "created_date": created,
        "currency": deal["currency"],
        "is_closed": closed,
        "is_won": deal["outcome"] == "won",
        "cycle_days": deal["cycle"] if closed else None,
        "has_reference_call": deal["called"],
        "advocates": advocates,
        "sourced_amount": amount if deal["referred"] else Decimal("0.00"),
        "influenced_amount": amount if advocates else Decimal("0.00"),
    }
    return opportunity.id, by_hand


def _kept(ids: list[int]) -> dict[int, dict]:
    t = OpportunityTally.__table__
    rows = db.session.execute(select(t).where(t.c.opportunity_id.in_(ids))).mappings().all()
    return {row["opportunity_id"]: {k: v for k, v in row.items() if k != "opportunity_id"} for row in rows}


def _program_from_credits(currency: str, since: dt.date, until: dt.date) -> dict:
    """The program figures as the report summed them before the tallies: credits joined to their
    opportunities, the reference split from the touches."""
    c = AttributionCredit.__table__
    o = Opportunity.__table__
    t = AttributionTouch.__table__
    period = (o.c.created_date >= since, o.c.created_date <= until)
    won = c.c.is_won.is_(True)
    sums = db.session.execute(
        select(
            func.sum(_cents(c.c.sourced_amount)),
            func.sum(case((won, _cents(c.c.sourced_amount)), else_=0)),
            func.sum(_cents(c.c.influenced_amount)),
            func.sum(case((won, _cents(c.c.influenced_amount)), else_=0)),
        )
        .select_from(c.join(o, o.c.id == c.c.opportunity_id))
        .where(c.c.currency == currency, *period)
    ).one()
    referenced = select(t.c.opportunity_id).where(t.c.kind == TouchKind.REFERENCE_CALL.value)
    closed = db.session.execute(
        select(o.c.id.in_(referenced), o.c.is_won, o.c.cycle_days).where(o.c.is_closed.is_(True), *period)
    ).all()
    figures = dict(zip(("sourced_pipeline", "sourced_won", "influenced_pipeline", "influenced_won"), sums, strict=True))
    figures = {k: reports.money(v) for k, v in figures.items()}
    for ref, label in ((True, "with_reference"), (False, "without_reference")):
        deals = [(bool(w), cycle) for r, w, cycle in closed if bool(r) is ref]
        figures[f"win_rate_{label}"] = round(sum(w for w, _ in deals) / len(deals), 4) if deals else None
        cycles = [(cycle, 1) for w, cycle in deals if w and cycle is not None]
        figures[f"median_cycle_days_{label}"] = _median_of_counts(cycles)
    return figures


def _program(currency: str, since: dt.date, until: dt.date) -> dict:
    return _figures(reports.program(currency, since, until))


def _figures(got: reports.ProgramAttribution) -> dict:
    return {
        "sourced_pipeline": got.sourced_pipeline,
        "sourced_won": got.sourced_won,
        "influenced_pipeline": got.influenced_pipeline,
        "influenced_won": got.influenced_won,
        "win_rate_with_reference": got.win_rate_with_reference,
        "win_rate_without_reference": got.win_rate_without_reference,
        "median_cycle_days_with_reference": got.median_cycle_days_with_reference,
        "median_cycle_days_without_reference": got.median_cycle_days_without_reference,
    }


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(deals=st.lists(DEAL, min_size=1, max_size=4), seed=st.integers(min_value=0, max_value=2**16))
def test_kept_tallies_equal_a_full_rebuild_a_recount_by_hand_and_the_credits(refs, make, deals, seed):
    made = [_deal(refs, make, deal) for deal in deals]
    db.session.commit()
    ids = [opportunity_id for opportunity_id, _ in made]
    # Incremental tallies, one deal or two at a time in any order (as CRM events come).
    shuffled = ids[:]
    random.Random(seed).shuffle(shuffled)
    step = 1 + seed % 2
    for start in range(0, len(shuffled), step):
        attribution.tally(shuffled[start : start + step])
    # A deal re-tallied after it changed: the tally rewrites its row.
    changed_id, changed = made[0]
    opportunity = db.session.get(Opportunity, changed_id)
    opportunity.created_date = dt.date(YEAR, 5, 20)
    attribution.tally([changed_id])
    db.session.commit()
    changed["created_date"] = dt.date(YEAR, 5, 20)

    assert _kept(ids) == {opportunity_id: by_hand for opportunity_id, by_hand in made}
    kept = snapshot()
    attribution.tally(None)
    db.session.commit()
    assert snapshot() == kept

    for currency in ("USD", "EUR"):
        for since, until in ((dt.date(YEAR, 1, 1), dt.date(YEAR, 3, 31)), (dt.date(YEAR, 1, 1), dt.date(YEAR, 12, 31))):
            assert _program(currency, since, until) == _program_from_credits(currency, since, until)
        # Two periods read together (the report's period and the previous one): each its own.
        windows = [(dt.date(YEAR, 1, 1), dt.date(YEAR, 5, 19)), (dt.date(YEAR, 5, 20), dt.date(YEAR, 12, 31))]
        together = [_figures(got) for got in reports.program_in(currency, windows)]
        assert together == [_program_from_credits(currency, since, until) for since, until in windows]


def test_a_deal_without_a_tally_yet_is_in_no_figure_and_counts_once_tallied(refs, make):
    """The figures read the tallies: a deal stored but not yet tallied (the job runs after the
    CRM event commits) is not counted; its tally adds it, lost and untouched, to the deals
    without a reference."""
    opportunity = refs.opportunity(
        account=f"Acct {secrets.token_hex(4)}",
        created_date=f"{YEAR}-07-01",
        is_closed=True,
        is_won=False,
        close_date=f"{YEAR}-07-02",
    )
    quarter = (dt.date(YEAR, 7, 1), dt.date(YEAR, 9, 30))
    assert reports.program("USD", *quarter).deals_without_reference == 0
    attribution.tally([opportunity.id])
    figures = reports.program("USD", *quarter)
    assert (figures.deals_without_reference, figures.win_rate_without_reference) == (1, 0.0)
    assert figures.influenced_pipeline == Decimal("0.00")
