"""Keeps the request boundary the only place that ends an HTML view's transaction: no view
module (any `views.py`, anything under a `views/` package, anything in `admin/`) commits or
rolls back, and no route escapes the boundary except the JSON API's, which run their own
units (hub.transactions)."""

from __future__ import annotations

import ast
from pathlib import Path

from hub.transactions import runs_own_transaction

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("hub", "rewards", "challenges", "admin")
ENDING_CALLS = frozenset({"commit", "rollback"})


def view_modules() -> list[Path]:
    found: set[Path] = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            relative = path.relative_to(ROOT)
            if "migrations" in relative.parts:
                continue
            if package == "admin" or path.name == "views.py" or "views" in relative.parts[:-1]:
                found.add(relative)
    return sorted(found)


def transaction_endings(source: str) -> list[tuple[int, str]]:
    """(line, call) for every `….commit(` and `….rollback(` call in the source."""
    return [
        (node.lineno, ast.unparse(node.func))
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ENDING_CALLS
    ]


def test_the_guard_sees_commits_and_rollbacks_however_they_are_spelled():
    source = "db.session.commit()\nsession.rollback()\nnested.rollback()\ndb.session.flush()\n"
    assert transaction_endings(source) == [(1, "db.session.commit"), (2, "session.rollback"), (3, "nested.rollback")]


def test_the_guard_covers_every_view_module():
    modules = {str(p) for p in view_modules()}
    expected = {
        "hub/views.py",
        "hub/email/views.py",
        "hub/community/views.py",
        "rewards/views.py",
        "challenges/views.py",
        "challenges/crm/views.py",
        "challenges/references/views.py",
        "challenges/referrals/views.py",
        "admin/console.py",
        "admin/views/advocates.py",
        "admin/views/challenges.py",
        "admin/views/crm.py",
        "admin/views/emails.py",
        "admin/views/jobs.py",
        "admin/views/references.py",
        "admin/views/reports.py",
        "admin/views/rewards.py",
        "admin/views/settings.py",
    }
    assert expected <= modules


def test_no_view_module_commits_or_rolls_back():
    found = [
        f"{path}:{line}: {call}()"
        for path in view_modules()
        for line, call in transaction_endings((ROOT / path).read_text())
    ]
    assert not found, (
        "views end no transaction; the request boundary commits or rolls back (hub.transactions):\n" + "\n".join(found)
    )


def test_only_the_json_api_runs_its_own_transactions(app):
    own = {rule.rule for rule in app.url_map.iter_rules() if runs_own_transaction(app.view_functions[rule.endpoint])}
    assert own, "the JSON API's routes claim their own units"
    assert all(path.startswith("/api/v1/") for path in own), sorted(own)
    api_writes = {
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/") and (rule.methods or set()) & {"POST", "PATCH", "PUT", "DELETE"}
    }
    assert api_writes <= own
