"""Which emails an advocate gets: the email kinds, their opt-outs, and signed unsubscribe links.

Opt-outs live in `Advocate.preferences["email_off"]` (a list of kind codes; absent = all on).
An unsubscribe link carries an itsdangerous-signed `{"u": user_id, "k": kind}`: no login is
needed, a tampered token is refused, and it never expires (old emails keep working).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select

from hub.db import locked_row
from hub.errors import VouchError
from hub.extensions import db
from hub.models import Advocate, User

PREF_KEY = "email_off"
ALL = "all"
_SALT = "vouch-unsubscribe-v1"


@dataclass(frozen=True)
class EmailKind:
    code: str
    label: str
    description: str


EMAIL_KINDS: dict[str, EmailKind] = {
    k.code: k
    for k in (
        EmailKind("completions", "Challenge results", "When a completion of yours is approved or rejected."),
        EmailKind("status", "Status and badges", "When you reach a new tier or earn a badge."),
        EmailKind("redemptions", "Reward redemptions", "When a redemption of yours changes status."),
        EmailKind("expiry", "Points expiry", "30 and 7 days before points of yours expire."),
        EmailKind("references", "Reference requests", "When we ask you to take a reference call."),
        EmailKind("community", "Community", "When your answer is accepted."),
        EmailKind("digest", "Weekly digest", "New challenges you can take, once a week."),
        EmailKind("reengagement", "Catch-up note", "A note if you have not visited for six months."),
        EmailKind("milestones", "Thank-you notes", "A thank-you at 5, 25 and 100 approved completions."),
    )
}

# Notification kind → email kind. Later packages may use any notification kind starting with
# one of these prefixes (e.g. `completion_approved`, `redemption_fulfilled`, `reference_ask`);
# kinds that match nothing (e.g. `points` for a manual adjustment) stay in-app only.
_NOTIFICATION_PREFIXES: tuple[tuple[str, str], ...] = (
    ("completion", "completions"),
    ("tier", "status"),
    ("badge", "status"),
    ("redemption", "redemptions"),
    ("points_expiry", "expiry"),
    ("reference", "references"),
    ("answer", "community"),
    ("community", "community"),
)


class InvalidUnsubscribeLink(VouchError):
    """This unsubscribe link is not valid."""

    code = "invalid_token"
    status = 400


def email_kind_for_notification(kind: str) -> str | None:
    """The email kind of a notification kind, or None for in-app-only kinds."""
    for prefix, email_kind in _NOTIFICATION_PREFIXES:
        if kind.startswith(prefix):
            return email_kind
    return None


def disabled_kinds(advocate: Advocate) -> set[str]:
    """The email kinds the advocate switched off (unknown codes ignored)."""
    raw = (advocate.preferences or {}).get(PREF_KEY) or []
    return {k for k in raw if k in EMAIL_KINDS} if isinstance(raw, list) else set()


def email_allowed(advocate: Advocate, kind: str) -> bool:
    """True when `kind` is a known email kind the advocate has not switched off."""
    return kind in EMAIL_KINDS and kind not in disabled_kinds(advocate)


def set_enabled_kinds(advocate_id: int, enabled: set[str] | list[str]) -> set[str]:
    """Store which kinds are on (unknown codes ignored); returns the kinds now off.

    Locks the advocate row so a concurrent preferences save cannot lose this change.
    """
    advocate = _locked_advocate(advocate_id)
    off = set(EMAIL_KINDS) - set(enabled)
    _store(advocate, off)
    return off


def unsubscribe(user_id: int, kind: str) -> Advocate:
    """Turn one kind (or `all`) off for the user's advocate profile. Idempotent."""
    advocate_id = db.session.scalar(select(Advocate.id).where(Advocate.user_id == user_id))
    if advocate_id is None:
        raise InvalidUnsubscribeLink("This unsubscribe link is not valid.")
    advocate = _locked_advocate(advocate_id)
    off = disabled_kinds(advocate) | (set(EMAIL_KINDS) if kind == ALL else {kind})
    _store(advocate, off)
    return advocate


def _locked_advocate(advocate_id: int) -> Advocate:
    advocate = locked_row(Advocate, advocate_id)
    if advocate is None:
        raise InvalidUnsubscribeLink("This unsubscribe link is not valid.")
    return advocate


def _store(advocate: Advocate, off: set[str]) -> None:
    # The JSON column is not mutation-tracked: assign a new dict.
    advocate.preferences = {**(advocate.preferences or {}), PREF_KEY: sorted(off)}
    db.session.flush()


# --- unsubscribe tokens ----------------------------------------------------------------------


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def unsubscribe_token(user_id: int, kind: str) -> str:
    return _serializer().dumps({"u": user_id, "k": kind})


def read_unsubscribe_token(token: str) -> tuple[User, str]:
    """The user and kind a token names; InvalidUnsubscribeLink if tampered, unknown or malformed."""
    if not token or len(token) > 300:
        raise InvalidUnsubscribeLink("This unsubscribe link is not valid.")
    try:
        data = _serializer().loads(token)
    except BadSignature as exc:
        raise InvalidUnsubscribeLink("This unsubscribe link is not valid.") from exc
    if not isinstance(data, dict):
        raise InvalidUnsubscribeLink("This unsubscribe link is not valid.")
    user_id, kind = data.get("u"), data.get("k")
    if not isinstance(user_id, int) or (kind != ALL and kind not in EMAIL_KINDS):
        raise InvalidUnsubscribeLink("This unsubscribe link is not valid.")
    user = db.session.get(User, user_id)
    if user is None or user.advocate is None:
        raise InvalidUnsubscribeLink("This unsubscribe link is not valid.")
    return user, kind


def unsubscribe_url(user_id: int, kind: str) -> str:
    return f"{current_app.config['VOUCH_BASE_URL']}/unsubscribe/{unsubscribe_token(user_id, kind)}"


def kind_label(kind: str) -> str:
    return "all emails" if kind == ALL else EMAIL_KINDS[kind].label
