"""A small hand-made program for the report tables (issue 17): every row is written with fixed
times, so the tests compute each table's figures by hand.

Q2 2026 is 2026-04-01 … 2026-06-30. Challenges: "Review on G2" (A) and "Case study" (B).
Advocates: Ann (group EMEA), Bob (groups EMEA and NA), Cat (no group), Dan (no group).

| completion | who | challenge | submitted        | status         | decided          | points | ask            |
|------------|-----|-----------|------------------|----------------|------------------|--------|----------------|
| a1         | Ann | A         | 2026-04-10 09:00 | approved       | 2026-04-10 11:00 | 100    | medium         |
| a2         | Bob | A         | 2026-05-01 00:00 | approved       | 2026-05-02 00:00 | 100    | medium         |
| a3         | Cat | A         | 2026-05-03 00:00 | rejected       | 2026-05-03 06:00 |        | medium, released |
| a4         | Ann | A         | 2026-06-30 23:00 | pending_review |                  |        | medium         |
| a5         | Bob | A         | 2026-07-01 00:00 | approved       | 2026-07-01 01:00 | 100    | medium         |
| b1         | Bob | B         | 2026-04-20 00:00 | approved       | 2026-04-20 04:00 | 250    | high           |
| b2         | Cat | B         | 2026-03-31 23:59 | approved       | 2026-04-01 00:30 | 250    | none           |

Dan has six reference-call asks: 2025-07-01 00:00 (exactly 365 days before 2026-07-01, so out of
the burnout window) and 2025-08-01, 2025-10-01, 2025-12-01, 2026-02-01, 2026-03-01.

Redemptions of a "Hoodie": r1 Ann 2026-04-05 requested (300), r2 Bob 2026-06-30 23:59 fulfilled
(200), r3 Cat 2026-07-01 00:00 approved (100).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

Q2 = (dt.date(2026, 4, 1), dt.date(2026, 6, 30))


def at(text: str) -> dt.datetime:
    """ "2026-04-10 09:00" as an aware UTC time."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def build_program(make: Any) -> dict[str, Any]:
    """Write the program above (committed) through `make` (tests.support.factories.Factory);
    returns the ids by name."""
    from challenges.models import Ask, AskKind, Completion, CompletionStatus
    from hub.extensions import db
    from rewards.models import Redemption, RedemptionStatus
    from tests.support.challenges import create_challenge
    from tests.support.rewards import new_reward

    ann = make.advocate(name="Ann Able", groups=("EMEA",))
    bob = make.advocate(name="Bob Busy", groups=("EMEA", "NA"))
    cat = make.advocate(name="Cat Calm")
    dan = make.advocate(name="Dan Drained")
    a = create_challenge(title="Review on G2", points=100, max_per_advocate=10)
    b = create_challenge(title="Case study", points=250, max_per_advocate=10)
    completions = {
        "a1": (ann, a, "2026-04-10 09:00", "approved", "2026-04-10 11:00", 100, "medium"),
        "a2": (bob, a, "2026-05-01 00:00", "approved", "2026-05-02 00:00", 100, "medium"),
        "a3": (cat, a, "2026-05-03 00:00", "rejected", "2026-05-03 06:00", None, "released"),
        "a4": (ann, a, "2026-06-30 23:00", "pending_review", None, None, "medium"),
        "a5": (bob, a, "2026-07-01 00:00", "approved", "2026-07-01 01:00", 100, "medium"),
        "b1": (bob, b, "2026-04-20 00:00", "approved", "2026-04-20 04:00", 250, "high"),
        "b2": (cat, b, "2026-03-31 23:59", "approved", "2026-04-01 00:30", 250, None),
    }
    ids: dict[str, Any] = {"ann": ann.id, "bob": bob.id, "cat": cat.id, "dan": dan.id, "a": a.id, "b": b.id}
    for name, (who, challenge, submitted, status, decided, points, ask) in completions.items():
        completion = Completion(
            challenge_id=challenge.id,
            advocate_id=who.id,
            status=CompletionStatus(status),
            points_offered=challenge.points,
            points_awarded=points,
            submitted_at=at(submitted),
            decided_at=at(decided) if decided else None,
        )
        db.session.add(completion)
        db.session.flush()
        ids[name] = completion.id
        if ask:
            db.session.add(
                Ask(
                    advocate_id=who.id,
                    kind=AskKind.HIGH if ask == "high" else AskKind.MEDIUM,
                    source_type="completion",
                    source_id=str(completion.id),
                    asked_at=at(submitted),
                    cancelled_at=at(decided) if ask == "released" and decided else None,
                )
            )
    for n, when in enumerate(
        (
            "2025-07-01 00:00",
            "2025-08-01 00:00",
            "2025-10-01 00:00",
            "2025-12-01 00:00",
            "2026-02-01 00:00",
            "2026-03-01 00:00",
        )
    ):
        db.session.add(
            Ask(
                advocate_id=dan.id,
                kind=AskKind.REFERENCE_CALL,
                source_type="test_reference",
                source_id=f"dan-{n}",
                asked_at=at(when),
            )
        )
    reward_id = new_reward(name="Hoodie", points_cost=100)
    for name, (who, when, status, points) in {
        "r1": (ann, "2026-04-05 00:00", "requested", 300),
        "r2": (bob, "2026-06-30 23:59", "fulfilled", 200),
        "r3": (cat, "2026-07-01 00:00", "approved", 100),
    }.items():
        redemption = Redemption(
            reward_id=reward_id,
            advocate_id=who.id,
            points=points,
            status=RedemptionStatus(status),
            created_at=at(when),
            updated_at=at(when),
        )
        db.session.add(redemption)
        db.session.flush()
        ids[name] = redemption.id
    # the asks and completions above were written as rows, not claimed or submitted: count them
    # as a claim, a submission and a decision would have
    from challenges.caps import rebuild_ask_day_totals
    from challenges.services.completion_tallies import rebuild_completion_totals

    rebuild_ask_day_totals()
    rebuild_completion_totals()
    db.session.commit()
    return ids
