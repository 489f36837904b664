"""Every import is a background job (hub.import_runs): a failing row is reported with its line
while the others import, an import ends done or failed with a reason (never stuck, also when
its job crashes or dies), and re-uploading the same rows invites nobody twice (issue 13 item 2)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from challenges.crm import imports as crm_imports
from challenges.crm.models import CrmImport, Opportunity
from hub import import_runs, imports
from hub.db import utcnow
from hub.email.models import OutboxEmail
from hub.errors import ValidationFailed
from hub.extensions import db
from hub.import_runs import MAX_ATTEMPTS, ImportStatus
from hub.imports import AdvocateImport
from hub.models import Invite

BLANK_LINE_CSV = "name,email,company\r\nGood One,good.one@example.net,Acme\r\n\r\nBad Two,not-an-email,Acme\r\n"


def upload(client, raw: bytes, filename: str = "advocates.csv"):
    # The multipart body is built here, in memory: Werkzeug's test client would spool a large
    # one to a temporary file that it leaves open.
    boundary = "vouch-test-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        + raw
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return client.post("/admin/advocates/import", data=body, content_type=f"multipart/form-data; boundary={boundary}")


def invites() -> int:
    return db.session.scalar(select(func.count()).select_from(Invite))


def invite_emails() -> int:
    return db.session.scalar(select(func.count()).select_from(OutboxEmail).where(OutboxEmail.kind == "invite"))


def problems(page: str) -> dict[str, str]:
    return dict(re.findall(r"<tr><td>(\d+)</td><td>([^<]*)</td></tr>", page))


@pytest.fixture()
def manager_client(client, login, make):
    login(client, make.user("manager"))
    return client


def test_the_row_after_a_blank_line_is_reported_on_its_physical_line(manager_client, jobs):
    response = upload(manager_client, BLANK_LINE_CSV.encode())
    assert response.status_code == 302
    jobs.join()
    page = manager_client.get(response.headers["Location"] + "/progress").get_data(as_text=True)
    assert list(problems(page)) == ["4"] and "email" in problems(page)["4"]
    assert "<strong>1</strong> invited" in page and "1 of 2 rows" not in page and "2 of 2 rows (100%) — done" in page


def test_a_windows_1252_file_is_refused_on_the_form_and_nothing_is_stored(manager_client):
    raw = "name,email,company\r\nZoë Müller,zoe@example.net,Société Générale\r\n".encode("cp1252")
    response = upload(manager_client, raw)
    assert response.status_code == 422
    assert b"CSV UTF-8" in response.data and b"Line 2 is not UTF-8" in response.data
    assert db.session.scalar(select(func.count()).select_from(AdvocateImport)) == 0 and invites() == 0


def test_a_utf8_file_keeps_its_accents(manager_client, jobs):
    raw = "\ufeffname,email,company\r\nZoë Müller,zoe@example.net,Société Générale\r\n".encode()
    assert upload(manager_client, raw).status_code == 302
    jobs.join()
    invite = db.session.scalar(select(Invite))
    assert (invite.name, invite.profile["company"]) == ("Zoë Müller", "Société Générale")


def test_a_nul_byte_is_a_clear_refusal_not_a_500(manager_client):
    response = upload(manager_client, b"name,email\nAda\x00,ada@example.com\n")
    assert response.status_code == 422 and b"NUL byte" in response.data
    assert invites() == 0


def test_a_huge_cell_fails_its_row_and_the_others_import(manager_client, jobs):
    raw = f"name,email\nGrace,grace@example.com\n{'x' * 131_073},huge@example.com\nAda,ada@example.com\n".encode()
    response = upload(manager_client, raw)
    assert response.status_code == 302
    jobs.join()
    run = db.session.scalar(select(AdvocateImport))
    assert run.status is ImportStatus.DONE and run.invited_count == 2
    assert run.errors == [[3, "name: a cell longer than 131,072 characters."]]


def test_uploading_the_same_rows_again_invites_nobody_twice(manager_client, jobs, make):
    raw = b"name,email\nAda,ada@example.com\nGrace,grace@example.com\n"
    upload(manager_client, raw)
    jobs.join()
    assert invites() == 2 and invite_emails() == 2
    upload(manager_client, raw.replace(b"Ada,", b"Ada L,"))
    jobs.join()
    second = db.session.scalars(select(AdvocateImport).order_by(AdvocateImport.id.desc())).first()
    assert (second.status, second.invited_count, second.skipped_count) == (ImportStatus.DONE, 0, 2)
    assert invites() == 2 and invite_emails() == 2


def test_an_expired_invitation_does_not_block_a_new_one(manager_client, jobs):
    upload(manager_client, b"name,email\nAda,ada@example.com\n")
    jobs.join()
    db.session.execute(Invite.__table__.update().values(expires_at=utcnow() - dt.timedelta(days=1)))
    db.session.commit()
    upload(manager_client, b"name,email\nAda,ada@example.com\n")
    jobs.join()
    assert invites() == 2


def start_advocates(ctx, make, text: str) -> int:
    import_id = imports.start_import("a.csv", text.encode(), make.user("manager").id).id
    db.session.commit()  # the job starts now: this thread must hold no read transaction (SQLite)
    return import_id


def test_a_job_that_keeps_crashing_ends_failed_with_its_reason(ctx, make, jobs, monkeypatch, client, login):
    def database_gone(*_args):
        raise OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))

    broken = dataclasses.replace(imports.ADVOCATES, handle_row=database_gone)
    monkeypatch.setattr(imports, "ADVOCATES", broken)
    import_id = start_advocates(ctx, make, "name,email\nAda,ada@example.com\n")
    jobs.join()
    db.session.expire_all()
    run = db.session.get(AdvocateImport, import_id)
    assert run.status is ImportStatus.FAILED and run.attempts == MAX_ATTEMPTS
    reason = f"the import job failed at row 1 of 1: OperationalError (after {MAX_ATTEMPTS} attempts)"
    assert run.failure_reason == reason
    assert run.finished_at is not None and invites() == 0
    login(client, make.user("manager"))
    page = client.get(f"/admin/advocates/imports/{import_id}/progress").get_data(as_text=True)
    assert f"The import failed: {reason}." in page and "— failed" in page and "every 1s" not in page


def test_a_batch_that_fails_as_a_whole_is_retried_row_by_row_to_find_the_row(ctx, make, jobs, monkeypatch):
    """The CRM case of issue 13: one row made the after-batch step overflow on every retry."""

    def overflow_on_bob(run, results):
        if "bob@example.com" in results:
            raise OverflowError("date value out of range")

    def record(run, row, batch):
        return row.cells["email"]

    broken = dataclasses.replace(imports.ADVOCATES, handle_row=record, after_batch=overflow_on_bob)
    monkeypatch.setattr(imports, "ADVOCATES", broken)
    text = "name,email\nAda,ada@example.com\n\nBob,bob@example.com\nCy,cy@example.com\n"
    import_id = start_advocates(ctx, make, text)
    jobs.join()
    db.session.expire_all()
    run = db.session.get(AdvocateImport, import_id)
    assert run.status is ImportStatus.DONE and run.processed_rows == run.total_rows == 3
    assert run.errors == [[4, "the row could not be imported (OverflowError: date value out of range)"]]


def test_the_sweep_queues_a_stalled_import_again_and_fails_one_out_of_attempts(ctx, make, jobs):
    stalled = AdvocateImport(filename="a.csv", csv_text="name,email\nAda,ada@example.com\n", total_rows=1)
    stalled.status, stalled.attempts = ImportStatus.RUNNING, 1
    spent = AdvocateImport(filename="b.csv", csv_text="name,email\nBo,bo@example.com\n", total_rows=1)
    spent.status, spent.attempts, spent.failure_reason = ImportStatus.RUNNING, MAX_ATTEMPTS, "worker killed"
    fresh = AdvocateImport(filename="c.csv", csv_text="name,email\nCy,cy@example.com\n", total_rows=1)
    fresh.status = ImportStatus.QUEUED
    db.session.add_all([stalled, spent, fresh])
    db.session.flush()
    old = utcnow() - import_runs.STALE_AFTER - dt.timedelta(seconds=1)
    stalled.updated_at = spent.updated_at = old
    db.session.commit()
    assert import_runs.sweep_stale_imports() == 2
    db.session.commit()
    jobs.join()
    db.session.expire_all()
    assert db.session.get(AdvocateImport, stalled.id).status is ImportStatus.DONE
    assert db.session.get(AdvocateImport, fresh.id).status is ImportStatus.QUEUED  # not stale: left alone
    failed = db.session.get(AdvocateImport, spent.id)
    assert (failed.status, failed.failure_reason) == (ImportStatus.FAILED, "worker killed")
    assert db.session.scalars(select(Invite.email)).all() == ["ada@example.com"]


CRM_CSV = (
    "external_id,name,account,amount,currency,stage,is_closed,is_won,created_date,close_date\n"
    "F-1,Fine,Acme,100,USD,Proposal,false,false,2026-01-01,\n"
    "F-2,Far future,Acme,100,USD,Closed Won,true,true,2026-01-01,9999-12-31\n"
    "F-3,Also fine,Acme,200,USD,Proposal,false,false,2026-01-01,\n"
)


def test_a_crm_row_dated_at_the_end_of_time_is_reported_and_the_others_import(ctx, make, jobs):
    make.advocate(company="Acme")
    import_id = crm_imports.start_import("deals.csv", CRM_CSV.encode(), make.user("manager").id).id
    db.session.commit()
    jobs.join()
    run = db.session.get(CrmImport, import_id)
    assert run.status is ImportStatus.DONE and run.processed_rows == 3
    assert [line for line, _ in run.errors] == [3]
    assert sorted(db.session.scalars(select(Opportunity.external_id))) == ["F-1", "F-3"]


def test_the_crm_import_refuses_a_windows_1252_file(ctx, make):
    raw = (CRM_CSV.splitlines()[0] + "\nS-1,Société,Générale,1,EUR,Proposal,false,false,2026-01-01,\n").encode("cp1252")
    with pytest.raises(Exception) as err:
        crm_imports.start_import("deals.csv", raw, make.user("manager").id)
    assert "CSV UTF-8" in err.value.fields["file"][0]


def test_batches_resume_after_the_rows_already_processed(ctx, make):
    text = "name,email\n" + "".join(f"P{i},p{i}@example.com\n" for i in range(5))
    run = imports.start_import("a.csv", text.encode(), make.user("manager").id)  # not committed: no job runs
    progress = []
    more = True
    while more:
        more = import_runs.import_batch(imports.ADVOCATES, run.id, batch_rows=2)
        progress.append((run.processed_rows, run.percent, run.status.value))
    assert progress == [(2, 40, "running"), (4, 80, "running"), (5, 100, "done")]
    assert run.invited_count == 5 and invites() == 5
    db.session.rollback()


def test_the_sweep_is_a_cli_command_too(app):
    assert app.test_cli_runner().invoke(args=["hub", "sweep-imports"]).output == "Swept 0 stalled imports.\n"


def test_an_importer_takes_no_more_than_the_request_limit_it_states(ctx, make, app):
    limit = app.config["MAX_CONTENT_LENGTH"]
    raw = b"name,email\n" + b"a,b@example.com\n" * (limit // 16)
    assert len(raw) > limit
    with pytest.raises(ValidationFailed) as refused:
        imports.start_import("big.csv", raw, make.user("manager").id)
    assert refused.value.fields == {"file": ["The file is larger than 2 MB."]}
    assert db.session.scalar(select(func.count()).select_from(AdvocateImport)) == 0


def test_the_api_import_refuses_a_nul_byte_and_advocates(api, make):
    manager = api(make.user("manager"))
    response = manager.post("/advocates/imports", json={"csv": "name,email\nAda\u0000,ada@example.com\n"})
    assert response.status_code == 422 and "NUL" in str(response.json["error"])  # by the body's reading or the reader
    advocate = api(make.advocate().user)
    assert advocate.post("/advocates/imports", json={"csv": "name,email\n"}).status_code == 403
    assert advocate.get("/advocates/imports/1").status_code == 403
    assert manager.get("/advocates/imports/999").status_code == 404
    assert db.session.scalar(select(func.count()).select_from(AdvocateImport)) == 0
