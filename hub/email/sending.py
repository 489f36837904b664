"""The email outbox: one row per message, sent by a job after commit (or logged without SMTP).

Delivery rules (the outbox survives crashes and races):
- `queue_email` writes the row in the caller's transaction and, after commit, one
  `deliver_queued` job sends every row the transaction queued; a rolled-back transaction
  leaves neither row nor job.
- `deliver_queued` attempts DELIVERY_PER_TRANSACTION rows (default 20; config
  `VOUCH_DELIVERY_PER_TRANSACTION`) per transaction: their rows locked in one statement, sent,
  and marked in one commit. A worker killed after sending some of them and before that commit
  leaves them queued, so the job run again (or the sweep) sends them again: up to
  DELIVERY_PER_TRANSACTION - 1 duplicates of already-sent mail per kill (each carries the same
  Message-ID, so receivers can tell). 1 restores one row per transaction: at most the row in
  flight, as with `send_outbox_message`.
- One attempt is one transaction: the job locks the row (`SELECT … FOR UPDATE SKIP LOCKED`
  on PostgreSQL; SQLite's BEGIN IMMEDIATE serializes writers), counts the attempt, talks to
  the SMTP server and marks the row `sent` in the same commit. A second worker on the same
  row skips it while it is locked and finds it `sent` afterwards: never two sends.
- A transient failure (4xx reply, dropped connection, timeout) records the error and a
  `next_attempt_at` with backoff; `drain_outbox` (run every minute by `rq cron`) enqueues
  due rows again. A permanent failure (5xx) or running out of attempts marks it `failed`,
  listed for staff at /admin/emails with a retry button.
- A message that cannot be built (or a send that fails in a way nobody can fix by waiting) is
  marked `failed` with the reason at once: no row stays queued to be picked up every minute.
- Headers are built from one-line text only (`one_line`: newlines and other control characters
  folded to spaces), so a reason typed on two lines cannot break the message (issue 12 item 2).
- Addresses go out with their domain IDNA-encoded (`ana@xn--bcher-kva.example`); a non-ASCII
  local part needs a server offering SMTPUTF8, and fails at once and visibly where it does not
  (issue 12 item 3).
- A delivery transaction's messages go out on one SMTP connection (`smtp_session`: one connect,
  EHLO, STARTTLS and login for up to DELIVERY_PER_TRANSACTION messages); a failure closes it and
  the next message opens a fresh one, so one message's failure never becomes another's.
- Without SMTP_URL the message is written to the log and counts as sent.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import logging
import smtplib
import ssl
import unicodedata
from collections.abc import Iterator
from email.message import EmailMessage as MimeMessage
from email.policy import EmailPolicy
from email.utils import formatdate, make_msgid
from typing import Any
from urllib.parse import unquote, urlsplit

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import func, or_, select, update

from hub.audit import record_audit
from hub.db import any_of, execute_dml, insert_ignore, insert_ignore_many, table_of, utcnow
from hub.email.models import EmailStatus, OutboxEmail
from hub.errors import InvalidState, NotFound
from hub.extensions import db
from hub.queue import enqueue_after_commit, enqueue_merged_after_commit, job_context, job_timeout

log = logging.getLogger("vouch.mail")

DEFAULT_MAX_ATTEMPTS = 5
DELIVERY_PER_TRANSACTION = 20
DEFAULT_BACKOFF = (60, 300, 1800, 7200)  # seconds after the 1st, 2nd, 3rd, 4th+ failure
SMTP_TIMEOUT = 20


class TransientMailError(Exception):
    """The server may accept the message later."""


class PermanentMailError(Exception):
    """The server refused the message for good, or it cannot be built or sent at all."""


def one_line(text: str) -> str:
    """`text` as one header line: every run of whitespace and control characters (newlines
    included) becomes one space, ends trimmed."""
    return " ".join("".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in text).split())


def envelope_address(address: str) -> str:
    """`address` as SMTP sends it: the domain IDNA-encoded (`ana@bücher.example` →
    `ana@xn--bcher-kva.example`), the local part as it is. Raises PermanentMailError when it is
    not an address at all."""
    try:
        checked = validate_email(address, check_deliverability=False)
    except EmailNotValidError as exc:
        raise PermanentMailError(f"Not a valid address ({exc}).") from None
    return f"{checked.local_part}@{checked.ascii_domain}"


def outbox_values(
    to: str,
    subject: str,
    text: str,
    kind: str,
    user_id: int | None = None,
    *,
    html: str | None = None,
    unsubscribe_url: str | None = None,
    dedupe_key: str | None = None,
) -> dict[str, Any]:
    """The outbox row of one message, queued now (`queue_email`, `queue_emails` write it)."""
    return {
        "to_address": to,
        "subject": one_line(subject)[:255],
        "body_text": text,
        "body_html": html,
        "kind": kind[:40],
        "user_id": user_id,
        "status": EmailStatus.QUEUED.value,
        "attempts": 0,
        "created_at": utcnow(),
        "unsubscribe_url": unsubscribe_url,
        "dedupe_key": dedupe_key,
    }


def queue_email(
    to: str,
    subject: str,
    text: str,
    kind: str,
    user_id: int | None = None,
    *,
    html: str | None = None,
    unsubscribe_url: str | None = None,
    dedupe_key: str | None = None,
) -> OutboxEmail | None:
    """Store a message in the outbox (caller's transaction); a job sends it after commit.

    With a `dedupe_key` the row is written at most once (unique key): a second call with the
    same key returns None and queues nothing.
    """
    values = outbox_values(
        to, subject, text, kind, user_id, html=html, unsubscribe_url=unsubscribe_url, dedupe_key=dedupe_key
    )
    if dedupe_key is not None:
        if not insert_ignore(db.session, OutboxEmail.__table__, values):
            return None
        message = db.session.execute(select(OutboxEmail).where(OutboxEmail.dedupe_key == dedupe_key)).scalar_one()
    else:
        message = OutboxEmail(**values)
        db.session.add(message)
        db.session.flush()
    enqueue_merged_after_commit(deliver_queued, [message.id], job_id=f"email-{message.id}-a0", retries=2)
    return message


def queue_emails(rows: list[dict[str, Any]]) -> list[int]:
    """Store several messages (`outbox_values` rows) in one multi-row INSERT … ON CONFLICT DO
    NOTHING (caller's transaction): a row whose `dedupe_key` is already taken is not written, as
    with `queue_email`. Returns the ids written; they are sent after commit by the transaction's
    one delivery job, as `queue_email`'s are."""
    if not rows:
        return []
    ids = sorted(row.id for row in insert_ignore_many(db.session, table_of(OutboxEmail), rows, ["id"]))
    if ids:
        enqueue_merged_after_commit(deliver_queued, ids, job_id=f"email-{ids[0]}-a0", retries=2)
    return ids


@job_timeout(300)
def deliver_queued(message_ids: list[int]) -> dict[str, int]:
    """Job: one delivery attempt for each of these outbox rows (the ones a transaction queued),
    DELIVERY_PER_TRANSACTION rows per transaction (see the module's docstring for what a killed
    worker may repeat). Idempotent: sent, failed or locked rows are left alone. Returns how many
    ended in each outcome ("sent", "retry", "failed", "skipped")."""
    counts: dict[str, int] = {}
    with job_context():
        per = max(1, int(current_app.config.get("VOUCH_DELIVERY_PER_TRANSACTION", DELIVERY_PER_TRANSACTION)))
    ids = sorted(set(message_ids))
    for start in range(0, len(ids), per):
        with job_context():
            for outcome in attempt_deliveries(ids[start : start + per]).values():
                counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def attempt_deliveries(message_ids: list[int], now: dt.datetime | None = None) -> dict[int, str]:
    """`attempt_delivery` for several rows in the caller's transaction: the queued ones locked
    in one statement (PostgreSQL `FOR UPDATE SKIP LOCKED`: another worker's rows are skipped),
    each sent and recorded, the sent ones marked in one UPDATE. Returns each id's outcome; ids not
    locked (sent, failed, gone, or another worker's) are "skipped"."""
    now = now or utcnow()
    query = (
        select(OutboxEmail)
        .where(any_of(OutboxEmail.id, message_ids), OutboxEmail.status == EmailStatus.QUEUED.value)
        .order_by(OutboxEmail.id)
        .execution_options(populate_existing=True)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    outcomes = dict.fromkeys(message_ids, "skipped")
    sent: list[int] = []
    with smtp_session():  # one SMTP connection for the transaction's messages
        for message in db.session.scalars(query).all():
            outcome = _attempt(message, now, flush=False)
            outcomes[message.id] = outcome
            if outcome == "sent":
                sent.append(message.id)
                db.session.expunge(message)  # written below, in one UPDATE for all of them
    if sent:
        execute_dml(
            update(OutboxEmail)
            .where(any_of(OutboxEmail.id, sent))
            .values(
                status=EmailStatus.SENT.value,
                sent_at=now,
                last_error=None,
                next_attempt_at=None,
                attempts=OutboxEmail.attempts + 1,
                last_attempt_at=now,
            )
            .execution_options(synchronize_session=False)
        )
    db.session.flush()
    return outcomes


@job_timeout(90)
def send_outbox_message(message_id: int) -> None:
    """Job: one delivery attempt for one outbox row. Idempotent: a sent or failed row is left alone."""
    with job_context():
        attempt_delivery(message_id)


def attempt_delivery(message_id: int, now: dt.datetime | None = None) -> str:
    """Lock the row, count the attempt, send, record the outcome — all in the caller's transaction.

    Returns "sent", "retry", "failed" or "skipped" (locked by another worker, or not queued).
    """
    now = now or utcnow()
    query = (
        select(OutboxEmail)
        .where(OutboxEmail.id == message_id, OutboxEmail.status == EmailStatus.QUEUED.value)
        .execution_options(populate_existing=True)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    message = db.session.scalar(query)
    if message is None:
        return "skipped"
    return _attempt(message, now)


def _attempt(message: OutboxEmail, now: dt.datetime, flush: bool = True) -> str:
    """Count the attempt, send, record the outcome on the locked row. With `flush=False` a sent
    row is left for the caller to mark (attempt_deliveries writes them in one UPDATE)."""
    message.attempts += 1
    message.last_attempt_at = now
    try:
        deliver(message)
    except PermanentMailError as exc:
        _fail(message, str(exc), now)
        return "failed"
    except TransientMailError as exc:
        if message.attempts >= _max_attempts():
            _fail(message, f"Gave up after {message.attempts} attempts: {exc}", now)
            return "failed"
        message.last_error = str(exc)[:500]
        message.next_attempt_at = now + dt.timedelta(seconds=_backoff(message.attempts))
        db.session.flush()
        log.warning(
            "email %s attempt %s failed (%s); retrying after %s",
            message.id,
            message.attempts,
            exc,
            message.next_attempt_at.isoformat(),
        )
        return "retry"
    except Exception as exc:  # a message nobody can send by waiting (a bug in building it): no loop
        log.exception("email %s could not be built or sent", message.id)
        _fail(message, f"Could not be sent: {type(exc).__name__}: {exc}", now)
        return "failed"
    if not flush:
        return "sent"
    message.status = EmailStatus.SENT.value
    message.sent_at = now
    message.last_error = None
    message.next_attempt_at = None
    db.session.flush()
    return "sent"


def _fail(message: OutboxEmail, error: str, now: dt.datetime) -> None:
    message.status = EmailStatus.FAILED.value
    message.failed_at = now
    message.next_attempt_at = None
    message.last_error = error[:500]
    db.session.flush()
    log.error("email %s to %s failed for good: %s", message.id, message.to_address, error)


def _max_attempts() -> int:
    return int(current_app.config.get("MAIL_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS))


def _backoff(attempts: int) -> int:
    steps = tuple(current_app.config.get("MAIL_RETRY_BACKOFF", DEFAULT_BACKOFF))
    return int(steps[min(attempts, len(steps)) - 1]) if steps else 0


def drain_outbox(now: dt.datetime | None = None, limit: int = 500) -> int:
    """Enqueue a delivery attempt for every queued row that is due (the sweep). Returns how many.

    Safe to run at any time and in parallel with the jobs: delivery locks the row.
    """
    now = now or utcnow()
    rows = db.session.execute(
        select(OutboxEmail.id, OutboxEmail.attempts)
        .where(
            OutboxEmail.status == EmailStatus.QUEUED.value,
            or_(OutboxEmail.next_attempt_at.is_(None), OutboxEmail.next_attempt_at <= now),
        )
        .order_by(OutboxEmail.id)
        .limit(limit)
    ).all()
    for message_id, attempts in rows:
        enqueue_after_commit(send_outbox_message, message_id, job_id=f"email-{message_id}-a{attempts}", retries=2)
    return len(rows)


def retry_failed_email(message_id: int, actor_id: int) -> OutboxEmail:
    """Staff put a failed row back in the queue (conditional UPDATE: only from failed). Audited."""
    message = db.session.get(OutboxEmail, message_id)
    if message is None:
        raise NotFound("Email not found.")
    before = {"status": message.status, "attempts": message.attempts, "last_error": message.last_error}
    moved = execute_dml(
        update(OutboxEmail)
        .where(OutboxEmail.id == message_id, OutboxEmail.status == EmailStatus.FAILED.value)
        .values(status=EmailStatus.QUEUED.value, attempts=0, next_attempt_at=None, failed_at=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not moved:
        raise InvalidState("Only a failed email can be retried.")
    db.session.refresh(message)
    record_audit(actor_id, "email.retry", "email", message_id, before, {"status": message.status})
    enqueue_after_commit(
        send_outbox_message, message_id, job_id=f"email-{message_id}-r{utcnow().timestamp():.0f}", retries=2
    )
    return message


def failed_emails(page: int, per_page: int) -> tuple[list[OutboxEmail], int]:
    """Failed rows for the staff page, most recent first, and how many there are."""
    base = select(OutboxEmail).where(OutboxEmail.status == EmailStatus.FAILED.value)
    total = db.session.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = db.session.scalars(
        base.order_by(OutboxEmail.failed_at.desc(), OutboxEmail.id.desc()).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return list(rows), total


# --- transport -----------------------------------------------------------------------------


class _RepeatedHeadersParsedOnce(EmailPolicy):
    """The default policy (`email.policy.default`), but a header whose name and text repeat from
    message to message (From, MIME-Version, the parts' content types and encodings) is parsed
    once per process and its parsed value reused: the header registry's parse is most of a
    message's build (0.72 of 1.15 ms per notification email with its serialisation; 0.90 ms
    with this). Parsed headers are immutable; the bytes sent are the same."""

    REPEATING = frozenset(
        {"from", "mime-version", "content-type", "content-transfer-encoding", "list-unsubscribe-post"}
    )
    _parsed: dict[tuple[str, str], Any] = {}

    def header_store_parse(self, name: str, value: Any) -> tuple[str, Any]:
        lowered = name.lower()
        if not isinstance(value, str) or lowered not in self.REPEATING:
            return super().header_store_parse(name, value)
        key = (lowered, value)
        parsed = self._parsed.get(key)
        if parsed is None:
            if len(self._parsed) > 256:  # a bound: the repeating values are few
                self._parsed.clear()
            parsed = self._parsed[key] = super().header_store_parse(name, value)[1]
        return (name, parsed)


_POLICY = _RepeatedHeadersParsedOnce()


def build_mime(message: OutboxEmail) -> MimeMessage:
    """The MIME message: a plain-text part always, an HTML alternative when there is one."""
    mime = MimeMessage(policy=_POLICY)
    mime["From"] = current_app.config["MAIL_FROM"]
    mime["To"] = envelope_address(message.to_address)
    mime["Subject"] = one_line(message.subject)
    mime["Date"] = formatdate(localtime=False)
    # A stable id per row: if a crash ever repeats a send, receivers can tell it is the same mail.
    host = urlsplit(current_app.config["VOUCH_BASE_URL"]).hostname or "vouch.local"
    mime["Message-ID"] = make_msgid(idstring=f"outbox-{message.id}", domain=host)
    if message.unsubscribe_url:
        mime["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
        mime["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    mime.set_content(message.body_text)
    if message.body_html:
        mime.add_alternative(message.body_html, subtype="html")
    return mime


def deliver(message: OutboxEmail) -> None:
    """Hand one message to the SMTP server (or the log); raises Transient/PermanentMailError
    (PermanentMailError also when the message cannot be built, or needs SMTPUTF8 the server
    does not offer)."""
    try:
        mime = build_mime(message)
    except PermanentMailError:
        raise
    except (ValueError, TypeError, LookupError) as exc:  # header or body the email package refuses
        raise PermanentMailError(f"The message could not be built: {exc}") from exc
    url = current_app.config.get("SMTP_URL")
    if not url:
        log.info("email (SMTP_URL unset) to=%s subject=%r\n%s", mime["To"], mime["Subject"], message.body_text)
        return
    try:
        _smtp_send(url, mime, str(mime["To"]))
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        error = f"recipient refused: {exc.recipients}"
        raise (PermanentMailError if codes and all(c >= 500 for c in codes) else TransientMailError)(error) from exc
    except smtplib.SMTPResponseException as exc:
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        error = f"{exc.smtp_code} {text}"
        raise (PermanentMailError if exc.smtp_code >= 500 else TransientMailError)(error) from exc
    except (smtplib.SMTPException, OSError) as exc:  # disconnects, refused connections, timeouts, TLS
        raise TransientMailError(f"{type(exc).__name__}: {exc}") from exc


@contextlib.contextmanager
def smtp_session() -> Iterator[None]:
    """Within this block, `_smtp_send` keeps one SMTP connection per server URL open and sends
    every message through it (one connection, EHLO, STARTTLS and login per delivery transaction
    instead of per message: `attempt_deliveries`); the connections are closed when it ends.
    Nested blocks share the outer one."""
    if _SESSION.get() is not None:
        yield
        return
    token = _SESSION.set({})
    try:
        yield
    finally:
        clients = _SESSION.get() or {}
        _SESSION.reset(token)
        for client in clients.values():
            _close(client)


_SESSION: contextvars.ContextVar[dict[str, smtplib.SMTP] | None] = contextvars.ContextVar(
    "vouch_smtp_session", default=None
)


def _close(client: smtplib.SMTP) -> None:
    """QUIT and close, ignoring a connection the server already dropped."""
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()


def _connect(url: str) -> smtplib.SMTP:
    """A connected, greeted (STARTTLS where offered with credentials) and logged-in client."""
    parts = urlsplit(url)
    if parts.scheme not in {"smtp", "smtps"} or not parts.hostname:
        raise PermanentMailError("SMTP_URL must look like smtp://user:pass@host:port or smtps://…")
    port = parts.port or (465 if parts.scheme == "smtps" else 25)
    if parts.scheme == "smtps":
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            parts.hostname, port, timeout=SMTP_TIMEOUT, context=ssl.create_default_context()
        )
    else:
        client = smtplib.SMTP(parts.hostname, port, timeout=SMTP_TIMEOUT)
    try:
        client.ehlo()
        if parts.scheme == "smtp" and parts.username and client.has_extn("starttls"):
            client.starttls(context=ssl.create_default_context())
            client.ehlo()
        if parts.username:
            client.login(unquote(parts.username), unquote(parts.password or ""))
    except BaseException:
        client.close()
        raise
    return client


def _send_on(client: smtplib.SMTP, mime: MimeMessage, recipient: str) -> None:
    # The recipient is passed as it is: left to smtplib, a non-ASCII local part would be
    # taken from the encoded header (=?utf-8?…?=@…) and sent to an address that is not theirs.
    if not recipient.isascii() and not client.has_extn("smtputf8"):
        raise PermanentMailError(f"The address {recipient} needs SMTPUTF8, which the mail server does not offer.")
    client.send_message(mime, to_addrs=[recipient])


def _smtp_send(url: str, mime: MimeMessage, recipient: str) -> None:
    """Send one message: on the block's kept connection inside `smtp_session` (a kept connection
    the server has dropped meanwhile is opened again once; any other failure closes it, so the
    next message starts on a fresh one), else on a connection of its own."""
    clients = _SESSION.get()
    if clients is None:
        with _connect(url) as client:
            _send_on(client, mime, recipient)
        return
    kept = clients.get(url)
    if kept is not None:
        try:
            _send_on(kept, mime, recipient)
            return
        except smtplib.SMTPServerDisconnected:
            clients.pop(url, None)
            kept.close()
        except BaseException:
            clients.pop(url, None)
            _close(kept)
            raise
    fresh = clients[url] = _connect(url)
    try:
        _send_on(fresh, mime, recipient)
    except BaseException:
        clients.pop(url, None)
        _close(fresh)
        raise
