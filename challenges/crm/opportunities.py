"""CRM opportunities: validation, and the upsert by external id that API calls and CSV rows both go
through (referral points on the way, the attribution tally scheduled after commit)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, literal, select, update

from challenges.crm.models import Opportunity, OpportunityReference
from challenges.references.models import ReferenceRequest
from challenges.referrals.models import Referral
from challenges.values import normalize_email_address, parse_currency, parse_money
from hub.db import insert_ignore, utcnow
from hub.errors import ValidationFailed
from hub.extensions import db
from hub.queue import enqueue_after_commit

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
    from challenges.referrals import services as referrals

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
    from challenges.crm.jobs import tally_opportunity_job

    enqueue_after_commit(
        tally_opportunity_job, opportunity.id, job_id=f"attribution-{opportunity.id}-v{opportunity.version}"
    )


def schedule_tally_for_external_id(external_id: str | None) -> None:
    if not external_id:
        return
    opportunity = db.session.scalar(select(Opportunity).where(Opportunity.external_id == external_id))
    if opportunity is not None:
        schedule_tally(opportunity)
