"""The per-challenge day summaries (challenges.services.completion_tallies, issue 17): kept by the
submission, decision and erasure services in their transactions, they equal a rebuild from the
completions and a naive recount in Python of the completions and asks; the per-challenge report
table read from them gives the figures counted by hand."""

from __future__ import annotations

import datetime as dt
import statistics

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from challenges import report_tables, services
from challenges.models import ApprovalHourCount, Ask, Completion, CompletionDayTotal, CompletionStatus
from challenges.privacy import erase_challenges
from challenges.services.completion_tallies import hours_to_approve, rebuild_completion_totals
from hub.errors import VouchError
from hub.extensions import db
from hub.models import Advocate


def at(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.UTC)


BASE = at(2026, 3, 30, 22, 0)
# Submission offsets from BASE (across UTC midnights and the quarter's start) and approval delays
# (across whole hours: 59 min 59 s, exactly 1 h, 25 h 30 min).
SUBMITTED = [dt.timedelta(0), dt.timedelta(hours=1, minutes=59, seconds=59), dt.timedelta(days=2, hours=3)]
DELAYS = [dt.timedelta(minutes=59, seconds=59), dt.timedelta(hours=1), dt.timedelta(hours=25, minutes=30)]

OPERATION = st.one_of(
    st.tuples(st.just("submit"), st.integers(0, 2), st.integers(0, 1), st.integers(0, len(SUBMITTED) - 1)),
    st.tuples(st.just("approve"), st.integers(0, 2), st.integers(0, 1), st.integers(0, len(DELAYS) - 1)),
    st.tuples(st.just("reject"), st.integers(0, 2), st.integers(0, 1), st.just(0)),
    st.tuples(st.just("erase"), st.integers(0, 2), st.just(0), st.just(0)),
)


def _program(make) -> tuple[int, list[int], list[int]]:
    """An owner, three advocates, two challenges (one asking a medium effort, one no ask)."""
    from tests.support.challenges import create_challenge

    owner = make.user("owner")
    advocates = [make.advocate().id for _ in range(3)]
    challenges = [
        create_challenge(owner.id, title=f"Act {effort}", effort=effort, max_per_advocate=100).id
        for effort in ("medium", "low")
    ]
    db.session.commit()
    return owner.id, advocates, challenges


def _open(advocate_id: int, challenge_id: int) -> Completion | None:
    return db.session.scalars(
        select(Completion).where(
            Completion.advocate_id == advocate_id,
            Completion.challenge_id == challenge_id,
            Completion.status.in_((CompletionStatus.SUBMITTED, CompletionStatus.PENDING_REVIEW)),
        )
    ).first()


def _apply(owner_id: int, advocates: list[int], challenges: list[int], operation: tuple) -> None:
    name, who, which, index = operation
    advocate_id, challenge_id = advocates[who], challenges[which]
    try:
        if name == "submit":
            services.submit_completion(
                challenge_id,
                advocate_id,
                {"evidence_text": "I did it"},
                at=BASE + SUBMITTED[index],
                system=True,
                ask_handed_over=True,  # the caps are not what this test is about
            )
        elif name == "erase":
            erase_challenges(db.session.get_one(Advocate, advocate_id))
        elif (completion := _open(advocate_id, challenge_id)) is not None:
            if name == "approve":
                services.approve_completion(completion.id, owner_id, at=completion.submitted_at + DELAYS[index])
            else:
                services.reject_completion(completion.id, owner_id, "Not this time.")
        db.session.commit()
    except VouchError as refused:  # a second open completion of a pair, a decided one decided again
        db.session.rollback()
        print("refused:", operation, refused)


def _stored() -> tuple[list[tuple], list[tuple]]:
    t, h = CompletionDayTotal, ApprovalHourCount
    days = [
        tuple(r)
        for r in db.session.execute(
            select(t.challenge_id, t.day, t.completions, t.approved, t.rejected, t.points_paid, t.asks_spent).order_by(
                t.challenge_id, t.day
            )
        )
        if any(tuple(r)[2:])
    ]
    hours = [
        tuple(r)
        for r in db.session.execute(
            select(h.challenge_id, h.day, h.hours, h.approvals).order_by(h.challenge_id, h.day, h.hours)
        )
        if r.approvals
    ]
    return days, hours


def _recount() -> tuple[list[tuple], list[tuple]]:
    """The same rows counted naively in Python from every completion and ask."""
    active = {
        a.source_id for a in db.session.scalars(select(Ask)) if a.source_type == "completion" and a.cancelled_at is None
    }
    days: dict[tuple, list[int]] = {}
    hours: dict[tuple, int] = {}
    for c in db.session.scalars(select(Completion)):
        key = (c.challenge_id, c.submitted_at.astimezone(dt.UTC).date())
        row = days.setdefault(key, [0, 0, 0, 0, 0])
        row[0] += 1
        if c.status is CompletionStatus.APPROVED:
            row[1] += 1
            row[3] += c.points_awarded or 0
            delay = c.decided_at - c.submitted_at
            bucket = (*key, int(delay.total_seconds() // 3600))
            hours[bucket] = hours.get(bucket, 0) + 1
        if c.status is CompletionStatus.REJECTED:
            row[2] += 1
        row[4] += str(c.id) in active
    return [(*k, *v) for k, v in sorted(days.items())], sorted((*k, n) for k, n in hours.items())


def _hand_table(start: dt.datetime, end: dt.datetime) -> dict[int, tuple]:
    """challenge id → (completions, approved, rejected, median whole hours, points, asks) for the
    completions submitted in [start, end), from the completions."""
    active = {a.source_id for a in db.session.scalars(select(Ask)) if a.cancelled_at is None}
    found: dict[int, list[Completion]] = {}
    for c in db.session.scalars(select(Completion)):
        if start <= c.submitted_at < end:
            found.setdefault(c.challenge_id, []).append(c)
    table = {}
    for challenge_id, mine in found.items():
        approved = [c for c in mine if c.status is CompletionStatus.APPROVED]
        hours = [(c.decided_at - c.submitted_at) // dt.timedelta(hours=1) for c in approved]
        table[challenge_id] = (
            len(mine),
            len(approved),
            sum(c.status is CompletionStatus.REJECTED for c in mine),
            round(statistics.median(hours), 2) if hours else None,
            sum(c.points_awarded or 0 for c in approved),
            sum(str(c.id) in active for c in mine),
        )
    return table


def _check(start: dt.datetime, end: dt.datetime) -> None:
    kept = _stored()
    assert kept == _recount()
    rebuild_completion_totals()
    assert _stored() == kept
    db.session.rollback()
    read = {
        r.key: (r.completions, r.approved, r.rejected, r.median_hours_to_approve, r.points_paid, r.asks_spent)
        for r in report_tables.challenge_performance(start, end)
    }
    assert read == _hand_table(start, end)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=st.lists(OPERATION, max_size=12))
def test_the_tallies_equal_a_rebuild_and_a_naive_recount(ctx, make, operations):
    owner_id, advocates, challenges = _program(make)
    for operation in operations:
        _apply(owner_id, advocates, challenges, operation)
    _check(at(2026, 3, 30), at(2026, 4, 3))
    _check(at(2026, 3, 31), at(2026, 4, 2))


def test_a_worked_example(ctx, make):
    owner_id, (ann, bob, cat), (medium, low) = _program(make)
    for who in (ann, bob, cat):
        _apply(owner_id, [who], [medium], ("submit", 0, 0, 0))  # Mar 30 22:00, each holds an ask
    _apply(owner_id, [ann], [medium], ("approve", 0, 0, 0))  # after 59:59 → 0 h
    _apply(owner_id, [bob], [medium], ("approve", 0, 0, 2))  # after 25:30 → 25 h
    _apply(owner_id, [cat], [medium], ("reject", 0, 0, 0))  # its ask released
    _apply(owner_id, [ann], [low], ("submit", 0, 0, 2))  # Apr 2 01:00, no ask
    [row] = report_tables.challenge_performance(at(2026, 3, 30), at(2026, 3, 31))
    # 3 submitted, 2 approved (0 h and 25 h → median 12.5 h), 1 rejected, 2 × 150 points, 2 asks held.
    assert (row.key, row.completions, row.approved, row.rejected) == (medium, 3, 2, 1)
    assert (row.median_hours_to_approve, row.points_paid, row.asks_spent) == (12.5, 300, 2)
    [row] = report_tables.challenge_performance(at(2026, 4, 2), at(2026, 4, 3))
    assert (row.key, row.completions, row.approved, row.median_hours_to_approve, row.asks_spent) == (
        low,
        1,
        0,
        None,
        0,
    )
    assert hours_to_approve(at(2026, 1, 1), at(2026, 1, 1, 0, 59, 59)) == 0
    assert hours_to_approve(at(2026, 1, 1), at(2026, 1, 1, 1)) == 1


def test_a_period_not_of_whole_days_reads_the_completions_to_the_second(ctx, make):
    owner_id, (ann, bob, _), (medium, _) = _program(make)
    for who, delay in ((ann, 0), (bob, 2)):
        _apply(owner_id, [who], [medium], ("submit", 0, 0, 0))
        _apply(owner_id, [who], [medium], ("approve", 0, 0, delay))
    [row] = report_tables.challenge_performance(at(2026, 3, 30, 12), at(2026, 3, 31, 12))
    # 59 min 59 s and 25 h 30 min: median 13 h 14 min 59.5 s.
    assert row.median_hours_to_approve == round((3599 + 91800) / 2 / 3600, 2)


@pytest.mark.services
def test_the_tallies_on_postgresql_equal_a_rebuild_and_a_naive_recount(pg_ctx, make):
    db.session.execute(db.text("SET TIME ZONE 'America/Los_Angeles'"))  # days stay UTC
    owner_id, advocates, challenges = _program(make)
    operations = [
        ("submit", 0, 0, 0),
        ("submit", 1, 0, 1),
        ("submit", 2, 0, 2),
        ("submit", 0, 1, 1),
        ("approve", 0, 0, 0),
        ("approve", 1, 0, 1),
        ("reject", 2, 0, 0),
        ("submit", 2, 0, 0),
        ("erase", 2, 0, 0),
        ("approve", 0, 1, 2),
    ]
    for operation in operations:
        _apply(owner_id, advocates, challenges, operation)
    _check(at(2026, 3, 30), at(2026, 4, 3))
    _check(at(2026, 3, 31), at(2026, 4, 2))
