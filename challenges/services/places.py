"""Places taken per challenge (max_total): counters the database keeps, and their rebuild.

`challenge_places` (challenges.models.ChallengePlaces) is written only by the triggers on
`completions` that the migration c6b22625e564 created: +1 when a completion that counts
(COUNTING: in flight or approved) is inserted or enters COUNTING, −1 when one leaves it (a
rejection, an erasure's rejection of what was in flight) or is deleted, in the writing
transaction. A read of the places of N challenges is one indexed read of their shards instead of
a count over their completions (13–15k rows per feed request at bench scale, issue 22).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, insert, select, text

from challenges.models import COUNTING, PLACE_SHARDS, ChallengePlaces, Completion
from hub.db import any_of
from hub.extensions import db


def places_taken(challenge_ids: Sequence[int]) -> dict[int, int]:
    """Places taken (completions in flight or approved) of each challenge: {challenge_id: n},
    0 for a challenge nobody has taken. One query (`challenge_id = ANY(:ids)` on PostgreSQL)."""
    if not challenge_ids:
        return {}
    taken = dict.fromkeys(challenge_ids, 0)
    rows = db.session.execute(
        select(ChallengePlaces.challenge_id, func.sum(ChallengePlaces.taken))
        .where(any_of(ChallengePlaces.challenge_id, list(challenge_ids)))
        .group_by(ChallengePlaces.challenge_id)
    ).all()
    for challenge_id, n in rows:
        taken[challenge_id] = int(n)
    return taken


def recount() -> dict[int, int]:
    """Places taken per challenge counted from the completions themselves (nonzero ones only)."""
    return dict(
        db.session.execute(
            select(Completion.challenge_id, func.count())
            .where(Completion.status.in_(COUNTING))
            .group_by(Completion.challenge_id)
        ).all()
    )


def rebuild_places() -> int:
    """Recount every challenge's places from the completions (one grouped INSERT … SELECT) and
    return the number of counter rows written. On PostgreSQL the completions are locked against
    writes (SHARE mode) until the caller commits, so no change slips between the count and the
    triggers; SQLite's write transaction already excludes other writers."""
    session = db.session
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE completions IN SHARE MODE"))
    shard = Completion.advocate_id % PLACE_SHARDS
    grouped = (
        select(Completion.challenge_id, shard, func.count())
        .where(Completion.status.in_(COUNTING))
        .group_by(Completion.challenge_id, shard)
    )
    session.execute(delete(ChallengePlaces))
    session.execute(insert(ChallengePlaces).from_select(["challenge_id", "shard", "taken"], grouped))
    return session.execute(select(func.count()).select_from(ChallengePlaces)).scalar_one()
