"""Invitations: a single-use, expiring link emailed to a person; accepting it creates their
account (an advocate's with consent recorded, or a staff user's)."""

from __future__ import annotations

import datetime as dt

from flask import current_app
from sqlalchemy import select

from hub.accounts import AdvocateProfile, check_password_strength, create_advocate, create_user
from hub.audit import record_audit
from hub.consent import record_acceptance
from hub.db import execute_dml, table_of, utcnow
from hub.email.sending import queue_email
from hub.errors import InvalidState, ValidationFailed
from hub.extensions import db
from hub.fields import read
from hub.models import Invite, Role, User
from hub.security import new_token, token_digest
from hub.settings import get_setting


def invite(profile: AdvocateProfile, actor_id: int | None, role: Role = Role.ADVOCATE) -> tuple[Invite, str] | None:
    """Invite an email. Returns (invite, token), or None when the email already has an account
    (the caller shows the same answer either way)."""
    if db.session.scalar(select(User.id).where(User.email == profile.email)):
        return None
    token = new_token()
    ttl = dt.timedelta(days=current_app.config["INVITE_TTL_DAYS"])
    row = Invite(
        email=profile.email,
        name=profile.name,
        role=role,
        token_digest=token_digest(token),
        profile={k: getattr(profile, k) for k in ("title", "company", "industry", "company_size", "region")}
        | {"groups": list(profile.groups)},
        invited_by_id=actor_id,
        expires_at=utcnow() + ttl,
    )
    db.session.add(row)
    db.session.flush()
    link = f"{current_app.config['VOUCH_BASE_URL']}/invite/{token}"
    program = get_setting("program_name")
    queue_email(
        profile.email,
        f"You're invited to {program}",
        f"Hello {profile.name},\n\nYou have been invited to join {program}, our customer advocate hub.\n"
        f"Set your password here (the link works once and expires in {ttl.days} days):\n\n{link}\n",
        "invite",
    )
    record_audit(actor_id, "invite.create", "invite", row.id, None, {"email": profile.email, "role": str(role)})
    return row, token


def invite_for_token(token: str) -> Invite:
    row = db.session.scalar(select(Invite).where(Invite.token_digest == token_digest(token or "")))
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        raise InvalidState("This invitation link is invalid, used or expired. Ask for a new one.")
    return row


def accept_invite(token: str, name: str, password: str, consent: bool) -> User:
    """Consume a single-use invitation: creates the account with consent recorded."""
    row = invite_for_token(token)
    if not consent:
        raise ValidationFailed({"consent": "Please accept the program terms to join."})
    check_password_strength(password)
    claimed = execute_dml(
        table_of(Invite).update().where(Invite.id == row.id, Invite.used_at.is_(None)).values(used_at=utcnow())
    ).rowcount
    if not claimed:
        raise InvalidState("This invitation link has already been used.")
    profile = read(AdvocateProfile, {**row.profile, "email": row.email, "name": name or row.name})
    if row.role is Role.ADVOCATE:
        advocate = create_advocate(profile, row.invited_by_id, password)
        record_acceptance(advocate)
        user = advocate.user
    else:
        user = create_user(profile.email, profile.name, row.role, password)
    return user
