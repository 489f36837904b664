"""CSV imports of CRM opportunities: the upload is stored and checked, then a job imports it batch
by batch, each row through the same upsert as the API, bad rows reported by line number."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import update

from challenges.crm import export_formats
from challenges.crm.models import CrmImport, ImportStatus
from challenges.crm.opportunities import CSV_COLUMNS, parse_opportunity, upsert_opportunity
from hub.db import locked_row, utcnow
from hub.errors import InvalidState, NotFound, ValidationFailed, request_limit_text
from hub.extensions import db
from hub.queue import enqueue_after_commit

MAX_IMPORT_BYTES = 5 * 1024 * 1024  # never more than the request limit (MAX_CONTENT_LENGTH), which states it


IMPORT_BATCH = 200


def start_import(filename: str, raw: bytes, actor_id: int) -> CrmImport:
    """Store an uploaded CSV and queue its import; header problems are refused up front."""
    if len(raw) > min(MAX_IMPORT_BYTES, current_app.config.get("MAX_CONTENT_LENGTH") or MAX_IMPORT_BYTES):
        raise ValidationFailed({"file": f"The file is larger than {request_limit_text()}."})
    text = raw.decode("utf-8-sig", errors="replace")
    reader = csv.reader(io.StringIO(text))
    raw_header = next(reader, [])
    header = [h.strip().lower() for h in raw_header]
    export = export_formats.detect(raw_header)
    missing = [
        c for c in ("external_id", "name", "account", "amount", "currency", "stage", "created_date") if c not in header
    ]
    if missing and export is None:
        raise ValidationFailed(
            {
                "file": f"Missing columns: {', '.join(missing)}. Expected: {', '.join(CSV_COLUMNS)}, "
                "or a Salesforce Opportunities report or HubSpot deals export."
            }
        )
    total = sum(1 for row in reader if any(cell.strip() for cell in row))
    job = CrmImport(
        created_by_id=actor_id,
        filename=(filename or "import.csv")[:255],
        csv_text=text,
        total_rows=total,
        source_format=export.key if export else None,
        awaiting_confirmation=export is not None,
    )
    db.session.add(job)
    db.session.flush()
    if export is None:
        _queue(job)
    return job


def _queue(job: CrmImport) -> None:
    from challenges.crm.jobs import import_opportunities_job

    enqueue_after_commit(import_opportunities_job, job.id, job_id=f"crm-import-{job.id}", timeout=1800)


@dataclass(frozen=True)
class Preview:
    """What an import of a recognised CRM export will do: the column mapping and a few rows
    as Vouch will read them."""

    label: str
    mapping: list[tuple[str, str | None]]
    sample: list[dict[str, str]]


def preview(job: CrmImport, rows: int = 5) -> Preview | None:
    export = export_formats.by_key(job.source_format)
    if export is None:
        return None
    reader = csv.DictReader(io.StringIO(job.csv_text))
    sample = []
    for row in reader:
        if len(sample) >= rows:
            break
        if any((v or "").strip() for v in row.values() if isinstance(v, str)):
            sample.append(export.translate(row))
    return Preview(export.label, export.mapping(list(reader.fieldnames or [])), sample)


def confirm_import(import_id: int, actor_id: int) -> CrmImport:
    """Start an import that waited for its mapping to be confirmed; InvalidState when it was
    already started (one conditional UPDATE: two clicks queue one job)."""
    started = db.session.execute(
        update(CrmImport)
        .where(CrmImport.id == import_id, CrmImport.awaiting_confirmation.is_(True))
        .values(awaiting_confirmation=False)
        .execution_options(synchronize_session=False)
    ).rowcount
    job = db.session.get(CrmImport, import_id)
    if job is None:
        raise NotFound("Import not found.")
    if started != 1:
        raise InvalidState("This import has already started.")
    db.session.refresh(job)
    _queue(job)
    return job


def import_batch(import_id: int) -> bool:
    """Import the next batch of rows of an import, resuming after the rows already processed
    (so a retried job neither skips nor double-counts). Returns True when rows remain.
    Each row is its own savepoint: a bad row is reported by line number, good rows import."""
    from challenges.crm.attribution import tally

    job = locked_row(CrmImport, import_id)
    if job is None or job.status in (ImportStatus.DONE, ImportStatus.FAILED) or job.awaiting_confirmation:
        return False
    job.status = ImportStatus.RUNNING
    export = export_formats.by_key(job.source_format)
    reader = csv.DictReader(io.StringIO(job.csv_text))
    reader.fieldnames = [(h or "").strip().lower() for h in (reader.fieldnames or [])]
    seen = 0
    done_in_batch = 0
    errors = list(job.errors or [])
    touched: list[int] = []
    for row in reader:
        if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
            continue
        seen += 1
        if seen <= job.processed_rows:
            continue
        line = reader.line_num
        try:
            with db.session.begin_nested():
                result = upsert_opportunity(parse_opportunity(export.translate(row) if export else row), tally=False)
            touched.append(result.opportunity.id)
            if result.created:
                job.created_count += 1
            else:
                job.updated_count += 1
        except ValidationFailed as exc:
            problem = "; ".join(f"{k}: {v[0]}" for k, v in exc.fields.items())
            errors.append([line, problem[:500]])
        job.processed_rows += 1
        done_in_batch += 1
        if done_in_batch >= IMPORT_BATCH:
            break
    job.errors = errors
    tally(touched)
    from challenges.crm.attribution import thank_for_won_deals

    thank_for_won_deals(touched)
    remaining = job.processed_rows < job.total_rows and done_in_batch >= IMPORT_BATCH
    if not remaining:
        job.status = ImportStatus.DONE
        job.processed_rows = job.total_rows
        job.finished_at = utcnow()
    db.session.flush()
    return remaining
