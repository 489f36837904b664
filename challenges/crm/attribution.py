"""Attribution tallies: which advocates touched which CRM opportunities, and the revenue they get
credit for (read by challenges.crm.reports).

Touches (product.md §9), each unique per (opportunity, advocate, kind):
- `referral`: the opportunity's `referral_id` names an unflagged referral (that advocate sourced it);
- `reference_call`: an accepted reference request linked to the opportunity;
- `same_account`: an advocate at the opportunity's account (both linked to one `Account`, §13).
Only touches before the close count for a closed deal (before the day after `close_date`).

Credits, per (opportunity, advocate): *sourced* is the full amount to the referrer;
*influenced* splits the amount equally among the touching advocates in whole cents, the
remainder cents going one each to the lowest advocate ids — so a deal's influenced credits sum
to exactly its amount, and a recomputation always gives the same numbers (I9).

Beside them, one `OpportunityTally` row per opportunity (creation date, currency, outcome,
cycle, reference call, sourced and influenced amount): what the program report reads for a
period (challenges.crm.reports.program), written by the same run.

`tally(ids)` recomputes the given opportunities, `tally(None)` all of them, with the *same*
set-based statements (INSERT … SELECT with GROUP BY and window functions; no per-opportunity
Python loop), which is why the incremental and the full path agree. Runs are serialized:
on PostgreSQL a full tally takes an exclusive advisory lock and an incremental one a shared
lock plus the opportunities' row locks; SQLite serializes writers already.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    case,
    cast,
    delete,
    false,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    true,
    union_all,
)

from challenges.accounts.marks import mark_accounts, mark_all
from challenges.crm.models import (
    AttributionCredit,
    AttributionTouch,
    DealThanks,
    Opportunity,
    OpportunityReference,
    OpportunityTally,
    TouchKind,
)
from challenges.references.models import ReferenceRequest, RequestStatus
from challenges.referrals.models import Referral
from hub.db import Money, dialect_insert, insert_ignore, lock_scope, table_of, utcnow
from hub.extensions import db
from hub.models import Advocate

LOCK_KEY = 0x766F7563  # "vouc": the advisory lock that serializes attribution tallies


@dataclass(frozen=True)
class TallyResult:
    opportunities: int | None
    touches: int | None
    credits: int | None


def tally(opportunity_ids: Sequence[int] | None = None, count: bool = False) -> TallyResult:
    """Recompute touches and credits for these opportunities (all when None). Idempotent and
    deterministic: the result depends only on the current opportunities, referrals, reference
    requests and advocates. Eight statements whatever the scope (with the locks and the accounts'
    marks). The caller commits."""
    ids = None if opportunity_ids is None else sorted(set(opportunity_ids))
    if ids is not None and not ids:
        return TallyResult(0, 0, 0)
    _lock(ids)
    o = Opportunity.__table__
    touches = table_of(AttributionTouch)
    credits = table_of(AttributionCredit)
    tallies = table_of(OpportunityTally)
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
            [
                "opportunity_id",
                "advocate_id",
                "created_date",
                "currency",
                "is_closed",
                "is_won",
                "sourced_amount",
                "influenced_amount",
            ],
            _credit_query(in_scope(touches.c.opportunity_id)),
        )
    )
    # An upsert, not a delete and an insert: every opportunity in scope gets its row anew, one
    # statement fewer per tally (the incremental path runs one per CRM event).
    columns = [
        "opportunity_id",
        "created_date",
        "currency",
        "is_closed",
        "is_won",
        "cycle_days",
        "has_reference_call",
        "advocates",
        "sourced_amount",
        "influenced_amount",
    ]
    write_tallies = dialect_insert(db.session, tallies).from_select(
        columns, _opportunity_tally_query(in_scope(o.c.id), in_scope(touches.c.opportunity_id))
    )
    db.session.execute(
        write_tallies.on_conflict_do_update(
            index_elements=["opportunity_id"],
            set_={name: write_tallies.excluded[name] for name in columns if name != "opportunity_id"},
        )
    )
    if ids is None:
        mark_all()
    else:  # won revenue of these opportunities' accounts
        mark_accounts(db.session.scalars(select(o.c.account_id).where(o.c.id.in_(ids)).distinct()))
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
    lock_scope(LOCK_KEY, Opportunity, ids)


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
        .select_from(o.join(a, a.c.account_id == o.c.account_id))
        .where(scope, a.c.is_erased.is_(False), _before_close(o, a.c.joined_at))
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
        o.c.created_date,
        o.c.currency,
        o.c.is_closed,
        o.c.is_won,
        case((ranked.c.sourced == 1, o.c.amount), else_=cast(literal(0), Money)),
        cast(share_cents * literal_column("0.01", Money), Money),
    ).select_from(ranked.join(o, o.c.id == ranked.c.opportunity_id))


def _opportunity_tally_query(scope, touch_scope):
    """One row per opportunity in scope, from the touches just written: sourced = the amount
    when a referral touched it (only the referrer's credit is sourced, and a deal has one
    referral), influenced = the amount when any advocate touched it (its influenced credits are
    the amount split to the cent, so they sum to it exactly)."""
    o = Opportunity.__table__
    t = AttributionTouch.__table__
    touched = (
        select(
            t.c.opportunity_id,
            func.max(case((t.c.kind == TouchKind.REFERRAL.value, 1), else_=0)).label("referred"),
            func.max(case((t.c.kind == TouchKind.REFERENCE_CALL.value, 1), else_=0)).label("referenced"),
            func.count(t.c.advocate_id.distinct()).label("advocates"),
        )
        .where(touch_scope)
        .group_by(t.c.opportunity_id)
        .subquery()
    )
    nothing = cast(literal(0), Money)
    return (
        select(
            o.c.id,
            o.c.created_date,
            o.c.currency,
            o.c.is_closed,
            o.c.is_won,
            o.c.cycle_days,
            case((touched.c.referenced == 1, true()), else_=false()),
            func.coalesce(touched.c.advocates, 0),
            case((touched.c.referred == 1, o.c.amount), else_=nothing),
            case((touched.c.opportunity_id.is_not(None), o.c.amount), else_=nothing),
        )
        .select_from(o.outerjoin(touched, touched.c.opportunity_id == o.c.id))
        .where(scope)
    )


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
