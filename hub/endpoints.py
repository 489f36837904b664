"""The JSON API's machinery, for every package's api.py: the `/api/v1` blueprint factory, bearer
authentication and the role gate (`endpoint`), JSON bodies, pagination, the retry of transient
database errors, `Idempotency-Key` replay, and the operations the OpenAPI document lists."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from hub import tokens
from hub.db import utcnow
from hub.errors import VouchError, error_body, is_transient_db_error, vouch_error_response
from hub.extensions import csrf, db, limiter
from hub.models import IdempotencyKey, Role, User
from hub.transactions import in_transaction, own_transaction
from hub.validation import Fields

log = logging.getLogger(__name__)


API_PREFIX = "/api/v1"


OPENAPI_OPERATIONS: list[dict[str, Any]] = []


IDEMPOTENCY_ABANDON_AFTER = dt.timedelta(seconds=60)


def api_blueprint(name: str) -> Blueprint:
    bp = Blueprint(name, __name__, url_prefix=API_PREFIX)
    csrf.exempt(bp)  # bearer tokens are never sent by browsers on their own: no CSRF surface
    limiter.limit(lambda: current_app.config["VOUCH_API_RATE_LIMIT"], key_func=_token_or_ip)(bp)
    return bp


def _token_or_ip() -> str:
    header = request.headers.get("Authorization", "")
    return "tok:" + hashlib.sha256(header.encode()).hexdigest()[:16] if header else request.remote_addr or "?"


def api_error(status: int, code: str, message: str, fields: dict | None = None, **extra: Any) -> Response:
    response = jsonify(error_body(code, message, fields, **extra))
    response.status_code = status
    return response


def current_api_user() -> User | None:
    if "api_user" not in g:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        g.api_user = (
            tokens.user_for_api_token(token.strip())
            if scheme.lower() == "bearer" and 20 <= len(token.strip()) <= 200
            else None
        )
    return g.api_user


def json_body() -> dict:
    """The request body as a JSON object, or 422. Deeply nested documents (which would exhaust
    the parser's recursion) and text no database column can store are refused too."""
    try:
        data = request.get_json(force=True, silent=True) if request.get_data(cache=True) else {}
    except RecursionError:
        data = None
    if not isinstance(data, dict):
        raise VouchErrorBody()
    if not storable_text(data):
        raise VouchErrorBody("Text may not contain NUL characters or unpaired surrogates.")
    return data


def storable_text(data: Any) -> bool:
    """False when any string (key or value) holds NUL or a lone surrogate: PostgreSQL refuses
    NUL in text, and neither database can encode a surrogate. Iterative, so depth is no risk."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            if "\x00" in item:
                return False
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return False
    return True


class VouchErrorBody(VouchError):
    """The body must be a JSON object."""

    code = "invalid"
    status = 422


def page_args() -> tuple[int, int]:
    f = Fields(request.args)
    page = f.int("page", minimum=1, maximum=1_000_000, default=1)
    per_page = f.int("per_page", minimum=1, maximum=200, default=50)
    f.done()
    return page, per_page


def paginated(items: list, page: int, per_page: int, total: int) -> dict:
    return {"items": items, "page": page, "per_page": per_page, "total": total}


def endpoint(
    blueprint: Blueprint,
    rule: str,
    method: str = "GET",
    *,
    roles: Iterable[Role | str],
    summary: str,
    status: int = 200,
    body: dict | None = None,
    query: dict | None = None,
    idempotent: bool = False,
    tag: str = "hub",
) -> Callable:
    """Register a JSON route: authenticate, check the role, run, commit once, answer JSON.

    The function receives `user` (and `data` when `body` is given) plus URL values, and
    returns a JSON-able payload (or (payload, status)). Domain errors become the api.md
    error shape; serialization failures and lock contention are retried, then 503.
    """
    allowed = frozenset(Role(r) for r in roles)

    def decorator(fn: Callable) -> Callable:
        @wraps(fn)
        def view(**kwargs: Any) -> Response:
            user = current_api_user()
            if user is None:
                return api_error(401, "unauthorized", "Send a valid token: Authorization: Bearer <token>.")
            if user.role not in allowed:
                return api_error(403, "forbidden", "Your role may not do this.")
            if body is not None:
                try:
                    kwargs["data"] = json_body()
                except VouchError as exc:
                    return vouch_error_response(exc)
            key = request.headers.get("Idempotency-Key") if idempotent else None
            if key:
                return _idempotent_call(fn, user, key, kwargs)
            return _call(fn, user, kwargs)

        view.allowed_roles = allowed  # type: ignore[attr-defined]
        own_transaction(view)  # its units run through in_transaction below (the key is claimed first)
        blueprint.add_url_rule(rule, endpoint=fn.__name__, view_func=view, methods=[method])
        OPENAPI_OPERATIONS.append(
            {
                "path": API_PREFIX + rule,
                "method": method.lower(),
                "summary": summary,
                "roles": sorted(allowed),
                "status": status,
                "body": body,
                "query": query or {},
                "idempotent": idempotent,
                "tag": tag,
                "operation_id": f"{blueprint.name}.{fn.__name__}",
            }
        )
        return view

    return decorator


def _json_response(result: Any) -> Response:
    payload, code = result if isinstance(result, tuple) else (result, 200)
    response = jsonify(payload)
    response.status_code = code
    return response


def _call(fn: Callable, user: User, kwargs: dict) -> Response:
    try:
        return in_transaction(lambda: _json_response(fn(user=user, **kwargs)))
    except VouchError as exc:
        return vouch_error_response(exc)
    except Exception as exc:
        if is_transient_db_error(exc):
            return _busy()
        raise


def _busy() -> Response:
    response = api_error(503, "busy", "The server is busy with other writes; please retry.")
    response.headers["Retry-After"] = "1"
    return response


def _fingerprint() -> str:
    raw = request.get_data(cache=True) or b""
    try:
        canonical = json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":")).encode() if raw else b""
    except (ValueError, RecursionError):
        canonical = raw
    return hashlib.sha256(request.method.encode() + request.path.encode() + b"\n" + canonical).hexdigest()


def _idempotent_call(fn: Callable, user: User, key: str, kwargs: dict) -> Response:
    """Claim the key in its own transaction, then run; the response is stored in the same
    commit as the effects, so a replay is exact and a crash leaves nothing half-done."""
    if len(key) > 255:
        return api_error(
            422,
            "invalid",
            "Idempotency-Key is at most 255 characters.",
            {"Idempotency-Key": ["At most 255 characters."]},
        )
    fingerprint = _fingerprint()
    user_id = user.id
    claimed = _claim_key(user_id, key, fingerprint)
    if isinstance(claimed, Response):
        return claimed

    def run_and_record() -> Response:
        try:
            response = _json_response(fn(user=db.session.get(User, user_id), **kwargs))
        except VouchError as exc:
            db.session.rollback()
            response = current_app.make_response(vouch_error_response(exc))
        row = db.session.get(IdempotencyKey, claimed)
        row.response_status = response.status_code
        row.response_body = response.get_data(as_text=True)
        row.completed_at = utcnow()
        return response

    try:
        return in_transaction(run_and_record)
    except Exception as exc:
        db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.id == claimed))
        db.session.commit()
        if is_transient_db_error(exc):
            return _busy()
        raise


def _claim_key(user_id: int, key: str, fingerprint: str) -> int | Response:
    stale_before = utcnow() - IDEMPOTENCY_ABANDON_AFTER
    # An in-flight claim older than the abandon window belongs to a crashed request whose
    # transaction rolled back (effects and response commit together), so it can be reclaimed.
    db.session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.user_id == user_id,
            IdempotencyKey.key == key,
            IdempotencyKey.response_status.is_(None),
            IdempotencyKey.created_at < stale_before,
        )
    )
    try:
        row = IdempotencyKey(user_id=user_id, key=key, request_fingerprint=fingerprint)
        db.session.add(row)
        db.session.commit()
        return row.id
    except IntegrityError:
        db.session.rollback()
    existing = db.session.scalar(
        select(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
    )
    if existing is None:
        return _busy()
    if existing.request_fingerprint != fingerprint:
        return api_error(422, "idempotency_key_reused", "This Idempotency-Key was used with a different request.")
    if existing.response_status is None:
        return api_error(
            409, "idempotency_in_progress", "A request with this Idempotency-Key is still being processed."
        )
    response = Response(existing.response_body, status=existing.response_status, mimetype="application/json")
    response.headers["Idempotent-Replayed"] = "true"
    return response
