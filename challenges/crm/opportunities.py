"""CRM opportunities: their input (OpportunityBody), and the upsert by external id that API calls and CSV rows both go
through (referral points on the way, the attribution tally scheduled after commit)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator
from sqlalchemy import func, literal, select, update

from challenges.accounts.marks import mark_accounts
from challenges.crm.models import Opportunity, OpportunityReference
from challenges.references.models import ReferenceRequest
from challenges.referrals.models import Referral
from hub.account_links import account_for
from hub.contracts import Body
from hub.db import insert_ignore, utcnow
from hub.errors import ValidationFailed
from hub.extensions import db
from hub.fields import ROW_ID, Amount, Currency, Date, Email, Flag, IsoDate, ListOf, OneLine, RowId, read_row
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


def _number_as_text(value: Any) -> Any:
    """CRMs send numeric ids as JSON numbers: 4711 is the external id "4711"."""
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


class OpportunityBody(Body):
    """An opportunity as the CRM sends it (API body or a CSV row, where a list is one cell,
    "a@x.com; b@y.com"). Unknown keys are ignored."""

    external_id: Annotated[str, OneLine(64), BeforeValidator(_number_as_text)]
    name: Annotated[str, OneLine(255)]
    account: Annotated[str, OneLine(160)]
    amount: Annotated[Decimal, Amount()]
    currency: Currency
    stage: Annotated[str, OneLine(80)]
    is_closed: Annotated[bool, Flag()] = False
    is_won: Annotated[bool, Flag()] = False
    created_date: Date
    close_date: Annotated[dt.date | None, IsoDate()] = None
    contact_emails: Annotated[tuple[str, ...], ListOf(Email, max_items=50, split=",;")] = ()
    referral_id: Annotated[int | None, ROW_ID] = None
    reference_request_ids: Annotated[
        tuple[int, ...],
        ListOf(RowId, max_items=50, split=",;", message="A list of up to 50 reference request ids."),
    ] = ()


def parse_opportunity(data: Mapping[str, Any] | OpportunityBody) -> OpportunityInput:
    """One opportunity (read through OpportunityBody when a mapping: API JSON or a CSV row) whose
    dates and outcome agree; a closed deal without a close date closed today."""
    body = data if isinstance(data, OpportunityBody) else read_row(OpportunityBody, data)
    errors: dict[str, str] = {}
    if body.is_won and not body.is_closed:
        errors["is_won"] = "A won opportunity is closed: send is_closed true as well."
    if body.close_date and body.close_date < body.created_date:
        errors["close_date"] = "The close date is before the created date."
    if errors:
        raise ValidationFailed(errors)
    close_date = body.close_date
    if body.is_closed and close_date is None:
        close_date = utcnow().date()
    return OpportunityInput(
        external_id=body.external_id,
        name=body.name,
        account=body.account,
        amount=body.amount,
        currency=body.currency,
        stage=body.stage,
        is_closed=body.is_closed,
        is_won=body.is_won,
        created_date=body.created_date,
        close_date=close_date,
        contact_emails=body.contact_emails,
        referral_id=body.referral_id,
        reference_request_ids=tuple(sorted(set(body.reference_request_ids))),
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
    account = account_for(item.account, item.contact_emails)
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
        "account_id": account.id if account is not None else None,
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
    opportunity = db.session.execute(
        select(Opportunity)
        .where(Opportunity.external_id == item.external_id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).scalar_one()
    # open pipeline of the account it was at and of the one it is at now
    mark_accounts([opportunity.account_id, account.id if account is not None else None])
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
