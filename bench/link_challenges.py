"""Publishes fresh link challenges for the "submit-link" benchmark and prints their ids as one JSON line.

    python bench/link_challenges.py --root CHECKOUT [--count 20]      (prints {"link_ids": [...]})

A link challenge is a `social_share` verified by the link check (`url_check`, evidence: a URL):
the submission stores the evidence URL, claims it (issue 18's duplicate-URL rule) and leaves
the verdict to a job — the path the trust work changed, unlike a quiz, which is now graded in
the request. The challenges are new on every run, so every (submitter, challenge) pair the
benchmark sends is fresh whatever earlier runs submitted.

Like bench/counts.py it imports nothing from `bench/` and only services both the trust branch
and the commit before it have (`clean_challenge`, `create_challenge`, `publish_challenge`), so
bench/compare.py runs it with either checkout's interpreter and code, like for like.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys

BENCH_OWNER = "bench-owner@example.com"
LINK_DOMAIN = "share.bench.example"
TITLE = "Bench link share"


def publish(count: int) -> list[int]:
    """Create and publish `count` link challenges as the bench owner; their ids."""
    from sqlalchemy import select

    from challenges import services
    from hub.extensions import db
    from hub.models import User

    owner_id = db.session.scalar(select(User.id).where(User.email == BENCH_OWNER))
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M%S")
    ids = []
    for n in range(count):
        inp = services.clean_challenge(
            {
                "title": f"{TITLE} {stamp}-{n + 1}",
                "type": "social_share",
                "points": 10,
                "allowed_domains": [LINK_DOMAIN],
                "marker": "#vouchbench",
                "description": "A link the benchmark submits; the link check runs in a job.",
            }
        )
        challenge = services.create_challenge(inp, owner_id)
        services.publish_challenge(challenge.id, owner_id)
        ids.append(challenge.id)
    db.session.commit()
    return ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=".", help="checkout whose code creates the challenges")
    parser.add_argument("--count", type=int, default=20)
    args = parser.parse_args()
    root = os.path.abspath(args.root)
    os.chdir(root)
    sys.path[0] = root  # the checkout's packages, not bench/'s modules
    from hub.app import create_app

    with create_app().app_context():
        ids = publish(args.count)
    print(json.dumps({"link_ids": ids, "link_domain": LINK_DOMAIN}))


if __name__ == "__main__":
    main()
