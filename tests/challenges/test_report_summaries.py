"""The approvals' tallies the report reads (challenges.services.act_tallies, issue 22): kept by
approve_completion in the approval's transaction, they equal a rebuild from the completions after
any sequence of approvals, rejections, erasures and late joins, and the figures read from them
equal the same figures counted here from the completions written, in Python."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from challenges import services
from challenges.models import (
    ActDayTotal,
    ActiveAdvocatePeriod,
    ActiveAdvocateTotal,
    ActiveSpell,
    ActiveSpellDayTotal,
    Challenge,
    Completion,
    CompletionStatus,
)
from challenges.reports import activity, people
from challenges.reports.period import ReportPeriod
from challenges.services.act_tallies import next_period_start, period_start, rebuild_act_totals
from hub import tier_totals
from hub.extensions import db
from hub.models import Advocate

NOW = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)


def at(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.UTC)


# Approval times on and beside month and quarter edges, inside months, and exactly 90 days apart
# (2025-01-01 and 2025-04-01 are 90 days apart).
TIMES = [
    at(2024, 12, 31, 23, 59, 59),
    at(2025, 1, 1),
    at(2025, 1, 15, 8),
    at(2025, 2, 28, 23, 59),
    at(2025, 3, 1),
    at(2025, 3, 31, 23, 59, 59),
    at(2025, 4, 1),
    at(2025, 5, 10, 12),
    at(2025, 6, 30, 23),
    at(2025, 7, 1, 0, 0, 1),
]
# Whole quarters and months, a period starting and ending mid-month, one ending mid-quarter.
PERIODS = [
    ReportPeriod(dt.date(2025, 1, 1), dt.date(2025, 3, 31)),
    ReportPeriod(dt.date(2025, 4, 1), dt.date(2025, 6, 30)),
    ReportPeriod(dt.date(2025, 3, 1), dt.date(2025, 3, 31)),
    ReportPeriod(dt.date(2025, 1, 10), dt.date(2025, 5, 10)),
    ReportPeriod(dt.date(2025, 1, 1), dt.date(2025, 2, 28)),
    ReportPeriod(dt.date(2024, 12, 1), dt.date(2025, 7, 31)),
]
KINDS = [("custom", None), ("review", "g2"), ("review", "capterra"), ("review", None)]

OPERATION = st.one_of(
    st.tuples(st.just("approve"), st.integers(0, 2), st.integers(0, len(KINDS) - 1), st.integers(0, len(TIMES) - 1)),
    st.tuples(st.just("reject"), st.integers(0, 2), st.integers(0, len(KINDS) - 1), st.integers(0, len(TIMES) - 1)),
    st.tuples(st.just("erase"), st.integers(0, 2), st.just(0), st.just(0)),
    st.tuples(st.just("join_late"), st.integers(0, 2), st.just(0), st.integers(0, len(TIMES) - 1)),
)


@pytest.fixture()
def program(ctx, make_advocate, make_user, make_challenge):
    """Three advocates who joined long ago, an owner, and one challenge per entry of KINDS (the
    reviews' platforms written as challenges made before platforms existed would hold them)."""
    owner = make_user("owner")
    advocates = []
    for _ in range(3):
        advocate = make_advocate()
        tier_totals.move_join(advocate, at(2020, 1, 1))
        advocates.append(advocate.id)
    challenges = []
    for i, (kind, platform) in enumerate(KINDS):
        extra = {"allowed_domains": ["g2.com"], "marker": "vouch"} if kind == "review" else {}
        challenge = make_challenge(owner.id, type=kind, title=f"Act {i}", **extra)
        db.session.execute(update(Challenge).where(Challenge.id == challenge.id).values(platform=platform))
        challenges.append(challenge.id)
    db.session.commit()
    return owner.id, advocates, challenges


def _decide(owner_id: int, advocate_id: int, challenge_id: int, when: dt.datetime, approve: bool) -> None:
    completion = Completion(
        challenge_id=challenge_id,
        advocate_id=advocate_id,
        status=CompletionStatus.PENDING_REVIEW,
        points_offered=10,
        submitted_at=when - dt.timedelta(hours=2),
    )
    db.session.add(completion)
    db.session.flush()
    if approve:
        services.approve_completion(completion.id, owner_id, at=when)
    else:
        services.reject_completion(completion.id, owner_id, "Not this time.")
    db.session.commit()


def _stored() -> tuple[list, list, list, list, list, list]:
    return (
        sorted(tuple(r) for r in db.session.execute(select(ActDayTotal.__table__)).all() if r.acts),
        sorted(tuple(r) for r in db.session.execute(select(ActiveAdvocatePeriod.__table__)).all()),
        sorted(tuple(r) for r in db.session.execute(select(ActiveAdvocateTotal.__table__)).all() if r.advocates),
        sorted(
            tuple(r)
            for r in db.session.execute(
                select(ActiveSpell.advocate_id, ActiveSpell.started_at, ActiveSpell.last_at)
            ).all()
        ),
        sorted(
            tuple(r) for r in db.session.execute(select(ActiveSpellDayTotal.__table__)).all() if r.starts or r.lasts
        ),
        sorted(tuple(r) for r in db.session.execute(select(Advocate.id, Advocate.first_approved_at)).all()),
    )


def _months(period: ReportPeriod) -> list[dt.date]:
    return period.month_starts()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=st.lists(OPERATION, max_size=14))
def test_the_tallies_equal_a_rebuild_and_the_figures_a_count_by_hand(program, operations):
    owner_id, advocates, challenges = program
    db.session.execute(db.delete(Completion))
    db.session.execute(
        update(Advocate).where(Advocate.id.in_(advocates)).values(is_erased=False, joined_at=at(2020, 1, 1))
    )
    rebuild_act_totals()  # each example starts from no approvals
    db.session.commit()
    approvals: list[tuple[int, str, str | None, dt.datetime]] = []  # (advocate, type, platform, decided)
    erased: set[int] = set()
    joined = dict.fromkeys(advocates, at(2020, 1, 1))
    for op, who, kind, when in operations:
        advocate_id = advocates[who]
        if op in ("approve", "reject"):
            _decide(owner_id, advocate_id, challenges[kind], TIMES[when], approve=op == "approve")
            if op == "approve":
                approvals.append((advocate_id, *KINDS[kind], TIMES[when]))
        elif op == "erase":
            db.session.execute(update(Advocate).where(Advocate.id == advocate_id).values(is_erased=True))
            db.session.commit()
            erased.add(advocate_id)
        else:
            db.session.execute(update(Advocate).where(Advocate.id == advocate_id).values(joined_at=TIMES[when]))
            db.session.commit()
            joined[advocate_id] = TIMES[when]

    kept = _stored()
    rebuild_act_totals()
    assert _stored() == kept

    for moment in [*TIMES, *(t + dt.timedelta(days=90) for t in TIMES), *(t + dt.timedelta(seconds=1) for t in TIMES)]:
        # activation: counted advocates with an approval in [moment − 90 days, moment)
        window = moment - dt.timedelta(days=90)
        active = {a for a, _, _, d in approvals if window <= d < moment and a not in erased and joined[a] < moment}
        day = moment.date()
        assert people.active_advocates(ReportPeriod(day, day), moment) == len(active), moment

    for period in PERIODS:
        lo, hi = period.starts_at, period.ends_before
        # active advocates per month (no advocate filter, as the trend always counted)
        expected_months = {
            f"{first:%Y-%m}": len(
                {
                    a
                    for a, _, _, d in approvals
                    if max(lo, at(first.year, first.month, 1)) <= d
                    and d < min(hi, dt.datetime.combine(next_period_start(first, 1), dt.time(), tzinfo=dt.UTC))
                }
            )
            for first in _months(period)
        }
        assert activity.active_advocates_by_month(period) == expected_months
        # participation: counted advocates (joined before the end, not erased) with an approval in it
        counted = [a for a in advocates if a not in erased and joined[a] < hi]
        taking_part = {a for a, _, _, d in approvals if lo <= d < hi and a in counted}
        expected_rate = round(len(taking_part) / len(counted), 4) if counted else None
        assert people.participation_rate(period, NOW) == expected_rate
        # review velocity per platform, each month, summing to review velocity
        by_platform = activity.review_velocity_by_platform(period)
        for platform in ("g2", "capterra", "unspecified"):
            expected = [
                {
                    "month": m,
                    "count": sum(
                        1
                        for _, kind, p, d in approvals
                        if kind == "review" and (p or "unspecified") == platform and f"{d:%Y-%m}" == m and lo <= d < hi
                    ),
                }
                for m in period.months()
            ]
            if platform == "unspecified" and not any(row["count"] for row in expected):
                assert platform not in by_platform
            else:
                assert by_platform[platform] == expected
        assert [sum(rows[i]["count"] for rows in by_platform.values()) for i in range(len(period.months()))] == [
            row["count"] for row in activity.review_velocity(period)
        ]


def test_a_running_quarter_counts_only_approvals_before_now(program):
    owner_id, advocates, challenges = program
    q1 = PERIODS[0]
    _decide(owner_id, advocates[0], challenges[0], at(2025, 1, 15), approve=True)
    _decide(owner_id, advocates[1], challenges[0], at(2025, 3, 1), approve=True)
    # On Feb 1 only the first advocate has taken part; the tally holds the quarter's two.
    assert people.participation_rate(q1, at(2025, 2, 1)) == round(1 / 3, 4)
    assert people.participation_rate(q1, at(2025, 3, 2)) == round(2 / 3, 4)
    assert people.participation_rate(q1, NOW) == round(2 / 3, 4)


def test_an_approval_marks_its_month_and_quarter_once(program):
    owner_id, advocates, challenges = program
    for day in (2, 3):
        _decide(owner_id, advocates[0], challenges[0], at(2025, 5, day), approve=True)
    periods = db.session.execute(
        select(ActiveAdvocatePeriod.span, ActiveAdvocatePeriod.starts).where(
            ActiveAdvocatePeriod.advocate_id == advocates[0]
        )
    ).all()
    assert sorted(periods) == [(1, dt.date(2025, 5, 1)), (3, dt.date(2025, 4, 1))]
    totals = db.session.execute(
        select(ActiveAdvocateTotal.span, db.func.sum(ActiveAdvocateTotal.advocates)).group_by(ActiveAdvocateTotal.span)
    ).all()
    assert sorted(totals) == [(1, 1), (3, 1)]


@pytest.mark.parametrize(
    ("day", "span", "first", "after"),
    [
        (dt.date(2025, 1, 1), 3, dt.date(2025, 1, 1), dt.date(2025, 4, 1)),
        (dt.date(2025, 12, 31), 3, dt.date(2025, 10, 1), dt.date(2026, 1, 1)),
        (dt.date(2025, 6, 30), 3, dt.date(2025, 4, 1), dt.date(2025, 7, 1)),
        (dt.date(2025, 12, 5), 1, dt.date(2025, 12, 1), dt.date(2026, 1, 1)),
        (dt.date(2025, 2, 28), 1, dt.date(2025, 2, 1), dt.date(2025, 3, 1)),
    ],
)
def test_period_starts(day, span, first, after):
    assert period_start(day, span) == first
    assert next_period_start(first, span) == after


def test_spells_merge_approvals_up_to_90_days_apart_in_any_order(program):
    owner_id, advocates, challenges = program
    ada = advocates[0]
    for when in (at(2025, 1, 1), at(2025, 6, 30), at(2025, 4, 1)):  # the last joins both: 90 days each side
        _decide(owner_id, ada, challenges[0], when, approve=True)
    spells = db.session.execute(select(ActiveSpell.started_at, ActiveSpell.last_at)).all()
    assert [tuple(s) for s in spells] == [(at(2025, 1, 1), at(2025, 6, 30))]
    _decide(owner_id, ada, challenges[0], at(2025, 9, 28, 0, 0, 1), approve=True)  # 90 days and a second later
    spells = db.session.execute(
        select(ActiveSpell.started_at, ActiveSpell.last_at).order_by(ActiveSpell.started_at)
    ).all()
    assert [tuple(s) for s in spells] == [
        (at(2025, 1, 1), at(2025, 6, 30)),
        (at(2025, 9, 28, 0, 0, 1), at(2025, 9, 28, 0, 0, 1)),
    ]
    # Active on 2025-09-28 00:00:00 through the June 30 approval exactly 90 days before; not a second later.
    assert people.active_advocates(ReportPeriod(dt.date(2025, 9, 28), dt.date(2025, 9, 28)), at(2025, 9, 28)) == 1
    assert (
        people.active_advocates(ReportPeriod(dt.date(2025, 9, 28), dt.date(2025, 9, 28)), at(2025, 9, 28, 0, 0, 1)) == 0
    )


def _spell_days() -> dict[dt.date, tuple[int, int]]:
    """The spells' day totals summed over the shards, days at zero left out."""
    days: dict[dt.date, tuple[int, int]] = {}
    for row in db.session.execute(select(ActiveSpellDayTotal.__table__)).all():
        starts, lasts = days.get(row.day, (0, 0))
        days[row.day] = (starts + row.starts, lasts + row.lasts)
    return {day: n for day, n in days.items() if n != (0, 0)}


def test_spell_day_totals_follow_a_spell_as_it_grows_and_merges(program):
    owner_id, advocates, challenges = program
    ada = advocates[0]
    _decide(owner_id, ada, challenges[0], at(2025, 1, 1, 9), approve=True)
    assert _spell_days() == {dt.date(2025, 1, 1): (1, 1)}
    _decide(owner_id, ada, challenges[0], at(2025, 1, 1, 18), approve=True)  # the same day: no change
    assert _spell_days() == {dt.date(2025, 1, 1): (1, 1)}
    _decide(owner_id, ada, challenges[0], at(2025, 6, 1), approve=True)  # more than 90 days on: a new spell
    assert _spell_days() == {dt.date(2025, 1, 1): (1, 1), dt.date(2025, 6, 1): (1, 1)}
    _decide(owner_id, ada, challenges[0], at(2025, 3, 15), approve=True)  # joins both into one
    assert _spell_days() == {dt.date(2025, 1, 1): (1, 0), dt.date(2025, 6, 1): (0, 1)}
    assert db.session.get(Advocate, ada).first_approved_at == at(2025, 1, 1, 9)
    _decide(owner_id, ada, challenges[0], at(2024, 12, 20), approve=True)  # dated before: extends the start
    assert _spell_days() == {dt.date(2024, 12, 20): (1, 0), dt.date(2025, 6, 1): (0, 1)}
    db.session.expire_all()
    assert db.session.get(Advocate, ada).first_approved_at == at(2024, 12, 20)
    kept = _stored()
    rebuild_act_totals()
    assert _stored() == kept


def test_active_advocates_and_participation_leave_out_late_joiners_and_the_erased(program):
    """A join time set after approvals (by hand: an import, the demo) and an erasure: their
    spells and quarter rows stay, and the figures take them off, within a day and at midnight."""
    owner_id, advocates, challenges = program
    ada, bob, cy = advocates
    _decide(owner_id, ada, challenges[0], at(2025, 2, 10, 8), approve=True)
    _decide(owner_id, bob, challenges[0], at(2025, 2, 10, 9), approve=True)
    _decide(owner_id, cy, challenges[0], at(2025, 3, 20, 15), approve=True)
    q1 = PERIODS[0]
    day = ReportPeriod(dt.date(2025, 3, 20), dt.date(2025, 3, 20))
    assert people.active_advocates(q1, NOW) == 3
    assert people.active_advocates(day, at(2025, 3, 20, 15)) == 2  # cy's approval is not before 15:00
    assert people.active_advocates(day, at(2025, 3, 20, 15, 0, 1)) == 3
    assert people.participation_rate(q1, NOW) == 1.0
    # bob joins (by hand) on Mar 1, after his approval; cy is erased.
    db.session.execute(update(Advocate).where(Advocate.id == bob).values(joined_at=at(2025, 3, 1)))
    db.session.execute(update(Advocate).where(Advocate.id == cy).values(is_erased=True))
    db.session.commit()
    assert people.active_advocates(q1, NOW) == 2  # bob counted at the quarter's end (joined before it)
    assert people.active_advocates(ReportPeriod(dt.date(2025, 2, 1), dt.date(2025, 2, 28)), NOW) == 1  # ada
    assert people.active_advocates(day, at(2025, 3, 20, 15, 0, 1)) == 2  # ada, bob; cy erased
    # 90 days after Feb 10: ada's approval at 08:00 is in the window until 08:00, bob's until 09:00.
    late = ReportPeriod(dt.date(2025, 5, 11), dt.date(2025, 5, 11))
    assert people.active_advocates(late, at(2025, 5, 11, 8, 30)) == 1
    assert people.active_advocates(late, at(2025, 5, 11, 9, 30)) == 0
    db.session.execute(update(Advocate).where(Advocate.id == bob).values(joined_at=at(2025, 4, 1)))
    db.session.commit()
    assert people.active_advocates(q1, NOW) == 1
    assert people.participation_rate(q1, NOW) == 1.0  # ada of ada (bob joined after, cy erased)
    assert people.participation_rate(PERIODS[2], NOW) == 0.0  # March: cy's approval only, erased


@pytest.mark.services
def test_the_tallies_on_postgresql_equal_a_rebuild_and_the_hand_counts(pg_ctx, make):
    from tests.support.challenges import create_challenge

    db.session.execute(db.text("SET TIME ZONE 'America/Los_Angeles'"))  # months and gaps stay UTC
    owner = make.user("owner")
    ada, bob = make.advocate(), make.advocate()
    for advocate in (ada, bob):
        tier_totals.move_join(advocate, at(2024, 1, 1))
    review = create_challenge(owner.id, type="review", allowed_domains=["g2.com"], marker="vouch")
    db.session.execute(update(Challenge).where(Challenge.id == review.id).values(platform="g2"))
    approvals = [
        (ada, at(2025, 1, 1)),
        (ada, at(2025, 4, 1)),  # 90 days after: one spell
        (bob, at(2025, 3, 31, 23, 30)),
        (bob, at(2025, 6, 30, 0, 0, 1)),  # 90 days and 30 minutes after: a new spell, a new quarter
    ]
    for advocate, when in approvals:
        _decide(owner.id, advocate.id, review.id, when, approve=True)
    kept = _stored()
    rebuild_act_totals()
    assert _stored() == kept
    assert kept[3] == [
        (ada.id, at(2025, 1, 1), at(2025, 4, 1)),
        (bob.id, at(2025, 3, 31, 23, 30), at(2025, 3, 31, 23, 30)),
        (bob.id, at(2025, 6, 30, 0, 0, 1), at(2025, 6, 30, 0, 0, 1)),
    ]
    q1, q2 = PERIODS[0], PERIODS[1]
    assert people.participation_rate(q1, NOW) == 1.0 and people.participation_rate(q2, NOW) == 1.0
    assert activity.active_advocates_by_month(ReportPeriod(dt.date(2025, 1, 1), dt.date(2025, 6, 30))) == {
        "2025-01": 1,
        "2025-02": 0,
        "2025-03": 1,
        "2025-04": 1,
        "2025-05": 0,
        "2025-06": 1,
    }
    # On July 1: Ada's last approval (April 1) is 91 days back, Bob's June 30 is within 90.
    assert people.active_advocates(q2, NOW) == 1
    assert activity.review_velocity_by_platform(q1)["g2"] == [
        {"month": "2025-01", "count": 1},
        {"month": "2025-02", "count": 0},
        {"month": "2025-03", "count": 1},
    ]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    batches=st.lists(
        st.lists(st.tuples(st.integers(0, 2), st.integers(0, len(TIMES) - 1)), min_size=1, max_size=6),
        max_size=4,
    )
)
def test_approvals_tallied_in_batches_equal_a_rebuild(program, batches):
    """A batch of approvals in one transaction (the verification job's `deferred_sums`: periods,
    totals and spells written once at the end of the batch, issue 22) leaves the same rows as
    the rebuild from the approved completions, whatever the batches and their order."""
    from hub.db import deferred_sums

    owner_id, advocates, challenges = program
    db.session.execute(db.delete(Completion))
    rebuild_act_totals()  # each example starts from no approvals
    db.session.commit()
    for batch in batches:
        with deferred_sums():
            for who, when in batch:
                completion = Completion(
                    challenge_id=challenges[0],
                    advocate_id=advocates[who],
                    status=CompletionStatus.PENDING_REVIEW,
                    points_offered=10,
                    submitted_at=TIMES[when] - dt.timedelta(hours=2),
                )
                db.session.add(completion)
                db.session.flush()
                services.approve_completion(completion.id, owner_id, at=TIMES[when])
        db.session.commit()
    kept = _stored()
    rebuild_act_totals()
    assert _stored() == kept
    # The spells by hand: each advocate's sorted approval times cut where the gap passes 90 days.
    expected = []
    for who, advocate_id in enumerate(advocates):
        times = sorted(TIMES[when] for batch in batches for w, when in batch if w == who)
        runs: list[list[dt.datetime]] = []
        for t in times:
            if runs and t - runs[-1][-1] <= dt.timedelta(days=90):
                runs[-1].append(t)
            else:
                runs.append([t])
        expected += [(advocate_id, run[0], run[-1]) for run in runs]
    assert kept[3] == sorted(expected)


# Approval times anywhere in 2025: a day and a second of it (spells start and end mid-day).
ANY_TIME = st.builds(
    lambda day, second: at(2025, 1, 1) + dt.timedelta(days=day, seconds=second),
    st.integers(0, 364),
    st.integers(0, 86_399),
)


SPELL_HISTORIES = {
    "approvals": st.lists(st.tuples(st.integers(0, 2), ANY_TIME), max_size=10),
    "joins": st.lists(st.one_of(st.none(), ANY_TIME), min_size=3, max_size=3),
    "erased": st.sets(st.integers(0, 2), max_size=1),
    "moments": st.lists(ANY_TIME, min_size=1, max_size=4),
}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(**SPELL_HISTORIES)
def test_spell_day_totals_equal_a_rebuild_and_active_advocates_a_direct_count(
    program, approvals, joins, erased, moments
):
    """Approvals at any time of day, join times set after some of them (by hand) and an erasure:
    the spells' day totals and first approvals kept by the approvals equal the rebuild, and the
    active advocates read from them equal a direct count of the approvals in the 90 days before
    each moment, by counted advocates (joined before it, not erased)."""
    _check_spell_history(program, approvals, joins, erased, moments)


@pytest.fixture()
def pg_program(pg_ctx, make):
    """`program` on PostgreSQL (UTC days by the server's cast, the spells' index), in a session
    whose time zone is not UTC."""
    from tests.support.challenges import create_challenge

    db.session.execute(db.text("SET TIME ZONE 'America/Los_Angeles'"))
    owner = make.user("owner")
    advocates = [make.advocate().id for _ in range(3)]
    challenge = create_challenge(owner.id, type="custom", title="Act")
    db.session.commit()
    return owner.id, advocates, [challenge.id]


@pytest.mark.services
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(**SPELL_HISTORIES)
def test_spell_day_totals_on_postgresql_equal_a_rebuild_and_a_direct_count(
    pg_program, approvals, joins, erased, moments
):
    _check_spell_history(pg_program, approvals, joins, erased, moments)


def _check_spell_history(program, approvals, joins, erased, moments) -> None:
    owner_id, advocates, challenges = program
    db.session.execute(db.delete(Completion))
    db.session.execute(
        update(Advocate).where(Advocate.id.in_(advocates)).values(is_erased=False, joined_at=at(2020, 1, 1))
    )
    rebuild_act_totals()  # each example starts from no approvals
    db.session.commit()
    for who, when in approvals:
        _decide(owner_id, advocates[who], challenges[0], when, approve=True)
    joined = {}
    for who, advocate_id in enumerate(advocates):
        joined[advocate_id] = joins[who] or at(2020, 1, 1)
        db.session.execute(
            update(Advocate)
            .where(Advocate.id == advocate_id)
            .values(joined_at=joined[advocate_id], is_erased=who in erased)
        )
    db.session.commit()
    kept = _stored()
    rebuild_act_totals()
    assert _stored() == kept
    gone = {advocates[who] for who in erased}
    # Beside the random moments, each approval's own edges: on its day (it starts a spell there)
    # and 90 days on (its spell's end leaves the window there), at it and a second after.
    edges = [when + dt.timedelta(days=days, seconds=s) for _, when in approvals for days in (0, 90) for s in (0, 1)]
    for moment in [*moments, *edges]:
        since = moment - dt.timedelta(days=90)
        active = {
            advocates[who]
            for who, when in approvals
            if since <= when < moment and advocates[who] not in gone and joined[advocates[who]] < moment
        }
        day = moment.date()
        assert people.active_advocates(ReportPeriod(day, day), moment) == len(active), moment
        # A whole past period ends at midnight: no partial day.
        period = ReportPeriod(dt.date(2025, 1, 1), day)
        end = period.ends_before
        expected = {
            advocates[who]
            for who, when in approvals
            if end - dt.timedelta(days=90) <= when < end and advocates[who] not in gone and joined[advocates[who]] < end
        }
        assert people.active_advocates(period, NOW) == len(expected), end
