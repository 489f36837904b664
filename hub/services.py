"""Accounts: users, advocates, groups, sessions, invitations, password resets, API tokens."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from hub.audit import record_audit
from hub.db import utcnow
from hub.errors import InvalidState, NotFound, ValidationFailed, VouchError
from hub.extensions import db
from hub.hooks import hooks
from hub.mail import queue_email
from hub.models import (
    COMPANY_SIZES,
    Advocate,
    ApiToken,
    Group,
    Invite,
    PasswordReset,
    Role,
    User,
    UserSession,
)
from hub.queue import enqueue_after_commit
from hub.security import hash_password, needs_rehash, new_token, token_digest, verify_password
from hub.settings import get_setting

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


# --- authentication and sessions -------------------------------------------------------


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


# --- invitations -------------------------------------------------------------------------


def invite(profile: AdvocateProfile, actor_id: int, role: Role = Role.ADVOCATE) -> tuple[Invite, str] | None:
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
    claimed = db.session.execute(
        Invite.__table__.update().where(Invite.id == row.id, Invite.used_at.is_(None)).values(used_at=utcnow())
    ).rowcount
    if not claimed:
        raise InvalidState("This invitation link has already been used.")
    profile = clean_profile({**row.profile, "email": row.email, "name": name or row.name})
    if row.role is Role.ADVOCATE:
        advocate = create_advocate(profile, row.invited_by_id, password)
        advocate.consent_version = get_setting("consent_text_version")
        advocate.consented_at = utcnow()
        user = advocate.user
    else:
        user = create_user(profile.email, profile.name, row.role, password)
    return user


@dataclass
class ImportResult:
    invited: int = 0
    skipped_existing: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


IMPORT_COLUMNS = ("name", "email", "company", "industry", "company_size", "region", "groups")


def import_advocates_csv(text: str, actor_id: int) -> ImportResult:
    """Invite every good row; bad rows are reported by line number and reason."""
    result = ImportResult()
    reader = csv.DictReader(io.StringIO(text))
    missing = {"name", "email"} - {(h or "").strip().lower() for h in (reader.fieldnames or [])}
    if missing:
        raise ValidationFailed({"file": f"The header must include: {', '.join(sorted(missing))}."})
    seen: set[str] = set()
    for line_no, raw in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items() if isinstance(v, str)}
        try:
            profile = clean_profile({k: row.get(k) for k in IMPORT_COLUMNS})
        except ValidationFailed as exc:
            result.errors.append((line_no, "; ".join(f"{k}: {v[0]}" for k, v in exc.fields.items())))
            continue
        if profile.email in seen:
            result.errors.append((line_no, f"{profile.email} appears twice in the file"))
            continue
        seen.add(profile.email)
        if invite(profile, actor_id) is None:
            result.skipped_existing += 1
        else:
            result.invited += 1
    return result


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


# --- API tokens --------------------------------------------------------------------------


def create_api_token(user: User, name: str, actor_id: int | None) -> tuple[ApiToken, str]:
    """Returns the row and the plaintext token, which is shown once and stored hashed."""
    name = (name or "").strip() or "API token"
    if len(name) > 80:
        raise ValidationFailed({"name": "At most 80 characters."})
    plaintext = "vch_" + new_token(32)
    row = ApiToken(
        user_id=user.id, name=name, token_digest=token_digest(plaintext), prefix=plaintext[:10], created_by_id=actor_id
    )
    db.session.add(row)
    db.session.flush()
    record_audit(actor_id, "token.create", "api_token", row.id, None, {"user": user.email, "name": name})
    return row, plaintext


def revoke_api_token(token_id: int, actor_id: int) -> ApiToken:
    row = db.session.get(ApiToken, token_id)
    if row is None:
        raise NotFound("Token not found.")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        record_audit(actor_id, "token.revoke", "api_token", row.id, None, {"name": row.name})
    return row


# Token digest → the 5-minute bucket this process last enqueued its last-use touch for: while
# the touch job waits in the queue, later requests in the bucket do not enqueue it again.
_touch_enqueued: dict[str, int] = {}
TOUCH_BUCKET_SECONDS = 300


def user_for_api_token(plaintext: str) -> User | None:
    """The active user behind a token, with their advocate profile, in one round trip."""
    digest = token_digest(plaintext)
    found = db.session.execute(
        select(ApiToken.id, ApiToken.last_used_at, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_digest == digest, ApiToken.revoked_at.is_(None), User.is_active_user.is_(True))
        .options(joinedload(User.advocate))
    ).first()
    if found is None:
        return None
    token_id, last_used_at, user = found
    now = utcnow()
    bucket = int(now.timestamp()) // TOUCH_BUCKET_SECONDS
    stale = last_used_at is None or now - last_used_at > dt.timedelta(seconds=TOUCH_BUCKET_SECONDS)
    if stale and _touch_enqueued.get(digest) != bucket:
        # Bookkeeping goes to a job: a read-only request never becomes a writer (on SQLite
        # that would race jobs for the write lock), and one touch per token per 5 minutes.
        from hub.jobs import touch_api_token

        if len(_touch_enqueued) > 10_000:
            _touch_enqueued.clear()
        _touch_enqueued[digest] = bucket
        enqueue_after_commit(touch_api_token, token_id, now.isoformat(), job_id=f"token-touch-{token_id}-{bucket}")
    return user
