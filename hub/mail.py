"""The email outbox: a row per message, sent by a job after commit (or logged without SMTP)."""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage as MimeMessage
from urllib.parse import unquote, urlsplit

from flask import current_app
from sqlalchemy import select

from hub.db import utcnow
from hub.extensions import db
from hub.models import EmailMessage
from hub.queue import enqueue_after_commit, job_context

log = logging.getLogger("vouch.mail")


def queue_email(to: str, subject: str, text: str, kind: str, user_id: int | None = None) -> EmailMessage:
    """Store a message in the outbox (caller's transaction); a job sends it after commit."""
    message = EmailMessage(to_address=to, subject=subject, body_text=text, kind=kind, user_id=user_id)
    db.session.add(message)
    db.session.flush()
    enqueue_after_commit(send_outbox_message, message.id, job_id=f"email-{message.id}")
    return message


def send_outbox_message(message_id: int) -> None:
    """Job: send one outbox row. Idempotent: a row already sent is skipped."""
    with job_context():
        query = select(EmailMessage).where(EmailMessage.id == message_id)
        if db.session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        message = db.session.scalar(query)
        if message is None or message.status == "sent":
            return
        message.attempts += 1
        try:
            deliver(message)
        except (smtplib.SMTPException, OSError) as exc:
            message.last_error = str(exc)[:500]
            message.status = "failed" if message.attempts >= 5 else "queued"
            db.session.commit()
            if message.status == "queued":
                raise
            return
        message.status = "sent"
        message.sent_at = utcnow()


def deliver(message: EmailMessage) -> None:
    url = current_app.config.get("SMTP_URL")
    if not url:
        log.info(
            "email (SMTP_URL unset) to=%s subject=%r\n%s", message.to_address, message.subject, message.body_text
        )
        return
    mime = MimeMessage()
    mime["From"] = current_app.config["MAIL_FROM"]
    mime["To"] = message.to_address
    mime["Subject"] = message.subject
    mime.set_content(message.body_text)
    if message.body_html:
        mime.add_alternative(message.body_html, subtype="html")
    parts = urlsplit(url)
    port = parts.port or (465 if parts.scheme == "smtps" else 25)
    if parts.scheme == "smtps":
        client: smtplib.SMTP = smtplib.SMTP_SSL(parts.hostname, port, timeout=10, context=ssl.create_default_context())
    else:
        client = smtplib.SMTP(parts.hostname, port, timeout=10)
    with client:
        if parts.scheme == "smtp" and parts.username and client.has_extn("starttls"):
            client.starttls(context=ssl.create_default_context())
        if parts.username:
            client.login(unquote(parts.username), unquote(parts.password or ""))
        client.send_message(mime)
