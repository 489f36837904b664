"""What a link submission costs (issue 18's "submit latency within 10 %", issue 22's submit):
the statements of the service and of the API request, and the after-commit jobs sent in one
Redis transaction. The bench's `submit-link` endpoint measures the same path at scale
(docs/performance.md, "Submit a link before and after the trust branch")."""

from __future__ import annotations

import re

from sqlalchemy import select

from challenges import services
from challenges.models import Completion, CompletionStatus, EvidenceClaim
from hub.extensions import db
from hub.queue import PENDING_KEY

LINK = {"type": "social_share", "points": 10, "allowed_domains": ["linkedin.com"], "marker": "#acme"}


def begun(statements: list[str]) -> list[str]:
    """Open the session's transaction (the test isolation's own SAVEPOINT is taken then) and
    forget what it ran: what the list holds afterwards is the service's."""
    db.session.execute(select(1))
    statements.clear()
    return statements


def test_a_link_submission_runs_five_statements_and_queues_two_jobs_in_one_batch(
    make_advocate, make_challenge, sql_statements
):
    """The challenge, the advocate's lock, their completions of it, the insert and the URL's
    claim: no SAVEPOINT, no UPDATE (last activity is the after-submission job's)."""
    challenge_id = make_challenge(title="Share the launch post", **LINK).id
    advocate_id = make_advocate().id
    ran = begun(sql_statements)
    completion = services.submit_completion(
        challenge_id, advocate_id, {"evidence_url": "https://www.linkedin.com/posts/ann-1"}
    )
    # In a request the advocate is the token look-up's already: the first read is this test's.
    tables = [re.search(r"\bFROM (\w+)", s)[1] if s.startswith("SELECT") else " ".join(s.split()[:3]) for s in ran]
    assert tables == [
        "advocates",  # the advocate (the API has it)
        "challenges",
        "advocates",  # its row lock
        "completions",
        "INSERT INTO completions",
        "INSERT INTO evidence_claims",
    ], ran
    assert not [s for s in ran if "SAVEPOINT" in s.upper() or s.lstrip().upper().startswith("UPDATE")]
    assert completion.status is CompletionStatus.SUBMITTED  # the link check is the job's
    jobs = [spec.job_id for spec in db.session.info.get(PENDING_KEY, [])]
    assert jobs == [f"verify-completion-{completion.id}", f"trust-completion-{completion.id}"]
    db.session.commit()
    db.session.expire_all()
    stored = db.session.get(Completion, completion.id)
    assert stored.hold_reason is None
    claim = db.session.scalar(select(EvidenceClaim.completion_id).where(EvidenceClaim.completion_id == completion.id))
    assert claim == completion.id


def test_the_submit_request_reads_no_evidence_file_when_none_was_sent(app, make, make_challenge, sql_statements):
    challenge_id = make_challenge(title="Share the launch post", **LINK).id
    advocate = make.advocate()
    token = make.token(advocate.user)
    sql_statements.clear()
    response = app.test_client().post(
        f"/api/v1/challenges/{challenge_id}/completions",
        json={"evidence_url": "https://www.linkedin.com/posts/bo-2"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201, response.json
    assert response.json["evidence_file"] is None
    assert not [s for s in sql_statements if "evidence_files" in s]
