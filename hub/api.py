"""JSON API machinery (bearer auth, role gate, pagination, idempotency, OpenAPI) and hub routes."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import random
import time
from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request
from sqlalchemy import delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from hub import accounts, tokens
from hub.db import utcnow
from hub.errors import NotFound, VouchError, error_body, is_transient_db_error, vouch_error_response
from hub.extensions import csrf, db, limiter
from hub.hooks import hooks
from hub.models import ALL_ROLES, STAFF_ROLES, Advocate, Group, IdempotencyKey, Role, User, advocate_groups
from hub.validation import Fields, iso

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
OPENAPI_OPERATIONS: list[dict[str, Any]] = []
IDEMPOTENCY_ABANDON_AFTER = dt.timedelta(seconds=60)
TRANSIENT_RETRIES = 4


def api_blueprint(name: str) -> Blueprint:
    bp = Blueprint(name, __name__, url_prefix=API_PREFIX)
    csrf.exempt(bp)  # bearer tokens are never sent by browsers on their own: no CSRF surface
    limiter.limit(lambda: current_app.config["VOUCH_API_RATE_LIMIT"], key_func=_token_or_ip)(bp)
    return bp


def _token_or_ip() -> str:
    header = request.headers.get("Authorization", "")
    return "tok:" + hashlib.sha256(header.encode()).hexdigest()[:16] if header else request.remote_addr or "?"


bp = api_blueprint("api")


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


def in_transaction(work: Callable[[], Any]) -> Any:
    """Run `work()` and commit, as one unit: a transient database error (serialization
    failure, deadlock, SQLite lock) anywhere in it — the commit included — rolls back and
    runs the unit again, a bounded number of times, then propagates."""
    for attempt in range(TRANSIENT_RETRIES):
        try:
            result = work()
            db.session.commit()
            return result
        except Exception as exc:
            db.session.rollback()
            if not is_transient_db_error(exc) or attempt == TRANSIENT_RETRIES - 1:
                raise
            time.sleep(0.02 * (2**attempt) + random.random() * 0.02)
    raise AssertionError("unreachable")


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


# --- serializers ---------------------------------------------------------------------------


def advocate_json(advocate: Advocate, facts: dict | None = None) -> dict:
    """The api.md advocate object. Lists pass the `facts` (hub.hooks) fetched for the whole page."""
    facts = facts if facts is not None else hooks().advocate_facts([advocate.id])[advocate.id]
    return {
        "id": advocate.id,
        "user_id": advocate.user_id,
        "name": advocate.user.name,
        "email": advocate.user.email,
        "title": advocate.title,
        "company": advocate.company,
        "industry": advocate.industry,
        "company_size": advocate.company_size,
        "region": advocate.region,
        "groups": sorted(g.name for g in advocate.groups),
        "tier": str(advocate.tier),
        "lifetime_points": advocate.lifetime_points,
        "balance": advocate.balance,
        "badges": facts.get("badges", []),
        "asks_last_365": facts.get("asks_last_365", 0),
        "burnout": facts.get("burnout", "healthy"),
        "joined_at": iso(advocate.joined_at),
        "last_activity_at": iso(advocate.last_activity_at),
    }


def advocate_for(user: User, advocate_id: int) -> Advocate:
    """The advocate if `user` may see it (staff, or the advocate themself); else 404."""
    advocate = db.session.get(Advocate, advocate_id)
    if advocate is None or advocate.is_erased:
        raise NotFound("Advocate not found.")
    if user.role in STAFF_ROLES or advocate.user_id == user.id:
        return advocate
    raise NotFound("Advocate not found.")


ADVOCATE_BODY = {
    "type": "object",
    "required": ["email", "name"],
    "properties": {
        "email": {"type": "string", "format": "email", "maxLength": 254},
        "name": {"type": "string", "maxLength": 120},
        "title": {"type": "string", "maxLength": 120},
        "company": {"type": "string", "maxLength": 160},
        "industry": {"type": "string", "maxLength": 80},
        "company_size": {"type": "string", "enum": ["1-50", "51-200", "201-1000", "1001-5000", "5000+"]},
        "region": {"type": "string", "maxLength": 80},
        "groups": {"type": "array", "items": {"type": "string", "maxLength": 80}},
    },
}


@endpoint(bp, "/me", roles=ALL_ROLES, summary="The caller, with their advocate profile")
def me(user: User) -> dict:
    payload = {"id": user.id, "email": user.email, "name": user.name, "role": str(user.role)}
    if user.role is Role.ADVOCATE and user.advocate is not None:
        payload["advocate"] = advocate_json(user.advocate)
    return payload


@endpoint(
    bp,
    "/advocates",
    "POST",
    roles=STAFF_ROLES,
    summary="Create an advocate",
    status=201,
    body=ADVOCATE_BODY,
    idempotent=True,
)
def create_advocate(user: User, data: dict) -> tuple[dict, int]:
    profile = accounts.clean_profile(data)
    advocate = accounts.create_advocate(profile, user.id)
    return advocate_json(advocate), 201


@endpoint(
    bp,
    "/advocates",
    roles=STAFF_ROLES,
    summary="List advocates",
    query={"tier": "string", "group": "string", "q": "string", "page": "integer", "per_page": "integer"},
)
def list_advocates(user: User) -> dict:
    page, per_page = page_args()
    f = Fields(request.args)
    tier = f.choice("tier", ["bronze", "silver", "gold"])
    group = f.str("group", max_length=80)
    q = f.str("q", max_length=100)
    f.done()
    query = select(Advocate).join(User, User.id == Advocate.user_id).where(Advocate.is_erased.is_(False))
    if tier:
        query = query.where(Advocate.tier == tier)
    if group:
        query = (
            query.join(advocate_groups, advocate_groups.c.advocate_id == Advocate.id)
            .join(Group, Group.id == advocate_groups.c.group_id)
            .where(func.lower(Group.name) == group.lower())
        )
    if q:
        like = f"%{q.lower()}%"
        query = query.where(
            or_(
                func.lower(User.name).like(like),
                func.lower(User.email).like(like),
                func.lower(Advocate.company).like(like),
            )
        )
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    advocates = db.session.scalars(
        query.options(selectinload(Advocate.user), selectinload(Advocate.groups))
        .order_by(Advocate.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    facts = hooks().advocate_facts([a.id for a in advocates])
    return paginated([advocate_json(a, facts[a.id]) for a in advocates], page, per_page, total)


@endpoint(bp, "/advocates/<int:advocate_id>", roles=ALL_ROLES - {Role.SALES}, summary="One advocate")
def get_advocate(user: User, advocate_id: int) -> dict:
    return advocate_json(advocate_for(user, advocate_id))
