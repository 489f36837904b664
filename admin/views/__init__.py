"""The manager and owner consoles, one module per console, all on the admin blueprint
(admin.console) behind its one role gate. Importing this package registers every console."""

from __future__ import annotations

from admin import navigation
from admin.console import bp
from admin.views import (
    accounts,
    advocates,
    challenges,
    community,
    crm,
    dashboard,
    emails,
    invitations,
    jobs,
    prospects,
    references,
    reports,
    rewards,
    settings,
    terms,
    users,
)

__all__ = [
    "accounts",
    "advocates",
    "bp",
    "challenges",
    "community",
    "crm",
    "dashboard",
    "emails",
    "invitations",
    "jobs",
    "navigation",
    "prospects",
    "references",
    "reports",
    "rewards",
    "settings",
    "terms",
    "users",
]
