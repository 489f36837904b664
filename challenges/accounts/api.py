"""JSON routes for customer accounts (api.md "Endpoints of the second release"): the list with
`coverage=gap`, one account, rename / set the domain, merge; and an advocate's persona."""

from __future__ import annotations

from challenges.accounts import queries, services
from challenges.accounts.contracts import (
    AccountListQuery,
    AccountMerge,
    AccountPage,
    AccountPatch,
    AccountReply,
    AccountRowReply,
    PersonaBody,
    PersonaReply,
)
from hub.endpoints import api_blueprint, endpoint
from hub.errors import NotFound
from hub.fields import Money
from hub.models import STAFF_ROLES, Role, User

bp = api_blueprint("accounts_api")
TAG = "accounts"


def _money(amount, currency: str) -> Money:
    return Money(amount=amount, currency=currency)


def row_reply(row: queries.AccountRow, *, with_next_step: bool = False) -> AccountRowReply:
    reply = AccountRowReply(
        id=row.id,
        name=row.name,
        domain=row.domain,
        advocates=row.advocates,
        reference_ready=row.reference_ready,
        open_pipeline=_money(row.open_pipeline, row.currency),
        influenced_won=_money(row.influenced_won, row.currency),
        sourced_won=_money(row.sourced_won, row.currency),
        last_act_at=row.last_act_at,
    )
    if with_next_step:
        reply.next_step = row.next_step
    return reply


def account_reply(account_id: int) -> AccountReply:
    detail = queries.account_detail(account_id)
    if detail is None:
        raise NotFound("Account not found.")
    row = detail.row
    return AccountReply.model_validate(
        {
            "id": row.id,
            "name": row.name,
            "domain": row.domain,
            "advocates": [vars(a) for a in detail.advocates],
            "opportunities": [
                {
                    "id": o.id,
                    "external_id": o.external_id,
                    "name": o.name,
                    "stage": o.stage,
                    "amount": f"{o.amount:.2f}",
                    "currency": o.currency,
                    "is_closed": o.is_closed,
                    "is_won": o.is_won,
                }
                for o in detail.opportunities
            ],
            "acts_last_365": detail.acts_last_365,
            "open_pipeline": _money(row.open_pipeline, row.currency),
            "influenced_won": _money(row.influenced_won, row.currency),
            "sourced_won": _money(row.sourced_won, row.currency),
            "last_act_at": row.last_act_at,
        }
    )


@endpoint(
    bp,
    "/accounts",
    roles=STAFF_ROLES | {Role.SALES},
    tag=TAG,
    summary="Customer accounts; coverage=gap lists those short of reference-ready advocates (with a next step)",
    query=AccountListQuery,
    reply=AccountPage,
)
def list_accounts(user: User, args: AccountListQuery) -> AccountPage:
    gap = args.coverage == "gap"
    rows, total = queries.account_page(args.q, gap=gap, offset=args.offset, limit=args.per_page)
    return AccountPage.of([row_reply(r, with_next_step=gap) for r in rows], args, total)


@endpoint(
    bp,
    "/accounts/<int:account_id>",
    roles=STAFF_ROLES | {Role.SALES},
    tag=TAG,
    summary="One account: advocates (persona, tier, reference-ready), opportunities, acts, revenue",
    reply=AccountReply,
)
def get_account(user: User, account_id: int) -> AccountReply:
    return account_reply(account_id)


@endpoint(
    bp,
    "/accounts/<int:account_id>",
    "PATCH",
    roles=STAFF_ROLES,
    tag=TAG,
    summary="Rename the account or set its email domain",
    body=AccountPatch,
    reply=AccountReply,
)
def patch_account(user: User, account_id: int, data: AccountPatch) -> AccountReply:
    services.live_account(account_id)
    if "name" in data.model_fields_set:  # a sent name must be one: blank or null is refused
        services.rename(account_id, data.name, user.id)
    if "domain" in data.model_fields_set:
        services.set_domain(account_id, data.domain, user.id)
    return account_reply(account_id)


@endpoint(
    bp,
    "/accounts/<int:account_id>/merge",
    "POST",
    roles=STAFF_ROLES,
    tag=TAG,
    summary="Merge this account into another (everything moves to the survivor)",
    body=AccountMerge,
    reply=AccountReply,
)
def merge_account(user: User, account_id: int, data: AccountMerge) -> AccountReply:
    survivor = services.merge(account_id, data.into_id, user.id)
    return account_reply(survivor.id)


@endpoint(
    bp,
    "/advocates/<int:advocate_id>/persona",
    "POST",
    roles=STAFF_ROLES,
    tag=TAG,
    summary="Set (or clear with null) an advocate's persona",
    body=PersonaBody,
    reply=PersonaReply,
)
def set_persona(user: User, advocate_id: int, data: PersonaBody) -> PersonaReply:
    advocate = services.set_persona(advocate_id, data.persona, user.id)
    return PersonaReply(advocate_id=advocate.id, persona=advocate.persona, account_id=advocate.account_id)
