"""Issue 18: a duplicate evidence URL always goes to review, and the database decides it — two
advocates sending one review link at the same moment end with at most one automatic approval
(the claim's primary key), on PostgreSQL's concurrent writers and on SQLite's serialized ones."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import select

from challenges import jobs
from challenges.models import Completion, CompletionStatus, EvidenceClaim
from hub.extensions import db
from tests.support.challenges import Site, create_challenge
from tests.support.threads import run_together

N = 6


def _same_link_in_parallel(app, make, site: Site) -> None:
    with app.app_context():
        tokens = [make.token(make.advocate().user) for _ in range(N)]
        cid = create_challenge(
            title="Review us", type="review", platform="other", allowed_domains=["localhost"], marker=Site.MARKER
        ).id
    url = site.url("/review")

    def send(i: int) -> int:
        response = app.test_client().post(
            f"/api/v1/challenges/{cid}/completions",
            json={"evidence_url": url},
            headers={"Authorization": f"Bearer {tokens[i]}"},
        )
        return response.status_code

    before = app.config["VOUCH_VERIFY_ALLOW_HOSTS"]
    app.config["VOUCH_VERIFY_ALLOW_HOSTS"] = ["localhost"]
    try:
        assert run_together(N, send) == Counter({201: N})  # every advocate's submission is stored
        queue = app.extensions["vouch_queue"]
        if hasattr(queue, "join"):  # SQLite: the in-process queue verified them already
            queue.join()
        with app.app_context():
            ids = list(db.session.scalars(select(Completion.id).where(Completion.challenge_id == cid)))
            db.session.rollback()
            for completion_id in ids:  # each verification job (again, on SQLite: at least once)
                jobs.verify_completion(completion_id)
    finally:
        app.config["VOUCH_VERIFY_ALLOW_HOSTS"] = before
    with app.app_context():
        rows = db.session.scalars(select(Completion).where(Completion.challenge_id == cid)).all()
        statuses = Counter(c.status for c in rows)
        assert statuses == Counter({CompletionStatus.APPROVED: 1, CompletionStatus.PENDING_REVIEW: N - 1})
        approved = next(c for c in rows if c.status is CompletionStatus.APPROVED)
        claim = db.session.scalar(select(EvidenceClaim))
        assert claim.completion_id == approved.id and approved.hold_reason is None
        held = [c for c in rows if c.status is CompletionStatus.PENDING_REVIEW]
        assert all(c.hold_reason and f"completion #{approved.id}" in c.hold_reason for c in held)
        assert all(c.verification_note.startswith("Duplicate evidence link") for c in held)


@pytest.fixture()
def site():
    server = Site()
    yield server
    server.close()


@pytest.mark.multi_connection
def test_parallel_duplicate_url_on_sqlite(app, make, site):
    _same_link_in_parallel(app, make, site)


@pytest.mark.services
@pytest.mark.parametrize("repeat", range(3))
@pytest.mark.multi_connection
def test_parallel_duplicate_url_on_postgresql(pg_app, make, site, repeat):
    _same_link_in_parallel(pg_app, make, site)
