"""Program terms and their versions (product.md §12, issue 14): the owner publishes a new text,
which gets a new version; every advocate accepts the current version when joining and again at
their next visit after a change (the gate in hub.views); each acceptance is kept, so the export
lists every version a person accepted. Services flush, never commit."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from sqlalchemy import select

from hub.audit import record_audit
from hub.db import insert_ignore, utcnow
from hub.extensions import db
from hub.fields import MultiLine, read_value
from hub.models import Advocate, ConsentAcceptance, Role, User
from hub.settings import get_setting, save_setting

TermsText = Annotated[str, MultiLine(5000)]


def current_terms() -> tuple[str, str]:
    """(version, text) of the terms in force."""
    return get_setting("consent_text_version"), get_setting("consent_text")


def publish_terms(text: str, actor_id: int) -> str:
    """Publish a new text of the terms; returns its version ("YYYY-MM-DD.n", n counting the
    versions published that day). The same text again changes nothing. Audited.
    Raises ValidationFailed (field `text`) for an empty or overlong text."""
    text = read_value(TermsText, text, "text").strip()
    version, current = current_terms()
    if text == current.strip():
        return version
    today = utcnow().strftime("%Y-%m-%d")
    n = int(version.rsplit(".", 1)[1]) + 1 if version.startswith(today + ".") else 1
    new_version = f"{today}.{n}"
    save_setting("consent_text", text, actor_id)
    save_setting("consent_text_version", new_version, actor_id)
    record_audit(actor_id, "consent.publish", "setting", "consent_text", {"version": version}, {"version": new_version})
    return new_version


def record_acceptance(advocate: Advocate, version: str | None = None, at: dt.datetime | None = None) -> None:
    """The advocate accepts `version` (default: the current one) at `at` (aware UTC, default
    now); accepting twice keeps the first time."""
    version = version or current_terms()[0]
    now = at or utcnow()
    insert_ignore(
        db.session, ConsentAcceptance.__table__, {"advocate_id": advocate.id, "version": version, "accepted_at": now}
    )
    if advocate.consent_version != version:
        advocate.consent_version = version
        advocate.consented_at = now
    db.session.flush()


def needs_acceptance(user: User) -> bool:
    """True for an advocate who accepted an earlier version than the terms in force. (One added
    by staff without an invitation has accepted none: they accept at joining, by invitation.)"""
    if user.role is not Role.ADVOCATE or user.advocate is None or user.advocate.consent_version is None:
        return False
    return user.advocate.consent_version != current_terms()[0]


def accepted_versions(advocate_id: int) -> list[dict]:
    """Every version the advocate accepted, oldest first: [{version, accepted_at}]."""
    rows = db.session.execute(
        select(ConsentAcceptance.version, ConsentAcceptance.accepted_at)
        .where(ConsentAcceptance.advocate_id == advocate_id)
        .order_by(ConsentAcceptance.accepted_at, ConsentAcceptance.id)
    )
    return [{"version": v, "accepted_at": at} for v, at in rows]
