"""Outbound webhooks: signed event posts to the CRM, retried, replayable by staff.

Every event becomes one `WebhookDelivery` row per subscribed endpoint (unique per endpoint and
event key, so an event is queued once however often its cause repeats), and a job posts it.
The body is fixed when the event happens, so a replay sends the same bytes; each attempt is
signed afresh: `X-Vouch-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.

Posts go through the guarded client (hub.outbound): a receiver at a private address (an
internal port, the cloud metadata service) is refused when saved and again when connecting
(a DNS name may point inside), unless the owner listed its host in VOUCH_OUTBOUND_ALLOW_HOSTS.
A refused delivery fails at once, without retries; nothing is sent. Redirects are not followed.
An endpoint has at least one event, and one URL is registered once (unique, after normalising
scheme and host case and the default port).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from challenges.crm.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from hub.audit import record_audit
from hub.db import insert_ignore, locked_row, utcnow
from hub.errors import NotFound, ValidationFailed
from hub.extensions import db
from hub.outbound import Refused, Transient, check_url, request
from hub.queue import enqueue_after_commit

EVENTS = {
    "referral.created": "A new referral (not flagged) — the lead's name, email, company, and who referred them.",
    "reference.accepted": "An advocate accepted a reference request — the request, the opportunity and the advocate.",
}
MAX_ATTEMPTS = 4
TIMEOUT_SECONDS = 5


class DeliveryFailed(Exception):
    """A delivery attempt failed; the queue retries the job."""


def sign(secret: str, timestamp: int, body: str) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, header: str, body: str, tolerance: int = 300, now: float | None = None) -> bool:
    """What a receiver does: recompute the signature and refuse stale timestamps."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(parts.get("t", ""))
    except ValueError:
        return False
    if abs((now or time.time()) - timestamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), f"t={timestamp},v1={parts.get('v1', '')}")


def normalise_url(url: str) -> str:
    """Scheme and host in lower case, the default port dropped: the form two spellings of one
    receiver share (so the unique URL means one receiver)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    netloc = host if port is None or port == (443 if scheme == "https" else 80) else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def create_endpoint(url: str, events: list[str], actor_id: int) -> WebhookEndpoint:
    """Register a receiver; its signing secret is generated here and shown to the owner.

    Raises ValidationFailed (fields `url`, `events`): not http(s), longer than 500 characters,
    credentials in it, a private address (hub.outbound), already registered; no event or an
    unknown one."""
    errors: dict[str, str] = {}
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname or len(url) > 500:
        errors["url"] = "An http(s) URL of at most 500 characters."
    else:
        try:
            check_url(url)
            url = normalise_url(url)
        except (Refused, ValueError) as exc:
            errors["url"] = str(exc) if isinstance(exc, Refused) else "That is not a valid link."
    chosen: list[str] = []
    if not events:
        errors["events"] = "Tick at least one event to send."
    else:
        chosen = [e for e in dict.fromkeys(events) if e in EVENTS]
        if len(chosen) != len(set(events)):
            errors["events"] = f"Choose from: {', '.join(EVENTS)}."
    if "url" not in errors and db.session.scalar(select(WebhookEndpoint.id).where(WebhookEndpoint.url == url)):
        errors["url"] = "This receiver URL is already registered."
    if errors:
        raise ValidationFailed(errors)
    endpoint = WebhookEndpoint(
        url=url, secret="whsec_" + secrets.token_urlsafe(32), events=chosen, created_by_id=actor_id
    )
    try:
        with db.session.begin_nested():  # two owners saving the same URL at once: one wins
            db.session.add(endpoint)
            db.session.flush()
    except IntegrityError:
        raise ValidationFailed({"url": "This receiver URL is already registered."}) from None
    record_audit(actor_id, "webhook.create", "webhook_endpoint", endpoint.id, None, {"url": url, "events": chosen})
    return endpoint


def set_endpoint_active(endpoint_id: int, active: bool, actor_id: int) -> WebhookEndpoint:
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise NotFound("Webhook not found.")
    if endpoint.is_active != active:
        endpoint.is_active = active
        record_audit(actor_id, "webhook.enable" if active else "webhook.disable", "webhook_endpoint", endpoint.id)
    return endpoint


def emit(event: str, key: str, data: dict[str, Any]) -> int:
    """Queue `event` for every active endpoint subscribed to it, once per (endpoint, key)."""
    assert event in EVENTS, event
    endpoints = db.session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.is_active.is_(True))).all()
    queued = 0
    for endpoint in endpoints:
        if event not in (endpoint.events or []):
            continue
        event_key = f"{event}:{key}"
        body = json.dumps(
            {"event": event, "key": event_key, "occurred_at": utcnow().isoformat(), "data": data},
            sort_keys=True,
            separators=(",", ":"),
            default=str,
        )
        if not insert_ignore(
            db.session,
            WebhookDelivery.__table__,
            {
                "endpoint_id": endpoint.id,
                "event": event,
                "event_key": event_key,
                "body": body,
                "status": DeliveryStatus.PENDING.value,
                "attempts": 0,
                "replays": 0,
                "created_at": utcnow(),
            },
        ):
            continue
        delivery_id = db.session.execute(
            select(WebhookDelivery.id).where(
                WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.event_key == event_key
            )
        ).scalar_one()
        _enqueue(delivery_id, 0)
        queued += 1
    return queued


def _enqueue(delivery_id: int, replay: int) -> None:
    from challenges.crm.jobs import deliver_webhook_job

    enqueue_after_commit(
        deliver_webhook_job, delivery_id, job_id=f"webhook-{delivery_id}-r{replay}", retries=MAX_ATTEMPTS - 1
    )


def replay(delivery_id: int, actor_id: int) -> WebhookDelivery:
    """Send a delivery again (same body, fresh signature), whatever its status."""
    delivery = locked_row(WebhookDelivery, delivery_id)
    if delivery is None:
        raise NotFound("Delivery not found.")
    delivery.status = DeliveryStatus.PENDING
    delivery.attempts = 0
    delivery.replays += 1
    delivery.last_error = None
    db.session.flush()
    record_audit(actor_id, "webhook.replay", "webhook_delivery", delivery.id, None, {"event_key": delivery.event_key})
    _enqueue(delivery.id, delivery.replays)
    return delivery


def attempt(delivery_id: int) -> DeliveryStatus | None:
    """One delivery attempt (job body). A delivered row is never sent again; a failure is
    recorded and committed, then raised so the queue retries, until MAX_ATTEMPTS."""
    query = select(WebhookDelivery).where(WebhookDelivery.id == delivery_id)
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    delivery = db.session.scalar(query)
    if delivery is None or delivery.status is not DeliveryStatus.PENDING:
        return None if delivery is None else delivery.status
    endpoint = delivery.endpoint
    delivery.attempts += 1
    delivery.last_attempt_at = utcnow()
    error, status_code, retryable = _post(endpoint, delivery)
    delivery.last_status_code = status_code
    if error is None:
        delivery.status = DeliveryStatus.DELIVERED
        delivery.delivered_at = utcnow()
        delivery.last_error = None
        return delivery.status
    delivery.last_error = error[:500]
    if delivery.attempts >= MAX_ATTEMPTS or not retryable:
        delivery.status = DeliveryStatus.FAILED
        return delivery.status
    db.session.commit()
    raise DeliveryFailed(f"webhook delivery {delivery_id}: {error}")


def _post(endpoint: WebhookEndpoint, delivery: WebhookDelivery) -> tuple[str | None, int | None, bool]:
    """(error or None, HTTP status or None, whether a retry can help)."""
    if not endpoint.is_active:
        return "the endpoint is disabled", None, False
    timestamp = int(time.time())
    try:
        response = request(
            "POST",
            endpoint.url,
            body=delivery.body.encode(),
            headers={
                "Content-Type": "application/json",
                "User-Agent": "Vouch-Webhooks/1",
                "X-Vouch-Event": delivery.event,
                "X-Vouch-Delivery": str(delivery.id),
                "X-Vouch-Signature": sign(endpoint.secret, timestamp, delivery.body),
            },
            timeout=TIMEOUT_SECONDS,
            max_bytes=64 * 1024,
        )
    except Refused as exc:
        return f"Refused: {exc}", None, False
    except Transient as exc:
        return str(exc), None, True
    if 200 <= response.status < 300:
        return None, response.status, False
    return f"HTTP {response.status}", response.status, True
