"""CRM opportunities: validation, the upsert by external id, and CSV imports."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, literal, select, update

from challenges.references.models import (
    CrmImport,
    ImportStatus,
    Opportunity,
    OpportunityReference,
    ReferenceRequest,
    Referral,
)
from challenges.references.values import normalize_email_address, parse_currency, parse_money
from hub.db import insert_ignore, locked_row, utcnow
from hub.errors import ValidationFailed
from hub.extensions import db
from hub.queue import enqueue_after_commit

MAX_IMPORT_BYTES = 5 * 1024 * 1024
IMPORT_BATCH = 200
CSV_COLUMNS = (
    "external_id",
    "name",
    "account",
    "amount",
    "currency",
    "stage",
    "is_closed",
    "is_won",
    "created_date",
    "close_date",
    "contact_emails",
    "referral_id",
    "reference_request_ids",
)
TRUE_WORDS = {"true", "1", "yes", "y", "t"}
FALSE_WORDS = {"false", "0", "no", "n", "f", ""}


@dataclass(frozen=True)
class OpportunityInput:
    external_id: str
    name: str
    account: str
    amount: Decimal
    currency: str
    stage: str
    is_closed: bool
    is_won: bool
    created_date: dt.date
    close_date: dt.date | None
    contact_emails: tuple[str, ...] = ()
    referral_id: int | None = None
    reference_request_ids: tuple[int, ...] = ()


def _text(data: Mapping[str, Any], name: str, limit: int, errors: dict[str, str], required: bool = True) -> str | None:
    value = data.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors.setdefault(name, "This field is required.")
        return None
    if isinstance(value, int | float) and not isinstance(value, bool) and name == "external_id":
        value = str(value)
    if not isinstance(value, str):
        errors.setdefault(name, "Must be text.")
        return None
    if len(value.strip()) > limit:
        errors.setdefault(name, f"At most {limit} characters.")
        return None
    return value.strip()


def _bool(data: Mapping[str, Any], name: str, errors: dict[str, str]) -> bool:
    value = data.get(name)
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in TRUE_WORDS | FALSE_WORDS:
        return value.strip().lower() in TRUE_WORDS
    errors.setdefault(name, "Must be true or false.")
    return False


def _date(data: Mapping[str, Any], name: str, errors: dict[str, str], required: bool) -> dt.date | None:
    value = data.get(name)
    if value is None or value == "":
        if required:
            errors.setdefault(name, "This field is required.")
        return None
    if isinstance(value, str) and 10 <= len(value.strip()) <= 40:
        try:
            return dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            pass
    errors.setdefault(name, "A date like 2026-12-01.")
    return None


def _id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 1 <= value <= 2**31 - 1 else None
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) < 11:
        return _id(int(value.strip()))
    return None


def _list(value: Any) -> list | None:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.replace(",", ";").split(";") if part.strip()]
    return value if isinstance(value, list) else None


def parse_opportunity(data: Mapping[str, Any]) -> OpportunityInput:
    """Validate one opportunity from the API (JSON) or a CSV row; unknown keys are ignored."""
    errors: dict[str, str] = {}
    external_id = _text(data, "external_id", 64, errors)
    name = _text(data, "name", 255, errors)
    account = _text(data, "account", 160, errors)
    stage = _text(data, "stage", 80, errors)
    amount = parse_money(data.get("amount"), errors, "amount", required=True)
    currency = parse_currency(data.get("currency"), errors, "currency")
    if currency is None and "currency" not in errors:
        errors["currency"] = "This field is required."
    is_closed = _bool(data, "is_closed", errors)
    is_won = _bool(data, "is_won", errors)
    if is_won and not is_closed and "is_won" not in errors and "is_closed" not in errors:
        errors["is_won"] = "A won opportunity is closed: send is_closed true as well."
    created_date = _date(data, "created_date", errors, required=True)
    close_date = _date(data, "close_date", errors, required=False)
    if created_date and close_date and close_date < created_date:
        errors.setdefault("close_date", "The close date is before the created date.")

    emails: list[str] = []
    raw_emails = _list(data.get("contact_emails"))
    if raw_emails is None or len(raw_emails) > 50:
        errors.setdefault("contact_emails", "A list of up to 50 email addresses.")
    else:
        for raw in raw_emails:
            email = normalize_email_address(raw, errors, "contact_emails")
            if email:
                emails.append(email)

    referral_id = None
    if data.get("referral_id") not in (None, ""):
        referral_id = _id(data.get("referral_id"))
        if referral_id is None:
            errors.setdefault("referral_id", "A referral id (a positive whole number).")
    raw_refs = _list(data.get("reference_request_ids"))
    ref_ids = [_id(v) for v in raw_refs] if raw_refs is not None and len(raw_refs) <= 50 else None
    if ref_ids is None or any(v is None for v in ref_ids):
        errors.setdefault("reference_request_ids", "A list of up to 50 reference request ids.")
        ref_ids = []
    if errors:
        raise ValidationFailed(errors)
    if is_closed and close_date is None:
        close_date = utcnow().date()
    return OpportunityInput(
        external_id=external_id,
        name=name,
        account=account,
        amount=amount,
        currency=currency,
        stage=stage,
        is_closed=is_closed,
        is_won=is_won,
        created_date=created_date,
        close_date=close_date,
        contact_emails=tuple(dict.fromkeys(emails)),
        referral_id=referral_id,
        reference_request_ids=tuple(sorted(set(ref_ids))),
    )


@dataclass(frozen=True)
class UpsertResult:
    opportunity: Opportunity
    created: bool
    became_won: bool


def _check_references(item: OpportunityInput) -> None:
    errors: dict[str, str] = {}
    if item.referral_id is not None and db.session.get(Referral, item.referral_id) is None:
        errors["referral_id"] = f"No referral with id {item.referral_id}."
    if item.reference_request_ids:
        known = set(
            db.session.scalars(select(ReferenceRequest.id).where(ReferenceRequest.id.in_(item.reference_request_ids)))
        )
        missing = [str(i) for i in item.reference_request_ids if i not in known]
        if missing:
            errors["reference_request_ids"] = f"No reference request with id {', '.join(missing)}."
    if errors:
        raise ValidationFailed(errors)


def upsert_opportunity(item: OpportunityInput, *, tally: bool = True) -> UpsertResult:
    """Create or update the opportunity with this external id, race-free: INSERT … ON CONFLICT
    DO NOTHING, then the row is locked and updated. Referral points and bonus are awarded here,
    once each (ledger keys); the attribution tally for this opportunity runs after commit."""
    from challenges.references import referrals

    _check_references(item)
    now = utcnow()
    cutoff = (
        dt.datetime.combine(item.close_date + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
        if item.is_closed and item.close_date
        else None
    )
    fields = {
        "name": item.name,
        "account": item.account,
        "amount": item.amount,
        "currency": item.currency,
        "stage": item.stage,
        "is_closed": item.is_closed,
        "is_won": item.is_won,
        "created_date": item.created_date,
        "close_date": item.close_date,
        "close_cutoff_at": cutoff,
        "cycle_days": (item.close_date - item.created_date).days if item.is_closed and item.close_date else None,
        "contact_emails": list(item.contact_emails),
        "referral_id": item.referral_id,
        "reference_request_ids": list(item.reference_request_ids),
    }
    created = insert_ignore(
        db.session,
        Opportunity.__table__,
        fields
        | {
            "external_id": item.external_id,
            "account_key": func.lower(func.trim(literal(item.account))),
            "created_at": now,
            "updated_at": now,
            "version": 1,
            "won_at": now if item.is_won else None,
        },
    )
    opportunity = db.session.scalar(
        select(Opportunity)
        .where(Opportunity.external_id == item.external_id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )
    became_won = created and item.is_won
    if not created:
        became_won = item.is_won and not opportunity.is_won
        db.session.execute(
            update(Opportunity)
            .where(Opportunity.id == opportunity.id)
            .values(
                **fields,
                account_key=func.lower(func.trim(literal(item.account))),
                updated_at=now,
                version=Opportunity.version + 1,
                won_at=func.coalesce(Opportunity.won_at, now) if item.is_won else Opportunity.won_at,
            )
            .execution_options(synchronize_session=False)
        )
        db.session.refresh(opportunity)
    for request_id in item.reference_request_ids:
        insert_ignore(
            db.session,
            OpportunityReference.__table__,
            {"opportunity_external_id": item.external_id, "reference_request_id": request_id},
        )
    if opportunity.referral_id is not None:
        referrals.award_for_opportunity(opportunity.referral_id, opportunity)
    if tally:
        schedule_tally(opportunity)
    return UpsertResult(opportunity, created, became_won)


def schedule_tally(opportunity: Opportunity) -> None:
    """Recount this opportunity's attribution after commit (one job per opportunity version)."""
    from challenges.references.jobs import tally_opportunity_job

    enqueue_after_commit(
        tally_opportunity_job, opportunity.id, job_id=f"attribution-{opportunity.id}-v{opportunity.version}"
    )


def schedule_tally_for_external_id(external_id: str | None) -> None:
    if not external_id:
        return
    opportunity = db.session.scalar(select(Opportunity).where(Opportunity.external_id == external_id))
    if opportunity is not None:
        schedule_tally(opportunity)


# --- CSV import ----------------------------------------------------------------------------


def start_import(filename: str, raw: bytes, actor_id: int) -> CrmImport:
    """Store an uploaded CSV and queue its import; header problems are refused up front."""
    if len(raw) > MAX_IMPORT_BYTES:
        raise ValidationFailed({"file": "The file is larger than 5 MB."})
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
    from challenges.references.jobs import import_opportunities_job

    enqueue_after_commit(import_opportunities_job, job.id, job_id=f"crm-import-{job.id}", timeout=1800)
    return job


def import_batch(import_id: int) -> bool:
    """Import the next batch of rows of an import, resuming after the rows already processed
    (so a retried job neither skips nor double-counts). Returns True when rows remain.
    Each row is its own savepoint: a bad row is reported by line number, good rows import."""
    from challenges.attribution import tally

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
    from challenges.attribution import thank_for_won_deals

    thank_for_won_deals(touched)
    remaining = job.processed_rows < job.total_rows and done_in_batch >= IMPORT_BATCH
    if not remaining:
        job.status = ImportStatus.DONE
        job.processed_rows = job.total_rows
        job.finished_at = utcnow()
    db.session.flush()
    return remaining


INTEGRATION_PREFIX = "vci_"


def create_integration_token(owner_id: int, name: str, actor_id: int) -> tuple[int, str]:
    """An API token for the CRM: it acts as the owner who made it, but the API refuses it on
    every route except the opportunity upsert (see references.api). Shown once, stored hashed."""
    from hub.audit import record_audit
    from hub.models import ApiToken, Role, User
    from hub.security import new_token, token_digest

    owner = db.session.get(User, owner_id)
    if owner is None or owner.role is not Role.OWNER:
        raise ValidationFailed({"owner": "Integration tokens act for an owner."})
    name = (name or "").strip() or "CRM integration"
    if len(name) > 80:
        raise ValidationFailed({"name": "At most 80 characters."})
    plaintext = INTEGRATION_PREFIX + new_token(32)
    row = ApiToken(
        user_id=owner.id, name=name, token_digest=token_digest(plaintext), prefix=plaintext[:10], created_by_id=actor_id
    )
    db.session.add(row)
    db.session.flush()
    record_audit(
        actor_id, "token.create", "api_token", row.id, None, {"user": owner.email, "name": name, "scope": "crm"}
    )
    return row.id, plaintext
