"""Advocacy scores (product.md §2, §13): the score model, reading the CSV, and the import — a
job that works batch by batch with progress, and the same code run inline for the API.

Score 0–100: NPS 9–10 → 25; feature adoption > 70 % → 20; health > 80 → 20; tenure > 12
months → 15; social mentions ≥ 1 → 10; responded before → 10. More than 60 is *qualified*.
A blank signal scores nothing. Importing an email again updates its row (one row per email:
INSERT … ON CONFLICT (email) DO UPDATE, so parallel imports of one file cannot duplicate it).
Bad rows are reported by physical line number (the header is line 1) and good rows import.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from sqlalchemy import Column, MetaData, Table, func, literal_column, select

from challenges.prospects.models import AdvocacyScore, ScoreImport, ScoreImportStatus
from hub.account_links import account_for, account_ids_by_name, company_key
from hub.contracts import Body
from hub.db import locked_row, table_of, utcnow
from hub.errors import ValidationFailed
from hub.extensions import db
from hub.fields import Email, FieldType, Flag, OneLine, PersonName, WholeNumber, invalid, read_row
from hub.queue import enqueue_after_commit

COLUMNS = (
    "email",
    "name",
    "company",
    "nps",
    "feature_adoption_pct",
    "health_score",
    "tenure_months",
    "social_mentions",
    "responded_before",
)
MAX_IMPORT_BYTES = 10 * 1024 * 1024
BATCH = 1000
QUALIFIED_ABOVE = 60


class _Percentage(FieldType):
    """A percentage from 0 to 100 as a plain number ("70", "70.01"); blank is not given. No
    "%" sign, exponent, infinity or NaN: a score export writes none of these."""

    def check(self, value: Any) -> float:
        if isinstance(value, str) and _PLAIN_NUMBER.fullmatch(value.strip()):
            value = float(value.strip())
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
            raise invalid("Must be a number from 0 to 100.")
        return float(value)

    def schema(self) -> dict[str, Any]:
        return {"type": "number", "minimum": 0, "maximum": 100}


_PLAIN_NUMBER = re.compile(r"\d{1,3}(\.\d{1,6})?")
Percent = Annotated[float | None, _Percentage()]


class ScoreRow(Body):
    """One CSV row of §2's score file."""

    email: Email
    name: PersonName
    company: Annotated[str | None, OneLine(160)] = None
    nps: Annotated[int | None, WholeNumber(0, 10)] = None
    feature_adoption_pct: Percent = None
    health_score: Percent = None
    tenure_months: Annotated[int | None, WholeNumber(0, 1200)] = None
    social_mentions: Annotated[int | None, WholeNumber(0, 1_000_000)] = None
    responded_before: Annotated[bool, Flag()] = False


@dataclass(frozen=True)
class Scored:
    score: int
    reasons: tuple[str, ...]

    @property
    def qualified(self) -> bool:
        return self.score > QUALIFIED_ABOVE


def score(row: ScoreRow) -> Scored:
    """§2's model; each signal that scored names itself in `reasons`."""
    points, reasons = 0, []
    rules = (
        (row.nps is not None and row.nps >= 9, 25, f"NPS {row.nps}"),
        (row.feature_adoption_pct is not None and row.feature_adoption_pct > 70, 20, "feature adoption over 70%"),
        (row.health_score is not None and row.health_score > 80, 20, "health over 80"),
        (row.tenure_months is not None and row.tenure_months > 12, 15, "customer over 12 months"),
        (row.social_mentions is not None and row.social_mentions >= 1, 10, "mentioned us on social media"),
        (row.responded_before, 10, "responded before"),
    )
    for hit, weight, reason in rules:
        if hit:
            points += weight
            reasons.append(reason)
    return Scored(points, tuple(reasons))


def csv_rows(text: str, offset: int = 0) -> Iterator[tuple[int, dict[str, str], int]]:
    """(physical line where the row starts, {lower-case header: cell}, character offset in
    `text` just after the row) for every non-blank row; the header is line 1. `offset` (one
    such end offset, 0 for the first row) starts at that row. The one place this import reads
    CSV (to move onto a shared reader)."""
    source = io.StringIO(text)
    reader = csv.reader(source)
    header = [h.strip().lower() for h in next(reader, [])]
    shift = 0  # physical lines skipped by seeking (reader.line_num counts only lines it read)
    if offset:
        # io.StringIO splits lines at "\n" only, as csv.reader's line count does
        shift = text.count("\n", 0, offset) - reader.line_num
        source.seek(offset)
    start = reader.line_num + 1 + shift
    for cells in reader:
        line, start = start, reader.line_num + 1 + shift
        if not any(cell.strip() for cell in cells):
            continue
        yield line, {name: cells[i] if i < len(cells) else "" for i, name in enumerate(header)}, source.tell()


def check_header(text: str) -> int:
    """The number of data rows; ValidationFailed on `file` when a column is missing."""
    first = next(csv.reader(io.StringIO(text)), [])
    missing = [c for c in ("email", "name") if c not in {h.strip().lower() for h in first}]
    if missing:
        raise ValidationFailed({"file": f"Missing columns: {', '.join(missing)}. Expected: {','.join(COLUMNS)}."})
    return sum(1 for _ in csv_rows(text))


def decode(raw: bytes) -> str:
    if len(raw) > MAX_IMPORT_BYTES:
        raise ValidationFailed({"file": "The file is larger than 10 MB."})
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationFailed({"file": "The file is not UTF-8 text: save it as CSV UTF-8."}) from None


def start_import(filename: str, raw: bytes, actor_id: int, *, run_now: bool = False) -> ScoreImport:
    """Store the file and import it: by a job after commit (the page shows progress), or
    `run_now` in this transaction (the API answers with the result)."""
    text = decode(raw)
    if "\x00" in text:
        raise ValidationFailed({"file": "The file holds NUL characters: it is not a CSV."})
    total = check_header(text)
    name = (filename or "scores.csv")[:255]
    job = ScoreImport(created_by_id=actor_id, filename=name, csv_text=text, total_rows=total)
    db.session.add(job)
    db.session.flush()
    if run_now:
        while import_batch(job.id):
            pass
    else:
        from challenges.prospects.jobs import import_scores_job

        enqueue_after_commit(import_scores_job, job.id, job_id=f"score-import-{job.id}", timeout=1800)
    return job


def import_batch(import_id: int) -> bool:
    """Import the next BATCH rows after those already processed (a retried job neither skips
    nor double-counts: the batch starts at the stored offset, written in the batch's own
    transaction); True while rows remain. Bad rows are recorded as [line, reason]."""
    job = locked_row(ScoreImport, import_id)
    if job is None or job.status in (ScoreImportStatus.DONE, ScoreImportStatus.FAILED):
        return False
    job.status = ScoreImportStatus.RUNNING
    good: dict[str, tuple[ScoreRow, Scored]] = {}
    errors = list(job.errors or [])
    batch_rows = 0
    for line, cells, end in csv_rows(job.csv_text, job.resume_offset):
        if batch_rows >= BATCH:
            break
        batch_rows += 1
        job.resume_offset = end
        try:
            row = read_row(ScoreRow, {c: cells.get(c) for c in COLUMNS})
        except ValidationFailed as exc:
            errors.append([line, "; ".join(f"{k}: {v[0]}" for k, v in exc.fields.items())[:500]])
            continue
        good[row.email] = (row, score(row))  # a later line of the same email wins
    created, updated = _upsert(list(good.values()))
    job.imported_count += created
    job.updated_count += updated
    job.errors = errors
    job.processed_rows = min(job.total_rows, job.processed_rows + batch_rows)
    remaining = job.processed_rows < job.total_rows and batch_rows > 0
    if not remaining:
        job.status = ScoreImportStatus.DONE
        job.finished_at = utcnow()
    db.session.flush()
    return remaining


def _upsert(rows: list[tuple[ScoreRow, Scored]]) -> tuple[int, int]:
    """INSERT … ON CONFLICT (email) DO UPDATE for the batch's rows; (created, updated)."""
    if not rows:
        return 0, 0
    now = utcnow()
    by_name = account_ids_by_name([r.company for r, _ in rows])
    by_domain: dict[str, int | None] = {}
    values = []
    for row, scored in rows:
        account_id = by_name.get(company_key(row.company))
        if account_id is None and not company_key(row.company):  # no company: the email domain, if any
            domain = row.email.rpartition("@")[2]
            if domain not in by_domain:
                account = account_for(None, [row.email])
                by_domain[domain] = account.id if account is not None else None
            account_id = by_domain[domain]
        values.append(
            {
                "email": row.email,
                "name": row.name,
                "company": row.company,
                "account_id": account_id,
                "nps": row.nps,
                "feature_adoption_pct": row.feature_adoption_pct,
                "health_score": row.health_score,
                "tenure_months": row.tenure_months,
                "social_mentions": row.social_mentions,
                "responded_before": row.responded_before,
                "score": scored.score,
                "qualified": scored.qualified,
                "reasons": list(scored.reasons),
                "created_at": now,
                "updated_at": now,
            }
        )
    if db.session.get_bind().dialect.name == "postgresql":
        created = _upsert_by_copy(values)
        return created, len(values) - created
    existing = set(
        db.session.scalars(select(AdvocacyScore.email).where(AdvocacyScore.email.in_([v["email"] for v in values])))
    )
    table = AdvocacyScore.__table__
    statement = _insert(table)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.email],
        set_={c: statement.excluded[c] for c in values[0] if c not in KEPT_ON_UPDATE},
    )
    db.session.execute(statement, values)
    return len(values) - len(existing), len(existing)


KEPT_ON_UPDATE = frozenset({"created_at", "email"})


def _upsert_by_copy(values: list[dict[str, Any]]) -> int:
    """PostgreSQL: the batch streamed by COPY into a temporary table, then one INSERT … SELECT
    … ON CONFLICT (email) DO UPDATE (an executemany sent 1,000 statements per batch). Returns
    the rows created: RETURNING (xmax = 0) is true for an inserted row, false for an updated
    one, so the counts are right even when another import of the same file runs alongside."""
    from sqlalchemy.dialects.postgresql import insert

    columns = list(values[0])
    scores_table = table_of(AdvocacyScore)
    staging = Table(
        "score_rows_tmp",
        MetaData(),
        *[Column(c, scores_table.c[c].type) for c in columns],
        prefixes=["TEMPORARY"],
        postgresql_on_commit="DROP",
    )
    connection = db.session.connection()
    staging.create(connection)
    driver: Any = connection.connection.driver_connection
    with driver.cursor() as cursor, cursor.copy(f"COPY score_rows_tmp ({', '.join(columns)}) FROM STDIN") as copy:
        for value in values:
            copy.write_row([json.dumps(value[c]) if c == "reasons" else value[c] for c in columns])
    statement = insert(scores_table).from_select(columns, select(staging))
    upsert: Any = statement.on_conflict_do_update(
        index_elements=[scores_table.c.email],
        set_={c: statement.excluded[c] for c in columns if c not in KEPT_ON_UPDATE},
    ).returning(literal_column("xmax = 0"))
    inserted = db.session.scalars(upsert).all()
    staging.drop(connection)
    return sum(1 for created in inserted if created)


def _insert(table):
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def score_count() -> int:
    return db.session.scalar(select(func.count()).select_from(AdvocacyScore)) or 0
