"""Staff changes to customer accounts (product.md §13): rename, set the domain, merge, an
advocate's persona, and the full relink. Each recounts the attribution of the opportunities
whose same-account touches it may change (the same statements as the incremental tally).
The caller commits."""

from __future__ import annotations

import re
from typing import Annotated

from sqlalchemy import func, select, union, update

from challenges.accounts.marks import mark_accounts, mark_all
from challenges.crm.attribution import tally
from challenges.crm.models import AttributionTouch, Opportunity, OpportunityReference, TouchKind
from hub.account_links import (
    FREE_MAIL_DOMAINS,
    RelinkResult,
    company_domain,
    company_key,
    relink_all,
)
from hub.audit import record_audit
from hub.db import table_of
from hub.errors import InvalidState, NotFound, ValidationFailed
from hub.extensions import db
from hub.fields import OneLine, OneOf, read_value
from hub.models import Account, Advocate, Persona, User

AccountName = Annotated[str, OneLine(160)]
DOMAIN = re.compile(r"^(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def live_account(account_id: int, *, lock: bool = False) -> Account:
    """The account (not one merged away), row-locked when `lock`; NotFound otherwise."""
    query = select(Account).where(Account.id == account_id, Account.merged_into_id.is_(None))
    if lock:
        query = query.with_for_update(key_share=True).execution_options(populate_existing=True)
    account = db.session.scalar(query)
    if account is None:
        raise NotFound("Account not found.")
    return account


def _opportunity_ids(account_id: int) -> list[int]:
    return list(db.session.scalars(select(Opportunity.id).where(Opportunity.account_id == account_id)))


def rename(account_id: int, name: str | None, actor_id: int) -> Account:
    """Give the account a new name. Its old name keeps resolving to it (an alias row), so
    advocates and CRM rows that still say the old name stay here; a name another account holds
    is refused (merge the two instead). A blank or missing name raises ValidationFailed."""
    name = read_value(AccountName, name, "name")
    key = company_key(name)
    if not key:
        raise ValidationFailed({"name": "Use a name with letters or digits."})
    account = live_account(account_id, lock=True)
    before = {"name": account.name}
    if key != account.name_key:
        holder = db.session.scalar(select(Account).where(Account.name_key == key))
        if holder is not None and holder.id != account.id and holder.merged_into_id != account.id:
            raise InvalidState(f"Another account is called {holder.name!r}: merge the two instead.")
        if holder is not None:  # an alias of this account: it becomes the name again
            db.session.delete(holder)
            db.session.flush()
        old_key, old_name = account.name_key, account.name
        account.name_key = key
        db.session.flush()
        db.session.add(Account(name=old_name, name_key=old_key, merged_into_id=account.id))
    account.name = name
    db.session.flush()
    record_audit(actor_id, "account.rename", "account", account.id, before, {"name": name})
    return account


def set_domain(account_id: int, domain: str | None, actor_id: int) -> Account:
    """Set (or clear, with None or "") the account's email domain; advocates with no account
    whose email has this domain join it. Free-mail domains are refused; a domain another
    account holds is refused (409)."""
    raw = (domain or "").strip().lower().removeprefix("@")
    account = live_account(account_id, lock=True)
    before = {"domain": account.domain}
    if not raw:
        account.domain = None
        db.session.flush()
        record_audit(actor_id, "account.domain", "account", account.id, before, {"domain": None})
        return account
    if not DOMAIN.match(raw):
        raise ValidationFailed({"domain": "A domain such as example.com."})
    if raw in FREE_MAIL_DOMAINS or company_domain(f"x@{raw}") is None:
        raise ValidationFailed({"domain": "A free-mail or reserved domain does not name a company."})
    holder = db.session.scalar(select(Account).where(Account.domain == raw))
    if holder is not None and holder.id != account.id:
        if holder.merged_into_id is None:
            raise InvalidState(f"The account {holder.name!r} has this domain.")
        holder.domain = None  # an alias or merged row: the live account takes it
        db.session.flush()
    account.domain = raw
    db.session.flush()
    joined = list(
        db.session.scalars(
            select(Advocate.id)
            .join(User, User.id == Advocate.user_id)
            .where(Advocate.account_id.is_(None), func.lower(User.email).like(f"%@{raw}"))
        )
    )
    if joined:
        db.session.execute(update(Advocate).where(Advocate.id.in_(joined)).values(account_id=account.id))
        mark_accounts([account.id])
        tally(_opportunity_ids(account.id))
    record_audit(actor_id, "account.domain", "account", account.id, before, {"domain": raw})
    return account


def merge(account_id: int, into_id: int, actor_id: int) -> Account:
    """Move everything of `account_id` (advocates, opportunities, aliases, the domain when the
    survivor has none) to `into_id`; the merged account's name and domain keep resolving to the
    survivor. Both rows are locked in id order; the survivor's opportunities are recounted."""
    if account_id == into_id:
        raise InvalidState("An account cannot be merged into itself.")
    first, second = sorted((account_id, into_id))
    locked = {first: live_account(first, lock=True), second: live_account(second, lock=True)}
    merged, survivor = locked[account_id], locked[into_id]
    db.session.execute(update(Advocate).where(Advocate.account_id == merged.id).values(account_id=survivor.id))
    db.session.execute(update(Opportunity).where(Opportunity.account_id == merged.id).values(account_id=survivor.id))
    db.session.execute(update(Account).where(Account.merged_into_id == merged.id).values(merged_into_id=survivor.id))
    if survivor.domain is None and merged.domain is not None:
        domain, merged.domain = merged.domain, None
        db.session.flush()
        survivor.domain = domain
    merged.merged_into_id = survivor.id
    db.session.flush()
    mark_accounts([merged.id, survivor.id])
    tally(_opportunity_ids(survivor.id))
    record_audit(actor_id, "account.merge", "account", merged.id, {"name": merged.name}, {"into_id": survivor.id})
    db.session.expire_all()
    return live_account(survivor.id)


def set_persona(advocate_id: int, persona: Persona | str | None, actor_id: int) -> Advocate:
    """Staff set an advocate's persona (§13), or clear it with None."""
    value = None if persona in (None, "") else read_value(Annotated[Persona, OneOf(Persona)], persona, "persona")
    advocate = db.session.get(Advocate, advocate_id)
    if advocate is None or advocate.is_erased:
        raise NotFound("Advocate not found.")
    before = {"persona": advocate.persona.value if advocate.persona else None}
    advocate.persona = Persona(value) if value else None
    db.session.flush()
    record_audit(actor_id, "advocate.persona", "advocate", advocate.id, before, {"persona": value})
    return advocate


def relink_everything(*, full_recount: bool = False) -> tuple[RelinkResult, int]:
    """The full relink (every advocate and opportunity by the §13 rules), then the recount of
    every opportunity whose touches it may change: those that moved account, those at an
    account an advocate joined or left, and every one with a referral or a reference call
    (cheap, and a repair of those kinds). The same-account touches of the other accounts —
    nearly all rows, and unchanged since their advocates are — are kept. `full_recount`
    recounts everything from scratch instead. Every account summary is rebuilt. Returns the
    relink counts and the number of opportunities recounted."""
    result = relink_all(db.session.connection())
    db.session.expire_all()
    mark_all()
    if full_recount:
        tally(None)
        return result, db.session.scalar(select(func.count()).select_from(Opportunity)) or 0
    scope = set(result.changed_opportunity_ids) | _other_touches()
    for chunk in _chunks(sorted(result.changed_account_ids)):
        scope.update(db.session.scalars(select(Opportunity.id).where(Opportunity.account_id.in_(chunk))))
    total = db.session.scalar(select(func.count()).select_from(Opportunity)) or 0
    if len(scope) * 2 > total:  # most of them: one statement over all is cheaper than a long id list
        tally(None)
        return result, total
    tally(sorted(scope))
    return result, len(scope)


def _other_touches() -> set[int]:
    """Opportunities with, or due, a referral or reference-call touch."""
    touches = table_of(AttributionTouch)
    referred = select(Opportunity.id).where(Opportunity.referral_id.is_not(None))
    referenced = select(Opportunity.id).join(
        OpportunityReference, OpportunityReference.opportunity_external_id == Opportunity.external_id
    )
    touched = select(touches.c.opportunity_id).where(touches.c.kind != TouchKind.SAME_ACCOUNT.value)
    return set(db.session.scalars(union(referred, referenced, touched)))


def _chunks(ids: list[int], size: int = 5000) -> list[list[int]]:
    return [ids[start : start + size] for start in range(0, len(ids), size)]
