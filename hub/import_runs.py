"""CSV imports as background jobs: one lifecycle for every importer (issue 13 item 2).

An upload is read by `hub.csv_files` in the request (file-level refusals answer at once), stored
as an import row (`status` queued, `total_rows`) and a job is enqueued after commit. The job
(`run_import`) works batch by batch, each batch its own transaction that also records progress,
so the page's progress bar moves and a retried job resumes after the rows already done. Each row
is its own savepoint: a row that fails — invalid field, a value the database refuses, an error
of the importer — is recorded as `[line, reason]` and the others import. A batch that fails as
a whole for a reason that may lie in its data (say the importer's after-batch step overflows on
one row's date) is rolled back and imported again row by row, so the row at fault is found,
reported with its line and skipped.

An import always ends `done` or `failed` with a reason, never stuck:
- a crash of the job is recorded on the row (`failure_reason`) and re-raised for the queue's
  retry; the attempt that reaches `MAX_ATTEMPTS` marks the import `failed` with that reason;
- a job that dies without running its handler (worker killed, lost from the queue) leaves the
  row without progress; `sweep_stale_imports` (every 5 minutes, `flask hub sweep-imports`)
  enqueues it again, or marks it failed once it has used its attempts.

The import row of a kind has these columns: id, csv_text, status, total_rows, processed_rows,
errors (JSON list of [line, reason]), failure_reason, attempts, updated_at, finished_at.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, select
from sqlalchemy.exc import DataError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import JSON

from hub.csv_files import CsvRow, CsvTable, problem_text, read_csv
from hub.db import locked_row, utcnow
from hub.errors import ValidationFailed, VouchError, is_transient_db_error
from hub.extensions import db
from hub.queue import enqueue_after_commit, job_context, job_timeout

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 4  # the first run and hub.queue's 3 retries
STALE_AFTER = dt.timedelta(minutes=10)  # no progress for this long: the job is gone
BATCH_ROWS = 200
REASON_CHARS = 500


class ImportStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class ImportRun:
    """The columns every import's row shares (a mixin for the importers' models): who uploaded
    which file, its text, progress, the rows' problems (`[[line, reason], …]`), the job's
    attempts and its failure. Each model adds its own `status` column (its enum's name) and
    counts."""

    id: Mapped[int] = mapped_column(primary_key=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    filename: Mapped[str] = mapped_column(String(255))
    csv_text: Mapped[str] = mapped_column(Text)
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    processed_rows: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[list[list[Any]]] = mapped_column(JSON, default=list)
    failure_reason: Mapped[str | None] = mapped_column(String(500))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]

    @property
    def percent(self) -> int:
        """Progress in whole percent (100 for an empty file)."""
        return 100 if not self.total_rows else min(100, self.processed_rows * 100 // self.total_rows)


FINISHED = (ImportStatus.DONE, ImportStatus.FAILED)


@dataclass
class ImportBatch:
    """What a row handler sees besides its row: the whole file (for checks across rows) and a
    cache that lives for one batch."""

    table: CsvTable
    cache: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ImportKind:
    """One importer: its row model, the columns it requires and reads, the job that runs it,
    `handle_row(run, row, batch)` that imports one good row (raising ValidationFailed or another
    VouchError for a row problem) and returns what `after_batch(run, results)` needs."""

    model: Any
    required: tuple[str, ...]
    known: tuple[str, ...]
    job: Callable[[int], None]
    handle_row: Callable[[Any, CsvRow, ImportBatch], Any]
    after_batch: Callable[[Any, list[Any]], None] | None = None
    job_prefix: str = "import"
    # Per-import columns (required, known) where one importer takes several layouts (a CRM
    # export read through its mapping); `waiting(run)` holds an import until someone confirms it.
    columns: Callable[[Any], tuple[tuple[str, ...], tuple[str, ...] | None]] | None = None
    waiting: Callable[[Any], bool] | None = None

    def job_id(self, import_id: int) -> str:
        return f"{self.job_prefix}-{import_id}"


KINDS: dict[str, ImportKind] = {}


def register(kind: ImportKind) -> ImportKind:
    """Make an importer known to the stale-import sweep (each importer module calls this once)."""
    KINDS[kind.model.__tablename__] = kind
    return kind


def read_upload(kind: ImportKind, raw: bytes, *, max_bytes: int) -> CsvTable:
    """The upload read by the shared reader; raises ValidationFailed (field `file`) for a file
    Vouch refuses as a whole."""
    return read_csv(raw, required=kind.required, known=kind.known, max_bytes=max_bytes)


def read_stored(kind: ImportKind, run: Any, text: str) -> CsvTable:
    """An import's stored text read again with the columns of its layout."""
    required, known = kind.columns(run) if kind.columns is not None else (kind.required, kind.known)
    return read_csv(text, required=required, known=known)


def _waiting(kind: ImportKind, run: Any) -> bool:
    return kind.waiting is not None and kind.waiting(run)


def queue(kind: ImportKind, run: Any) -> None:
    """Queue an import's job after commit (a confirmed import that waited)."""
    run.updated_at = utcnow()
    enqueue_after_commit(kind.job, run.id, job_id=kind.job_id(run.id))


def start(kind: ImportKind, run: Any, table: CsvTable) -> Any:
    """Store a new import row for an upload already read, and queue its job after commit unless
    the import waits for a confirmation (`kind.waiting`)."""
    run.csv_text = table.text
    run.total_rows = len(table.rows)
    run.status = ImportStatus.QUEUED
    run.updated_at = utcnow()
    db.session.add(run)
    db.session.flush()
    if not _waiting(kind, run):
        enqueue_after_commit(kind.job, run.id, job_id=kind.job_id(run.id))
    return run


def run_import(kind: ImportKind, import_id: int) -> None:
    """The body of an import job: claim an attempt, import batch by batch (a transaction each),
    record a crash on the row (failing the import on its last attempt) and re-raise it."""
    with job_context():
        claimed = _claim_attempt(kind, import_id)
    if claimed is None:
        return
    text, (required, known) = claimed
    table = read_csv(text, required=required, known=known)  # once per run: the text never changes
    try:
        more = True
        while more:
            try:
                with job_context():
                    more = import_batch(kind, import_id, table=table)
            except Exception as exc:
                if not is_row_fault(exc):
                    raise
                more = _isolate(kind, import_id, table)
    except Exception as exc:
        with job_context():
            _record_crash(kind, import_id, exc)
        raise


def import_batch(kind: ImportKind, import_id: int, batch_rows: int = BATCH_ROWS, table: CsvTable | None = None) -> bool:
    """Import the next `batch_rows` records after those already processed; True while rows remain.
    `table` is the import's text already read (read here when None)."""
    run = locked_row(kind.model, import_id)
    if run is None or run.status in FINISHED or _waiting(kind, run):
        return False
    run.status = ImportStatus.RUNNING
    if table is None:
        table = read_stored(kind, run, run.csv_text)
    batch = ImportBatch(table)
    errors = list(run.errors or [])
    results: list[Any] = []
    for row in table.rows[run.processed_rows : run.processed_rows + batch_rows]:
        problem = row.problem or _import_row(kind, run, row, batch, results)
        if problem:
            errors.append([row.line, problem[:REASON_CHARS]])
        run.processed_rows += 1
    run.errors = errors
    if kind.after_batch is not None:
        kind.after_batch(run, results)
    return _progressed(run, len(table.rows))


def is_row_fault(exc: BaseException) -> bool:
    """Whether an exception out of a batch may come from its data (then the batch is retried row
    by row to find the row), rather than from the database's or the job's state (then the whole
    job fails and the queue retries it): connection errors, serialization failures, lock waits
    and the job's timeout are not the rows' fault."""
    if isinstance(exc, (OperationalError, InterfaceError)) or is_transient_db_error(exc):
        return False
    return "Timeout" not in type(exc).__name__


def sweep_stale_imports(now: dt.datetime | None = None) -> int:
    """Imports without progress for `STALE_AFTER`: queued again, or failed once they used their
    attempts. Returns how many it touched."""
    now = now or utcnow()
    touched = 0
    for kind in KINDS.values():
        model = kind.model
        stale = db.session.scalars(
            select(model.id).where(model.status.in_(list(_open())), model.updated_at < now - STALE_AFTER)
        ).all()
        for import_id in stale:
            run = locked_row(model, import_id)
            if run is None or run.status in FINISHED or run.updated_at >= now - STALE_AFTER or _waiting(kind, run):
                continue
            if run.attempts >= MAX_ATTEMPTS:
                _fail(run, run.failure_reason or "the import job stopped without finishing")
            else:
                run.updated_at = now
                enqueue_after_commit(kind.job, run.id, job_id=kind.job_id(run.id))
            touched += 1
    return touched


@job_timeout(300)
def sweep_stale_imports_job() -> int:
    """Periodic job (every 5 minutes): `sweep_stale_imports` in its own transaction."""
    with job_context():
        return sweep_stale_imports()


def _import_row(kind: ImportKind, run: Any, row: CsvRow, batch: ImportBatch, results: list[Any]) -> str | None:
    try:
        with db.session.begin_nested():
            results.append(kind.handle_row(run, row, batch))
    except ValidationFailed as exc:
        return problem_text(exc)
    except VouchError as exc:
        return exc.message
    except (DataError, IntegrityError) as exc:
        log.info("import %s line %s refused by the database: %s", run.id, row.line, exc.orig)
        return "a value cannot be stored (out of range or too long)."
    except (ValueError, ArithmeticError, OverflowError) as exc:
        return f"a value cannot be used: {exc}"
    return None


def _isolate(kind: ImportKind, import_id: int, table: CsvTable) -> bool:
    """After a batch failed as a whole: import its rows one by one, recording a row that fails
    on its own as a problem of its line. True while rows remain after that batch."""
    more = True
    for _ in range(BATCH_ROWS):
        try:
            with job_context():
                more = import_batch(kind, import_id, batch_rows=1, table=table)
        except Exception as exc:
            if not is_row_fault(exc):
                raise
            log.warning("import %s: a row failed on its own: %s", import_id, exc)
            with job_context():
                more = _skip_row(kind, import_id, exc, table)
        if not more:
            return False
    return more


def _skip_row(kind: ImportKind, import_id: int, exc: BaseException, table: CsvTable) -> bool:
    run = locked_row(kind.model, import_id)
    if run is None or run.status in FINISHED:
        return False
    if run.processed_rows < len(table.rows):
        line = table.rows[run.processed_rows].line
        reason = f"the row could not be imported ({type(exc).__name__}: {exc})"
        run.errors = [*(run.errors or []), [line, reason[:REASON_CHARS]]]
        run.processed_rows += 1
    return _progressed(run, len(table.rows))


def _progressed(run: Any, rows: int) -> bool:
    """Record a batch's progress; the import is done once every row was processed. True while
    rows remain."""
    run.updated_at = utcnow()
    if run.processed_rows < rows:
        return True
    run.processed_rows = run.total_rows = rows
    run.status = ImportStatus.DONE
    run.finished_at = utcnow()
    return False


def _claim_attempt(
    kind: ImportKind, import_id: int
) -> tuple[str, tuple[tuple[str, ...], tuple[str, ...] | None]] | None:
    """Count an attempt of the job; the import's text and its (required, known) columns, or None
    when there is nothing to do (finished, or waiting for a confirmation)."""
    run = locked_row(kind.model, import_id)
    if run is None or run.status in FINISHED or _waiting(kind, run):
        return None
    if run.attempts >= MAX_ATTEMPTS:
        _fail(run, run.failure_reason or "the import job stopped without finishing")
        return None
    run.attempts += 1
    run.status = ImportStatus.RUNNING
    run.updated_at = utcnow()
    columns = kind.columns(run) if kind.columns is not None else (kind.required, kind.known)
    return run.csv_text, columns


def _record_crash(kind: ImportKind, import_id: int, exc: BaseException) -> None:
    run = locked_row(kind.model, import_id)
    if run is None or run.status in FINISHED:
        return
    reason = f"the import job failed at row {run.processed_rows + 1} of {run.total_rows}: {type(exc).__name__}"
    if run.attempts >= MAX_ATTEMPTS:
        _fail(run, f"{reason} (after {run.attempts} attempts)")
    else:
        run.failure_reason = reason[:REASON_CHARS]
        run.updated_at = utcnow()


def _fail(run: Any, reason: str) -> None:
    run.status = ImportStatus.FAILED
    run.failure_reason = reason[:REASON_CHARS]
    run.finished_at = run.updated_at = utcnow()


def _open() -> tuple[ImportStatus, ...]:
    return (ImportStatus.QUEUED, ImportStatus.RUNNING)
