"""How admin plugs into hub (hub.hooks): managers and owners land on the dashboard."""

from __future__ import annotations

from flask import Flask

from hub.hooks import hooks
from hub.models import STAFF_ROLES


def install(app: Flask) -> None:
    """Register admin's hooks on `app` (create_app calls this once per app)."""
    for role in STAFF_ROLES:
        hooks(app).role_homes[role] = "admin.dashboard"
