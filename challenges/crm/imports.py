"""CSV imports of CRM opportunities: the upload is read by the shared reader (hub.csv_files) and
stored, then a job (hub.import_runs) imports it batch by batch, each row through the same upsert
as the API, bad rows reported by their physical line while the others import."""

from __future__ import annotations

from typing import Any

from challenges.crm.jobs import import_opportunities_job
from challenges.crm.models import CrmImport
from challenges.crm.opportunities import CSV_COLUMNS, parse_opportunity, upsert_opportunity
from hub.csv_files import MAX_CSV_BYTES, CsvRow, upload_bytes
from hub.import_runs import ImportBatch, ImportKind, read_upload, register, start

MAX_IMPORT_BYTES = MAX_CSV_BYTES  # the most an upload view reads; upload_bytes() is the limit
REQUIRED_COLUMNS = ("external_id", "name", "account", "amount", "currency", "stage", "created_date")


def start_import(filename: str | None, raw: bytes, actor_id: int) -> CrmImport:
    """Read an uploaded CSV, store it and queue its import; a file refused as a whole (size,
    encoding, header) raises ValidationFailed on `file` (hub.csv_files)."""
    table = read_upload(OPPORTUNITIES, raw, max_bytes=upload_bytes())
    run = CrmImport(created_by_id=actor_id, filename=(filename or "import.csv")[:255])
    return start(OPPORTUNITIES, run, table)


def _import_row(run: CrmImport, row: CsvRow, batch: ImportBatch) -> int:
    result = upsert_opportunity(parse_opportunity(row.cells), tally=False)
    if result.created:
        run.created_count += 1
    else:
        run.updated_count += 1
    return result.opportunity.id


def _after_batch(run: CrmImport, touched: list[Any]) -> None:
    from challenges.crm.attribution import tally, thank_for_won_deals

    tally(touched)
    thank_for_won_deals(touched)


OPPORTUNITIES = register(
    ImportKind(
        model=CrmImport,
        required=REQUIRED_COLUMNS,
        known=CSV_COLUMNS,
        job=import_opportunities_job,
        handle_row=_import_row,
        after_batch=_after_batch,
        job_prefix="crm-import",
    )
)
