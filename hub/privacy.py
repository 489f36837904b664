"""An advocate's data, as product.md §12 promises: everything Vouch holds about them as one JSON
document (GDPR art. 15/20), and erasure (art. 17) that removes personal data while keeping the
points ledger's amounts, so balances, liability and program totals do not move.

Each package answers for its own tables through `hub.hooks.PersonalData` (hub's are below);
`export_advocate` and `erase_advocate` run every registered one. Services flush, never commit.
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Any

from sqlalchemy import Text, cast, delete, select, update
from sqlalchemy.sql import Select

from hub.audit import record_audit
from hub.community.models import Answer, AnswerVote, PostReport, Question
from hub.db import locked_row, utcnow
from hub.email.models import OutboxEmail
from hub.errors import NotFound
from hub.extensions import db
from hub.hooks import PersonalData, hooks
from hub.models import (
    Advocate,
    ApiToken,
    AuditEntry,
    ConsentAcceptance,
    IdempotencyKey,
    Invite,
    Notification,
    PasswordReset,
    TrustSignal,
    User,
    UserSession,
    advocate_groups,
)

ERASED_NAME = "Erased advocate"
FORMER_ADVOCATE = "Former advocate"  # how community posts of an erased advocate are signed
ERASED_EMAIL_DOMAIN = "erased.invalid"  # RFC 2606: never deliverable


def erased_email(user_id: int) -> str:
    """The placeholder that frees the real address (it may be invited again as a new person)."""
    return f"erased-{user_id}@{ERASED_EMAIL_DOMAIN}"


def plain(value: Any) -> Any:
    """A column value as JSON: times ISO 8601 UTC, enums their value, money a decimal string."""
    if isinstance(value, dt.datetime):
        aware = value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return aware.isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    return value


def rows(query: Select) -> list[dict[str, Any]]:
    """Every row of a Core select as a dict, executed on the session's connection without the
    ORM's row processing (an export holds tens of thousands of rows). Values stay Python's
    (aware datetimes, enums, Decimals): the reply model writes them as api.md's JSON."""
    result = db.session.connection().execute(query)
    keys = list(result.keys())
    return [dict(zip(keys, row, strict=True)) for row in result.all()]


# --- export -------------------------------------------------------------------------------


def export_advocate(advocate_id: int) -> dict[str, Any]:
    """Everything Vouch holds about the advocate (api.md `GET /me/export`): `exported_at` plus
    every registered package's sections. Raises NotFound for an unknown or erased advocate."""
    advocate = db.session.get(Advocate, advocate_id)
    if advocate is None or advocate.is_erased:
        raise NotFound("Advocate not found.")
    document: dict[str, Any] = {"exported_at": utcnow()}
    for part in hooks().personal_data:
        document.update(part.export(advocate))
    return document


# --- erasure ------------------------------------------------------------------------------


def erase_advocate(advocate_id: int, actor_id: int | None, requested_by: str) -> bool:
    """Erase the advocate's personal data (product.md §12, issue 14): every registered package
    scrubs its tables, then the person's sessions and tokens end and the user and advocate rows
    are anonymized. Ledger amounts stay. Audited with who acted and on whose request
    (`requested_by`: "self", "emailed request", "operator" …).

    Idempotent and parallel-safe: the advocate row is locked (SELECT … FOR NO KEY UPDATE on
    PostgreSQL; after the rows packages lock before it, `PersonalData.lock_first`), so a second
    erasure waits, then finds it done and returns False.
    Returns True when this call erased. Raises NotFound for an unknown advocate."""
    for part in hooks().personal_data:
        if part.lock_first is not None:
            part.lock_first(advocate_id)
    advocate = locked_row(Advocate, advocate_id)
    if advocate is None:
        raise NotFound("Advocate not found.")
    if advocate.is_erased:
        return False
    user = db.session.get_one(User, advocate.user_id)
    email, name = user.email, user.name
    for part in hooks().personal_data:
        part.erase(advocate)
    _scrub_audit(advocate, email, name)
    user.name = ERASED_NAME
    user.email = erased_email(user.id)
    user.password_hash = None
    user.is_active_user = False
    for key in (
        "title",
        "company",
        "industry",
        "company_size",
        "region",
        "time_zone",
        "consent_version",
        "consented_at",
    ):
        setattr(advocate, key, None)
    advocate.preferences = {}
    advocate.show_on_leaderboard = False
    advocate.available_for_references = False
    advocate.max_asks_per_quarter = None
    advocate.is_erased = True
    db.session.flush()
    record_audit(
        actor_id,
        "advocate.erase",
        "advocate",
        advocate.id,
        None,
        {"requested_by": requested_by, "user_id": user.id, "erased_at": plain(utcnow())},
    )
    return True


def _scrub_audit(advocate: Advocate, email: str, name: str) -> None:
    """The audit log keeps who did what, but not the person's email (wherever it is named, e.g.
    a token created for them) nor their name (in the rows about them) in its before/after."""
    about = (AuditEntry.target_type == "advocate") & (AuditEntry.target_id == str(advocate.id)) | (
        AuditEntry.target_type == "user"
    ) & (AuditEntry.target_id == str(advocate.user_id))
    naming = cast(AuditEntry.before, Text).contains(email) | cast(AuditEntry.after, Text).contains(email)
    placeholder = erased_email(advocate.user_id)
    for entry in db.session.scalars(select(AuditEntry).where(about | naming)):
        own = (entry.target_type, entry.target_id) in (("advocate", str(advocate.id)), ("user", str(advocate.user_id)))
        replacements = {email: placeholder, name: ERASED_NAME} if own else {email: placeholder}
        entry.before = _replaced(entry.before, replacements)
        entry.after = _replaced(entry.after, replacements)


def _replaced(value: Any, replacements: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _replaced(v, replacements) for k, v in value.items()}
    if isinstance(value, list):
        return [_replaced(v, replacements) for v in value]
    if isinstance(value, str):
        for old, new in replacements.items():
            if old:
                value = value.replace(old, new)
    return value


# --- hub's own tables ---------------------------------------------------------------------


def _export_hub(advocate: Advocate) -> dict[str, Any]:
    user = advocate.user
    uid = user.id
    return {
        "profile": {
            "user_id": uid,
            "advocate_id": advocate.id,
            "email": user.email,
            "name": user.name,
            "role": plain(user.role),
            "title": advocate.title,
            "company": advocate.company,
            "industry": advocate.industry,
            "company_size": advocate.company_size,
            "region": advocate.region,
            "time_zone": advocate.time_zone,
            "tier": plain(advocate.tier),
            "balance": advocate.balance,
            "lifetime_points": advocate.lifetime_points,
            "joined_at": plain(advocate.joined_at),
            "last_activity_at": plain(advocate.last_activity_at),
            "last_login_at": plain(user.last_login_at),
            "created_at": plain(user.created_at),
        },
        "preferences": {
            **(advocate.preferences or {}),
            "show_on_leaderboard": advocate.show_on_leaderboard,
            "available_for_references": advocate.available_for_references,
            "max_asks_per_quarter": advocate.max_asks_per_quarter,
        },
        "consent": {
            "version": advocate.consent_version,
            "consented_at": plain(advocate.consented_at),
            "accepted": rows(
                select(ConsentAcceptance.version, ConsentAcceptance.accepted_at)
                .where(ConsentAcceptance.advocate_id == advocate.id)
                .order_by(ConsentAcceptance.accepted_at, ConsentAcceptance.id)
            ),
        },
        "groups": sorted(g.name for g in advocate.groups),
        "sessions": rows(
            select(UserSession.created_at, UserSession.last_seen_at, UserSession.ip, UserSession.user_agent).where(
                UserSession.user_id == uid
            )
        ),
        "api_tokens": rows(
            select(ApiToken.name, ApiToken.prefix, ApiToken.created_at, ApiToken.last_used_at, ApiToken.revoked_at)
            .where(ApiToken.user_id == uid)
            .order_by(ApiToken.id)
        ),
        "password_resets": rows(
            select(PasswordReset.created_at, PasswordReset.used_at).where(PasswordReset.user_id == uid)
        ),
        "notifications": rows(
            select(
                Notification.id,
                Notification.kind,
                Notification.text,
                Notification.url,
                Notification.created_at,
                Notification.read_at,
            )
            .where(Notification.user_id == uid)
            .order_by(Notification.id)
        ),
        "emails": rows(
            select(
                OutboxEmail.kind, OutboxEmail.subject, OutboxEmail.status, OutboxEmail.created_at, OutboxEmail.sent_at
            )
            .where(OutboxEmail.user_id == uid)
            .order_by(OutboxEmail.id)
        ),
        "api_requests": rows(
            select(IdempotencyKey.key, IdempotencyKey.response_status, IdempotencyKey.created_at).where(
                IdempotencyKey.user_id == uid
            )
        ),
        "questions": rows(
            select(Question.id, Question.title, Question.body, Question.created_at, Question.is_hidden)
            .where(Question.author_id == uid)
            .order_by(Question.id)
        ),
        "answers": rows(
            select(
                Answer.id,
                Answer.question_id,
                Answer.body,
                Answer.created_at,
                Answer.upvotes,
                Answer.is_accepted,
                Answer.is_hidden,
            )
            .where(Answer.author_id == uid)
            .order_by(Answer.id)
        ),
        "answer_votes": rows(
            select(AnswerVote.answer_id, AnswerVote.created_at).where(AnswerVote.user_id == uid).order_by(AnswerVote.id)
        ),
        "post_reports": rows(
            select(
                PostReport.id,
                PostReport.question_id,
                PostReport.answer_id,
                PostReport.reason,
                PostReport.status,
                PostReport.created_at,
            )
            .where(PostReport.reporter_id == uid)
            .order_by(PostReport.id)
        ),
    }


def _erase_hub(advocate: Advocate) -> None:
    """Sessions end, tokens are revoked, links and mail to the person are dropped; community posts
    stay (signed "Former advocate"), as do their votes (counts) and the record of which terms
    they accepted when (no personal data: a version and a time); their reports of posts go."""
    uid = advocate.user_id
    email = advocate.user.email
    now = utcnow()
    db.session.execute(delete(advocate_groups).where(advocate_groups.c.advocate_id == advocate.id))
    db.session.execute(delete(UserSession).where(UserSession.user_id == uid))
    db.session.execute(
        update(ApiToken).where(ApiToken.user_id == uid, ApiToken.revoked_at.is_(None)).values(revoked_at=now)
    )
    db.session.execute(delete(PasswordReset).where(PasswordReset.user_id == uid))
    db.session.execute(delete(Notification).where(Notification.user_id == uid))
    db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.user_id == uid))
    db.session.execute(delete(OutboxEmail).where((OutboxEmail.user_id == uid) | (OutboxEmail.to_address == email)))
    db.session.execute(delete(Invite).where(Invite.email == email))
    # Trust signals are staff's fraud record about the person (issue 18: never shown to the
    # advocate, so not in the export); they go with the person, and the score with them.
    db.session.execute(delete(TrustSignal).where(TrustSignal.advocate_id == advocate.id))
    advocate.trust_score = 100
    # Their reports of others' posts name them and say what they thought: gone (a decided
    # report's outcome lives on in the post and the audit log).
    db.session.execute(delete(PostReport).where(PostReport.reporter_id == uid))
    db.session.expire(advocate, ["groups"])
    # They left every group: what follows the memberships (group leaderboards, the reports' group
    # tallies) follows in this transaction.
    hooks().advocate_groups_changed(advocate.id)


HUB_PERSONAL_DATA = PersonalData(
    name="hub",
    export=_export_hub,
    erase=_erase_hub,
    covers=(
        "advocates.user_id",
        "advocate_groups.advocate_id",
        "consent_acceptances.advocate_id",
        "user_sessions.user_id",
        "api_tokens.user_id",
        "password_resets.user_id",
        "notifications.user_id",
        "outbox_emails.user_id",
        "idempotency_keys.user_id",
        "questions.author_id",
        "answers.author_id",
        "answer_votes.user_id",
        "trust_signals.advocate_id",
        "post_reports.reporter_id",
    ),
    actor_columns=(
        "trust_signals.cleared_by_id",
        "api_tokens.created_by_id",
        "invites.invited_by_id",
        "advocate_imports.created_by_id",
        "settings.updated_by_id",
        "audit_entries.actor_id",
        "questions.hidden_by_id",
        "answers.hidden_by_id",
        "answers.accepted_by_id",
        "post_reports.decided_by_id",
    ),
)
