"""Figures about the advocates of a period (product.md §11): advocates by tier at its end,
activation rate, participation rate, asks per advocate and the burnout buckets."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import Date, case, distinct, func, literal, null, or_, select, union_all
from sqlalchemy.sql.elements import ColumnElement

from challenges.caps import LOOKBACK_DAYS
from challenges.models import (
    ActiveAdvocatePeriod,
    ActiveAdvocateTotal,
    ActiveSpell,
    ActiveSpellDayTotal,
    Ask,
    AskDayTotal,
    Completion,
)
from challenges.reports.activity import approvals_only_within
from challenges.reports.period import ReportPeriod
from challenges.reports.sql import (
    approved_status,
    counted_advocates,
    rate,
    uncounted_advocates,
    uncounted_approved_before,
)
from challenges.services.act_tallies import MONTH, QUARTER, next_period_start, period_start
from hub.db import UTCDateTime, utcnow
from hub.extensions import db
from hub.models import Advocate, Tier, TierDayTotal

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
    """Advocates per tier at the period's end, every tier present (`tiers_at`)."""
    return tiers_at([period], now)[0][0]


def tiers_at(periods: Sequence[ReportPeriod], now: dt.datetime | None = None) -> list[tuple[dict[str, int], int]]:
    """For each period: `({tier: advocates}, advocates)` — the advocates counted at its end
    (`as_of`: joined before it, not erased) per the tier they had then, every tier present, and
    their number. While a period runs that is the stored tier; for a past period, the tier an
    advocate left at their first tier change at or after the end (rewards.models.TierChange; the
    earlier id on a tie of times), or their stored tier when it has not changed since.

    One statement over the per-day tier totals (hub.tier_totals, a few rows per day): a past
    period, which ends at midnight, sums the days before its end; a running one sums every day
    (the stored tiers of the advocates not erased) less the advocates joining at or after now
    (an empty index range of `ix_advocates_joined_at` but in tests and imports dated ahead)."""
    if not periods:
        return []
    moment = now or utcnow()
    running = [p.is_running(moment) for p in periods]
    kept = select(TierDayTotal.day, TierDayTotal.tier, TierDayTotal.advocates.label("n"))
    rows = kept.subquery("moves")
    if any(running):
        # Dated no day: left out of every past period's sum (NULL < day is not true).
        late = select(null().label("day"), Advocate.tier, literal(-1).label("n")).where(
            Advocate.joined_at >= moment, Advocate.is_erased.is_(False)
        )
        rows = union_all(kept, late).subquery("moves")
    sums = [
        func.coalesce(
            func.sum(rows.c.n) if is_running else func.sum(rows.c.n).filter(rows.c.day < p.ends_before.date()), 0
        )
        for p, is_running in zip(periods, running, strict=True)
    ]
    found = [{t.value: 0 for t in Tier} for _ in periods]
    for tier, *counts in db.session.execute(select(rows.c.tier, *sums).group_by(rows.c.tier)).all():
        for tiers, n in zip(found, counts, strict=True):
            tiers[Tier(tier).value] += int(n)
    return [(tiers, sum(tiers.values())) for tiers in found]


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
    (`as_of`; a completion approved exactly 90 days before counts): `active_advocates_at`."""
    return active_advocates_at([period], now)[0]


def active_advocates_at(periods: Sequence[ReportPeriod], now: dt.datetime | None = None) -> list[int]:
    """`active_advocates` for each period, in one statement from the spells' day totals.

    An advocate is active at T (`as_of`) when one of their spells (ActiveSpell; at most one holds
    T, so spells count advocates) has started_at < T <= last_at + 90 days. A spell whose last
    approval is before T − 90 days started before T, so the active spells are those started
    before T less those ended before T − 90 days: each a sum of ActiveSpellDayTotal over the
    whole days before (`starts`, `lasts`), plus the spells of T's own day started before T (and
    of T − 90 days' day ended before it) counted from `ix_active_spells_last_started` — a day's
    range, and none at all when T is a midnight (a past period's end). Then the spells in the
    window of the advocates not counted at T (erased — their spells are kept — or joined at or
    after T) are taken off, probed by primary key for those of them first approved before T
    alone (`uncounted_approved_before`: a spell started before T has its advocate's first
    approval before T)."""
    if not periods:
        return []
    as_ofs = [p.as_of(now) for p in periods]
    totals = ActiveSpellDayTotal
    columns: list[ColumnElement[int]] = []
    for as_of in as_ofs:
        since = as_of - dt.timedelta(days=ACTIVATION_DAYS)
        as_of_day, since_day = _utc_midnight(as_of), _utc_midnight(since)
        columns.append(func.coalesce(func.sum(totals.starts).filter(totals.day < as_of_day.date()), 0))
        columns.append(-func.coalesce(func.sum(totals.lasts).filter(totals.day < since_day.date()), 0))
        if as_of > as_of_day:
            # Started on T's day before T: their last approval is on that day or later.
            columns.append(
                _spell_count(
                    ActiveSpell.last_at >= as_of_day,
                    ActiveSpell.started_at >= as_of_day,
                    ActiveSpell.started_at < as_of,
                )
            )
        if since > since_day:
            columns.append(-_spell_count(ActiveSpell.last_at >= since_day, ActiveSpell.last_at < since))
        columns.append(
            -_spell_count(
                ActiveSpell.started_at < as_of,
                ActiveSpell.last_at >= since,
                ActiveSpell.advocate_id.in_(select(uncounted_approved_before(as_of, as_of).c.id)),
            )
        )
    row = db.session.execute(select(*columns).where(totals.day < max(_utc_midnight(t) for t in as_ofs).date())).one()
    found, i = [], 0
    for as_of in as_ofs:
        since = as_of - dt.timedelta(days=ACTIVATION_DAYS)
        width = 3 + (as_of > _utc_midnight(as_of)) + (since > _utc_midnight(since))
        found.append(int(sum(int(n) for n in row[i : i + width])))
        i += width
    return found


def _utc_midnight(moment: dt.datetime) -> dt.datetime:
    """The start (UTC) of the UTC day containing the aware time `moment`."""
    return dt.datetime.combine(moment.astimezone(dt.UTC).date(), dt.time(), tzinfo=dt.UTC)


def _spell_count(*conditions: ColumnElement[bool]) -> ColumnElement[int]:
    """SQL: a scalar subquery counting the spells that meet `conditions`."""
    return select(func.count()).select_from(ActiveSpell).where(*conditions).scalar_subquery()


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
    for it less its advocates not counted at `as_of` (erased, or joined after) — probed for
    those first approved before the quarter's (month's) end alone, as a row of it comes from an
    approval within it (`uncounted_approved_before`). None otherwise."""
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
                ActiveAdvocatePeriod.advocate_id.in_(select(uncounted_approved_before(as_of, span_end).c.id)),
            )
        ).scalar_one()
        return int(total) - int(uncounted)
    return None


def asks_and_burnout(period: ReportPeriod, now: dt.datetime | None = None, advocates: int | None = None) -> dict:
    """Asks per advocate over the 365 days up to the period's end and the burnout buckets
    (`asks_and_burnout_at`); `advocates` is the count of counted advocates at the end (counted
    here when not given)."""
    whole = advocate_count(period.as_of(now)) if advocates is None else advocates
    return asks_and_burnout_at([period], now, [whole])[0]


def asks_and_burnout_at(
    periods: Sequence[ReportPeriod], now: dt.datetime | None, advocates: Sequence[int]
) -> list[dict]:
    """For each period: asks per advocate over the 365 days up to its end (asks not cancelled by
    then; challenges.caps counts the same window) and advocates per burnout bucket (0–4 healthy,
    5–6 acceptable, 7–10 at risk, more than 10 burning; product.md §5), as
    `{"asks": int, "asks_per_advocate": float | None, "burnout": {bucket: advocates}}`.
    `advocates[i]` is the number of advocates counted at period i's end.

    Two statements for all the periods, neither reading every ask:
    - the watched advocates (`Advocate.burnout_watch`: every one who ever had 5 asks counted, had
      an ask before joining, or was erased — a few hundred of 100,000 at bench scale), their asks
      counted one by one through `ix_asks_advocate_asked` and grouped by bucket; the others are
      healthy at every moment;
    - the asks of everyone counted at each end (`_asks_counted_at`), less those of the watched
      advocates not counted there (erased, or joined after it: an advocate who is not watched made
      every ask after joining, so has none before an end they joined after)."""
    if not periods:
        return []
    as_ofs = [p.as_of(now) for p in periods]
    lookback = dt.timedelta(days=LOOKBACK_DAYS)
    watched = (
        select(
            Advocate.id,
            Advocate.joined_at,
            Advocate.is_erased,
            *(
                func.count()
                .filter(
                    Ask.asked_at > _moment(as_of - lookback),
                    Ask.asked_at < _moment(as_of),
                    or_(Ask.cancelled_at.is_(None), Ask.cancelled_at >= _moment(as_of)),
                )
                .label(f"n_{i}")
                for i, as_of in enumerate(as_ofs)
            ),
        )
        .join(Ask, Ask.advocate_id == Advocate.id)
        # the bare column, as `ix_advocates_burnout_watch`'s predicate has it (PostgreSQL uses a
        # partial index only for a condition it can prove implies the predicate; `IS true` is not)
        .where(
            Advocate.burnout_watch,
            Ask.asked_at > _moment(min(as_ofs) - lookback),
            Ask.asked_at < _moment(max(as_ofs)),
        )
        .group_by(Advocate.id, Advocate.joined_at, Advocate.is_erased)
        .subquery("watched")
    )
    buckets = []
    for i, as_of in enumerate(as_ofs):
        n = watched.c[f"n_{i}"]
        buckets.append(
            case(
                (or_(watched.c.joined_at >= _moment(as_of), watched.c.is_erased.is_(True)), UNCOUNTED),
                (n == 0, None),
                (n <= 4, "healthy"),
                (n <= 6, "acceptable"),
                (n <= 10, "at_risk"),
                else_="burning",
            ).label(f"bucket_{i}")
        )
    sums = [func.sum(watched.c[f"n_{i}"]) for i in range(len(as_ofs))]
    rows = db.session.execute(select(*buckets, func.count(), *sums).group_by(*buckets)).all()
    n_periods = len(as_ofs)
    found = [({b: 0 for b in BUCKETS}, [0]) for _ in as_ofs]
    for row in rows:
        for i, (counts, uncounted) in enumerate(found):
            if row[i] == UNCOUNTED:
                # A group's advocates share bucket i, so its sum is theirs.
                uncounted[0] += int(row[n_periods + 1 + i] or 0)
            elif row[i] is not None:
                counts[row[i]] += int(row[n_periods])
    figures = []
    everyone = _asks_counted_at(as_ofs)
    for (counts, uncounted), whole, total in zip(found, advocates, everyone, strict=True):
        asks = total - uncounted[0]
        # Advocates without any ask, and those not watched, are healthy.
        counts["healthy"] += whole - sum(counts.values())
        figures.append(
            {
                "asks": asks,
                "asks_per_advocate": round(asks / whole, 2) if whole else None,
                "burnout": counts,
            }
        )
    return figures


# The bucket of a watched advocate not counted at a period's end (asks_and_burnout_at).
UNCOUNTED = "uncounted"


def _asks_counted_at(as_ofs: Sequence[dt.datetime]) -> list[int]:
    """For each moment T: every advocate's asks made in (T − 365 days, T) and not cancelled
    before T, in one statement of scalar subqueries, each one index range or a few hundred rows:
    - the whole UTC days inside the window from the per-day totals (AskDayTotal: the asks not
      cancelled now), plus those of their asks cancelled at or after T (`ix_asks_cancelled_at`:
      only the asks cancelled since T — none while a period runs);
    - the asks of the part days at the window's two ends, counted (`ix_asks_asked_at`)."""
    columns = []
    for as_of in as_ofs:
        since = as_of - dt.timedelta(days=LOOKBACK_DAYS)
        first_day = since.astimezone(dt.UTC).date() + dt.timedelta(days=1)  # the first whole day
        end_day = as_of.astimezone(dt.UTC).date()  # the day T is in: not whole unless T is midnight
        first, end = _midnight(first_day), _midnight(end_day)
        counted_at_end = or_(Ask.cancelled_at.is_(None), Ask.cancelled_at >= _moment(as_of))
        columns += [
            select(func.coalesce(func.sum(AskDayTotal.asks), 0))
            .where(AskDayTotal.day >= _day(first_day), AskDayTotal.day < _day(end_day))
            .scalar_subquery(),
            select(func.count())
            .select_from(Ask)
            .where(Ask.cancelled_at >= _moment(as_of), Ask.asked_at >= _moment(first), Ask.asked_at < _moment(end))
            .scalar_subquery(),
            select(func.count())
            .select_from(Ask)
            .where(Ask.asked_at > _moment(since), Ask.asked_at < _moment(first), counted_at_end)
            .scalar_subquery(),
            select(func.count())
            .select_from(Ask)
            .where(Ask.asked_at >= _moment(end), Ask.asked_at < _moment(as_of), counted_at_end)
            .scalar_subquery(),
        ]
    row = db.session.execute(select(*columns)).one()
    return [sum(int(v) for v in row[4 * i : 4 * i + 4]) for i in range(len(as_ofs))]


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


# The times and days these statements compare with are written into the SQL: psycopg prepares a
# statement run 5 times on a connection, and PostgreSQL's generic plan for it then reads every
# ask of the year (a bitmap scan of `ix_asks_asked_at` over unknown bounds: 50 ms instead of 1).
def _moment(at: dt.datetime) -> ColumnElement[dt.datetime]:
    return literal(at, UTCDateTime(), literal_execute=True)


def _day(day: dt.date) -> ColumnElement[dt.date]:
    return literal(day, Date(), literal_execute=True)
