"""Import jobs on PostgreSQL with real `rq worker` processes (issue 13 item 2): an advocates
import runs in the background batch by batch, reports a bad row by its line while the others
import, and two uploads of the same rows processed by two workers at once invite each email once."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from hub import imports
from hub.email.models import OutboxEmail
from hub.extensions import db
from hub.import_runs import ImportStatus
from hub.imports import AdvocateImport
from hub.models import Invite
from tests.hub.test_services_tier import run_worker_burst

pytestmark = pytest.mark.services

ROWS = 40  # each invitation is an email job too, a fork of the worker each: keep it small


def advocates_csv(bad_line: int | None = None) -> bytes:
    lines = ["name,email,company"]
    for i in range(ROWS):
        lines.append(f"Person {i},person{i}@import.example,Acme")
        if bad_line is not None and len(lines) == bad_line - 1:
            lines.append("Bad Row,not-an-email,Acme")
    return ("\r\n".join(lines) + "\r\n").encode()


def test_an_advocates_import_runs_on_a_real_worker_and_reports_its_bad_row(pg_ctx, pg_url, redis_url, make):
    manager = make.user("manager")
    run = imports.start_import("people.csv", advocates_csv(bad_line=12), manager.id)
    import_id = run.id
    db.session.commit()
    assert db.session.get(AdvocateImport, import_id).status is ImportStatus.QUEUED

    result = run_worker_burst(pg_ctx, pg_url, redis_url)
    assert result.returncode == 0, result.stdout + result.stderr
    db.session.expire_all()
    run = db.session.get(AdvocateImport, import_id)
    assert (run.status, run.total_rows, run.processed_rows) == (ImportStatus.DONE, ROWS + 1, ROWS + 1)
    assert (run.invited_count, run.skipped_count, run.attempts) == (ROWS, 0, 1)
    assert [line for line, _ in run.errors] == [12] and "email" in run.errors[0][1]
    invites = db.session.scalar(select(func.count()).select_from(Invite).where(Invite.email.like("%@import.example")))
    assert invites == ROWS


def test_two_uploads_of_the_same_rows_on_two_workers_invite_each_email_once(pg_ctx, pg_url, redis_url, make):
    manager = make.user("manager")
    raw = advocates_csv()
    ids = [imports.start_import(f"copy{n}.csv", raw, manager.id).id for n in (1, 2)]
    db.session.commit()

    results = []
    workers = [
        threading.Thread(target=lambda: results.append(run_worker_burst(pg_ctx, pg_url, redis_url))) for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert all(r.returncode == 0 for r in results), [r.stdout + r.stderr for r in results]
    db.session.expire_all()
    runs = [db.session.get(AdvocateImport, i) for i in ids]
    assert [r.status for r in runs] == [ImportStatus.DONE, ImportStatus.DONE]
    assert sum(r.invited_count for r in runs) == ROWS and sum(r.skipped_count for r in runs) == ROWS
    emails = select(Invite.email).where(Invite.email.like("%@import.example"))
    assert db.session.scalar(select(func.count()).select_from(emails.subquery())) == ROWS
    assert (
        db.session.scalar(select(func.count(func.distinct(Invite.email))).where(Invite.email.like("%@import.example")))
        == ROWS
    )
    sent = (
        select(func.count())
        .select_from(OutboxEmail)
        .where(OutboxEmail.kind == "invite", OutboxEmail.to_address.like("%@import.example"))
    )
    assert db.session.scalar(sent) == ROWS
