"""A verification batch's set-based approval (`decisions.approve_many`, issue 22 "Workers") does
what the same approvals do one by one (`approve_completion`): twin advocates with the same
history, one twin's completions approved one at a time and the other's in one batch, then every
effect compared — ledger entries and caches, tiers and their changes, badges, leaderboard rows,
notifications, their emails and the per-challenge tallies. Run on SQLite and on PostgreSQL (the
batch's row locks and `= ANY` arrays are PostgreSQL's)."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from sqlalchemy import select

from challenges import services
from challenges.services.decisions import approve_many
from hub.db import deferred_sums
from hub.email.mailings import email_notifications
from hub.email.models import OutboxEmail
from hub.extensions import db
from hub.models import Advocate, Notification
from hub.queue import PENDING_KEY
from rewards.ledger import post_entry
from rewards.models import AdvocateBadge, EntryKind, LeaderboardScore, LedgerEntry, TierChange
from tests.support.challenges import create_challenge

# (approved completions before, points before, approvals in the batch) of each advocate: the
# batch takes them across the 5 and 25 badges and the thank-you milestones, and across silver
# (1,000) and gold (5,000) at 600 points an approval, some on their second approval of the batch.
PROFILES = [(0, 0, 1), (4, 500, 2), (24, 4000, 2), (0, 0, 2)]
POINTS = 600
FOUND = {"verification_note": "The page says the marker."}


# The tests commit (as the verification job does): their tables are emptied afterwards.
pytestmark = [pytest.mark.services, pytest.mark.multi_connection]


@pytest.fixture(params=["sqlite", "postgresql"])
def twin_app(request, app, pg_app):
    app = app if request.param == "sqlite" else pg_app
    with app.app_context():
        yield app
        db.session.remove()


def _twin(make, label: str) -> tuple[list[Advocate], list[int], dict[int, str]]:
    """Advocates of PROFILES with their history (backdated approvals, points), and their batch's
    completions submitted and committed (their jobs dropped). Returns (advocates, completion ids
    in (advocate, id) order, {challenge id: a label the same in both twins})."""
    history = create_challenge(type="custom", title="History", points=1, max_per_advocate=100)
    batch = [create_challenge(type="review", title=f"Twin {n}", points=POINTS) for n in range(2)]
    past = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
    advocates = [make.advocate() for _ in PROFILES]  # first: the factory commits (and would send jobs)
    for advocate, (before, points, _) in zip(advocates, PROFILES, strict=True):
        for n in range(before):
            done = services.submit_completion(
                history.id, advocate.id, {"evidence_text": f"History {label} {advocate.id} {n} done well"}
            )
            services.approve_completion(done.id, None, at=past)
        if points:
            post_entry(advocate.id, points, kind=EntryKind.EARN, source_type="seed", source_id=advocate.id, at=past)
    db.session.info.pop(PENDING_KEY, None)
    db.session.commit()
    ids = []
    for advocate, (_, _, count) in zip(advocates, PROFILES, strict=True):
        for n in range(count):
            link = f"https://www.g2.com/reviews/{label}-{advocate.id}-{n}"
            ids.append(services.submit_completion(batch[n].id, advocate.id, {"evidence_url": link}).id)
    db.session.info.pop(PENDING_KEY, None)
    db.session.commit()
    return advocates, ids, {c.id: f"challenge {n}" for n, c in enumerate(batch)}


def _marks() -> dict[str, int]:
    """The highest id of each table compared, so only rows the approvals write are read."""
    tables = {"entries": LedgerEntry.id, "notes": Notification.id, "mail": OutboxEmail.id, "changes": TierChange.id}
    return {
        name: db.session.scalar(select(column).order_by(column.desc()).limit(1)) or 0 for name, column in tables.items()
    }


def _effects(advocates: list[Advocate], labels: dict[int, str], marks: dict[str, int]) -> list[dict]:
    """Everything the approvals changed, per advocate in PROFILES order, with the twins' own ids
    (advocate, user, challenge) left out."""
    db.session.expire_all()
    found = []
    for advocate in advocates:
        row = db.session.get(Advocate, advocate.id)

        def named(value: str) -> str:
            for challenge_id, label in labels.items():
                value = value.replace(f"/challenges/{challenge_id}", f"/challenges/<{label}>")
            return value

        found.append(
            {
                "caches": (row.balance, row.lifetime_points, row.tier),
                "entries": sorted(
                    db.session.execute(
                        select(LedgerEntry.delta, LedgerEntry.kind, LedgerEntry.source_type, LedgerEntry.memo).where(
                            LedgerEntry.advocate_id == advocate.id, LedgerEntry.id > marks["entries"]
                        )
                    ).all()
                ),
                "tier changes": sorted(
                    db.session.execute(
                        select(TierChange.from_tier, TierChange.to_tier).where(
                            TierChange.advocate_id == advocate.id, TierChange.id > marks["changes"]
                        )
                    ).all()
                ),
                "badges": sorted(
                    db.session.scalars(select(AdvocateBadge.code).where(AdvocateBadge.advocate_id == advocate.id))
                ),
                "leaderboard": sorted(
                    db.session.execute(
                        select(LeaderboardScore.period_key, LeaderboardScore.points).where(
                            LeaderboardScore.advocate_id == advocate.id
                        )
                    ).all()
                ),
                "notifications": Counter(
                    (kind, named(note_text), named(url or ""))
                    for kind, note_text, url in db.session.execute(
                        select(Notification.kind, Notification.text, Notification.url).where(
                            Notification.user_id == row.user_id, Notification.id > marks["notes"]
                        )
                    )
                ),
                "emails": Counter(
                    (kind, subject)
                    for kind, subject in db.session.execute(
                        select(OutboxEmail.kind, OutboxEmail.subject).where(
                            OutboxEmail.user_id == row.user_id, OutboxEmail.id > marks["mail"]
                        )
                    )
                ),
            }
        )
    return found


def _tallies(labels: dict[int, str]) -> dict[str, list]:
    """The per-challenge tallies of the twin's challenges, keyed by label (ids left out)."""
    found = {}
    for challenge_id, label in labels.items():
        for table in ("completion_day_totals", "approval_hour_counts"):
            tally = db.metadata.tables[table]
            rows = db.session.execute(select(tally).where(tally.c.challenge_id == challenge_id))
            found[f"{table} {label}"] = sorted(
                tuple(v for k, v in row._mapping.items() if k != "challenge_id") for row in rows
            )
    return found


def _emails_of_new_notifications(marks: dict[str, int]) -> None:
    """What the notification-emails job does for the approvals' notifications (run here)."""
    ids = list(db.session.scalars(select(Notification.id).where(Notification.id > marks["notes"])))
    email_notifications(ids)
    db.session.info.pop(PENDING_KEY, None)
    db.session.commit()


def test_a_batch_approves_as_the_same_approvals_one_by_one(twin_app, make):
    one_advocates, one_ids, one_labels = _twin(make, "one")
    marks = _marks()
    for completion_id in one_ids:
        services.approve_completion(completion_id, None, auto=True, **FOUND)
    db.session.info.pop(PENDING_KEY, None)
    db.session.commit()
    _emails_of_new_notifications(marks)
    one = _effects(one_advocates, one_labels, marks)
    one_tallies = _tallies(one_labels)

    batch_advocates, batch_ids, batch_labels = _twin(make, "batch")
    marks = _marks()
    with deferred_sums():
        approved = approve_many(dict.fromkeys(batch_ids, FOUND))
    db.session.info.pop(PENDING_KEY, None)
    db.session.commit()
    _emails_of_new_notifications(marks)
    batch = _effects(batch_advocates, batch_labels, marks)

    assert approved == batch_ids  # all of them, in (advocate, id) order
    assert batch == one
    assert _tallies(batch_labels) == one_tallies
    # The scenario does cross what it is meant to (computed here, not by the code under test).
    assert [effects["caches"][1] for effects in one] == [600, 4 + 500 + 1200, 24 + 4000 + 1200, 1200]  # history: 1 each
    assert {"completions_5", "completions_25"} <= {code for effects in one for code in effects["badges"]}
    assert sum(len(effects["tier changes"]) for effects in one) == 3
    assert any(kind == "milestones" for effects in one for kind, _ in effects["emails"])


def test_a_batch_approves_only_what_is_still_undecided_and_posts_nothing_twice(twin_app, make):
    advocates, ids, _ = _twin(make, "decided")
    services.reject_completion(ids[0], None, "Not the right page.")
    db.session.info.pop(PENDING_KEY, None)
    db.session.commit()
    with deferred_sums():
        assert approve_many(dict.fromkeys(ids, FOUND)) == ids[1:]
    db.session.commit()
    with deferred_sums():
        assert approve_many(dict.fromkeys(ids, FOUND)) == []  # a batch run again decides nothing
    db.session.info.pop(PENDING_KEY, None)
    db.session.commit()
    entries = db.session.scalars(
        select(LedgerEntry.source_id).where(
            LedgerEntry.source_type == "completion", LedgerEntry.source_id.in_([str(i) for i in ids])
        )
    ).all()
    assert sorted(entries) == sorted(str(i) for i in ids[1:])
    assert db.session.get(Advocate, advocates[0].id).balance == 0


def test_a_batchs_group_tallies_equal_a_rebuild(twin_app, make):
    """The batch's spread over the advocates' groups (one statement of arrays on PostgreSQL, a
    union of rows on SQLite) leaves the kept group rows equal to a rebuild from the completions."""
    from challenges.services.completion_tallies import rebuild_group_totals
    from tests.challenges.test_group_tallies import _stored

    owner = make.user("owner")
    names = [f"Batch G{n}-{owner.id}" for n in range(2)]
    advocates = [
        make.advocate(groups=(names[0],)),
        make.advocate(groups=(names[0], names[1])),
        make.advocate(groups=(names[1],)),
        make.advocate(),
    ]
    challenges = [create_challenge(type="review", title=f"Grouped {n}", points=POINTS) for n in range(2)]
    ids = [
        services.submit_completion(
            challenge.id, advocate.id, {"evidence_url": f"https://www.g2.com/reviews/g-{challenge.id}-{advocate.id}"}
        ).id
        for advocate in advocates
        for challenge in challenges
    ]
    db.session.info.pop(PENDING_KEY, None)
    db.session.commit()
    with deferred_sums():
        assert len(approve_many(dict.fromkeys(ids, FOUND))) == len(ids)
    db.session.info.pop(PENDING_KEY, None)
    db.session.commit()
    kept = _stored()
    days, hours, _ = kept
    # Two groups, each with two members of two approvals: 4 completions approved in each.
    assert sorted((row[2], row[3]) for row in days) == [(4, 4), (4, 4)]
    assert sum(row[-1] for row in hours) == 8
    rebuild_group_totals()
    assert _stored() == kept
