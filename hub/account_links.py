"""Which customer account (hub.models.Account) a company name or an email belongs to
(product.md §13), and linking advocates to accounts.

Rules, the same for the create path, imports and the full relink:
- a company name is normalized (`company_key`): Unicode compatibility form, case-folded, dots
  and apostrophes dropped ("S.A." is "sa"), other punctuation as spaces, whitespace collapsed,
  legal-form words at the end removed (Inc, GmbH, Ltd, …) — "ACME, Inc." and "acme" are one;
- a name decides the account; without one, an email domain does — unless it is a free-mail
  domain (gmail.com, …) or a reserved example domain (RFC 2606), which never make an account;
- an account created for an advocate takes the advocate's company domain when no other
  account holds it, so colleagues without a company name find it by domain;
- a merged account still resolves (its name and domain) to the survivor.
Finding or creating is race-free: INSERT … ON CONFLICT DO NOTHING on the unique name key, then
a read.
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import select

from hub.db import UTCDateTime, _dialect_insert, insert_ignore, utcnow
from hub.extensions import db
from hub.models import Account, Advocate

# Words that name a legal form, not a company; removed from the end of a name (repeatedly, so
# "Acme Holdings Co Ltd" keeps "acme holdings"). Multi-word forms are matched as their words.
LEGAL_SUFFIXES = frozenset(
    {
        "inc",
        "incorporated",
        "corp",
        "corporation",
        "co",
        "company",
        "llc",
        "llp",
        "lp",
        "ltd",
        "limited",
        "plc",
        "gmbh",
        "mbh",
        "ag",
        "kg",
        "se",
        "sa",
        "sas",
        "sarl",
        "srl",
        "spa",
        "bv",
        "nv",
        "oy",
        "oyj",
        "ab",
        "as",
        "asa",
        "aps",
        "pty",
        "pte",
        "kk",
        "ug",
    }
)

FREE_MAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "yahoo.co.uk",
        "yahoo.fr",
        "yahoo.de",
        "ymail.com",
        "hotmail.com",
        "hotmail.co.uk",
        "hotmail.fr",
        "hotmail.de",
        "outlook.com",
        "live.com",
        "msn.com",
        "aol.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "proton.me",
        "protonmail.com",
        "pm.me",
        "gmx.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "t-online.de",
        "mail.com",
        "yandex.com",
        "yandex.ru",
        "mail.ru",
        "zoho.com",
        "qq.com",
        "163.com",
        "126.com",
        "fastmail.com",
        "hey.com",
        "tutanota.com",
        "orange.fr",
        "free.fr",
        "laposte.net",
        "libero.it",
        "btinternet.com",
        "comcast.net",
        "verizon.net",
        "att.net",
    }
)
# RFC 2606 / RFC 6761: documentation and test names belong to no company.
RESERVED_DOMAINS = frozenset({"example.com", "example.net", "example.org"})
RESERVED_TLDS = (".example", ".test", ".invalid", ".localhost", ".local")

_DROPPED = re.compile(r"[.'’`´]")
_SEPARATORS = re.compile(r"[^\w]+|_")


@functools.lru_cache(maxsize=100_000)
def company_key(name: str | None) -> str:
    """The normalized company name accounts are matched on; "" when nothing is left. Cached: a
    relink normalizes the same few thousand names over hundreds of thousands of rows."""
    text = unicodedata.normalize("NFKC", name or "").casefold()
    words = _SEPARATORS.sub(" ", _DROPPED.sub("", text)).split()
    while len(words) > 1 and words[-1] in LEGAL_SUFFIXES:
        words.pop()
    return " ".join(words)[:160]


def company_domain(email: str | None) -> str | None:
    """The email's domain when it can name a company: None for free-mail and reserved domains."""
    _, at, domain = (email or "").strip().lower().rpartition("@")
    domain = domain.rstrip(".")
    if not at or not domain or "." not in domain:
        return None
    reserved = domain in RESERVED_DOMAINS or domain.endswith(RESERVED_TLDS + tuple(f".{d}" for d in RESERVED_DOMAINS))
    if domain in FREE_MAIL_DOMAINS or reserved:
        return None
    return domain[:253]


def _survivor(account: Account | None) -> Account | None:
    seen = 0
    while account is not None and account.merged_into_id is not None and seen < 20:
        account = db.session.get(Account, account.merged_into_id)
        seen += 1
    return account


def account_by_domain(domain: str | None) -> Account | None:
    if not domain:
        return None
    return _survivor(db.session.scalar(select(Account).where(Account.domain == domain)))


def account_for(
    name: str | None, emails: tuple[str, ...] | list[str] = (), *, claim_domain: bool = False
) -> Account | None:
    """The account of a company name (created when new), else of the first email whose domain
    names a company (created, named after the domain, when new); None when neither does.
    `claim_domain`: a new account by name takes the first such domain if no account holds it."""
    key = company_key(name)
    domains = [d for d in (company_domain(e) for e in emails) if d]
    if key:
        existing = db.session.scalar(select(Account).where(Account.name_key == key))
        if existing is not None:
            return _survivor(existing)
        domain = domains[0] if claim_domain and domains and account_by_domain(domains[0]) is None else None
        return _insert(" ".join((name or "").split())[:160] or key, key, domain)
    for domain in domains:
        found = account_by_domain(domain)
        if found is not None:
            return found
    if domains:
        return _insert(domains[0], company_key(domains[0]) or domains[0], domains[0])
    return None


def _insert(name: str, key: str, domain: str | None) -> Account:
    values = {"name": name, "name_key": key, "domain": domain, "created_at": utcnow()}
    if not insert_ignore(db.session, Account.__table__, values) and domain is not None:
        # the key or the domain was taken meanwhile: the name decides, without the domain
        insert_ignore(db.session, Account.__table__, values | {"domain": None})
    survivor = _survivor(db.session.execute(select(Account).where(Account.name_key == key)).scalar_one())
    assert survivor is not None, "_survivor of a row is a row"
    return survivor


def account_ids_by_name(names: list[str | None]) -> dict[str, int]:
    """{name key: live account id} for these company names, creating the missing accounts in one
    multi-row INSERT … ON CONFLICT DO NOTHING (no domain: a name alone does not claim one). For
    imports, where one statement per batch replaces a lookup per row."""
    wanted: dict[str, str] = {}
    for name in names:
        key = company_key(name)
        if key and key not in wanted:
            wanted[key] = " ".join((name or "").split())[:160] or key
    if not wanted:
        return {}
    table = Account.__table__
    known = dict(
        db.session.execute(select(table.c.name_key, table.c.id).where(table.c.name_key.in_(list(wanted)))).all()
    )
    missing = [{"name": wanted[k], "name_key": k, "created_at": utcnow()} for k in wanted if k not in known]
    if missing:
        statement = _dialect_insert(db.session, table).values(missing).on_conflict_do_nothing()
        db.session.execute(statement)
        known = dict(
            db.session.execute(select(table.c.name_key, table.c.id).where(table.c.name_key.in_(list(wanted)))).all()
        )
    merged = dict(
        db.session.execute(
            select(table.c.id, table.c.merged_into_id).where(
                table.c.id.in_(list(known.values())), table.c.merged_into_id.is_not(None)
            )
        ).all()
    )
    for key, account_id in known.items():
        if account_id in merged:
            survivor = _survivor(db.session.get(Account, account_id))
            known[key] = survivor.id if survivor is not None else account_id
    return known


def link_advocate(advocate: Advocate) -> Account | None:
    """Set the advocate's account from their company name or email domain (§13); the caller
    commits. Returns the account (None when neither names one)."""
    account = account_for(advocate.company, [advocate.user.email], claim_domain=True)
    advocate.account_id = account.id if account is not None else None
    return account


# --- the full relink (the migration's backfill and `flask hub accounts relink`) -------------

_accounts = sa.table(
    "accounts",
    sa.column("id", sa.Integer),
    sa.column("name", sa.String),
    sa.column("name_key", sa.String),
    sa.column("domain", sa.String),
    sa.column("merged_into_id", sa.Integer),
    sa.column("created_at", UTCDateTime()),
)
_advocates = sa.table(
    "advocates",
    sa.column("id", sa.Integer),
    sa.column("user_id", sa.Integer),
    sa.column("company", sa.String),
    sa.column("account_id", sa.Integer),
)
_users = sa.table("users", sa.column("id", sa.Integer), sa.column("email", sa.String))
_opportunities = sa.table(
    "opportunities",
    sa.column("id", sa.Integer),
    sa.column("account", sa.String),
    sa.column("contact_emails", sa.JSON),
    sa.column("account_id", sa.Integer),
)


@dataclass
class RelinkResult:
    accounts_created: int = 0
    advocates_changed: int = 0
    opportunities_changed: int = 0
    changed_opportunity_ids: list[int] = field(default_factory=list)
    # accounts an advocate left or joined: their same-account touches may change
    changed_account_ids: set[int] = field(default_factory=set)


class _Plan:
    """Existing accounts plus the ones this run will create, keyed by name key and by domain."""

    def __init__(self, connection: sa.Connection) -> None:
        rows = connection.execute(
            sa.select(_accounts.c.id, _accounts.c.name_key, _accounts.c.domain, _accounts.c.merged_into_id)
        ).all()
        self.merged = {r.id: r.merged_into_id for r in rows if r.merged_into_id is not None}
        self.by_key: dict[str, int | str] = {r.name_key: r.id for r in rows}
        self.by_domain: dict[str, int | str] = {r.domain: r.id for r in rows if r.domain}
        self.new: dict[str, dict[str, str | None]] = {}

    def survivor(self, ref: int | str) -> int | str:
        for _ in range(20):
            if ref not in self.merged:
                break
            ref = self.merged[ref]
        return ref

    def for_row(self, name: str | None, emails: Callable[[], list[str]], claim_domain: bool) -> int | str | None:
        """The account (id, or name key of one to create) of a row; `emails` is called only
        when the name does not decide (decoding every row's emails was a third of a relink)."""
        key = company_key(name)
        if key and (key in self.by_key or not claim_domain):
            if key not in self.by_key:
                self._plan(" ".join((name or "").split())[:160] or key, key, None)
            return self.survivor(self.by_key[key])
        domains = [d for d in (company_domain(e) for e in emails()) if d]
        if key:
            if key not in self.by_key:
                domain = domains[0] if claim_domain and domains and domains[0] not in self.by_domain else None
                self._plan(" ".join((name or "").split())[:160] or key, key, domain)
            return self.survivor(self.by_key[key])
        for domain in domains:
            if domain in self.by_domain:
                return self.survivor(self.by_domain[domain])
        if domains:
            key = company_key(domains[0]) or domains[0]
            if key not in self.by_key:
                self._plan(domains[0], key, domains[0])
            return self.survivor(self.by_key[key])
        return None

    def _plan(self, name: str, key: str, domain: str | None) -> None:
        self.new[key] = {"name": name, "name_key": key, "domain": domain}
        self.by_key[key] = key
        if domain:
            self.by_domain[domain] = key


def relink_all(connection: sa.Connection, batch: int = 5000) -> RelinkResult:
    """Link every advocate and opportunity to its account by the rules above, creating the
    accounts that are missing; rows already right are not written. Set-based (bulk INSERT,
    executemany UPDATEs), so 100,000 advocates and 200,000 opportunities take seconds. The
    caller commits; callers that tally attribution recount `changed_opportunity_ids` (or all)."""
    plan = _Plan(connection)
    result = RelinkResult()
    advocates = connection.execute(
        sa.select(_advocates.c.id, _advocates.c.company, _advocates.c.account_id, _users.c.email)
        .join(_users, _users.c.id == _advocates.c.user_id)
        .order_by(sa.case((_advocates.c.company.is_(None), 1), else_=0), _advocates.c.id)
    ).all()
    advocate_refs = [
        (a.id, a.account_id, plan.for_row(a.company, functools.partial(_one_email, a.email), True)) for a in advocates
    ]
    # contact emails as text, decoded only for the rows whose account name does not decide
    opportunities = connection.execute(
        sa.select(
            _opportunities.c.id,
            _opportunities.c.account,
            sa.cast(_opportunities.c.contact_emails, sa.Text).label("emails"),
            _opportunities.c.account_id,
        ).order_by(_opportunities.c.id)
    ).all()
    opportunity_refs = [
        (o.id, o.account_id, plan.for_row(o.account, functools.partial(_emails, o.emails), False))
        for o in opportunities
    ]
    now = utcnow()
    new_rows = list(plan.new.values())
    for start in range(0, len(new_rows), batch):
        connection.execute(
            sa.insert(_accounts),
            [{**row, "created_at": now, "merged_into_id": None} for row in new_rows[start : start + batch]],
        )
    result.accounts_created = len(new_rows)
    ids = dict(
        connection.execute(
            sa.select(_accounts.c.name_key, _accounts.c.id).where(_accounts.c.name_key.in_(list(plan.new)))
        ).all()
        if len(plan.new) < 30000
        else connection.execute(sa.select(_accounts.c.name_key, _accounts.c.id)).all()
    )

    def resolve(ref: int | str | None) -> int | None:
        return ids[ref] if isinstance(ref, str) else ref

    for table, refs, attr in (
        (_advocates, advocate_refs, "advocates_changed"),
        (_opportunities, opportunity_refs, "opportunities_changed"),
    ):
        moved = [(row_id, old, resolve(ref)) for row_id, old, ref in refs if resolve(ref) != old]
        changes = [{"row_id": row_id, "new_account": new} for row_id, _, new in moved]
        _write_links(connection, table, changes, batch)
        setattr(result, attr, len(changes))
        if table is _opportunities:
            result.changed_opportunity_ids = [c["row_id"] for c in changes]
        else:
            result.changed_account_ids = {a for _, old, new in moved for a in (old, new) if a is not None}
    return result


def _one_email(email: str | None) -> list[str]:
    return [email or ""]


def _emails(raw: str | None) -> list[str]:
    found = json.loads(raw) if raw else []
    return [e for e in found if isinstance(e, str)] if isinstance(found, list) else []


def _write_links(connection: sa.Connection, table: sa.TableClause, changes: list[dict], batch: int) -> None:
    """Set account_id row by row. PostgreSQL: the pairs go into a temporary table by COPY (one
    stream; multi-row INSERTs spent their time building statements) and one UPDATE … FROM
    joins them (one statement per table instead of one per row)."""
    if not changes:
        return
    if connection.dialect.name != "postgresql":
        statement = (
            sa.update(table).where(table.c.id == sa.bindparam("row_id")).values(account_id=sa.bindparam("new_account"))
        )
        for start in range(0, len(changes), batch):
            connection.execute(statement, changes[start : start + batch])
        return
    connection.execute(
        sa.text("CREATE TEMPORARY TABLE account_links_tmp (row_id integer, new_account integer) ON COMMIT DROP")
    )
    pairs = sa.table("account_links_tmp", sa.column("row_id", sa.Integer), sa.column("new_account", sa.Integer))
    driver: Any = connection.connection.driver_connection  # psycopg: the transaction's own connection
    with driver.cursor() as cursor, cursor.copy("COPY account_links_tmp FROM STDIN") as copy:
        for change in changes:
            copy.write_row((change["row_id"], change["new_account"]))
    connection.execute(sa.update(table).where(table.c.id == pairs.c.row_id).values(account_id=pairs.c.new_account))
    connection.execute(sa.text("DROP TABLE account_links_tmp"))
