"""What the account pages and `/accounts` show (product.md §13): per account its advocates,
how many are reference-ready, open pipeline, sourced and influenced won revenue and the last
act; coverage gaps (accounts and segments short of reference-ready advocates) with the next
step for each.

Money is summed in the program currency (challenges.crm.reports.program_cost); deals in other
currencies are left out of these sums, never converted. An *act* is an approved completion.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import func, or_, select

from challenges import caps
from challenges.accounts.models import AccountSummary
from challenges.crm.models import AttributionCredit, Opportunity
from challenges.crm.reports import program_cost
from challenges.models import Ask, Completion, CompletionStatus
from hub.db import utcnow
from hub.extensions import db
from hub.models import Account, Advocate, User

MIN_READY_PER_ACCOUNT = 2  # §13: fewer is a gap
MIN_READY_PER_SEGMENT = 3


@dataclass
class AccountRow:
    id: int
    name: str
    domain: str | None
    advocates: int = 0
    reference_ready: int = 0
    open_pipeline: Decimal = Decimal(0)
    influenced_won: Decimal = Decimal(0)
    sourced_won: Decimal = Decimal(0)
    last_act_at: dt.datetime | None = None
    currency: str = "USD"

    @property
    def is_gap(self) -> bool:
        return (self.open_pipeline > 0 or self.advocates > 0) and self.reference_ready < MIN_READY_PER_ACCOUNT

    @property
    def next_step(self) -> str:
        """What to do about a gap, in words for the coverage list."""
        if self.advocates == 0:
            return "No advocate yet: nominate a contact or invite a qualified candidate from this account."
        missing = MIN_READY_PER_ACCOUNT - self.reference_ready
        if self.reference_ready < self.advocates:
            return (
                f"Needs {missing} more reference-ready advocate{'s' if missing != 1 else ''}: some are capped, "
                "in a blackout or not taking calls — recruit another champion here."
            )
        return f"Recruit {missing} more advocate{'s' if missing != 1 else ''} at this account."


@dataclass
class AdvocateLine:
    id: int
    name: str
    title: str | None
    tier: str
    persona: str | None
    reference_ready: bool


@dataclass
class AccountDetail:
    row: AccountRow
    advocates: list[AdvocateLine] = field(default_factory=list)
    opportunities: list[Opportunity] = field(default_factory=list)
    acts_last_365: int = 0


@dataclass(frozen=True)
class SegmentGap:
    industry: str
    company_size: str
    region: str
    reference_ready: int
    advocates: int

    @property
    def next_step(self) -> str:
        missing = MIN_READY_PER_SEGMENT - self.reference_ready
        return f"Find {missing} more reference-ready advocate{'s' if missing != 1 else ''} in this segment."


def _active_advocates():
    return (
        select(Advocate)
        .join(User, User.id == Advocate.user_id)
        .where(Advocate.is_erased.is_(False), User.is_active_user.is_(True))
    )


def _ready_by_account(
    account_ids: list[int] | None, at: dt.datetime
) -> tuple[dict[int | None, int], dict[int | None, int]]:
    """(active advocates, reference-ready advocates) per account.

    Readiness is caps' rule (caps.reference_ready); only advocates it could refuse for more than
    `available_for_references` — those with an active ask in the last 365 days or with blackout
    dates — are read and evaluated one by one. Everyone else available is ready, counted in SQL.
    """
    scope = Advocate.account_id.in_(account_ids) if account_ids is not None else Advocate.account_id.is_not(None)
    recent_ask = (
        select(Ask.id)
        .where(
            Ask.advocate_id == Advocate.id,
            Ask.cancelled_at.is_(None),
            Ask.asked_at > at - dt.timedelta(days=caps.LOOKBACK_DAYS),
        )
        .exists()
    )
    needs_rules = or_(recent_ask, Advocate.preferences["blackouts"].is_not(None))
    # one pass over the active advocates counts all three; the advocates caps must judge one by
    # one are read only when there are any (each further scan cost as much as the first)
    available = Advocate.available_for_references.is_(True)
    counts = db.session.execute(
        select(
            Advocate.account_id,
            func.count(),
            func.count().filter(available, ~needs_rules),
            func.count().filter(available, needs_rules),
        )
        .join(User, User.id == Advocate.user_id)
        .where(scope, Advocate.is_erased.is_(False), User.is_active_user.is_(True))
        .group_by(Advocate.account_id)
    ).all()
    totals = {account_id: total for account_id, total, _, _ in counts}
    ready = {account_id: n for account_id, _, n, _ in counts if n}
    to_check = any(n for _, _, _, n in counts)
    checked = list(db.session.scalars(_active_advocates().where(scope, available, needs_rules))) if to_check else []
    passed = caps.reference_ready(checked, at)
    for advocate in checked:
        if advocate.id in passed:
            ready[advocate.account_id] = ready.get(advocate.account_id, 0) + 1
    return totals, ready


def _summary_rows(
    q: str | None, account_ids: list[int] | None, at: dt.datetime
) -> tuple[dict[int, AccountRow], list[int] | None]:
    """Live accounts (name or domain containing `q`) with what decides a gap and the order:
    open pipeline, active and reference-ready advocates. Also the id scope for later sums
    (None: every account)."""
    _, currency = program_cost()
    query = select(Account.id, Account.name, Account.domain).where(Account.merged_into_id.is_(None))
    if q:
        like = f"%{q.strip().lower()}%"
        query = query.where(
            func.lower(Account.name).like(like) | func.lower(func.coalesce(Account.domain, "")).like(like)
        )
    if account_ids is not None:
        query = query.where(Account.id.in_(account_ids))
    rows = {r.id: AccountRow(r.id, r.name, r.domain, currency=currency) for r in db.session.execute(query)}
    if not rows:
        return rows, []
    scope = None if account_ids is None and not q else list(rows)
    for account_id, amount in db.session.execute(
        select(Opportunity.account_id, func.sum(Opportunity.amount))
        .where(
            _in_scope(Opportunity.account_id, scope), Opportunity.is_closed.is_(False), Opportunity.currency == currency
        )
        .group_by(Opportunity.account_id)
    ):
        if account_id in rows:
            rows[account_id].open_pipeline = Decimal(amount or 0)
    totals, ready = _ready_by_account(scope, at)
    for account_id, row in rows.items():
        row.advocates = totals.get(account_id, 0)
        row.reference_ready = ready.get(account_id, 0)
    return rows, scope


def _in_scope(column, scope: list[int] | None):
    return column.in_(scope) if scope is not None else column.is_not(None)


def _add_revenue_and_last_act(rows: list[AccountRow], every_account: bool = False) -> None:
    """Fill sourced and influenced won revenue and the last act of these rows only (the sums
    over every credit and completion are what made the whole list slow). `every_account`: the
    rows are all live accounts, so the sums need no list of ids (25,000 bound ids cost more
    than the filter saves)."""
    if not rows:
        return
    by_id = {r.id: r for r in rows}
    scope = None if every_account else list(by_id)
    currency = rows[0].currency
    credit = AttributionCredit
    for account_id, sourced, influenced in db.session.execute(
        select(Opportunity.account_id, func.sum(credit.sourced_amount), func.sum(credit.influenced_amount))
        .join(Opportunity, Opportunity.id == credit.opportunity_id)
        .where(_in_scope(Opportunity.account_id, scope), credit.is_won.is_(True), credit.currency == currency)
        .group_by(Opportunity.account_id)
    ):
        if account_id in by_id:
            by_id[account_id].sourced_won = Decimal(sourced or 0)
            by_id[account_id].influenced_won = Decimal(influenced or 0)
    for account_id, last in db.session.execute(
        select(Advocate.account_id, func.max(Completion.decided_at))
        .join(Completion, Completion.advocate_id == Advocate.id)
        .where(_in_scope(Advocate.account_id, scope), Completion.status == CompletionStatus.APPROVED)
        .group_by(Advocate.account_id)
    ):
        if account_id in by_id:
            by_id[account_id].last_act_at = last


def _ordered(rows: dict[int, AccountRow], gap: bool) -> list[AccountRow]:
    result = [r for r in rows.values() if r.is_gap] if gap else list(rows.values())
    return sorted(result, key=lambda r: (-r.open_pipeline, r.name.casefold(), r.id))


def account_rows(
    q: str | None = None, *, gap: bool = False, account_ids: list[int] | None = None, at: dt.datetime | None = None
) -> list[AccountRow]:
    """Live accounts (name or domain containing `q`), best covered pipeline first: by open
    pipeline, then name. `gap` keeps the coverage gaps only. Every row complete (revenue and
    last act included); lists shown a page at a time use `account_page`."""
    rows, scope = _summary_rows(q, account_ids, at or utcnow())
    result = _ordered(rows, gap)
    _add_revenue_and_last_act(result, every_account=scope is None and not gap)
    return result


def account_page(
    q: str | None = None, *, gap: bool = False, offset: int = 0, limit: int = 50, at: dt.datetime | None = None
) -> tuple[list[AccountRow], int]:
    """One page of `account_rows(q, gap=gap)` — the same rows in the same order — and the
    number of rows in all. The coverage list (`gap`, no `q`, no `at`) is read from the summary
    rows (challenges.accounts.summaries: one index range of one table); other lists are
    computed, with won revenue and the last act summed for this page's accounts alone."""
    if gap and not q and at is None:
        return _gap_page(offset, limit)
    rows, _ = _summary_rows(q, None, at or utcnow())
    ordered = _ordered(rows, gap)
    page = ordered[offset : offset + limit]
    _add_revenue_and_last_act(page)
    return page, len(ordered)


def _gap_page(offset: int, limit: int) -> tuple[list[AccountRow], int]:
    s = AccountSummary
    total = db.session.scalar(select(func.count()).select_from(s).where(s.is_gap)) or 0
    found = db.session.execute(
        select(s, Account.name, Account.domain)
        .join(Account, Account.id == s.account_id)
        .where(s.is_gap)
        .order_by(s.open_pipeline.desc(), s.sort_name, s.account_id)
        .offset(offset)
        .limit(limit)
    ).all()
    rows = [
        AccountRow(
            row.account_id,
            name,
            domain,
            advocates=row.advocates,
            reference_ready=row.reference_ready,
            open_pipeline=row.open_pipeline,
            influenced_won=row.influenced_won,
            sourced_won=row.sourced_won,
            last_act_at=row.last_act_at,
            currency=row.currency,
        )
        for row, name, domain in found
    ]
    return rows, total


def account_detail(account_id: int, at: dt.datetime | None = None) -> AccountDetail | None:
    """One live account with its advocates (persona, tier, reference-ready), opportunities
    (newest first) and approved acts in the 365 days before `at`; None when unknown or merged."""
    at = at or utcnow()
    rows = account_rows(account_ids=[account_id], at=at)
    if not rows:
        return None
    detail = AccountDetail(rows[0])
    advocates = list(
        db.session.scalars(_active_advocates().where(Advocate.account_id == account_id).order_by(Advocate.id))
    )
    ready = caps.reference_ready(advocates, at)
    detail.advocates = [
        AdvocateLine(a.id, a.user.name, a.title, a.tier.value, a.persona.value if a.persona else None, a.id in ready)
        for a in advocates
    ]
    detail.opportunities = list(
        db.session.scalars(
            select(Opportunity)
            .where(Opportunity.account_id == account_id)
            .order_by(Opportunity.created_date.desc(), Opportunity.id.desc())
        )
    )
    detail.acts_last_365 = (
        db.session.scalar(
            select(func.count())
            .select_from(Completion)
            .join(Advocate, Advocate.id == Completion.advocate_id)
            .where(
                Advocate.account_id == account_id,
                Completion.status == CompletionStatus.APPROVED,
                Completion.decided_at > at - dt.timedelta(days=365),
            )
        )
        or 0
    )
    return detail


def segment_gaps(at: dt.datetime | None = None) -> list[SegmentGap]:
    """Segments (industry × size band × region, of active advocates with all three set) with
    fewer than 3 reference-ready advocates, emptiest first."""
    at = at or utcnow()
    advocates = list(
        db.session.scalars(
            _active_advocates().where(
                Advocate.industry.is_not(None), Advocate.company_size.is_not(None), Advocate.region.is_not(None)
            )
        )
    )
    ready = caps.reference_ready(advocates, at)
    counts: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    for a in advocates:
        key = (a.industry.strip(), a.company_size, a.region.strip())
        counts[key][0] += 1
        counts[key][1] += 1 if a.id in ready else 0
    gaps = [
        SegmentGap(industry, size, region, n_ready, n)
        for (industry, size, region), (n, n_ready) in counts.items()
        if n_ready < MIN_READY_PER_SEGMENT
    ]
    return sorted(gaps, key=lambda g: (g.reference_ready, g.industry.casefold(), g.company_size, g.region.casefold()))
