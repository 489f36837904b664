"""Figures about the advocates of a period (product.md §11): advocates by tier at its end,
activation rate, participation rate, asks per advocate and the burnout buckets."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import case, distinct, func, or_, select

from challenges.caps import LOOKBACK_DAYS
from challenges.models import ActiveAdvocatePeriod, ActiveAdvocateTotal, ActiveSpell, Ask, Completion
from challenges.reports.activity import approvals_only_within
from challenges.reports.period import ReportPeriod
from challenges.reports.sql import approved_status, counted_advocates, rate, uncounted_advocates
from challenges.services.act_tallies import MONTH, QUARTER, next_period_start, period_start
from hub.extensions import db
from hub.models import Advocate, Tier
from rewards.models import TierChange

# product.md §11: an advocate is activated by an approved completion in the last 90 days.
ACTIVATION_DAYS = 90
BUCKETS = ("healthy", "acceptable", "at_risk", "burning")


def advocate_count(as_of: dt.datetime) -> int:
    """Advocates counted at `as_of` (joined before it, not erased): every advocate (an index-only
    count) less the few not counted (erased, or joined after), found through their two indexes —
    the direct filter matches nearly every row and so read the whole table."""
    everyone = db.session.execute(select(func.count()).select_from(Advocate)).scalar_one()
    uncounted = db.session.execute(select(func.count()).select_from(uncounted_advocates(as_of))).scalar_one()
    return int(everyone) - int(uncounted)


def advocates_by_tier(period: ReportPeriod, now: dt.datetime | None = None) -> dict[str, int]:
    """Advocates per tier at the period's end, every tier present. While the period runs that is
    the stored tier; for a past period, the tier an advocate left at their first tier change
    after the end (rewards.models.TierChange), or their stored tier when it has not changed since.

    Read as the stored tiers (an index-only count per tier, `ix_advocates_tier`) less the
    advocates not counted at the end, then, for a past period, each advocate changed since moved
    from their stored tier back to the tier they had (`ix_tier_changes_changed_at`: only the
    changes after the end are read)."""
    as_of = period.as_of(now)
    found = {t.value: 0 for t in Tier}
    for tier, n in db.session.execute(select(Advocate.tier, func.count()).group_by(Advocate.tier)).all():
        found[Tier(tier).value] += int(n)
    uncounted = uncounted_advocates(as_of)
    for tier, n in db.session.execute(select(uncounted.c.tier, func.count()).group_by(uncounted.c.tier)).all():
        found[Tier(tier).value] -= int(n)
    if not period.is_running(now):
        # Each advocate's first change at or after the end (the earlier id on a tie of times).
        ranked = (
            select(
                TierChange.advocate_id,
                TierChange.from_tier,
                func.row_number()
                .over(partition_by=TierChange.advocate_id, order_by=(TierChange.changed_at, TierChange.id))
                .label("nth"),
            )
            .where(TierChange.changed_at >= as_of)
            .subquery()
        )
        moved = db.session.execute(
            select(Advocate.tier, ranked.c.from_tier, func.count())
            .select_from(ranked)
            .join(Advocate, Advocate.id == ranked.c.advocate_id)
            .where(ranked.c.nth == 1, Advocate.id.not_in(select(uncounted_advocates(as_of).c.id)))
            .group_by(Advocate.tier, ranked.c.from_tier)
        ).all()
        for now_tier, then_tier, n in moved:
            found[Tier(now_tier).value] -= int(n)
            found[Tier(then_tier).value] += int(n)
    return found


def _activated_count(since: dt.datetime, before: dt.datetime, as_of: dt.datetime) -> int:
    """Counted advocates with a completion approved in [since, before)."""
    return db.session.execute(
        select(func.count(distinct(Completion.advocate_id)))
        .join(Advocate, Advocate.id == Completion.advocate_id)
        .where(
            approved_status(),
            Completion.decided_at >= since,
            Completion.decided_at < before,
            *counted_advocates(as_of),
        )
    ).scalar_one()


def active_advocates(period: ReportPeriod, now: dt.datetime | None = None) -> int:
    """Counted advocates with a completion approved in the 90 days up to the period's end
    (`as_of`; a completion approved exactly 90 days before counts), from the approvals' spells
    (ActiveSpell): two index reads, whatever the number of approvals."""
    as_of = period.as_of(now)
    active = (
        ActiveSpell.started_at < as_of,
        ActiveSpell.last_at >= as_of - dt.timedelta(days=ACTIVATION_DAYS),
    )
    # At most one spell of an advocate holds `as_of` (challenges.models.ActiveSpell), so spells
    # count advocates; those not counted at `as_of` (erased, joined after) are taken off.
    spells = db.session.execute(select(func.count()).select_from(ActiveSpell).where(*active)).scalar_one()
    uncounted = db.session.execute(
        select(func.count())
        .select_from(ActiveSpell)
        .where(*active, ActiveSpell.advocate_id.in_(select(uncounted_advocates(as_of).c.id)))
    ).scalar_one()
    return int(spells) - int(uncounted)


def activation_rate(period: ReportPeriod, now: dt.datetime | None = None) -> float | None:
    """Active advocates (`active_advocates`) ÷ all counted advocates at the period's end
    (product.md §11). None when there are no advocates."""
    return rate(active_advocates(period, now), advocate_count(period.as_of(now)))


def participation_rate(
    period: ReportPeriod, now: dt.datetime | None = None, advocates: int | None = None
) -> float | None:
    """Advocates with a completion approved within the period (the quarter by default) ÷ all
    counted advocates at its end (`advocates`, counted here when not given). None when there
    are no advocates."""
    as_of = period.as_of(now)
    whole = advocate_count(as_of) if advocates is None else advocates
    tallied = _tallied_participants(period, as_of)
    participants = _activated_count(period.starts_at, as_of, as_of) if tallied is None else tallied
    return rate(participants, whole)


def _tallied_participants(period: ReportPeriod, as_of: dt.datetime) -> int | None:
    """`_activated_count(period.starts_at, as_of, as_of)` read from the approvals' tally when the
    period starts on a calendar quarter's (or month's) first day, ends within it, and no
    completion of that quarter (month) was approved outside `[start, as_of)`: the tally's total
    for it less its advocates not counted at `as_of` (erased, or joined after). None otherwise."""
    for span in (QUARTER, MONTH):
        first = period_start(period.start, span)
        after = next_period_start(first, span)
        if first != period.start or period.end >= after:
            continue
        span_start = dt.datetime.combine(first, dt.time(), tzinfo=dt.UTC)
        span_end = dt.datetime.combine(after, dt.time(), tzinfo=dt.UTC)
        if not approvals_only_within(span_start, span_end, span_start, as_of):
            return None
        total = db.session.execute(
            select(func.coalesce(func.sum(ActiveAdvocateTotal.advocates), 0)).where(
                ActiveAdvocateTotal.span == span, ActiveAdvocateTotal.starts == first
            )
        ).scalar_one()
        uncounted = db.session.execute(
            select(func.count())
            .select_from(ActiveAdvocatePeriod)
            .where(
                ActiveAdvocatePeriod.span == span,
                ActiveAdvocatePeriod.starts == first,
                ActiveAdvocatePeriod.advocate_id.in_(select(uncounted_advocates(as_of).c.id)),
            )
        ).scalar_one()
        return int(total) - int(uncounted)
    return None


def asks_and_burnout(period: ReportPeriod, now: dt.datetime | None = None, advocates: int | None = None) -> dict:
    """Asks per advocate over the 365 days up to the period's end (asks not cancelled by then;
    challenges.caps counts the same window) and advocates per burnout bucket (0–4 healthy, 5–6
    acceptable, 7–10 at risk, more than 10 burning; product.md §5). Returns
    `{"asks": int, "asks_per_advocate": float | None, "burnout": {bucket: advocates}}`;
    `advocates` is the count of counted advocates at the end (counted here when not given)."""
    as_of = period.as_of(now)
    # The advocates not counted are few: excluding them (a hashed NOT IN) spares joining every
    # ask to the advocates table, which read the whole table.
    uncounted = select(uncounted_advocates(as_of).c.id)
    per_advocate = (
        select(Ask.advocate_id, func.count().label("n"))
        .where(
            Ask.asked_at > as_of - dt.timedelta(days=LOOKBACK_DAYS),
            Ask.asked_at < as_of,
            or_(Ask.cancelled_at.is_(None), Ask.cancelled_at >= as_of),
            Ask.advocate_id.not_in(uncounted),
        )
        .group_by(Ask.advocate_id)
        .subquery()
    )
    n = per_advocate.c.n
    bucket = case((n <= 4, "healthy"), (n <= 6, "acceptable"), (n <= 10, "at_risk"), else_="burning")
    rows = db.session.execute(select(bucket, func.count(), func.sum(n)).group_by(bucket)).all()
    if advocates is None:
        advocates = advocate_count(as_of)
    buckets = {b: 0 for b in BUCKETS}
    asks = 0
    for name, count, total in rows:
        buckets[name] = int(count)
        asks += int(total or 0)
    # Advocates without any ask are healthy too.
    buckets["healthy"] += advocates - sum(buckets.values())
    return {
        "asks": asks,
        "asks_per_advocate": round(asks / advocates, 2) if advocates else None,
        "burnout": buckets,
    }
