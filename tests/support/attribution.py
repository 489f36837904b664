"""Invariant checks of the attribution tables for the tests: the rows themselves, and deals whose
influenced credits add up to more than their amount."""

from __future__ import annotations

from sqlalchemy import (
    Integer,
    cast,
    func,
    select,
)

from challenges.crm.models import (
    AttributionCredit,
    AttributionTouch,
    Opportunity,
    OpportunityTally,
)
from challenges.crm.reports import _cents
from hub.extensions import db


def snapshot() -> tuple[list[tuple], list[tuple], list[tuple]]:
    """Every touch, credit and opportunity tally row, ordered (used to prove full == incremental)."""
    touches = db.session.execute(
        select(
            AttributionTouch.opportunity_id,
            AttributionTouch.advocate_id,
            AttributionTouch.kind,
            AttributionTouch.touched_at,
        ).order_by(AttributionTouch.opportunity_id, AttributionTouch.advocate_id, AttributionTouch.kind)
    ).all()
    credits = db.session.execute(
        select(
            AttributionCredit.opportunity_id,
            AttributionCredit.advocate_id,
            AttributionCredit.created_date,
            AttributionCredit.currency,
            AttributionCredit.is_closed,
            AttributionCredit.is_won,
            AttributionCredit.sourced_amount,
            AttributionCredit.influenced_amount,
        ).order_by(AttributionCredit.opportunity_id, AttributionCredit.advocate_id)
    ).all()
    tallies = db.session.execute(select(*OpportunityTally.__table__.c).order_by(OpportunityTally.opportunity_id)).all()
    return [tuple(r) for r in touches], [tuple(r) for r in credits], [tuple(r) for r in tallies]


def overcredited_deals() -> int:
    """Deals whose influenced credits sum to more than their amount (must be 0, I9)."""
    c = AttributionCredit.__table__
    o = Opportunity.__table__
    per_deal = (
        select(c.c.opportunity_id, func.sum(_cents(c.c.influenced_amount)).label("credited"))
        .group_by(c.c.opportunity_id)
        .subquery()
    )
    return (
        db.session.scalar(
            select(func.count())
            .select_from(per_deal.join(o, o.c.id == per_deal.c.opportunity_id))
            .where(per_deal.c.credited > cast(_cents(o.c.amount), Integer))
        )
        or 0
    )
