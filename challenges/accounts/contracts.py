"""The accounts API's contract (api.md "Endpoints of the second release"): the list with its
coverage filter, one account, rename/domain, merge, and an advocate's persona. Money as
{amount, currency} in the program currency."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from hub.contracts import Body, Page, PageQuery, Reply
from hub.fields import Money, OneLine, OneOf, RowId, Timestamp
from hub.models import Persona


class AccountListQuery(PageQuery):
    q: Annotated[str | None, OneLine(100)] = None
    coverage: Annotated[str | None, OneOf(("gap",))] = Field(
        None, description="gap: accounts with open pipeline or an advocate and fewer than 2 reference-ready advocates"
    )


class AccountRowReply(Reply):
    id: int
    name: str
    domain: str | None
    advocates: int
    reference_ready: int
    open_pipeline: Money
    influenced_won: Money
    sourced_won: Money
    last_act_at: Timestamp | None
    next_step: str | None = None


class AccountPage(Page[AccountRowReply]):
    pass


class AccountAdvocateReply(Reply):
    id: int
    name: str
    title: str | None
    tier: str
    reference_ready: bool
    persona: Persona | None


class AccountOpportunityReply(Reply):
    id: int
    external_id: str
    name: str
    stage: str
    amount: Annotated[str, OneLine(32)]
    currency: str
    is_closed: bool
    is_won: bool


class AccountReply(Reply):
    id: int
    name: str
    domain: str | None
    advocates: list[AccountAdvocateReply]
    opportunities: list[AccountOpportunityReply]
    acts_last_365: int
    open_pipeline: Money
    influenced_won: Money
    sourced_won: Money
    last_act_at: Timestamp | None


class AccountPatch(Body):
    """Either or both; a field left out stays as it is, `domain` "" or null clears it, a sent
    `name` must be a name (blank or null → 422 naming it)."""

    name: Annotated[str | None, OneLine(160)] = None
    domain: Annotated[str | None, OneLine(253)] = None


class AccountMerge(Body):
    into_id: RowId


class PersonaBody(Body):
    persona: Annotated[Persona | None, OneOf(Persona)] = None


class PersonaReply(Reply):
    advocate_id: int
    persona: Persona | None
    account_id: int | None
