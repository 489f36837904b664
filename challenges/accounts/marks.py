"""Which account summaries (challenges.accounts.summaries) the current transaction made
stale. Writers that change a summary's inputs with bulk statements — which the session's
flush events cannot see — name what they touched here; the summaries are recomputed before
the transaction commits. Only hub is imported, so any writer can use it without a cycle."""

from __future__ import annotations

from collections.abc import Iterable

from hub.extensions import db

KEY = "vouch_account_summary_marks"


def _marks() -> dict[str, set]:
    return db.session.info.setdefault(KEY, {"accounts": set(), "advocates": set(), "users": set(), "all": set()})


def mark_accounts(account_ids: Iterable[int | None]) -> None:
    """These accounts' summaries are stale (None ids are ignored)."""
    _marks()["accounts"].update(a for a in account_ids if a is not None)


def mark_advocates(advocate_ids: Iterable[int | None]) -> None:
    """The summaries of these advocates' accounts are stale (resolved at commit)."""
    _marks()["advocates"].update(a for a in advocate_ids if a is not None)


def mark_users(user_ids: Iterable[int]) -> None:
    """The summaries of the accounts of these users' advocates are stale (a deactivation)."""
    _marks()["users"].update(user_ids)


def mark_all() -> None:
    """Every summary is stale (a policy or currency change, a full tally or relink)."""
    _marks()["all"].add(True)


def take() -> tuple[set[int], set[int], set[int], bool]:
    """(accounts, advocates, users, everything) marked so far in this transaction, clearing them."""
    marks = db.session.info.pop(KEY, None)
    if marks is None:
        return set(), set(), set(), False
    return marks["accounts"], marks["advocates"], marks["users"], bool(marks["all"])


def clear() -> None:
    """Forget the marks (the transaction rolled back)."""
    db.session.info.pop(KEY, None)
