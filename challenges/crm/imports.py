"""CSV imports of CRM opportunities: the upload is read by the shared reader (hub.csv_files) and
stored, then a job (hub.import_runs) imports it batch by batch, each row through the same upsert
as the API, bad rows reported by their physical line while the others import.

A Salesforce "Opportunities" report or a HubSpot deals export (challenges.crm.export_formats) is
recognised by its header: its rows are read through the export's column mapping, and the import
waits until the user has seen the mapping and confirmed it (`preview`, `confirm_import`)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update

from challenges.crm import export_formats
from challenges.crm.jobs import import_opportunities_job
from challenges.crm.models import CrmImport
from challenges.crm.opportunities import CSV_COLUMNS, parse_opportunity, upsert_opportunity
from hub.csv_files import MAX_CSV_BYTES, CsvRow, decode_csv, read_csv, upload_bytes
from hub.db import execute_dml
from hub.errors import InvalidState, NotFound, ValidationFailed
from hub.extensions import db
from hub.import_runs import ImportBatch, ImportKind, queue, register, start

MAX_IMPORT_BYTES = MAX_CSV_BYTES  # the most an upload view reads; upload_bytes() is the limit
REQUIRED_COLUMNS = ("external_id", "name", "account", "amount", "currency", "stage", "created_date")
EXPORTS_NAMED = "or a Salesforce Opportunities report or HubSpot deals export"


def start_import(filename: str | None, raw: bytes, actor_id: int) -> CrmImport:
    """Read an uploaded CSV, store it and queue its import (a recognised CRM export waits for
    `confirm_import`); a file refused as a whole (size, encoding, header) raises ValidationFailed
    on `file` (hub.csv_files)."""
    text = decode_csv(raw, max_bytes=upload_bytes())
    export = export_formats.detect(_first_record(text))
    try:
        table = read_csv(text, required=() if export else REQUIRED_COLUMNS, known=None if export else CSV_COLUMNS)
    except ValidationFailed as exc:
        message = (exc.fields.get("file") or [""])[0]
        if export is None and message.startswith("Missing"):
            raise ValidationFailed({"file": f"{message.rstrip('.')}, {EXPORTS_NAMED}."}) from None
        raise
    run = CrmImport(
        created_by_id=actor_id,
        filename=(filename or "import.csv")[:255],
        source_format=export.key if export else None,
        awaiting_confirmation=export is not None,
    )
    return start(OPPORTUNITIES, run, table)


def _first_record(text: str) -> list[str]:
    try:
        return next(csv.reader(io.StringIO(text, newline="")), [])
    except csv.Error:
        return []


@dataclass(frozen=True)
class Preview:
    """What an import of a recognised CRM export will do: the column mapping and a few rows
    as Vouch will read them."""

    label: str
    mapping: list[tuple[str, str | None]]
    sample: list[dict[str, str]]


def preview(run: CrmImport, rows: int = 5) -> Preview | None:
    """The mapping and first `rows` rows of a recognised export; None for Vouch's own columns."""
    export = export_formats.by_key(run.source_format)
    if export is None:
        return None
    reader = csv.DictReader(io.StringIO(run.csv_text, newline=""))
    sample: list[dict[str, str]] = []
    for row in reader:
        if len(sample) >= rows:
            break
        if any((v or "").strip() for v in row.values() if isinstance(v, str)):
            sample.append(export.translate(row))
    return Preview(export.label, export.mapping(list(reader.fieldnames or [])), sample)


def confirm_import(import_id: int, actor_id: int) -> CrmImport:
    """Start an import that waited for its mapping to be confirmed; InvalidState when it was
    already started (one conditional UPDATE: two clicks queue one job)."""
    started = execute_dml(
        update(CrmImport)
        .where(CrmImport.id == import_id, CrmImport.awaiting_confirmation.is_(True))
        .values(awaiting_confirmation=False)
        .execution_options(synchronize_session=False)
    ).rowcount
    run = db.session.get(CrmImport, import_id)
    if run is None:
        raise NotFound("Import not found.")
    if started != 1:
        raise InvalidState("This import has already started.")
    db.session.refresh(run)
    queue(OPPORTUNITIES, run)
    return run


def _columns(run: CrmImport) -> tuple[tuple[str, ...], tuple[str, ...] | None]:
    return ((), None) if run.source_format else (REQUIRED_COLUMNS, CSV_COLUMNS)


def _import_row(run: CrmImport, row: CsvRow, batch: ImportBatch) -> int:
    export = export_formats.by_key(run.source_format)
    cells = export.translate(row.cells) if export else row.cells
    result = upsert_opportunity(parse_opportunity(cells), tally=False)
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
        columns=_columns,
        waiting=lambda run: bool(run.awaiting_confirmation),
    )
)
