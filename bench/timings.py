"""Times the whole-program recomputations on the seeded database and prints one JSON line.

    python -m bench.timings

- full leaderboard rebuild (`flask rewards rebuild-leaderboards`: SQL scores + Redis sets);
- full attribution recompute (`challenges.crm.attribution.tally(None)`: touches and credits);
- all tiers recomputed (what an owner's threshold change triggers).
Each runs in its own transaction and commits, as the CLI commands and jobs do.
"""

from __future__ import annotations

import json
import time


def timed(fn) -> tuple[float, object]:
    from hub.extensions import db

    started = time.perf_counter()
    result = fn()
    db.session.commit()
    return round(time.perf_counter() - started, 2), result


def main() -> None:
    from sqlalchemy import func, select

    from challenges.crm import attribution
    from challenges.crm.models import AttributionTouch, Opportunity
    from hub.app import create_app
    from hub.extensions import db
    from hub.models import Advocate
    from rewards import leaderboard
    from rewards.models import LedgerEntry
    from rewards.services import recompute_all_tiers

    with create_app().app_context():

        def count(model) -> int:
            return db.session.execute(select(func.count()).select_from(model)).scalar_one()

        rebuild_s, boards = timed(leaderboard.rebuild)
        tally_s, _ = timed(lambda: attribution.tally(None))
        tiers_s, changed = timed(recompute_all_tiers)
        print(
            json.dumps(
                {
                    "leaderboard_rebuild_s": rebuild_s,
                    "leaderboard_rows": boards,
                    "attribution_recompute_s": tally_s,
                    "opportunities": count(Opportunity),
                    "touches": count(AttributionTouch),
                    "tier_recompute_s": tiers_s,
                    "tier_changes": changed,
                    "advocates": count(Advocate),
                    "ledger_entries": count(LedgerEntry),
                }
            )
        )


if __name__ == "__main__":
    main()
