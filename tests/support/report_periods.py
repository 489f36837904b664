"""A small program for the report's several-periods check (issue 17), built on any app context
(SQLite or PostgreSQL) with the caller's factories, and its figures counted by hand."""

from __future__ import annotations

import datetime as dt
import itertools

from challenges import caps
from challenges.models import AskKind
from challenges.references import services as references
from challenges.references.models import CallFormat, ReferenceRequest, RequestStatus, Stage
from challenges.reports import people, program
from challenges.reports.period import ReportPeriod, quarter_of
from hub.extensions import db
from hub.models import Advocate, Tier
from rewards.models import TierChange
from rewards.tier_changes import rebuild_tier_day_totals

Q1 = ReportPeriod(dt.date(2025, 1, 1), dt.date(2025, 3, 31))
Q1_END = dt.datetime(2025, 4, 1, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)
_source = itertools.count(1)


def at(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.UTC)


def ask(advocate: Advocate, when: dt.datetime, cancelled_at: dt.datetime | None = None) -> None:
    """An ask made at `when` (released at `cancelled_at`) as the services record one."""
    source = f"several-{next(_source)}"
    caps.claim_ask(advocate.id, AskKind.MEDIUM, "test", source, at=when, handed_over=True)
    if cancelled_at is not None:
        caps.release_ask("test", source, at=cancelled_at)
    db.session.commit()


def check_several_periods(joined, approve) -> None:
    """The program of the test above, built with `joined(when=…) -> Advocate` and
    `approve(advocate, when)`, and its figures checked against the hand counts."""
    q1, q2, running = Q1, ReportPeriod(dt.date(2025, 4, 1), dt.date(2025, 6, 30)), quarter_of(NOW.date())
    q2_end = at(2025, 7, 1)
    ada, bob, gone = joined(), joined(), joined()
    late = joined(at(2025, 5, 1))  # after Q1's end, before Q2's
    ada.tier, late.tier, gone.tier = Tier.GOLD, Tier.SILVER, Tier.GOLD
    gone.is_erased = True
    for who, before, after, when in (
        (ada, Tier.BRONZE, Tier.SILVER, at(2025, 5, 1)),
        (ada, Tier.SILVER, Tier.GOLD, at(2025, 8, 1)),
        (late, Tier.BRONZE, Tier.SILVER, at(2025, 6, 1)),
        (gone, Tier.BRONZE, Tier.GOLD, at(2025, 2, 1)),
    ):
        db.session.add(TierChange(advocate_id=who.id, from_tier=before, to_tier=after, changed_at=when))
    rebuild_tier_day_totals()  # tiers, history and erasure written by hand: the tier totals read from them
    db.session.commit()
    for i in range(5):
        ask(ada, Q1_END - dt.timedelta(days=1 + i))  # late March 2025
    ask(ada, at(2025, 5, 10))
    ask(ada, at(2025, 5, 11))
    for i in range(6):
        ask(late, at(2025, 6, 1 + i))
    for i in range(11):
        ask(gone, at(2025, 3, 1 + i))
    ask(bob, at(2026, 11, 1))
    ask(bob, at(2026, 10, 1), cancelled_at=at(2026, 10, 2))
    approve(ada, at(2025, 3, 15))  # active at Q1's end; 108 days before Q2's: not then
    approve(late, at(2025, 6, 15))
    approve(gone, at(2025, 6, 20))  # erased: never counted
    approve(bob, at(2026, 11, 15))
    periods = [q1, q2, running]

    # Q1: ada bronze (changed 1 May), bob bronze; late joined after, gone erased.
    # Q2: ada silver, late silver (changed 1 June), bob bronze. Now: the stored tiers.
    assert people.tiers_at(periods, NOW) == [
        ({"bronze": 2, "silver": 0, "gold": 0}, 2),
        ({"bronze": 1, "silver": 2, "gold": 0}, 3),
        ({"bronze": 1, "silver": 1, "gold": 1}, 3),
    ]
    # Q1: ada 5 (acceptable), bob 0. Q2: ada 7 (at risk), late 6 (acceptable), bob 0.
    # Now: ada's and late's asks are over 365 days old; bob 1 (the cancelled one not counted).
    burnout = people.asks_and_burnout_at(periods, NOW, [2, 3, 3])
    assert [b["burnout"] for b in burnout] == [
        {"healthy": 1, "acceptable": 1, "at_risk": 0, "burning": 0},
        {"healthy": 1, "acceptable": 1, "at_risk": 1, "burning": 0},
        {"healthy": 3, "acceptable": 0, "at_risk": 0, "burning": 0},
    ]
    assert [b["asks"] for b in burnout] == [5, 13, 1]
    assert [b["asks_per_advocate"] for b in burnout] == [2.5, round(13 / 3, 2), round(1 / 3, 2)]
    assert people.active_advocates_at(periods, NOW) == [1, 1, 1]
    assert q2_end == q2.as_of(NOW)

    together = program.period_figures_at(periods, NOW)
    assert together == [program.period_figures(p, NOW) for p in periods]
    assert [f["advocates"] for f in together] == [2, 3, 3]
    assert [f["activation_rate"] for f in together] == [0.5, round(1 / 3, 4), round(1 / 3, 4)]
    report = program.program_report(q2, NOW)
    assert report["previous"] == program.period_figures(q2.previous, NOW)


def check_fill_windows(requested_by_id: int) -> None:
    """Reference requests filed by `requested_by_id` in two windows (and one withdrawn), read by
    references.services.fill_metrics_in: filed (not withdrawn), filled, and the median hours from
    filing to acceptance — the middle one for an odd count, the mean of the two middle ones for
    an even count — counted by hand, and equal to each window read alone."""
    base = at(2026, 4, 1)
    # (days after base it was filed, hours later it was accepted; None = never; "w" = withdrawn)
    plan: list[tuple[int, float | str | None]] = [
        (0, 1.5), (1, 10.0), (2, 4.0), (3, None), (0, "w"), (40, 2.0), (41, 7.5), (42, None), (43, None),
    ]  # fmt: skip
    for i, (day, hours) in enumerate(plan):
        filed = base + dt.timedelta(days=day)
        status = RequestStatus.OPEN if hours is None else RequestStatus.ACCEPTED
        db.session.add(
            ReferenceRequest(
                requested_by_id=requested_by_id,
                prospect_company=f"Prospect {i}",
                industry="Healthcare",
                company_size="51-200",
                use_case="Patient intake",
                stage=Stage.EVALUATION,
                needed_by=(filed + dt.timedelta(days=14)).date(),
                format=CallFormat.VIDEO,
                status=RequestStatus.CANCELLED if hours == "w" else status,
                created_at=filed,
                accepted_at=filed + dt.timedelta(hours=hours) if isinstance(hours, float) else None,
            )
        )
    db.session.commit()
    first = (base, base + dt.timedelta(days=30))
    second = (base + dt.timedelta(days=30), base + dt.timedelta(days=90))
    empty = (base + dt.timedelta(days=90), base + dt.timedelta(days=120))
    got = references.fill_metrics_in([first, second, empty])
    # First window: 4 filed (the withdrawn one is not), 3 filled at 1.5, 4 and 10 h → median 4.
    # Second: 4 filed, 2 filled at 2 and 7.5 h → (2 + 7.5) / 2 = 4.75. Third: nothing.
    assert [(m.filed, m.filled, m.fill_rate, m.median_hours_to_fill) for m in got] == [
        (4, 3, 0.75, 4.0),
        (4, 2, 0.5, 4.75),
        (0, 0, None, None),
    ]
    assert got[:2] == [references.fill_metrics(*first), references.fill_metrics(*second)]
