"""Keeping the per-account summary rows (challenges.accounts.models.AccountSummary) equal to
what `queries.account_rows` computes from scratch, so the coverage list is one indexed read.

How a row stays right:
- in the transaction that changes its inputs: the session's flush events note advocates
  (account, availability, preferences, erasure, join date), users (deactivation), asks,
  completions (approval), opportunities, accounts (rename, merge) and the caps policy /
  program currency settings; writers using bulk statements name what they touched through
  `challenges.accounts.marks` (the tally, ask releases, approvals, merges, domains, CRM
  upserts). Just before the outermost commit the marked accounts are recomputed from scratch
  (`refresh`), so a row is never patched by deltas;
- daily (`refresh_summaries_job`, `flask challenges refresh-account-summaries`): readiness
  changes with time alone — asks leave caps' 365-day window, blackouts begin and end;
- the full relink and a full tally rebuild every row.
On PostgreSQL a refresh takes a shared advisory lock and the accounts' row locks (id order)
before it reads, a rebuild the exclusive advisory lock, so two transactions changing one
account cannot both write a summary computed without the other's change.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any

from sqlalchemy import delete, event, inspect, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from challenges.accounts import marks, queries
from challenges.accounts.models import AccountSummary
from challenges.crm.models import Opportunity
from challenges.models import Ask, Completion, CompletionStatus
from hub.db import lock_scope, table_of, utcnow
from hub.extensions import db
from hub.models import Account, Advocate, Setting, User
from hub.queue import job_context, job_timeout

LOCK_KEY = 0x76616373  # "vacs": serializes a full rebuild against per-account refreshes
BATCH = 5000
ADVOCATE_INPUTS = ("account_id", "available_for_references", "preferences", "is_erased", "joined_at")
SETTING_INPUTS = frozenset({"caps_policy", "program_cost"})


def refresh(account_ids: Collection[int], at: dt.datetime | None = None) -> int:
    """Recompute these accounts' summary rows from scratch as of `at` (aware UTC, default
    now); rows of accounts merged away or gone are deleted. Returns the rows written (rows
    whose values did not change are left alone)."""
    ids = sorted(set(account_ids))
    if not ids:
        return 0
    _lock(ids)
    return _write(queries.account_rows(account_ids=ids, at=at or utcnow()), ids, at)


def rebuild_all(at: dt.datetime | None = None) -> int:
    """Recompute every live account's summary row (the daily refresh, the full relink and a
    full tally); returns the rows written. Only rows whose values changed are written, so the
    nightly run leaves the table (and its index) as it was for nearly every account."""
    _lock(None)
    return _write(queries.account_rows(at=at or utcnow()), None, at)


COMPARED = (
    "sort_name",
    "advocates",
    "reference_ready",
    "open_pipeline",
    "influenced_won",
    "sourced_won",
    "currency",
    "last_act_at",
    "is_gap",
)


def _write(rows: list[queries.AccountRow], ids: list[int] | None, at: dt.datetime | None) -> int:
    """Upsert the rows that differ from the stored ones and delete the stored rows of accounts
    not in `rows` (within `ids`; None: the whole table)."""
    table = table_of(AccountSummary)
    stored_query = select(table.c.account_id, *[table.c[c] for c in COMPARED])
    stored: dict[int, tuple] = {}
    for chunk in [None] if ids is None else _chunks(ids):
        query = stored_query if chunk is None else stored_query.where(table.c.account_id.in_(chunk))
        stored.update({r[0]: tuple(r[1:]) for r in db.session.execute(query)})
    values = _values(rows, at)
    changed = [v for v in values if stored.get(v["account_id"]) != tuple(v[c] for c in COMPARED)]
    live = {v["account_id"] for v in values}
    gone = sorted(a for a in stored if a not in live)
    for chunk in _chunks(gone):
        db.session.execute(delete(AccountSummary).where(AccountSummary.account_id.in_(chunk)))
    _upsert(changed)
    return len(changed)


def _values(rows: list[queries.AccountRow], at: dt.datetime | None) -> list[dict]:
    now = at or utcnow()
    return [
        {
            "account_id": r.id,
            "sort_name": r.name.casefold()[:320],
            "advocates": r.advocates,
            "reference_ready": r.reference_ready,
            "open_pipeline": r.open_pipeline,
            "influenced_won": r.influenced_won,
            "sourced_won": r.sourced_won,
            "currency": r.currency,
            "last_act_at": r.last_act_at,
            "is_gap": r.is_gap,
            "refreshed_at": now,
        }
        for r in rows
    ]


def _upsert(values: list[dict]) -> None:
    if not values:
        return
    table = table_of(AccountSummary)
    dialect: Any = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.account_id],
        set_={c: statement.excluded[c] for c in values[0] if c != "account_id"},
    )
    for start in range(0, len(values), BATCH):
        db.session.execute(statement, values[start : start + BATCH])


def _lock(ids: list[int] | None) -> None:
    lock_scope(LOCK_KEY, Account, ids)


# --- the session events that keep the rows ---------------------------------------------------


def install() -> None:
    """Listen to db.session's flushes and commits (once per process; challenges.hooks)."""
    if event.contains(db.session, "after_flush", _after_flush):
        return
    event.listen(db.session, "after_flush", _after_flush)
    event.listen(db.session, "before_commit", _before_commit)
    event.listen(db.session, "after_soft_rollback", _after_soft_rollback)


def _changed(obj: object, names: tuple[str, ...]) -> bool:
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in names)


def _history(obj: object, name: str) -> list:
    history = inspect(obj).attrs[name].history
    return [*history.added, *history.unchanged, *history.deleted]


def _after_flush(session: Session, _flush_context: object) -> None:
    for obj in (*session.new, *session.dirty, *session.deleted):
        is_new = obj in session.new or obj in session.deleted
        if isinstance(obj, Advocate):
            if is_new or _changed(obj, ADVOCATE_INPUTS):
                marks.mark_accounts(_history(obj, "account_id"))
        elif isinstance(obj, Ask):
            marks.mark_advocates([obj.advocate_id])
        elif isinstance(obj, Completion):
            if CompletionStatus.APPROVED in _history(obj, "status") and (is_new or _changed(obj, ("status",))):
                marks.mark_advocates([obj.advocate_id])
        elif isinstance(obj, Opportunity):
            if is_new or _changed(obj, ("account_id", "amount", "currency", "is_closed", "is_won")):
                marks.mark_accounts(_history(obj, "account_id"))
        elif isinstance(obj, Account):
            marks.mark_accounts([obj.id, *_history(obj, "merged_into_id")])
        elif isinstance(obj, User):
            if not is_new and _changed(obj, ("is_active_user",)):
                marks.mark_users([obj.id])
        elif isinstance(obj, Setting) and obj.key in SETTING_INPUTS:
            marks.mark_all()


def _before_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return
    for _ in range(3):  # a refresh's own flush may mark more (it marks nothing of its own)
        session.flush()  # commit flushes only after this event: the marks come from flushes
        if marks.KEY not in session.info:
            return
        accounts, advocates, users, everything = marks.take()
        if everything:
            rebuild_all()
        elif accounts or advocates or users:
            if advocates or users:
                found = select(Advocate.account_id).where(Advocate.account_id.is_not(None))
                for chunk in _chunks(sorted(advocates)):
                    accounts |= set(session.scalars(found.where(Advocate.id.in_(chunk))))
                for chunk in _chunks(sorted(users)):
                    accounts |= set(session.scalars(found.where(Advocate.user_id.in_(chunk))))
            refresh(accounts)


def _chunks(ids: list[int]) -> list[list[int]]:
    return [ids[start : start + BATCH] for start in range(0, len(ids), BATCH)]


def _after_soft_rollback(session: Session, previous_transaction: object) -> None:
    if not session.in_transaction():
        marks.clear()


# --- the daily refresh ------------------------------------------------------------------------


@job_timeout(1800)
def refresh_summaries_job() -> int:
    """Cron job: rebuild every account summary, for readiness that changed with time alone (asks
    leaving caps' 365-day window, blackouts starting or ending). Idempotent."""
    with job_context():
        return rebuild_all()
