"""The points economy's Prometheus metrics (exposed by `/metrics`, see hub.metrics).

- `vouch_points_issued_total{kind}`: points advocates earned (earn, bonus and positive
  adjustments: the kinds that count toward lifetime points), counted when the ledger
  entry's transaction commits;
- `vouch_leaderboard_rebuild_seconds`: how long `rewards.leaderboard.rebuild` took (the
  nightly rebuild, `flask rewards rebuild-leaderboards`), a histogram.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

POINTS_ISSUED = Counter(
    "vouch_points_issued",
    "Points issued to advocates (kinds counting toward lifetime points), by ledger entry kind.",
    ["kind"],
)
LEADERBOARD_REBUILD = Histogram(
    "vouch_leaderboard_rebuild_seconds",
    "Time to rebuild every leaderboard from the ledger (SQL table and Redis).",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0),
)


def count_issued_after_commit(kind: str, points: int) -> None:
    """Add `points` to the issued counter once the current transaction commits."""
    from hub.queue import call_after_commit

    call_after_commit(lambda: POINTS_ISSUED.labels(kind).inc(points))
