"""The per-group day summaries (challenges.services.completion_tallies, issue 17): kept by the
submission, decision and erasure services and by every change of an advocate's groups, they
equal a rebuild from the completions and hub's memberships, and the per-group report table read
from them gives the figures counted naively from the completions and the groups *now*."""

from __future__ import annotations

import datetime as dt
import statistics

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from challenges import report_tables, services
from challenges.models import (
    Ask,
    Completion,
    CompletionStatus,
    GroupApprovalHourCount,
    GroupDayTotal,
    GroupTallyMember,
)
from challenges.services.completion_tallies import rebuild_group_totals
from hub import accounts, groups
from hub.errors import VouchError
from hub.extensions import db
from hub.models import Group, advocate_groups
from hub.privacy import erase_advocate
from tests.challenges.test_completion_tallies import BASE, DELAYS, SUBMITTED, _open, at

OPERATION = st.one_of(
    st.tuples(st.just("submit"), st.integers(0, 2), st.integers(0, 1), st.integers(0, len(SUBMITTED) - 1)),
    st.tuples(st.just("approve"), st.integers(0, 2), st.integers(0, 1), st.integers(0, len(DELAYS) - 1)),
    st.tuples(st.just("reject"), st.integers(0, 2), st.integers(0, 1), st.just(0)),
    # the advocate's groups become the subset `index` (a bit per group) of the three groups
    st.tuples(st.just("groups"), st.integers(0, 2), st.just(0), st.integers(0, 7)),
    st.tuples(st.just("add_all"), st.integers(0, 2), st.just(0), st.just(0)),
    st.tuples(st.just("delete_group"), st.just(0), st.just(0), st.integers(0, 2)),
    st.tuples(st.just("erase"), st.integers(0, 2), st.just(0), st.just(0)),
)


def _program(make) -> tuple[int, list[int], list[int], list[int]]:
    """An owner, three advocates (the first in group 0, the second in groups 0 and 1), two
    challenges (one asking a medium effort, one no ask), three groups."""
    from tests.support.challenges import create_challenge

    owner = make.user("owner")
    # Hypothesis runs its examples on one database: names unique to this one.
    names = [f"G{n}-{owner.id}" for n in range(3)]
    advocates = [
        make.advocate(groups=(names[0],)).id,
        make.advocate(groups=(names[0], names[1])).id,
        make.advocate().id,
    ]
    group_ids = [db.session.scalar(select(Group.id).where(Group.name == n)) for n in names[:2]]
    extra = Group(name=names[2])
    db.session.add(extra)
    db.session.flush()
    challenges = [
        create_challenge(owner.id, title=f"Act {effort}", effort=effort, max_per_advocate=100).id
        for effort in ("medium", "low")
    ]
    db.session.commit()
    return owner.id, advocates, challenges, [*group_ids, extra.id]


def _apply(owner_id: int, advocates: list[int], challenges: list[int], group_ids: list[int], operation: tuple) -> None:
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
                ask_handed_over=True,
            )
        elif name == "groups":
            alive = set(db.session.scalars(select(Group.id)))
            wanted = [g for bit, g in enumerate(group_ids) if index & (1 << bit) and g in alive]
            accounts.set_advocate_groups(advocate_id, wanted, owner_id)
        elif name == "add_all":
            if db.session.get(Group, group_ids[2]) is not None:
                groups.add_filtered(group_ids[2], owner_id, BASE)
        elif name == "delete_group":
            if db.session.get(Group, group_ids[index]) is not None:
                groups.delete_group(group_ids[index], owner_id)
        elif name == "erase":
            erase_advocate(advocate_id, owner_id, "operator")
        elif (completion := _open(advocate_id, challenge_id)) is not None:
            if name == "approve":
                services.approve_completion(completion.id, owner_id, at=completion.submitted_at + DELAYS[index])
            else:
                services.reject_completion(completion.id, owner_id, "Not this time.")
        db.session.commit()
    except VouchError as refused:  # a second open completion, a decided one decided again, an erased advocate
        db.session.rollback()
        print("refused:", operation, refused)


def _stored() -> tuple[list[tuple], list[tuple], list[tuple]]:
    """The kept rows summed over the shards (zero rows left out), and the followed memberships."""
    t, h = GroupDayTotal, GroupApprovalHourCount
    days: dict[tuple, list[int]] = {}
    for g, day, *amounts in db.session.execute(
        select(t.group_id, t.day, t.completions, t.approved, t.rejected, t.points_paid, t.asks_spent)
    ):
        row = days.setdefault((g, day), [0] * 5)
        for i, amount in enumerate(amounts):
            row[i] += amount
    hours: dict[tuple, int] = {}
    for g, day, took, n in db.session.execute(select(h.group_id, h.day, h.hours, h.approvals)):
        hours[(g, day, took)] = hours.get((g, day, took), 0) + n
    members = sorted(
        tuple(r) for r in db.session.execute(select(GroupTallyMember.advocate_id, GroupTallyMember.group_id))
    )
    return (
        sorted((*k, *v) for k, v in days.items() if any(v)),
        sorted((*k, n) for k, n in hours.items() if n),
        members,
    )


def _shards_are_right() -> bool:
    """Each kept row holds only its shard's advocates: a rebuild gives the same rows per shard."""
    t = GroupDayTotal
    return all(0 <= shard < 8 for shard in db.session.scalars(select(t.shard)))


def _hand_table(start: dt.datetime, end: dt.datetime) -> dict[int, tuple]:
    """group id → (completions, approved, rejected, median whole hours, points, asks) for the
    completions submitted in [start, end) by the group's members now, from the completions."""
    active = {a.source_id for a in db.session.scalars(select(Ask)) if a.cancelled_at is None}
    members: dict[int, set[int]] = {}
    for advocate_id, group_id in db.session.execute(select(advocate_groups.c.advocate_id, advocate_groups.c.group_id)):
        members.setdefault(group_id, set()).add(advocate_id)
    table = {}
    for group_id, who in members.items():
        mine = [
            c for c in db.session.scalars(select(Completion)) if c.advocate_id in who and start <= c.submitted_at < end
        ]
        if not mine:
            continue
        approved = [c for c in mine if c.status is CompletionStatus.APPROVED]
        hours = [(c.decided_at - c.submitted_at) // dt.timedelta(hours=1) for c in approved]
        table[group_id] = (
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
    assert _shards_are_right()
    rebuild_group_totals()
    assert _stored() == kept
    db.session.rollback()
    read = {
        r.key: (r.completions, r.approved, r.rejected, r.median_hours_to_approve, r.points_paid, r.asks_spent)
        for r in report_tables.group_performance(start, end)
    }
    assert read == _hand_table(start, end)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=st.lists(OPERATION, max_size=14))
def test_the_group_tallies_equal_a_rebuild_and_a_naive_recount(ctx, make, operations):
    owner_id, advocates, challenges, group_ids = _program(make)
    for operation in operations:
        _apply(owner_id, advocates, challenges, group_ids, operation)
    _check(at(2026, 3, 30), at(2026, 4, 3))
    _check(at(2026, 3, 31), at(2026, 4, 2))


def test_joining_a_group_brings_the_history_and_leaving_takes_it(ctx, make):
    owner_id, (ann, bob, cat), (medium, _low), (g0, g1, g2) = _program(make)
    for op in [("submit", 2, 0, 0), ("approve", 2, 0, 2), ("submit", 0, 0, 0)]:
        _apply(owner_id, [ann, bob, cat], [medium, _low], [g0, g1, g2], op)
    day = (at(2026, 3, 30), at(2026, 3, 31))
    assert {r.key for r in report_tables.group_performance(*day)} == {g0}  # Ann's; Cat is in none
    accounts.set_advocate_groups(cat, [g2], owner_id)  # Cat joins G2 after her approval
    db.session.commit()
    row = {r.key: r for r in report_tables.group_performance(*day)}[g2]
    assert (row.completions, row.approved, row.median_hours_to_approve, row.asks_spent) == (1, 1, 25.0, 1)
    accounts.set_advocate_groups(ann, [], owner_id)  # Ann leaves G0: its row goes
    db.session.commit()
    assert {r.key for r in report_tables.group_performance(*day)} == {g2}


@pytest.mark.services
def test_the_group_tallies_on_postgresql(pg_ctx, make):
    db.session.execute(db.text("SET TIME ZONE 'America/Los_Angeles'"))  # days stay UTC
    owner_id, advocates, challenges, group_ids = _program(make)
    operations = [
        ("submit", 0, 0, 0),
        ("submit", 1, 0, 1),
        ("submit", 2, 0, 2),
        ("approve", 0, 0, 0),
        ("groups", 2, 0, 5),
        ("approve", 1, 0, 1),
        ("reject", 2, 0, 0),
        ("add_all", 0, 0, 0),
        ("submit", 2, 0, 0),
        ("groups", 1, 0, 2),
        ("delete_group", 0, 0, 0),
        ("erase", 2, 0, 0),
        ("approve", 1, 0, 2),
    ]
    for operation in operations:
        _apply(owner_id, advocates, challenges, group_ids, operation)
    _check(at(2026, 3, 30), at(2026, 4, 3))
    _check(at(2026, 3, 31), at(2026, 4, 2))


@pytest.mark.services
@pytest.mark.multi_connection
def test_group_changes_racing_decisions_and_submissions_keep_the_tallies_right(pg_app, make):
    """Decisions, submissions and group changes of the same advocates at once (each in its own
    transaction and connection): no deadlock, and the kept rows equal a rebuild."""
    from tests.support.challenges import create_challenge
    from tests.support.threads import committing, run_together

    with pg_app.app_context():
        owner = make.user("owner")
        names = [f"R{n}" for n in range(3)]
        advocates = [make.advocate(groups=(names[n % 3],)).id for n in range(3)]
        group_ids = [db.session.scalar(select(Group.id).where(Group.name == n)) for n in names]
        challenges = [
            create_challenge(owner.id, title=f"Race {n}", effort="medium", max_per_advocate=100).id for n in range(4)
        ]
        pending = []
        for advocate_id in advocates:
            for challenge_id in challenges[:3]:
                done = services.submit_completion(
                    challenge_id, advocate_id, {"evidence_text": "x"}, at=BASE, system=True, ask_handed_over=True
                )
                pending.append(done.id)
        db.session.commit()
        owner_id = owner.id

    def work(i: int):
        who = advocates[i % 3]
        if i < len(pending):  # approve or reject each pending completion
            if i % 2:
                return services.approve_completion(pending[i], owner_id, at=BASE + DELAYS[i % 3]).status.value
            return services.reject_completion(pending[i], owner_id, "No.").status.value
        extra = i - len(pending)
        if extra % 3:  # two of three: a submission (a repeat of an open one is refused)
            services.submit_completion(
                challenges[3], who, {"evidence_text": "y"}, at=BASE, system=True, ask_handed_over=True
            )
            return "submitted"
        # Three group changes of the first advocate at once (two owners at the same form): the
        # advocate's row lock makes them run one after the other, none fails.
        moved = advocates[0]
        accounts.set_advocate_groups(moved, [g for bit, g in enumerate(group_ids) if (i + 3) & (1 << bit)], owner_id)
        return "moved"

    outcomes = run_together(len(pending) + 9, committing(pg_app, work, (VouchError,)))
    assert sum(outcomes.values()) == len(pending) + 9
    assert outcomes["moved"] == 3
    with pg_app.app_context():
        # The first advocate's groups are one of the three sets asked for (the last to commit).
        asked = [{g for bit, g in enumerate(group_ids) if (len(pending) + e + 3) & (1 << bit)} for e in (0, 3, 6)]
        now = set(
            db.session.scalars(select(advocate_groups.c.group_id).where(advocate_groups.c.advocate_id == advocates[0]))
        )
        assert now in asked
        kept = _stored()
        rebuild_group_totals()
        assert _stored() == kept
        db.session.rollback()
