"""CRM opportunities as challenges/crm/opportunities.py upsert_opportunity stores them.

Three sources: the opportunities referrals became (referral_id; won/lost as the simulation
decided, so the referral's status, bonus and the deal agree), deals linked to reference requests
(through opportunity_references, from the request side or from the CRM's
reference_request_ids), and the rest — about a third on advocates' own companies (account in
varied case and spacing; account_key = lower(trim(account))), so `same_account` touches exist,
the others on prospects no advocate works for.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import click

from bench.seed_people import FIRST_NAMES, LAST_NAMES, slug
from bench.seed_program import DAY, HISTORY_DAYS, at

OPEN_STAGES = ("Prospecting", "Qualification", "Discovery", "Proposal", "Negotiation")
PRODUCTS = ("Analytics Platform", "Dashboards add-on", "Enterprise seats", "Data connectors", "Premium support")
DEAL_KINDS = ("new business", "expansion", "renewal")
OPPORTUNITY_COLUMNS = (
    "id",
    "external_id",
    "name",
    "account",
    "account_key",
    "amount",
    "currency",
    "stage",
    "is_closed",
    "is_won",
    "created_date",
    "close_date",
    "close_cutoff_at",
    "cycle_days",
    "contact_emails",
    "referral_id",
    "reference_request_ids",
    "created_at",
    "updated_at",
    "won_at",
    "version",
)
LINK_COLUMNS = ("opportunity_external_id", "reference_request_id")


def _amount(rng: random.Random) -> Decimal:
    value = min(2_000_000.0, max(1_000.0, rng.lognormvariate(10.3, 1.0)))
    cents = rng.choice((0, 0, 0, 50, rng.randint(1, 99)))
    return Decimal(f"{int(value)}.{cents:02d}")


class CrmSeeder:
    def __init__(self, rng: random.Random, loader, ids, now: dt.datetime, tag: str, companies: list[str]) -> None:
        self.rng, self.loader, self.ids, self.tag = rng, loader, ids, tag
        self.now = now.timestamp()
        self.today = now.date()
        self.companies = sorted(set(companies))
        self.rows = loader.rows("opportunities")
        self.links = loader.rows("opportunity_references")
        self.next_id = ids.peek("opportunities")
        self.first = self.next_id

    def run(self, total: int, referrals: list[tuple], requests: list[tuple], prospects: tuple[str, ...]) -> int:
        rng = self.rng
        rest = max(0, total - len(referrals) - len(requests))
        with click.progressbar(
            length=len(referrals) + len(requests) + rest, label="CRM opportunities".ljust(22), show_pos=True
        ) as bar:
            for rid, company, email, opened, won, lost in referrals:
                created = opened - rng.uniform(0, 5) * DAY
                closed = won or lost
                self._add(company, created, closed, won is not None, referral_id=rid, contacts=[email], synced=opened)
            bar.update(len(referrals))
            for request_id, prospect, created, accepted, deal, external_id in requests:
                begin = created - rng.uniform(0, 30) * DAY
                closed = won = None
                after = accepted if accepted is not None else created
                if rng.random() < 0.7 and (moment := after + rng.uniform(5, 90) * DAY) <= self.now:
                    closed, won = moment, rng.random() < 0.6
                ext = self._add(
                    prospect,
                    begin,
                    closed,
                    bool(won),
                    external_id=external_id,
                    request_ids=[] if external_id else [request_id],
                    amount=deal,
                )
                self.links.append((ext, request_id))
            bar.update(len(requests))
            for n in range(rest):
                customer = rng.random() < 0.35
                account = rng.choice(self.companies) if customer and self.companies else rng.choice(prospects)
                if customer:
                    account = rng.choice((account, account, account, account.upper(), f" {account}  "))
                created = self.now - (rng.random() ** 0.8) * HISTORY_DAYS * DAY
                cycle = min(400.0, max(7.0, rng.lognormvariate(4.1, 0.6)))
                closed = won = None
                if created + cycle * DAY <= self.now and rng.random() < 0.9:
                    closed, won = created + cycle * DAY, rng.random() < 0.4
                self._add(account, created, closed, bool(won))
                if n % 10_000 == 9_999:
                    self.loader.maybe_flush()
                    bar.update(10_000)
            bar.update(rest % 10_000)
        self.loader.flush()
        self.ids.set("opportunities", self.next_id)
        return self.next_id - self.first

    def _add(
        self,
        account: str,
        created: float,
        closed: float | None,
        won: bool,
        referral_id: int | None = None,
        external_id: str | None = None,
        request_ids: list[int] | None = None,
        contacts: list[str] | None = None,
        amount: Decimal | None = None,
        synced: float | None = None,
    ) -> str:
        """One opportunity; fields derived the way upsert_opportunity derives them."""
        rng = self.rng
        oid = self.next_id
        self.next_id += 1
        external_id = external_id or f"BENCH-{self.tag}-{oid}"
        created_date = at(created).date()
        close_date = cutoff = cycle = won_at = None
        stage = rng.choice(OPEN_STAGES)
        created_at = synced if synced is not None else created + rng.uniform(0, 2) * DAY
        created_at = min(created_at, self.now)
        updated = created_at
        if closed is not None:
            close_date = max(created_date, at(closed).date())
            cutoff = dt.datetime.combine(close_date + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
            cycle = (close_date - created_date).days
            stage = "Closed Won" if won else "Closed Lost"
            # A referral's deal was synced the moment it closed (its referral's won_at and bonus say when).
            updated = max(
                created_at, closed if referral_id is not None else min(closed + rng.uniform(0, 1) * DAY, self.now)
            )
            if won:
                won_at = updated
        if contacts is None:
            domain = slug(account)
            contacts = [
                f"{rng.choice(FIRST_NAMES).lower()}.{rng.choice(LAST_NAMES).lower()}@{domain}.example"
                for _ in range(rng.choice((0, 1, 1, 2)))
            ]
        name = f"{account.strip()} — {rng.choice(PRODUCTS)} ({rng.choice(DEAL_KINDS)})"[:255]
        self.rows.append(
            (
                oid,
                external_id,
                name,
                account,
                account.strip(" ").lower(),
                amount or _amount(rng),
                "USD",
                stage,
                closed is not None,
                won,
                created_date,
                close_date,
                cutoff,
                cycle,
                contacts,
                referral_id,
                request_ids or [],
                at(created_at),
                at(updated),
                None if won_at is None else at(won_at),
                1 + (closed is not None) + rng.choice((0, 0, 1, 2)),
            )
        )
        return external_id
