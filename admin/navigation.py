"""The staff side navigation: grouped links (Program, Engage, Rewards, People, Sales, Settings)
filtered by the roles each view admits, with the page the user is on marked.

A link shows only when the signed-in user's role may open it: the view's own `allowed_roles`
(the attribute the route audit reads), or the narrower roles an entry names where two views
serve one purpose for different roles (a sales user's references and nominations pages)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, has_request_context, request, url_for
from flask_login import current_user

from admin.console import bp
from hub.models import STAFF_ROLES, Role


@dataclass(frozen=True)
class NavEntry:
    """One link: its label, the endpoint it opens, and (optionally) the only roles it is for."""

    label: str
    endpoint: str
    only: frozenset[Role] | None = None


SALES = frozenset({Role.SALES})
MANAGERS = STAFF_ROLES

STAFF_NAVIGATION: tuple[tuple[str, tuple[NavEntry, ...]], ...] = (
    (
        "Program",
        (
            NavEntry("Dashboard", "admin.dashboard"),
            NavEntry("Reports", "admin.reports_page"),
            NavEntry("Review incentives", "admin.incentives_page"),
            NavEntry("Leaderboard", "rewards.leaderboard_page"),
        ),
    ),
    (
        "Engage",
        (
            NavEntry("Challenges", "admin.challenges"),
            NavEntry("Review queue", "admin.review"),
            NavEntry("Community", "community.index"),
            NavEntry("Reported posts", "admin.post_reports"),
        ),
    ),
    (
        "Rewards",
        (
            NavEntry("Catalog", "admin.rewards"),
            NavEntry("Redemptions", "admin.redemptions"),
        ),
    ),
    (
        "People",
        (
            NavEntry("Advocates", "admin.advocates"),
            NavEntry("Invitations", "admin.invitations_page"),
            NavEntry("Groups", "admin.groups"),
            NavEntry("Accounts", "admin.accounts_page"),
            NavEntry("Candidates", "admin.candidates_page"),
            NavEntry("Nominations", "admin.nominations_page", MANAGERS),
            NavEntry("Users", "admin.users"),
        ),
    ),
    (
        "Sales",
        (
            NavEntry("References", "admin.references", MANAGERS),
            NavEntry("References", "references.sales_references", SALES),
            NavEntry("Nominate a customer", "prospects.nominate", SALES),
            NavEntry("Referrals", "admin.referrals_page"),
            NavEntry("CRM", "admin.crm_console"),
        ),
    ),
    (
        "Settings",
        (
            NavEntry("Settings", "admin.settings"),
            NavEntry("Emails", "admin.emails"),
            NavEntry("Failed jobs", "admin.failed_jobs_page"),
            NavEntry("Audit log", "admin.audit_log"),
        ),
    ),
)


@dataclass(frozen=True)
class NavLink:
    """A link as the partial draws it; `current` marks the page the user is on."""

    label: str
    url: str
    current: bool


def _admits(entry: NavEntry, role: Role) -> bool:
    """Whether `role` may open the entry's page (the view's declared roles, narrowed by `only`)."""
    view = current_app.view_functions.get(entry.endpoint)
    if view is None:
        return False
    allowed = getattr(view, "allowed_roles", STAFF_ROLES if entry.endpoint.startswith("admin.") else frozenset(Role))
    return role in allowed and (entry.only is None or role in entry.only)


def _is_under(path: str, url: str) -> bool:
    return path == url or path.startswith(url.rstrip("/") + "/")


def staff_navigation(role: Role, path: str) -> list[tuple[str, list[NavLink]]]:
    """The groups of links `role` may open, empty groups left out. The link whose URL is the
    longest prefix of `path` (by whole path segments) is current, so an editor page marks its
    list (/admin/challenges/7/edit → Challenges); the dashboard (/admin/) only marks itself."""
    groups = [
        (title, [(entry.label, url_for(entry.endpoint)) for entry in entries if _admits(entry, role)])
        for title, entries in STAFF_NAVIGATION
    ]
    dashboard = url_for("admin.dashboard")
    candidates = [url for _, links in groups for _, url in links if url != dashboard and _is_under(path, url)]
    current = max(candidates, key=len) if candidates else (dashboard if path == dashboard else None)
    return [(title, [NavLink(label, url, url == current) for label, url in links]) for title, links in groups if links]


@bp.app_context_processor
def _navigation() -> dict:
    if not has_request_context() or not current_user.is_authenticated or current_user.role is Role.ADVOCATE:
        return {"staff_nav": None}
    return {"staff_nav": staff_navigation(current_user.role, request.path)}
