"""Attribution: which advocates touched which CRM opportunities, and the revenue they get credit for.

Touches (product.md §9), each unique per (opportunity, advocate, kind):
- `referral`: the opportunity's `referral_id` names an unflagged referral (that advocate sourced it);
- `reference_call`: an accepted reference request linked to the opportunity;
- `same_account`: an advocate whose company is the opportunity's account.
Only touches before the close count for a closed deal (before the day after `close_date`).

Credits, per (opportunity, advocate): *sourced* is the full amount to the referrer;
*influenced* splits the amount equally among the touching advocates in whole cents, the
remainder cents going one each to the lowest advocate ids — so a deal's influenced credits sum
to exactly its amount, and a recomputation always gives the same numbers (I9).

`tally(ids)` recomputes the given opportunities, `tally(None)` all of them, with the *same*
set-based statements (INSERT … SELECT with GROUP BY and window functions; no per-opportunity
Python loop), which is why the incremental and the full path agree. Runs are serialized:
on PostgreSQL a full tally takes an exclusive advisory lock and an incremental one a shared
lock plus the opportunities' row locks; SQLite serializes writers already.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Integer,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    text,
    true,
    union_all,
)

from challenges.references.models import (
    AttributionCredit,
    AttributionTouch,
    DealThanks,
    Money,
    Opportunity,
    OpportunityReference,
    ReferenceRequest,
    Referral,
    RequestStatus,
    TouchKind,
)
from hub.db import insert_ignore, utcnow
from hub.extensions import db
from hub.models import Advocate

LOCK_KEY = 0x766F7563  # "vouc": the advisory lock that serializes attribution tallies
CENT = Decimal("0.01")


@dataclass(frozen=True)
class TallyResult:
    opportunities: int | None
    touches: int | None
    credits: int | None


def tally(opportunity_ids: Sequence[int] | None = None, count: bool = False) -> TallyResult:
    """Recompute touches and credits for these opportunities (all when None). Idempotent and
    deterministic: the result depends only on the current opportunities, referrals, reference
    requests and advocates. Six statements whatever the scope. The caller commits."""
    ids = None if opportunity_ids is None else sorted(set(opportunity_ids))
    if ids is not None and not ids:
        return TallyResult(0, 0, 0)
    _lock(ids)
    o = Opportunity.__table__
    touches = AttributionTouch.__table__
    credits = AttributionCredit.__table__
    in_scope = (lambda column: column.in_(ids)) if ids is not None else (lambda column: true())

    db.session.execute(delete(credits).where(in_scope(credits.c.opportunity_id)))
    db.session.execute(delete(touches).where(in_scope(touches.c.opportunity_id)))
    db.session.execute(
        insert(touches).from_select(
            ["opportunity_id", "advocate_id", "kind", "touched_at"], union_all(*_touch_queries(in_scope(o.c.id)))
        )
    )
    db.session.execute(
        insert(credits).from_select(
            ["opportunity_id", "advocate_id", "currency", "is_closed", "is_won", "sourced_amount", "influenced_amount"],
            _credit_query(in_scope(touches.c.opportunity_id)),
        )
    )
    db.session.expire_all()
    if not count:
        return TallyResult(None if ids is None else len(ids), None, None)
    # rowcount of INSERT … SELECT is not reliable across drivers: count what is there.
    return TallyResult(
        None if ids is None else len(ids),
        db.session.scalar(select(func.count()).select_from(touches).where(in_scope(touches.c.opportunity_id))),
        db.session.scalar(select(func.count()).select_from(credits).where(in_scope(credits.c.opportunity_id))),
    )


def _lock(ids: list[int] | None) -> None:
    if db.session.get_bind().dialect.name != "postgresql":
        return  # SQLite: BEGIN IMMEDIATE already made this the only writer
    if ids is None:
        db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})
        return
    db.session.execute(text("SELECT pg_advisory_xact_lock_shared(:k)"), {"k": LOCK_KEY})
    db.session.execute(
        select(Opportunity.id).where(Opportunity.id.in_(ids)).order_by(Opportunity.id).with_for_update(key_share=True)
    )


def _before_close(o, moment):
    return or_(o.c.close_cutoff_at.is_(None), moment < o.c.close_cutoff_at)


def _touch_queries(scope) -> list:
    o = Opportunity.__table__
    r = Referral.__table__
    rr = ReferenceRequest.__table__
    link = OpportunityReference.__table__
    a = Advocate.__table__
    referral = (
        select(o.c.id, r.c.advocate_id, literal(TouchKind.REFERRAL.value), r.c.created_at)
        .select_from(o.join(r, r.c.id == o.c.referral_id))
        .where(scope, r.c.flag_reason.is_(None), _before_close(o, r.c.created_at))
    )
    reference = (
        select(o.c.id, rr.c.advocate_id, literal(TouchKind.REFERENCE_CALL.value), func.min(rr.c.accepted_at))
        .select_from(
            o.join(link, link.c.opportunity_external_id == o.c.external_id).join(
                rr, rr.c.id == link.c.reference_request_id
            )
        )
        .where(
            scope,
            rr.c.advocate_id.is_not(None),
            rr.c.accepted_at.is_not(None),
            rr.c.status.in_([RequestStatus.ACCEPTED.value, RequestStatus.COMPLETED.value]),
            _before_close(o, rr.c.accepted_at),
        )
        .group_by(o.c.id, rr.c.advocate_id)
    )
    same_account = (
        select(o.c.id, a.c.id, literal(TouchKind.SAME_ACCOUNT.value), a.c.joined_at)
        .select_from(o.join(a, func.lower(func.trim(a.c.company)) == o.c.account_key))
        .where(scope, o.c.account_key != "", a.c.is_erased.is_(False), _before_close(o, a.c.joined_at))
    )
    return [referral, reference, same_account]


def _credit_query(scope):
    o = Opportunity.__table__
    t = AttributionTouch.__table__
    per_advocate = (
        select(
            t.c.opportunity_id,
            t.c.advocate_id,
            func.max(case((t.c.kind == TouchKind.REFERRAL.value, 1), else_=0)).label("sourced"),
        )
        .where(scope)
        .group_by(t.c.opportunity_id, t.c.advocate_id)
        .subquery()
    )
    ranked = select(
        per_advocate,
        func.row_number()
        .over(partition_by=per_advocate.c.opportunity_id, order_by=per_advocate.c.advocate_id)
        .label("rn"),
        func.count().over(partition_by=per_advocate.c.opportunity_id).label("n"),
    ).subquery()
    cents = cast(func.round(o.c.amount * 100), BigInteger)
    share_cents = cents // cast(ranked.c.n, BigInteger) + case((ranked.c.rn <= cents % ranked.c.n, 1), else_=0)
    return select(
        ranked.c.opportunity_id,
        ranked.c.advocate_id,
        o.c.currency,
        o.c.is_closed,
        o.c.is_won,
        case((ranked.c.sourced == 1, o.c.amount), else_=cast(literal(0), Money)),
        cast(share_cents * literal_column("0.01", Money), Money),
    ).select_from(ranked.join(o, o.c.id == ranked.c.opportunity_id))


# --- thanks for won deals ----------------------------------------------------------------


def thank_for_won_deals(opportunity_ids: Sequence[int]) -> int:
    """Tell each advocate who referred or took a reference call for a won deal, once per
    (deal, advocate) — a unique key makes repeats (CRM retries, re-tallies) silent."""
    from hub.notifications import notify

    if not opportunity_ids:
        return 0
    t = AttributionTouch.__table__
    rows = db.session.execute(
        select(t.c.opportunity_id, t.c.advocate_id, Opportunity.account, Opportunity.name, Advocate.user_id)
        .join(Opportunity, Opportunity.id == t.c.opportunity_id)
        .join(Advocate, Advocate.id == t.c.advocate_id)
        .where(
            t.c.opportunity_id.in_(list(opportunity_ids)),
            Opportunity.is_won.is_(True),
            t.c.kind.in_([TouchKind.REFERRAL.value, TouchKind.REFERENCE_CALL.value]),
        )
        .distinct()
    ).all()
    sent = 0
    for opportunity_id, advocate_id, account, name, user_id in rows:
        if insert_ignore(
            db.session,
            DealThanks.__table__,
            {"opportunity_id": opportunity_id, "advocate_id": advocate_id, "created_at": utcnow()},
        ):
            notify(
                user_id,
                "deal_won",
                f"Good news: the {account} deal you helped with ({name}) closed won. Thank you!",
                "/me/impact",
            )
            sent += 1
    return sent


# --- reading the tally -------------------------------------------------------------------


def money(cents: int | float | Decimal | None) -> Decimal:
    """Whole cents (as summed by the database) to a 2-place Decimal."""
    return (Decimal(round(cents or 0)) * CENT).quantize(CENT)


def _cents(column):
    return func.round(column * 100)


@dataclass
class AdvocateAttribution:
    advocate_id: int
    currency: str
    sourced_pipeline: Decimal
    sourced_won: Decimal
    influenced_pipeline: Decimal
    influenced_won: Decimal
    deals: int
    deals_closed: int
    deals_won: int

    @property
    def win_rate(self) -> float | None:
        return round(self.deals_won / self.deals_closed, 4) if self.deals_closed else None


def per_advocate(
    advocate_ids: Sequence[int] | None = None, limit: int | None = None, offset: int = 0
) -> tuple[list[AdvocateAttribution], int]:
    """Per-advocate, per-currency totals from the credits table, largest influenced won first."""
    c = AttributionCredit.__table__
    won = c.c.is_won.is_(True)
    query = select(
        c.c.advocate_id,
        c.c.currency,
        func.sum(_cents(c.c.sourced_amount)),
        func.sum(case((won, _cents(c.c.sourced_amount)), else_=0)),
        func.sum(_cents(c.c.influenced_amount)),
        func.sum(case((won, _cents(c.c.influenced_amount)), else_=0)),
        func.count(),
        func.sum(case((c.c.is_closed.is_(True), 1), else_=0)),
        func.sum(case((won, 1), else_=0)),
    ).group_by(c.c.advocate_id, c.c.currency)
    if advocate_ids is not None:
        query = query.where(c.c.advocate_id.in_(list(advocate_ids)))
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    query = query.order_by(
        func.sum(case((won, _cents(c.c.influenced_amount)), else_=0)).desc(), c.c.advocate_id, c.c.currency
    )
    if limit is not None:
        query = query.limit(limit).offset(offset)
    rows = [
        AdvocateAttribution(adv, cur, money(sp), money(sw), money(ip), money(iw), int(n), int(cl or 0), int(w or 0))
        for adv, cur, sp, sw, ip, iw, n, cl, w in db.session.execute(query).all()
    ]
    return rows, total


@dataclass
class ProgramAttribution:
    currency: str
    sourced_pipeline: Decimal = Decimal("0.00")
    sourced_won: Decimal = Decimal("0.00")
    influenced_pipeline: Decimal = Decimal("0.00")
    influenced_won: Decimal = Decimal("0.00")
    win_rate_with_reference: float | None = None
    win_rate_without_reference: float | None = None
    median_cycle_days_with_reference: float | None = None
    median_cycle_days_without_reference: float | None = None
    deals_with_reference: int = 0
    deals_without_reference: int = 0
    other_currencies: dict[str, dict[str, Decimal]] = field(default_factory=dict)


def program(currency: str, since: dt.date | None = None, until: dt.date | None = None) -> ProgramAttribution:
    """Program totals in `currency` (other currencies reported beside, never summed into it),
    win rate and median sales cycle (won deals, days) with vs without a reference call.
    `since`/`until` filter opportunities by created date."""
    c = AttributionCredit.__table__
    o = Opportunity.__table__
    date_filter = [true()]
    if since is not None:
        date_filter.append(o.c.created_date >= since)
    if until is not None:
        date_filter.append(o.c.created_date <= until)
    won = c.c.is_won.is_(True)
    sums = db.session.execute(
        select(
            c.c.currency,
            func.sum(_cents(c.c.sourced_amount)),
            func.sum(case((won, _cents(c.c.sourced_amount)), else_=0)),
            func.sum(_cents(c.c.influenced_amount)),
            func.sum(case((won, _cents(c.c.influenced_amount)), else_=0)),
        )
        .select_from(c.join(o, o.c.id == c.c.opportunity_id))
        .where(*date_filter)
        .group_by(c.c.currency)
    ).all()
    result = ProgramAttribution(currency=currency)
    for cur, sp, sw, ip, iw in sums:
        values = {
            "sourced_pipeline": money(sp),
            "sourced_won": money(sw),
            "influenced_pipeline": money(ip),
            "influenced_won": money(iw),
        }
        if cur == currency:
            for key, value in values.items():
                setattr(result, key, value)
        else:
            result.other_currencies[cur] = values

    t = AttributionTouch.__table__
    referenced = select(t.c.opportunity_id).where(t.c.kind == TouchKind.REFERENCE_CALL.value)
    has_reference = case((o.c.id.in_(referenced), 1), else_=0)
    # Closed deals counted per (reference call?, won?, cycle days) in the database: the cycle
    # takes a few hundred distinct values, so medians come from that histogram, not from
    # 100,000s of rows fetched into Python.
    histogram = db.session.execute(
        select(has_reference, o.c.is_won, o.c.cycle_days, func.count())
        .where(o.c.is_closed.is_(True), *date_filter)
        .group_by(has_reference, o.c.is_won, o.c.cycle_days)
    ).all()
    for ref, label in ((True, "with_reference"), (False, "without_reference")):
        rows = [(bool(won), cycle, n) for r, won, cycle, n in histogram if bool(r) is ref]
        deals = sum(n for _, _, n in rows)
        setattr(result, f"deals_{label}", deals)
        if deals:
            setattr(result, f"win_rate_{label}", round(sum(n for won, _, n in rows if won) / deals, 4))
        median = _median_of_counts([(cycle, n) for won, cycle, n in rows if won and cycle is not None])
        if median is not None:
            setattr(result, f"median_cycle_days_{label}", median)
    return result


def _median_of_counts(counts: list[tuple[int, int]]) -> float | None:
    """The median of a multiset given as (value, how many) pairs (statistics.median's answer)."""
    total = sum(n for _, n in counts)
    if not total:
        return None
    ordered = sorted(counts)

    def nth(k: int) -> int:  # the k-th smallest value, 0-based
        for value, n in ordered:
            if k < n:
                return value
            k -= n
        raise IndexError(k)

    if total % 2:
        return float(nth(total // 2))
    return (nth(total // 2 - 1) + nth(total // 2)) / 2


@dataclass(frozen=True)
class HelpedDeal:
    opportunity_id: int
    account: str
    name: str
    stage: str
    is_closed: bool
    is_won: bool
    kinds: tuple[str, ...]


def deals_helped(advocate_id: int, limit: int = 100) -> list[HelpedDeal]:
    """The deals an advocate touched (for their impact page: no amounts)."""
    t = AttributionTouch.__table__
    rows = db.session.execute(
        select(
            Opportunity.id,
            Opportunity.account,
            Opportunity.name,
            Opportunity.stage,
            Opportunity.is_closed,
            Opportunity.is_won,
            t.c.kind,
        )
        .join(t, t.c.opportunity_id == Opportunity.id)
        .where(t.c.advocate_id == advocate_id)
        .order_by(Opportunity.updated_at.desc(), Opportunity.id.desc())
    ).all()
    deals: dict[int, HelpedDeal] = {}
    for opp_id, account, name, stage, is_closed, is_won, kind in rows:
        known = deals.get(opp_id)
        kinds = (*known.kinds, str(kind)) if known else (str(kind),)
        deals[opp_id] = HelpedDeal(opp_id, account, name, stage, bool(is_closed), bool(is_won), tuple(sorted(kinds)))
    return list(deals.values())[:limit]


def snapshot() -> tuple[list[tuple], list[tuple]]:
    """Every touch and credit row, ordered (used to prove full == incremental)."""
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
            AttributionCredit.currency,
            AttributionCredit.is_closed,
            AttributionCredit.is_won,
            AttributionCredit.sourced_amount,
            AttributionCredit.influenced_amount,
        ).order_by(AttributionCredit.opportunity_id, AttributionCredit.advocate_id)
    ).all()
    return [tuple(r) for r in touches], [tuple(r) for r in credits]


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
