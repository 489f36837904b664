"""Domain errors and the one place that turns them into HTTP answers."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import Any

from flask import Flask, current_app, g, jsonify, render_template, request
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

log = logging.getLogger(__name__)


class VouchError(Exception):
    """A refusal by a business rule. `code` is the api.md error code."""

    code = "invalid_state"
    status = 409

    def __init__(self, message: str = "", **details: Any) -> None:
        super().__init__(message or self.__class__.__doc__ or self.code)
        self.message = message or (self.__class__.__doc__ or self.code).strip()
        self.details = details


class ValidationFailed(VouchError):
    """The input is invalid."""

    code = "invalid"
    status = 422

    def __init__(self, fields: Mapping[str, list[str] | str], message: str = "") -> None:
        normalized = {k: v if isinstance(v, list) else [v] for k, v in fields.items()}
        super().__init__(message or "The input is invalid.", fields=normalized)
        self.fields = normalized


class NotFound(VouchError):
    """Not found."""

    code = "not_found"
    status = 404


class Forbidden(VouchError):
    """You do not have permission to do this."""

    code = "forbidden"
    status = 403


class InvalidState(VouchError):
    """That is not possible in the current state."""

    code = "invalid_state"


class InsufficientPoints(VouchError):
    """Not enough points."""

    code = "insufficient_points"


class CapReached(VouchError):
    """A cap protecting the advocate has been reached."""

    code = "cap_reached"


class LimitReached(VouchError):
    """The limit has been reached."""

    code = "limit_reached"


class OutOfStock(VouchError):
    """Out of stock."""

    code = "out_of_stock"


class TierRequired(VouchError):
    """A higher tier is required."""

    code = "tier_required"


class ChallengeClosed(VouchError):
    """The challenge is not open."""

    code = "challenge_closed"


class AlreadySubmitted(VouchError):
    """Already submitted."""

    code = "already_submitted"


class AlreadyVoted(VouchError):
    """Already voted."""

    code = "already_voted"


def error_body(code: str, message: str, fields: dict | None = None, **extra: Any) -> dict:
    err: dict[str, Any] = {"code": code, "message": message}
    if fields:
        err["fields"] = fields
    err.update({k: v for k, v in extra.items() if v is not None})
    return {"error": err}


def wants_json() -> bool:
    return request.path.startswith("/api/")


def is_transient_db_error(exc: BaseException) -> bool:
    """Serialization failures, deadlocks, SQLite lock contention, and a dropped PostgreSQL
    connection before anything the unit did could take effect (`retry_safe`, set by
    hub.db.mark_retry_safe): safe to retry."""
    if not isinstance(exc, DBAPIError):
        return False
    if getattr(exc, "retry_safe", False):
        return True
    orig = getattr(exc, "orig", None)
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if sqlstate in {"40001", "40P01", "55P03"}:
        return True
    return isinstance(exc, OperationalError) and "database is locked" in str(exc).lower()


def vouch_error_response(exc: VouchError):
    fields = exc.details.get("fields")
    extra = {k: v for k, v in exc.details.items() if k != "fields"}
    for key, value in list(extra.items()):
        if hasattr(value, "isoformat"):
            extra[key] = value.isoformat().replace("+00:00", "Z")
    return jsonify(error_body(exc.code, exc.message, fields, **extra)), exc.status


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(VouchError)
    def _vouch_error(exc: VouchError):
        from hub.extensions import db

        db.session.rollback()
        if wants_json():
            return vouch_error_response(exc)
        return (
            render_template("errors/error.html", status=exc.status, message=exc.message),
            exc.status,
        )

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        code = {
            400: "bad_request",
            401: "unauthorized",
            403: "forbidden",
            404: "not_found",
            405: "method_not_allowed",
            413: "too_large",
            415: "unsupported_media_type",
            422: "invalid",
            429: "rate_limited",
            503: "busy",
        }.get(exc.code or 500, "error")
        description = exc.description or exc.name
        retry_after = {k: v for k, v in exc.get_headers() if k.lower() == "retry-after"}
        if exc.code == 413 and exc.description == RequestEntityTooLarge.description:
            refused = _upload_too_large()
            if refused is not None:
                return refused
            description = f"The upload is larger than {request_limit_text()}, the most Vouch accepts in one request."
        if exc.code == 429:
            seconds = _retry_after_seconds(exc)
            retry_after = {"Retry-After": str(seconds)}
            description = f"Too many attempts. Try again in {in_words(seconds)}."
        if wants_json():
            response = jsonify(error_body(code, description))
            response.status_code = exc.code or 500
            response.headers.update(retry_after)
            return response
        return (
            render_template("errors/error.html", status=exc.code, message=description),
            exc.code,
            retry_after,
        )

    @app.errorhandler(Exception)
    def _unhandled(exc: Exception):
        from hub.extensions import db

        db.session.rollback()
        if is_transient_db_error(exc):
            return _http_error(_busy())
        request_id = g.get("request_id") or uuid.uuid4().hex[:12]
        log.exception("unhandled error (request %s)", request_id)
        message = f"Something went wrong on our side. Request id: {request_id}"
        if wants_json():
            return jsonify(error_body("server_error", message, request_id=request_id)), 500
        return render_template("errors/500.html", request_id=request_id), 500


def _upload_too_large() -> Any:
    """A request too large for a route that takes a file (hub.uploads.accepts_upload) is that
    file's field error: 422 `invalid` naming the field on the API, and on a page the view's own
    refusal rendering (its form with the error under the file input), as if the file had been
    read and refused. None for every other route (the plain 413)."""
    from flask.typing import ResponseReturnValue

    from hub.extensions import db
    from hub.uploads import too_large_message, upload_field

    field = upload_field()
    if field is None:
        return None
    db.session.rollback()
    # The body was not read: the form is shown again empty (reading it would only refuse again).
    request.__dict__["form"] = request.parameter_storage_class()
    request.__dict__["files"] = request.parameter_storage_class()
    refusal = ValidationFailed({field: too_large_message()})
    if wants_json():
        return vouch_error_response(refusal)
    rule = request.url_rule
    view = current_app.view_functions.get(rule.endpoint) if rule is not None else None
    render = getattr(view, "render_refusal", None)
    shown: ResponseReturnValue | None = render(refusal, **(request.view_args or {})) if render else None
    return shown


def request_limit_text() -> str:
    """The largest request (and so upload) Vouch accepts, as people read it ("2 MB"): what
    importers and upload forms state, so the stated limit is the real one (issue 13 item 8)."""
    size = int(current_app.config.get("MAX_CONTENT_LENGTH") or 0)
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):g} MB"
    return f"{max(1, size // 1024)} KB"


def _retry_after_seconds(exc: HTTPException) -> int:
    """When a rate-limited client may try again, in whole seconds (at least 1): the limit's own
    reset time when Flask-Limiter knows it, else the Retry-After the exception carries, else the
    breached limit's window."""
    import math
    import time

    from hub.extensions import limiter

    current = limiter.current_limit if limiter.enabled else None
    if current is not None and current.breached:
        window = current.limit.get_expiry()  # reset_at is rounded up past the window's end
        return max(1, min(window, math.ceil(current.reset_at - time.time())))
    for key, value in exc.get_headers():
        if key.lower() == "retry-after" and value.isdigit():
            return max(1, int(value))
    limit = getattr(exc, "limit", None)  # flask_limiter's RateLimitExceeded
    return max(1, int(limit.limit.get_expiry())) if limit is not None else 60


def in_words(seconds: int) -> str:
    """A wait as people say it, rounded up: "1 second", "45 seconds", "12 minutes", "90 minutes",
    "3 hours"."""

    def counted(count: int, unit: str) -> str:
        return f"{count} {unit}{'' if count == 1 else 's'}"

    if seconds < 60:
        return counted(seconds, "second")
    minutes = -(-seconds // 60)
    return counted(minutes, "minute") if minutes < 120 else counted(-(-seconds // 3600), "hour")


def _busy() -> HTTPException:
    from werkzeug.exceptions import ServiceUnavailable

    exc = ServiceUnavailable("The server is busy with other writes; please retry.")
    exc.retry_after = 1
    return exc
