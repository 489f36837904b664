"""Domain errors and the one place that turns them into HTTP answers."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import Any

from flask import Flask, g, jsonify, render_template, request
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

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
    """Serialization failures, deadlocks and SQLite lock contention: safe to retry."""
    if not isinstance(exc, DBAPIError):
        return False
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
        if wants_json():
            response = jsonify(error_body(code, exc.description or exc.name))
            response.status_code = exc.code or 500
            for key, value in exc.get_headers():
                if key.lower() == "retry-after":
                    response.headers[key] = value
            limit = getattr(exc, "limit", None)  # flask_limiter's RateLimitExceeded
            if exc.code == 429 and "Retry-After" not in response.headers and limit is not None:
                response.headers["Retry-After"] = str(limit.limit.get_expiry())
            return response
        retry_after = {k: v for k, v in exc.get_headers() if k.lower() == "retry-after"}
        return (
            render_template("errors/error.html", status=exc.code, message=exc.description),
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


def _busy() -> HTTPException:
    from werkzeug.exceptions import ServiceUnavailable

    exc = ServiceUnavailable("The server is busy with other writes; please retry.")
    exc.retry_after = 1
    return exc
