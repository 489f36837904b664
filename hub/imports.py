"""The advocates CSV import: a background job (hub.import_runs) that invites every good row;
bad rows are reported by their physical line (hub.csv_files) while the others import.

Re-uploading the same rows invites nobody twice: a row whose email already has an account or a
pending (unused, unexpired) invitation is counted as skipped. Import batches take one
transaction-scoped advisory lock on PostgreSQL, so two imports running at once cannot both
invite the same email (SQLite's BEGIN IMMEDIATE already serializes writers).
"""

from __future__ import annotations

from sqlalchemy import Integer, select
from sqlalchemy.orm import Mapped, mapped_column

from hub.accounts import AdvocateProfile
from hub.csv_files import MAX_CSV_BYTES, CsvRow, upload_bytes
from hub.db import str_enum, transaction_lock, utcnow
from hub.errors import ValidationFailed
from hub.extensions import Model, db
from hub.fields import read_row
from hub.import_runs import ImportBatch, ImportKind, ImportRun, ImportStatus, read_upload, register, run_import, start
from hub.invitations import invite
from hub.models import Invite, User
from hub.queue import job_timeout

IMPORT_COLUMNS = ("name", "email", "company", "industry", "company_size", "region", "groups")
REQUIRED_COLUMNS = ("name", "email")
MAX_IMPORT_BYTES = MAX_CSV_BYTES  # the most an upload view reads; upload_bytes() is the limit
INVITE_LOCK_KEY = 0x696E7669  # "invi": serializes import batches that invite (PostgreSQL)


class AdvocateImport(ImportRun, Model):
    """An uploaded advocates CSV and its progress; the job fills the counts and `errors`
    (`[[line, reason], …]`)."""

    __tablename__ = "advocate_imports"

    status: Mapped[ImportStatus] = mapped_column(
        str_enum(ImportStatus, 16, "advocate_import_status"), default=ImportStatus.QUEUED
    )
    invited_count: Mapped[int] = mapped_column(Integer, default=0)
    skipped_count: Mapped[int] = mapped_column(Integer, default=0)


def start_import(filename: str | None, raw: bytes, actor_id: int) -> AdvocateImport:
    """Read an uploaded CSV, store it and queue its import job (after commit). Raises
    ValidationFailed (field `file`) for a file refused as a whole (hub.csv_files)."""
    table = read_upload(ADVOCATES, raw, max_bytes=upload_bytes())
    run = AdvocateImport(created_by_id=actor_id, filename=(filename or "advocates.csv")[:255])
    return start(ADVOCATES, run, table)


def invite_once(profile: AdvocateProfile, actor_id: int | None) -> bool:
    """Invite `profile` unless its email has an account or a pending invitation; True when invited."""
    transaction_lock(INVITE_LOCK_KEY)
    pending = db.session.scalar(
        select(Invite.id).where(Invite.email == profile.email, Invite.used_at.is_(None), Invite.expires_at > utcnow())
    )
    if pending is not None or db.session.scalar(select(User.id).where(User.email == profile.email)):
        return False
    return invite(profile, actor_id) is not None


def _first_lines(batch: ImportBatch) -> dict[str, int]:
    first: dict[str, int] = {}
    for row in batch.table.rows:
        first.setdefault((row.cells.get("email") or "").strip().lower(), row.line)
    return first


def _import_row(run: AdvocateImport, row: CsvRow, batch: ImportBatch) -> None:
    profile = read_row(AdvocateProfile, {k: row.cells.get(k) for k in IMPORT_COLUMNS})
    first = batch.cache.get("first_lines")
    if first is None:
        first = batch.cache["first_lines"] = _first_lines(batch)
    earlier = first.get((row.cells.get("email") or "").strip().lower(), row.line)
    if earlier != row.line:
        raise ValidationFailed({"email": f"{profile.email} appears twice in the file (first on line {earlier})."})
    if invite_once(profile, run.created_by_id):
        run.invited_count += 1
    else:
        run.skipped_count += 1


@job_timeout(1800)
def import_advocates_job(import_id: int) -> None:
    """Invite the rows of an advocates import batch by batch, progress committed after each."""
    run_import(ADVOCATES, import_id)


ADVOCATES = register(
    ImportKind(
        model=AdvocateImport,
        required=REQUIRED_COLUMNS,
        known=IMPORT_COLUMNS,
        job=import_advocates_job,
        handle_row=_import_row,
        job_prefix="advocate-import",
    )
)
