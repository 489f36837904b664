"""The attribution day totals (challenges.crm.attribution.refresh_day_totals): kept by each
incremental tally, they equal a full rebuild from the rows, and the program figures read from
them equal the credits and closed deals counted directly in the test."""

from __future__ import annotations

import datetime as dt
import itertools
import statistics
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from challenges.crm import attribution, reports
from challenges.crm.models import (
    AttributionCredit,
    AttributionDayTotal,
    AttributionTouch,
    DealDayCount,
    Opportunity,
    TouchKind,
)
from challenges.references import services
from hub.extensions import db

DAYS = [dt.date(2026, 1, 1) + dt.timedelta(days=d) for d in (0, 1, 30, 31, 95)]
_run = itertools.count(1)

EVENTS = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=3),  # which opportunity of the example
        st.integers(min_value=0, max_value=len(DAYS) - 1),  # its creation day
        st.sampled_from(["USD", "EUR"]),
        st.integers(min_value=1, max_value=99_999_99),  # amount in cents
        st.sampled_from(["open", "lost", "won"]),
        # days from creation to close: touches made today count only for deals closing later
        st.one_of(st.integers(min_value=0, max_value=40), st.integers(min_value=30_000, max_value=30_040)),
        st.sampled_from(["Acme", "Globex"]),  # the account: who touches it
        st.booleans(),  # tallied now (else only by the last tally)
    ),
    min_size=1,
    max_size=10,
)


def kept_rows() -> tuple[list[tuple], list[tuple]]:
    sums = db.session.execute(
        select(AttributionDayTotal).order_by(AttributionDayTotal.day, AttributionDayTotal.currency)
    )
    deals = db.session.execute(
        select(DealDayCount).order_by(
            DealDayCount.day, DealDayCount.has_reference, DealDayCount.is_won, DealDayCount.cycle_days
        )
    )
    return (
        [
            (r.day, r.currency, r.sourced_cents, r.sourced_won_cents, r.influenced_cents, r.influenced_won_cents)
            for (r,) in sums
        ],
        [(r.day, r.has_reference, r.is_won, r.cycle_days, r.deals) for (r,) in deals],
    )


def counted_directly(since: dt.date, until: dt.date) -> dict:
    """The program figures from the credits and opportunities themselves, in Python."""
    cents: dict[str, list[int]] = {}
    for credit, opp in db.session.execute(
        select(AttributionCredit, Opportunity).join(Opportunity, Opportunity.id == AttributionCredit.opportunity_id)
    ).all():
        if since <= opp.created_date <= until:
            totals = cents.setdefault(credit.currency, [0, 0, 0, 0])
            sourced, influenced = int(credit.sourced_amount * 100), int(credit.influenced_amount * 100)
            totals[0] += sourced
            totals[1] += sourced if credit.is_won else 0
            totals[2] += influenced
            totals[3] += influenced if credit.is_won else 0
    referenced = set(
        db.session.scalars(
            select(AttributionTouch.opportunity_id).where(AttributionTouch.kind == TouchKind.REFERENCE_CALL)
        )
    )
    closed = [
        o
        for o in db.session.scalars(select(Opportunity).where(Opportunity.is_closed.is_(True)))
        if since <= o.created_date <= until
    ]
    figures: dict = {"cents": cents}
    for label, with_reference in (("with_reference", True), ("without_reference", False)):
        deals = [o for o in closed if (o.id in referenced) is with_reference]
        won = [o for o in deals if o.is_won]
        cycles = [o.cycle_days for o in won if o.cycle_days is not None]
        figures[label] = (
            len(deals),
            round(len(won) / len(deals), 4) if deals else None,
            float(statistics.median(cycles)) if cycles else None,
        )
    return figures


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=EVENTS, window=st.tuples(st.integers(0, len(DAYS) - 1), st.integers(0, len(DAYS) - 1)))
def test_kept_day_totals_equal_a_full_rebuild_and_the_rows(refs, make, events, window):
    run = next(_run)
    # Acme has an advocate (a same-account touch) and a reference call on opportunity 0;
    # Globex has nobody, so its deals are counted without credits.
    make.advocate(company="Acme")
    caller = make.advocate(company="Caller Co")
    rr = refs.request(make.user("sales"), opportunity_external_id=f"hyp-{run}-0")
    services.assign(rr.id, caller.id, make.user("manager").id)
    services.respond(rr.id, caller.id, accept=True)
    db.session.commit()
    ids: dict[int, int] = {}
    for slot, day, currency, amount, outcome, cycle, account, tally_now in events:
        created = DAYS[day]
        opp = refs.opportunity(
            external_id=f"hyp-{run}-{slot}",
            account=account,
            amount=f"{Decimal(amount) / 100:.2f}",
            currency=currency,
            is_closed=outcome != "open",
            is_won=outcome == "won",
            created_date=created.isoformat(),
            close_date=(created + dt.timedelta(days=cycle)).isoformat() if outcome != "open" else None,
        )
        ids[slot] = opp.id
        if tally_now:
            attribution.tally([opp.id])
            db.session.commit()
    attribution.tally(sorted(ids.values()))  # every event's tally has run by now
    db.session.commit()
    kept = kept_rows()

    attribution.tally(None)  # the full tally rebuilds every day from the rows
    db.session.commit()
    assert kept_rows() == kept

    since, until = DAYS[min(window)], DAYS[max(window)]
    expected = counted_directly(since, until)
    program = reports.program("USD", since, until)
    usd = expected["cents"].get("USD", [0, 0, 0, 0])
    assert [program.sourced_pipeline, program.sourced_won, program.influenced_pipeline, program.influenced_won] == [
        reports.money(c) for c in usd
    ]
    assert {cur: [reports.money(c) for c in v] for cur, v in expected["cents"].items() if cur != "USD"} == {
        cur: [v["sourced_pipeline"], v["sourced_won"], v["influenced_pipeline"], v["influenced_won"]]
        for cur, v in program.other_currencies.items()
    }
    for label in ("with_reference", "without_reference"):
        assert (
            getattr(program, f"deals_{label}"),
            getattr(program, f"win_rate_{label}"),
            getattr(program, f"median_cycle_days_{label}"),
        ) == expected[label]


def test_a_deal_moved_to_another_day_leaves_its_old_day(refs, make):
    make.advocate(company="Acme")
    opp = refs.opportunity(external_id="moving", account="Acme", amount="100.00", created_date="2026-01-05")
    attribution.tally([opp.id])
    db.session.commit()
    refs.opportunity(external_id="moving", account="Acme", amount="100.00", created_date="2026-02-07")
    attribution.tally([opp.id])
    db.session.commit()
    days = {day: cents for day, _, _, _, cents, _ in kept_rows()[0]}
    assert days == {dt.date(2026, 2, 7): 10000}  # January's row went with it
    assert reports.program("USD", dt.date(2026, 1, 1), dt.date(2026, 1, 31)).influenced_pipeline == Decimal("0.00")
    assert reports.program("USD", dt.date(2026, 2, 1), dt.date(2026, 2, 28)).influenced_pipeline == Decimal("100.00")
