"""User accounts: users and their roles, advocate profiles, groups, login and server-side
sessions, passwords and password resets.

About the people who log in (`User`, `Advocate`), not customer companies. Invitations, the CSV
advocates import and API tokens have their own modules (hub.invitations, hub.imports,
hub.tokens).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from hub.audit import record_audit
from hub.db import utcnow
from hub.email.sending import queue_email
from hub.errors import InvalidState, NotFound, ValidationFailed, VouchError
from hub.extensions import db
from hub.hooks import hooks
from hub.models import (
    COMPANY_SIZES,
    Advocate,
    Group,
    PasswordReset,
    Role,
    User,
    UserSession,
)
from hub.security import hash_password, needs_rehash, new_token, token_digest, verify_password

MIN_PASSWORD = 10


class AlreadyExists(VouchError):
    """That already exists."""

    code = "already_exists"


def normalize_email(raw: str) -> str:
    """Validate syntax and lower-case; raises ValidationFailed with an `email` field error."""
    raw = (raw or "").strip()
    if not raw or len(raw) > 254:
        raise ValidationFailed({"email": "Enter a valid email address (at most 254 characters)."})
    try:
        return validate_email(raw, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ValidationFailed({"email": str(exc)}) from None


def check_password_strength(password: str, field_name: str = "password") -> None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise ValidationFailed({field_name: f"Use at least {MIN_PASSWORD} characters."})
    if len(password) > 200:
        raise ValidationFailed({field_name: "At most 200 characters."})


@dataclass(frozen=True)
class AdvocateProfile:
    email: str
    name: str
    title: str | None = None
    company: str | None = None
    industry: str | None = None
    company_size: str | None = None
    region: str | None = None
    groups: tuple[str, ...] = field(default_factory=tuple)


PROFILE_LIMITS = {"title": 120, "company": 160, "industry": 80, "region": 80}


def clean_profile(data: dict) -> AdvocateProfile:
    """Validate an advocate profile from any source (API JSON, form, CSV row)."""
    errors: dict[str, str] = {}
    try:
        email = normalize_email(data.get("email") if isinstance(data.get("email"), str) else "")
    except ValidationFailed as exc:
        errors.update({k: v[0] for k, v in exc.fields.items()})
        email = ""
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        errors["name"] = "A name is required."
    elif len(name.strip()) > 120:
        errors["name"] = "At most 120 characters."
    values: dict[str, str | None] = {}
    for key, limit in PROFILE_LIMITS.items():
        value = data.get(key)
        if value is None or value == "":
            values[key] = None
        elif not isinstance(value, str):
            errors[key] = "Must be text."
        elif len(value.strip()) > limit:
            errors[key] = f"At most {limit} characters."
        else:
            values[key] = value.strip() or None
    size = data.get("company_size") or None
    if size is not None and size not in COMPANY_SIZES:
        errors["company_size"] = f"One of {', '.join(COMPANY_SIZES)}."
    groups = data.get("groups") or []
    if isinstance(groups, str):
        groups = [g for g in (part.strip() for part in groups.replace(";", ",").split(",")) if g]
    if not isinstance(groups, list) or not all(isinstance(g, str) and 0 < len(g.strip()) <= 80 for g in groups):
        errors["groups"] = "A list of group names (each at most 80 characters)."
        groups = []
    if errors:
        raise ValidationFailed(errors)
    return AdvocateProfile(
        email=email,
        name=name.strip(),
        company_size=size,
        groups=tuple(dict.fromkeys(g.strip() for g in groups)),
        **values,
    )


def create_user(email: str, name: str, role: Role | str, password: str | None = None) -> User:
    email = normalize_email(email)
    try:
        role = Role(role)
    except ValueError:
        raise ValidationFailed({"role": f"One of {', '.join(r.value for r in Role)}."}) from None
    if not name or not name.strip() or len(name.strip()) > 120:
        raise ValidationFailed({"name": "A name of 1 to 120 characters is required."})
    if password is not None:
        check_password_strength(password)
    user = User(email=email, name=name.strip(), role=role, password_hash=hash_password(password) if password else None)
    try:
        with db.session.begin_nested():
            db.session.add(user)
            db.session.flush()
    except IntegrityError:
        raise AlreadyExists("A user with this email already exists.") from None
    if role is Role.ADVOCATE:
        db.session.add(Advocate(user=user))
        db.session.flush()
    return user


def groups_by_name(names: tuple[str, ...] | list[str], create: bool = True) -> list[Group]:
    found: list[Group] = []
    for name in names:
        group = db.session.scalar(select(Group).where(func.lower(Group.name) == name.lower()))
        if group is None and create:
            group = Group(name=name)
            db.session.add(group)
            db.session.flush()
        if group is not None:
            found.append(group)
    return found


def create_advocate(profile: AdvocateProfile, actor_id: int | None, password: str | None = None) -> Advocate:
    """Create an advocate user with profile and groups (no invitation sent)."""
    user = create_user(profile.email, profile.name, Role.ADVOCATE, password)
    advocate = user.advocate
    for key in ("title", "company", "industry", "company_size", "region"):
        setattr(advocate, key, getattr(profile, key))
    advocate.groups = groups_by_name(profile.groups)
    db.session.flush()
    record_audit(actor_id, "advocate.create", "advocate", advocate.id, None, {"email": profile.email})
    return advocate


def set_advocate_groups(advocate_id: int, group_ids: list[int], actor_id: int) -> Advocate:
    advocate = db.session.get(Advocate, advocate_id)
    if advocate is None:
        raise NotFound("Advocate not found.")
    groups = list(db.session.scalars(select(Group).where(Group.id.in_(group_ids)))) if group_ids else []
    before = sorted(g.name for g in advocate.groups)
    advocate.groups = groups
    db.session.flush()
    hooks().advocate_groups_changed(advocate_id)
    record_audit(
        actor_id,
        "advocate.groups",
        "advocate",
        advocate_id,
        {"groups": before},
        {"groups": sorted(g.name for g in groups)},
    )
    return advocate


def create_group(name: str, description: str | None, actor_id: int) -> Group:
    name = (name or "").strip()
    if not name or len(name) > 80:
        raise ValidationFailed({"name": "A group name of 1 to 80 characters is required."})
    if db.session.scalar(select(Group.id).where(func.lower(Group.name) == name.lower())):
        raise ValidationFailed({"name": "A group with this name already exists."})
    group = Group(name=name, description=(description or "").strip()[:255] or None)
    db.session.add(group)
    db.session.flush()
    record_audit(actor_id, "group.create", "group", group.id, None, {"name": name})
    return group


# --- login and sessions ------------------------------------------------------------------


def authenticate(email: str, password: str) -> User | None:
    """The user for these credentials, or None. Unknown emails cost the same hash work."""
    try:
        email = normalize_email(email)
    except ValidationFailed:
        email = ""
    user = db.session.scalar(select(User).where(User.email == email)) if email else None
    ok = verify_password(user.password_hash if user else None, password or "")
    if not (user and ok and user.is_active_user):
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    return user


def start_session(user: User, ip: str | None, user_agent: str | None) -> str:
    """A fresh server-side session id for every login (no fixation)."""
    sid = new_token(32)
    db.session.add(UserSession(id=sid, user_id=user.id, ip=ip, user_agent=(user_agent or "")[:255]))
    db.session.flush()
    user._session_id = sid
    return sid


def user_for_session(sid: str) -> User | None:
    """The user of a live server-side session; sessions older than the session lifetime are dead.
    One round trip: the session row, its user and the user's advocate profile together."""
    if not sid:
        return None
    max_age = dt.timedelta(seconds=current_app.config["PERMANENT_SESSION_LIFETIME"])
    user = db.session.scalar(
        select(User)
        .join(UserSession, UserSession.user_id == User.id)
        .where(UserSession.id == sid, UserSession.created_at >= utcnow() - max_age, User.is_active_user.is_(True))
        .options(joinedload(User.advocate))
    )
    if user is None:
        return None
    user._session_id = sid
    return user


def end_session(sid: str) -> None:
    db.session.execute(delete(UserSession).where(UserSession.id == sid))


def end_other_sessions(user_id: int, keep_sid: str | None) -> int:
    q = delete(UserSession).where(UserSession.user_id == user_id)
    if keep_sid:
        q = q.where(UserSession.id != keep_sid)
    return db.session.execute(q).rowcount


def change_password(user: User, current: str, new: str, keep_sid: str | None) -> None:
    if not verify_password(user.password_hash, current or ""):
        raise ValidationFailed({"current_password": "That is not your current password."})
    check_password_strength(new, "new_password")
    user.password_hash = hash_password(new)
    end_other_sessions(user.id, keep_sid)
    record_audit(user.id, "user.password_change", "user", user.id)


# --- password reset ----------------------------------------------------------------------


def request_password_reset(email: str) -> None:
    """Email a single-use reset link if the account exists; the caller answers the same either way."""
    try:
        email = normalize_email(email)
    except ValidationFailed:
        return
    user = db.session.scalar(select(User).where(User.email == email, User.is_active_user.is_(True)))
    if user is None or user.password_hash is None:
        return
    token = new_token()
    hours = current_app.config["RESET_TTL_HOURS"]
    db.session.add(
        PasswordReset(
            user_id=user.id, token_digest=token_digest(token), expires_at=utcnow() + dt.timedelta(hours=hours)
        )
    )
    link = f"{current_app.config['VOUCH_BASE_URL']}/reset/{token}"
    queue_email(
        user.email,
        "Reset your Vouch password",
        f"Hello {user.name},\n\nSomeone asked to reset your password. If it was you, open this link "
        f"within {hours} hours (it works once):\n\n{link}\n\nIf not, ignore this email.\n",
        "password_reset",
        user.id,
    )


def reset_for_token(token: str) -> PasswordReset:
    row = db.session.scalar(select(PasswordReset).where(PasswordReset.token_digest == token_digest(token or "")))
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        raise InvalidState("This reset link is invalid, used or expired. Ask for a new one.")
    return row


def reset_password(token: str, password: str) -> User:
    row = reset_for_token(token)
    check_password_strength(password)
    claimed = db.session.execute(
        PasswordReset.__table__.update()
        .where(PasswordReset.id == row.id, PasswordReset.used_at.is_(None))
        .values(used_at=utcnow())
    ).rowcount
    if not claimed:
        raise InvalidState("This reset link has already been used.")
    user = db.session.get(User, row.user_id)
    user.password_hash = hash_password(password)
    end_other_sessions(user.id, None)
    record_audit(user.id, "user.password_reset", "user", user.id)
    return user
