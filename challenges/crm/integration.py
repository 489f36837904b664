"""The CRM integration token: an API token that acts for the owner who made it but that the API
refuses on every route except the opportunity upsert (challenges.crm.api)."""

from __future__ import annotations

from hub.audit import record_audit
from hub.errors import ValidationFailed
from hub.extensions import db
from hub.models import ApiToken, Role, User
from hub.security import new_token, token_digest

INTEGRATION_PREFIX = "vci_"


def create_integration_token(owner_id: int, name: str, actor_id: int | None) -> tuple[int, str]:
    """An API token for the CRM: it acts as the owner who made it, but the API refuses it on
    every route except the opportunity upsert (see challenges.crm.api). Shown once, stored hashed."""
    owner = db.session.get(User, owner_id)
    if owner is None or owner.role is not Role.OWNER:
        raise ValidationFailed({"owner": "Integration tokens act for an owner."})
    name = (name or "").strip() or "CRM integration"
    if len(name) > 80:
        raise ValidationFailed({"name": "At most 80 characters."})
    plaintext = INTEGRATION_PREFIX + new_token(32)
    row = ApiToken(
        user_id=owner.id, name=name, token_digest=token_digest(plaintext), prefix=plaintext[:10], created_by_id=actor_id
    )
    db.session.add(row)
    db.session.flush()
    record_audit(
        actor_id, "token.create", "api_token", row.id, None, {"user": owner.email, "name": name, "scope": "crm"}
    )
    return row.id, plaintext
