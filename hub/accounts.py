"""User accounts: users and their roles, advocate profiles, groups, login and server-side
sessions, passwords and password resets.

About the people who log in (`User`, `Advocate`), not customer companies. Invitations, the CSV
advocates import and API tokens have their own modules (hub.invitations, hub.imports,
hub.tokens).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from flask import current_app
from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from hub import stamps, tier_totals, trust
from hub.account_links import link_advocate
from hub.audit import record_audit
from hub.contracts import Body
from hub.db import execute_dml, table_of, transaction_lock, utcnow
from hub.email.sending import queue_email
from hub.errors import InvalidState, NotFound, ValidationFailed, VouchError
from hub.extensions import db
from hub.fields import Email, ListOf, OneLine, OneOf, PersonName, TimeZoneName, read_value
from hub.home_reads import json_rows, loads
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
from hub.queue import enqueue_after_commit
from hub.security import hash_password, needs_rehash, new_token, token_digest, verify_password

MIN_PASSWORD = 10


class AlreadyExists(VouchError):
    """That already exists."""

    code = "already_exists"


def normalize_email(raw: str) -> str:
    """Validate syntax and lower-case (hub.fields.Email); raises ValidationFailed on `email`."""
    return read_value(Email, raw, "email")


def check_password_strength(password: str, field_name: str = "password") -> None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise ValidationFailed({field_name: f"Use at least {MIN_PASSWORD} characters."})
    if len(password) > 200:
        raise ValidationFailed({field_name: "At most 200 characters."})


GroupName = Annotated[str, OneLine(80)]
GroupDescription = Annotated[str | None, OneLine(255)]


class AdvocateProfile(Body):
    """An advocate's profile from any source: the API's body, the invitation form, a CSV row (where
    `groups` may be one cell, "EMEA; Beta")."""

    email: Email
    name: PersonName
    title: Annotated[str | None, OneLine(120)] = None
    company: Annotated[str | None, OneLine(160)] = None
    industry: Annotated[str | None, OneLine(80)] = None
    company_size: Annotated[str | None, OneOf(COMPANY_SIZES)] = None
    region: Annotated[str | None, OneLine(80)] = None
    groups: Annotated[
        tuple[str, ...],
        ListOf(GroupName, max_items=50, split=",;", message="A list of group names (each at most 80 characters)."),
    ] = ()


class ProfileBody(Body):
    """What a person may change about themself (api.md `PATCH /me`): staff have a name only."""

    name: PersonName
    title: Annotated[str | None, OneLine(120)] = None
    company: Annotated[str | None, OneLine(160)] = None
    industry: Annotated[str | None, OneLine(80)] = None
    company_size: Annotated[str | None, OneOf(COMPANY_SIZES)] = None
    region: Annotated[str | None, OneLine(80)] = None
    time_zone: Annotated[str | None, TimeZoneName()] = None


ADVOCATE_PROFILE_FIELDS = ("title", "company", "industry", "company_size", "region", "time_zone")


def update_profile(user_id: int, changes: dict, actor_id: int | None) -> User:
    """Apply `changes` (field → value, only those sent; validated by ProfileBody/AdvocateProfile)
    to a user and their advocate profile; audited with before and after.

    `email` changes must stay unique (409 `invalid_state`, api.md); `groups` replaces the
    advocate's groups. Staff have no advocate profile: sending its fields is a 422 naming them.
    Raises NotFound for an unknown or erased user."""
    user = db.session.get(User, user_id)
    advocate = user.advocate if user is not None else None
    if user is None or (advocate is not None and advocate.is_erased):
        raise NotFound("User not found.")
    extra = [k for k in (*ADVOCATE_PROFILE_FIELDS, "groups") if k in changes]
    if advocate is None and extra:
        raise ValidationFailed({k: "Only advocates have this in their profile." for k in extra})
    before = _profile_of(user)
    if "email" in changes and changes["email"] != user.email:
        taken = db.session.scalar(select(User.id).where(User.email == changes["email"], User.id != user.id))
        if taken:
            raise InvalidState("Another user has this email.")
        user.email = changes["email"]
    if "name" in changes:
        user.name = changes["name"]
    for key in ADVOCATE_PROFILE_FIELDS:
        if key in changes:
            setattr(advocate, key, changes[key])
    if "groups" in changes and advocate is not None:
        advocate.groups = groups_by_name(changes["groups"])
    if advocate is not None and ("company" in changes or "email" in changes):
        link_advocate(advocate)  # §13: the account follows the company name or email domain
    db.session.flush()
    if "groups" in changes and advocate is not None:
        hooks().advocate_groups_changed(advocate.id)
    after = _profile_of(user)
    if after != before:
        changed = sorted(k for k in after if after[k] != before.get(k))
        record_audit(
            actor_id,
            "user.profile",
            "user",
            user.id,
            {k: before.get(k) for k in changed},
            {k: after[k] for k in changed},
        )
    return user


def _profile_of(user: User) -> dict:
    profile: dict = {"email": user.email, "name": user.name}
    if user.advocate is not None:
        profile |= {k: getattr(user.advocate, k) for k in ADVOCATE_PROFILE_FIELDS}
        profile["groups"] = sorted(g.name for g in user.advocate.groups)
    return profile


def create_user(email: str, name: str, role: Role | str, password: str | None = None) -> User:
    email = normalize_email(email)
    role = read_value(Annotated[Role, OneOf(Role)], role, "role")
    name = read_value(PersonName, name, "name")
    if password is not None:
        check_password_strength(password)
    user = User(email=email, name=name, role=role, password_hash=hash_password(password) if password else None)
    try:
        with db.session.begin_nested():
            db.session.add(user)
            db.session.flush()
    except IntegrityError:
        raise AlreadyExists("A user with this email already exists.") from None
    if role is Role.ADVOCATE:
        advocate = Advocate(user=user)
        db.session.add(advocate)
        db.session.flush()
        tier_totals.count_join(advocate)
    return user


def group_by_name(name: str) -> Group | None:
    """The group of this name whatever its case ("emea" finds "EMEA"), or None."""
    return db.session.scalar(select(Group).where(func.lower(Group.name) == name.lower()))


def groups_by_name(names: tuple[str, ...] | list[str], create: bool = True) -> list[Group]:
    found: list[Group] = []
    for name in names:
        group = group_by_name(name)
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
    assert advocate is not None, "create_user gives an advocate user its profile"
    for key in ("title", "company", "industry", "company_size", "region"):
        setattr(advocate, key, getattr(profile, key))
    advocate.groups = groups_by_name(profile.groups)
    link_advocate(advocate)
    db.session.flush()
    if profile.groups:
        hooks().advocate_groups_changed(advocate.id)
    record_audit(actor_id, "advocate.create", "advocate", advocate.id, None, {"email": profile.email})
    return advocate


# Namespace of the transaction-scoped advisory locks that serialize changes of one advocate's
# groups (PostgreSQL; the key's second half is the advocate id).
GROUPS_LOCK_NAMESPACE = 0x67727073  # "grps"


def set_advocate_groups(advocate_id: int, group_ids: list[int], actor_id: int | None) -> Advocate:
    """Make the advocate's groups exactly `group_ids` (unknown ids ignored), audited, and tell the
    group listeners (the per-group tallies follow). Two changes of the same advocate's groups at
    once run one after the other, the second reading the memberships the first committed
    (unserialized, both deleted the same membership rows and the second failed on a DELETE that
    matched nothing): on PostgreSQL an advisory lock per advocate, taken before any row lock and
    by nothing else, so it adds no lock order to the completions-then-advocate one the listeners
    follow; SQLite runs one writer at a time. Raises NotFound."""
    transaction_lock(GROUPS_LOCK_NAMESPACE, advocate_id)
    advocate = db.session.get(Advocate, advocate_id)
    if advocate is None:
        raise NotFound("Advocate not found.")
    # Read the memberships as committed now (another change may have committed while we waited).
    db.session.expire(advocate, ["groups"])
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
    name = read_value(GroupName, name, "name")
    description = read_value(GroupDescription, description, "description")
    if group_by_name(name) is not None:
        raise ValidationFailed({"name": "A group with this name already exists."})
    group = Group(name=name, description=description)
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
    if user.password_hash is not None and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    return user


def start_session(user: User, ip: str | None, user_agent: str | None) -> str:
    """A fresh server-side session id for every login (no fixation)."""
    sid = new_token(32)
    db.session.add(UserSession(id=sid, user_id=user.id, ip=ip, user_agent=(user_agent or "")[:255]))
    db.session.flush()
    user._session_id = sid
    if user.role is Role.ADVOCATE:
        trust.after_login(ip, utcnow())
    return sid


_SESSION_USER: dict[str, Any] = {}


def _session_user_statement(dialect: str) -> Any:
    """The session user's statement for `dialect`, built once (building it cost more CPU than
    running it): bound `sid` and `since`; every cache stamp as one JSON column."""
    statement = _SESSION_USER.get(dialect)
    if statement is None:
        statement = _SESSION_USER[dialect] = (
            select(User, json_rows(stamps.all_stamps(), dialect).label("stamps"))
            .join(UserSession, UserSession.user_id == User.id)
            .where(
                UserSession.id == bindparam("sid"),
                UserSession.created_at >= bindparam("since", type_=UserSession.created_at.type),
                User.is_active_user.is_(True),
            )
            .options(joinedload(User.advocate).joinedload(Advocate.groups))
        )
    return statement


def user_for_session(sid: str) -> User | None:
    """The user of a live server-side session; sessions older than the session lifetime are dead.
    One round trip: the session row, its user, the user's advocate profile and their groups (the
    feed and the hub page read them) together — and the cache stamps (hub.stamps), which nearly
    every page reads next (settings, the catalogue): the request's first statement carries them,
    so they cost no round trip of their own (issue 22)."""
    if not sid:
        return None
    max_age = dt.timedelta(seconds=current_app.config["PERMANENT_SESSION_LIFETIME"])
    statement = _session_user_statement(db.session.get_bind().dialect.name)
    row = db.session.execute(statement, {"sid": sid, "since": utcnow() - max_age}).unique().first()
    if row is None:
        return None
    user, read_stamps = row
    stamps.prime({name: token for name, token in loads(read_stamps)})
    user._session_id = sid
    return user


def end_session(sid: str) -> None:
    db.session.execute(delete(UserSession).where(UserSession.id == sid))


def end_other_sessions(user_id: int, keep_sid: str | None) -> int:
    q = delete(UserSession).where(UserSession.user_id == user_id)
    if keep_sid:
        q = q.where(UserSession.id != keep_sid)
    return execute_dml(q).rowcount


def change_password(user: User, current: str, new: str, keep_sid: str | None) -> None:
    if not verify_password(user.password_hash, current or ""):
        raise ValidationFailed({"current_password": "That is not your current password."})
    check_password_strength(new, "new_password")
    user.password_hash = hash_password(new)
    end_other_sessions(user.id, keep_sid)
    record_audit(user.id, "user.password_change", "user", user.id)


# --- password reset ----------------------------------------------------------------------


def request_password_reset(email: str) -> None:
    """Queue the reset email for `email` (sent only if an active account with a password has it).

    The request does the same work whether the account exists or not — normalize, enqueue one
    job after commit — so neither its answer nor its time tells who has an account (issue 13
    item 5); the job (`hub.jobs.send_password_reset_job`) looks the account up."""
    from hub.jobs import send_password_reset_job

    try:
        email = normalize_email(email)
    except ValidationFailed:
        return
    enqueue_after_commit(send_password_reset_job, email)


def send_password_reset(email: str) -> bool:
    """Email a single-use reset link if an active account with a password has this (normalized)
    email; True when one was queued."""
    user = db.session.scalar(select(User).where(User.email == email, User.is_active_user.is_(True)))
    if user is None or user.password_hash is None:
        return False
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
    return True


def reset_for_token(token: str) -> PasswordReset:
    row = db.session.scalar(select(PasswordReset).where(PasswordReset.token_digest == token_digest(token or "")))
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        raise InvalidState("This reset link is invalid, used or expired. Ask for a new one.")
    return row


def reset_password(token: str, password: str) -> User:
    row = reset_for_token(token)
    check_password_strength(password)
    claimed = execute_dml(
        table_of(PasswordReset)
        .update()
        .where(PasswordReset.id == row.id, PasswordReset.used_at.is_(None))
        .values(used_at=utcnow())
    ).rowcount
    if not claimed:
        raise InvalidState("This reset link has already been used.")
    user = db.session.get_one(User, row.user_id)
    user.password_hash = hash_password(password)
    end_other_sessions(user.id, None)
    record_audit(user.id, "user.password_reset", "user", user.id)
    return user
