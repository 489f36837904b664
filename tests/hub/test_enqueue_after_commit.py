"""Jobs go out after the outermost commit, never earlier (issue 13 item 6, reliability.md 24).

Every test of the suite also runs under the conftest guard `_no_job_sent_inside_a_transaction`,
which fails a test if any job reaches the queue while its transaction is open.
"""

from __future__ import annotations

from sqlalchemy import select

from hub.extensions import db
from hub.models import Setting
from hub.queue import enqueue_after_commit, job_timeout

RAN: list[str] = []


@job_timeout(10)
def record_job(label: str) -> None:
    """A job that only records that it ran, and whether it saw its transaction's row."""
    from hub.queue import job_context

    with job_context():
        seen = db.session.get(Setting, f"probe-{label}") is not None
        RAN.append(f"{label}:{'seen' if seen else 'missing'}")


def probe(label: str) -> None:
    db.session.add(Setting(key=f"probe-{label}", value=1))
    db.session.flush()


def test_a_savepoint_release_does_not_send_the_outer_transactions_jobs(ctx, jobs):
    RAN.clear()
    probe("outer")
    enqueue_after_commit(record_job, "outer")
    with db.session.begin_nested():  # as the ledger's post_entry does
        db.session.add(Setting(key="probe-inner", value=2))
    jobs.join()
    assert RAN == []  # the savepoint was released; the transaction is still open
    db.session.commit()
    jobs.join()
    assert RAN == ["outer:seen"]


def test_a_job_for_a_rolled_back_transaction_never_runs(ctx, jobs):
    """reliability.md 24, with a savepoint released in between (where the job used to leak)."""
    RAN.clear()
    probe("doomed")
    enqueue_after_commit(record_job, "doomed")
    with db.session.begin_nested():
        db.session.add(Setting(key="probe-doomed-inner", value=2))
    db.session.rollback()
    db.session.commit()  # a later, empty commit sends nothing that was dropped
    jobs.join()
    assert RAN == []
    assert db.session.scalar(select(Setting).where(Setting.key == "probe-doomed")) is None
