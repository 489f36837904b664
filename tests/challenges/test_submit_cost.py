"""What a link submission costs (issue 18's "submit latency within 10 %", issue 22's submit):
the statements of the service and of the API request, and the after-commit jobs sent in one
Redis transaction. The bench's `submit-link` endpoint measures the same path at scale
(docs/performance.md, "Submit a link before and after the trust branch")."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

import pytest
from sqlalchemy import event, select

from challenges import catalogue, services
from challenges.models import Completion, CompletionStatus, EvidenceClaim
from hub.extensions import db
from hub.queue import PENDING_KEY
from tests.support.challenges import create_challenge

LINK = {"type": "social_share", "points": 10, "allowed_domains": ["linkedin.com"], "marker": "#acme"}


def begun(statements: list[str]) -> list[str]:
    """Open the session's transaction (the test isolation's own SAVEPOINT is taken then), compile
    the published catalogue as a running process has it, and forget what it ran: what the list
    holds afterwards is the service's."""
    db.session.execute(select(1))
    catalogue.published()
    statements.clear()
    return statements


def tables_of(statements: list[str]) -> list[str]:
    """Each statement as the table a SELECT reads first (its own FROM, not a subquery's in its
    column list), or the first three words of a write."""
    return [
        re.search(r"\bFROM (\w+)", outer(s))[1] if s.startswith("SELECT") else " ".join(s.split()[:3])
        for s in statements
    ]


def outer(statement: str) -> str:
    """`statement` without anything in parentheses (subqueries, function arguments)."""
    while True:
        stripped = re.sub(r"\([^()]*\)", "", statement)
        if stripped == statement:
            return statement
        statement = stripped


def reads_the_stamps_with_the_lock(statement: str) -> bool:
    """The advocate's lock statement also reads every cache stamp (hub.stamps), in a subquery."""
    return "FROM cache_stamps" in statement and re.search(r"\bFROM advocates\b", outer(statement)) is not None


def test_a_link_submission_runs_seven_statements_and_queues_two_jobs_in_one_batch(
    make_advocate, make_challenge, sql_statements
):
    """Outside a request (a flow's job): the advocate's lock, the version stamps (the challenge
    is the compiled catalogue's), their completions of it, the insert, the report's per-(day,
    challenge) and per-(day, group) counts of submissions (kept in the submission's transaction:
    challenges/services/completion_tallies.py; the group count is one INSERT … SELECT from the
    advocate's groups) and the URL's claim: no challenge query, no SAVEPOINT, no UPDATE (last
    activity is the after-submission job's)."""
    challenge_id = make_challenge(title="Share the launch post", **LINK).id
    advocate_id = make_advocate().id
    ran = begun(sql_statements)
    completion = services.submit_completion(
        challenge_id, advocate_id, {"evidence_url": "https://www.linkedin.com/posts/ann-1"}
    )
    assert tables_of(ran) == [
        "advocates",  # its row lock, which loads it
        "cache_stamps",  # in a request the lock reads them (the API test below)
        "completions",
        "INSERT INTO completions",
        "INSERT INTO completion_day_totals",
        "INSERT INTO group_day_totals",
        "INSERT INTO evidence_claims",
    ], ran
    assert "cache_stamps" not in ran[0]
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


@pytest.mark.services
def test_a_known_caller_submits_a_link_in_six_statements_and_sees_a_closing_at_once(pg_ctx, make):
    """On PostgreSQL + Redis, as in production: the caller comes from the per-process cache (no
    token query) and the challenge from the compiled catalogue (no challenge query), so a
    submission is the advocate's lock (with the stamps), their completions, the insert, the report's
    per-(day, challenge) and per-(day, group) counts and the claim.
    Closing the challenge moves the catalogue's stamp: the very next submission is refused as
    closed, and another advocate's untargeted one as not found, as before the catalogue."""
    challenge_id = create_challenge(title="Share the launch post", **LINK).id
    first, second = make.advocate(), make.advocate()
    token, other = make.token(first.user), make.token(second.user)
    db.session.commit()
    client = pg_ctx.test_client()

    def submit(who: str, n: int, to: int = challenge_id):
        return client.post(
            f"/api/v1/challenges/{to}/completions",
            json={"evidence_url": f"https://www.linkedin.com/posts/p-{n}"},
            headers={"Authorization": f"Bearer {who}"},
        )

    assert submit(token, 1).status_code == 201  # the caller and the catalogue are kept from here
    with counted_statements() as seen:
        reply = submit(other, 2)
        assert reply.status_code == 201, reply.json
    # `other`'s caller is new to this process: its token is the one query before the service's.
    assert tables_of(seen) == [
        "api_tokens",
        "advocates",
        "completions",
        "INSERT INTO completions",
        "INSERT INTO completion_day_totals",
        "INSERT INTO group_day_totals",
        "INSERT INTO evidence_claims",
    ], seen
    assert reads_the_stamps_with_the_lock(seen[1])
    assert "FOR NO KEY UPDATE OF advocates" in seen[1]  # the lock holds the advocate's row only
    again = create_challenge(title="Share the second post", **LINK).id
    db.session.commit()
    with counted_statements() as seen:
        reply = submit(other, 3, again)
        assert reply.status_code == 201, reply.json
    # A new challenge moved the stamp: the catalogue is compiled again (challenges, their groups).
    assert tables_of(seen) == [
        "advocates",
        "challenges",
        "challenge_groups",
        "completions",
        "INSERT INTO completions",
        "INSERT INTO completion_day_totals",
        "INSERT INTO group_day_totals",
        "INSERT INTO evidence_claims",
    ], seen
    with counted_statements() as seen:
        reply = submit(token, 4, again)
        assert reply.status_code == 201, reply.json
    assert len(seen) == 6, seen
    stored = db.session.get(Completion, reply.json["id"])
    assert (stored.challenge_id, stored.advocate_id, stored.points_offered) == (again, first.id, 10)

    services.close_challenge(challenge_id, make.user("owner").id)
    db.session.commit()
    refused = submit(make.token(make.advocate().user), 5)
    assert refused.status_code == 409, refused.json
    assert refused.json["error"]["code"] == "challenge_closed"
    make.advocate(groups=("Partners",))
    targeted = create_challenge(title="Partners only", target_groups=["Partners"], **LINK).id
    assert submit(token, 6, targeted).status_code == 404


@contextlib.contextmanager
def counted_statements() -> Iterator[list[str]]:
    """The statements the app's engine runs inside the block, but BEGIN/COMMIT and the test
    isolation's savepoints."""
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        if "SAVEPOINT" not in statement:
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
