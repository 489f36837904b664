"""Invitations: a single-use, expiring link emailed to a person; accepting it creates their
account (an advocate's with consent recorded, or a staff user's). Staff list them, resend a
pending or expired one (a new link; the old one stops working) and revoke one (issue 20)."""

from __future__ import annotations

import datetime as dt

from flask import current_app
from sqlalchemy import case, func, or_, select

from hub.accounts import AdvocateProfile, check_password_strength, create_advocate, create_user
from hub.audit import record_audit
from hub.consent import record_acceptance
from hub.db import execute_dml, table_of, utcnow
from hub.email.sending import queue_email
from hub.errors import Forbidden, InvalidState, LimitReached, NotFound, ValidationFailed
from hub.extensions import db
from hub.fields import read
from hub.models import Invite, InviteState, Role, User
from hub.security import new_token, token_digest
from hub.settings import get_setting


def invite(profile: AdvocateProfile, actor_id: int | None, role: Role = Role.ADVOCATE) -> tuple[Invite, str] | None:
    """Invite an email. Returns (invite, token), or None when the email already has an account
    (the caller shows the same answer either way)."""
    if db.session.scalar(select(User.id).where(User.email == profile.email)):
        return None
    token = new_token()
    ttl = dt.timedelta(days=current_app.config["INVITE_TTL_DAYS"])
    now = utcnow()
    row = Invite(
        email=profile.email,
        name=profile.name,
        role=role,
        token_digest=token_digest(token),
        profile={k: getattr(profile, k) for k in ("title", "company", "industry", "company_size", "region")}
        | {"groups": list(profile.groups)},
        invited_by_id=actor_id,
        expires_at=now + ttl,
        sent_at=now,
    )
    db.session.add(row)
    db.session.flush()
    _email_link(row, token, ttl)
    record_audit(actor_id, "invite.create", "invite", row.id, None, {"email": profile.email, "role": str(role)})
    return row, token


def _email_link(row: Invite, token: str, ttl: dt.timedelta) -> None:
    link = f"{current_app.config['VOUCH_BASE_URL']}/invite/{token}"
    program = get_setting("program_name")
    queue_email(
        row.email,
        f"You're invited to {program}",
        f"Hello {row.name or row.email},\n\nYou have been invited to join {program}, our customer advocate hub.\n"
        f"Set your password here (the link works once and expires in {ttl.days} days):\n\n{link}\n",
        "invite",
    )


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


# A resend at most this often per invitation: a second click, or a script, does not flood an inbox.
RESEND_INTERVAL = dt.timedelta(minutes=15)


def invitations_page(
    state: InviteState | None, offset: int, limit: int, now: dt.datetime | None = None
) -> tuple[list[Invite], int]:
    """Invitations in `state` (all when None), newest first, with the total in that state."""
    now = now or utcnow()
    query = select(Invite)
    if state is InviteState.ACCEPTED:
        query = query.where(Invite.used_at.is_not(None))
    elif state is InviteState.REVOKED:
        query = query.where(Invite.used_at.is_(None), Invite.revoked_at.is_not(None))
    elif state is InviteState.PENDING:
        query = query.where(Invite.used_at.is_(None), Invite.revoked_at.is_(None), Invite.expires_at > now)
    elif state is InviteState.EXPIRED:
        query = query.where(Invite.used_at.is_(None), Invite.revoked_at.is_(None), Invite.expires_at <= now)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.scalars(query.order_by(Invite.created_at.desc(), Invite.id.desc()).offset(offset).limit(limit))
    return list(rows), total


def state_counts(now: dt.datetime | None = None) -> dict[InviteState, int]:
    """How many invitations are in each state (the console's tab counts), one grouped query."""
    now = now or utcnow()
    state = case(
        (Invite.used_at.is_not(None), InviteState.ACCEPTED.value),
        (Invite.revoked_at.is_not(None), InviteState.REVOKED.value),
        (Invite.expires_at > now, InviteState.PENDING.value),
        else_=InviteState.EXPIRED.value,
    )
    counts = dict.fromkeys(InviteState, 0)
    for value, n in db.session.execute(select(state, func.count()).group_by(state)):
        counts[InviteState(value)] = n
    return counts


def _managed(invite_id: int, actor: User) -> Invite:
    row = db.session.get(Invite, invite_id)
    if row is None:
        raise NotFound("Invitation not found.")
    if row.role is not Role.ADVOCATE and actor.role is not Role.OWNER:
        raise Forbidden("Only owners manage invitations of staff.")
    return row


def resend(invite_id: int, actor: User, now: dt.datetime | None = None) -> Invite:
    """Email a pending or expired invitation again with a new link valid for the full period; the
    old link stops working. Raises NotFound, Forbidden (a manager and a staff invitation),
    InvalidState (accepted, revoked, or the email has an account by now) and LimitReached (sent
    less than RESEND_INTERVAL ago). One conditional UPDATE decides, so two clicks send once."""
    now = now or utcnow()
    row = _managed(invite_id, actor)
    state = row.state(now)
    if state in (InviteState.ACCEPTED, InviteState.REVOKED):
        raise InvalidState(f"This invitation was {state.value}; invite the person again instead.")
    if db.session.scalar(select(User.id).where(User.email == row.email)):
        raise InvalidState(f"{row.email} has an account now; there is nothing to resend.")
    token = new_token()
    ttl = dt.timedelta(days=current_app.config["INVITE_TTL_DAYS"])
    claimed = execute_dml(
        table_of(Invite)
        .update()
        .where(
            Invite.id == row.id,
            Invite.used_at.is_(None),
            Invite.revoked_at.is_(None),
            or_(Invite.sent_at.is_(None), Invite.sent_at <= now - RESEND_INTERVAL),
        )
        .values(token_digest=token_digest(token), expires_at=now + ttl, sent_at=now)
    ).rowcount
    if not claimed:
        db.session.refresh(row)
        if row.used_at is not None or row.revoked_at is not None:
            raise InvalidState("This invitation was just accepted or revoked.")
        wait = max(1, -(-int((row.sent_at + RESEND_INTERVAL - now).total_seconds()) // 60)) if row.sent_at else 1
        raise LimitReached(f"It was sent moments ago; you can resend it in {wait} minute{'s' if wait != 1 else ''}.")
    db.session.refresh(row)
    _email_link(row, token, ttl)
    record_audit(actor.id, "invite.resend", "invite", row.id, {"state": state.value}, {"email": row.email})
    return row


def revoke(invite_id: int, actor: User, now: dt.datetime | None = None) -> Invite:
    """End a pending (or expired) invitation now: its link stops working and imports, candidates
    and nominations may invite the person afresh. Raises NotFound, Forbidden and InvalidState
    (already accepted or revoked — decided by a conditional UPDATE)."""
    now = now or utcnow()
    row = _managed(invite_id, actor)
    state = row.state(now)
    revoked = execute_dml(
        table_of(Invite)
        .update()
        .where(Invite.id == row.id, Invite.used_at.is_(None), Invite.revoked_at.is_(None))
        .values(revoked_at=now, expires_at=now)
    ).rowcount
    if not revoked:
        db.session.refresh(row)
        raise InvalidState(f"This invitation was already {row.state(now).value}.")
    db.session.refresh(row)
    record_audit(actor.id, "invite.revoke", "invite", row.id, {"state": state.value}, {"state": "revoked"})
    return row
