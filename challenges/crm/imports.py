"""CSV imports of CRM opportunities: the upload is stored and checked, then a job imports it batch
by batch, each row through the same upsert as the API, bad rows reported by line number."""

from __future__ import annotations

import csv
import io

from flask import current_app

from challenges.crm.models import CrmImport, ImportStatus
from challenges.crm.opportunities import CSV_COLUMNS, parse_opportunity, upsert_opportunity
from hub.db import locked_row, utcnow
from hub.errors import ValidationFailed, request_limit_text
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
    header = [h.strip().lower() for h in next(reader, [])]
    missing = [
        c for c in ("external_id", "name", "account", "amount", "currency", "stage", "created_date") if c not in header
    ]
    if missing:
        raise ValidationFailed({"file": f"Missing columns: {', '.join(missing)}. Expected: {', '.join(CSV_COLUMNS)}."})
    total = sum(1 for row in reader if any(cell.strip() for cell in row))
    job = CrmImport(created_by_id=actor_id, filename=(filename or "import.csv")[:255], csv_text=text, total_rows=total)
    db.session.add(job)
    db.session.flush()
    from challenges.crm.jobs import import_opportunities_job

    enqueue_after_commit(import_opportunities_job, job.id, job_id=f"crm-import-{job.id}", timeout=1800)
    return job


def import_batch(import_id: int) -> bool:
    """Import the next batch of rows of an import, resuming after the rows already processed
    (so a retried job neither skips nor double-counts). Returns True when rows remain.
    Each row is its own savepoint: a bad row is reported by line number, good rows import."""
    from challenges.crm.attribution import tally

    job = locked_row(CrmImport, import_id)
    if job is None or job.status in (ImportStatus.DONE, ImportStatus.FAILED):
        return False
    job.status = ImportStatus.RUNNING
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
                result = upsert_opportunity(parse_opportunity(row), tally=False)
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
