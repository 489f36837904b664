"""The JSON API's machinery, for every package's api.py: the `/api/v1` blueprint factory, bearer
authentication and the role gate (`endpoint`), request validation and replies through the
contract models (spectree over pydantic, which also writes `/api/v1/openapi.json`), the retry of
transient database errors, and `Idempotency-Key` replay."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request
from pydantic import BaseModel, Field, ValidationError
from spectree import Response as Replies
from spectree import SecurityScheme, SecuritySchemeData, SpecTree
from spectree.models import SecureType, Server
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from hub import tokens
from hub.api_validation import VouchFlaskPlugin
from hub.contracts import Body, ErrorReply, Query, UploadForm
from hub.db import utcnow
from hub.errors import ValidationFailed, VouchError, error_body, is_transient_db_error, vouch_error_response
from hub.extensions import csrf, db, limiter
from hub.fields import field_errors, read
from hub.models import IdempotencyKey, Role, User
from hub.redis_stamps import ReadPlanner
from hub.transactions import in_transaction, own_transaction, retry_dropped
from hub.uploads import sandboxed

log = logging.getLogger(__name__)


API_PREFIX = "/api/v1"


IDEMPOTENCY_ABANDON_AFTER = dt.timedelta(seconds=60)


def api_blueprint(name: str) -> Blueprint:
    bp = Blueprint(name, __name__, url_prefix=API_PREFIX)
    csrf.exempt(bp)  # bearer tokens are never sent by browsers on their own: no CSRF surface
    # Per token (or address) over every API route; resolved once per app and route (hub.rate_limits).
    limiter.per_app_limit(bp, "VOUCH_API_RATE_LIMIT", _token_or_ip)
    bp.after_request(_not_stored)
    return bp


def _not_stored(response: Response) -> Response:
    """API replies carry people's data and are the caller's alone: no cache keeps them
    (`Cache-Control: no-store`, unless a route set its own)."""
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def _token_or_ip() -> str:
    """The API rate limit's key: the caller's token when it is one (however the Authorization
    header spells the scheme and spaces), else the client's address — so a token cannot dodge
    its limit by a second spelling, and made-up tokens share their sender's limit. A token this
    process keeps needs no I/O (tokens.kept_caller); any other is resolved here once for the
    request (`current_api_user`, kept on `g` for the route)."""
    token = _bearer_token()
    if token is not None and (tokens.kept_caller(token) is not None or current_api_user() is not None):
        return "tok:" + hashlib.sha256(token.encode()).hexdigest()[:16]
    return request.remote_addr or "?"


def api_error(status: int, code: str, message: str, fields: dict | None = None, **extra: Any) -> Response:
    response = jsonify(error_body(code, message, fields, **extra))
    response.status_code = status
    return response


def _bearer_token() -> str | None:
    """The request's bearer token, or None when the Authorization header holds none of a
    plausible length (20–200 characters)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and 20 <= len(token) <= 200 else None


def current_api_user() -> User | None:
    if "api_user" not in g:
        token = _bearer_token()
        # The request's first statement: a pooled connection found dropped is retried here.
        g.api_user = retry_dropped(lambda: tokens.user_for_api_token(token)) if token else None
    return g.api_user


def kept_api_caller() -> tokens.Caller | None:
    """The caller this process keeps for the request's bearer token (hub.tokens.kept_caller):
    no I/O, possibly stale — for planning a route's Redis read before the rate limit, never for
    deciding who may do what."""
    token = _bearer_token()
    return tokens.kept_caller(token) if token else None


def current_api_caller() -> tokens.Caller | None:
    """The request's caller from the per-process cache (hub.tokens.caller_for_api_token), for
    routes registered with `caller=True`; None without a valid token."""
    if "api_caller" not in g:
        token = _bearer_token()
        g.api_caller = retry_dropped(lambda: tokens.caller_for_api_token(token)) if token else None
    return g.api_caller


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
        message = "Text may not contain NUL characters or unpaired surrogates."
        bad = [key for key, value in data.items() if not storable_text(key) or not storable_text(value)]
        raise ValidationFailed({str(key) if storable_text(key) else "body": message for key in bad})
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


class ReplyMismatch(RuntimeError):
    """A route wrote a reply its contract does not describe (a bug, answered with 500)."""


def _refuse_invalid(req: Any, resp: Any, error: Exception | None, instance: Any, adapter: Any) -> None:
    """spectree's hook after validating the request: a pydantic error becomes the api.md 422."""
    if isinstance(error, ValidationError):
        raise ValidationFailed(field_errors(error))


def _refuse_wrong_reply(req: Any, resp: Any, error: Exception | None, instance: Any, adapter: Any) -> None:
    if error is not None:
        raise ReplyMismatch(f"{req.method} {req.path}: the reply does not match its model") from error


api_spec = SpecTree(
    "flask",
    backend=VouchFlaskPlugin,  # spectree's, without the unused header/cookie dicts (hub.api_validation)
    mode="strict",  # only the routes registered through `endpoint`
    title="Vouch API",
    version="1",
    description="api.md: bearer tokens, JSON in and out, errors as {error: {code, message, fields?}}.",
    servers=[Server(url="/")],
    security_schemes=[SecurityScheme(name="bearer", data=SecuritySchemeData(type=SecureType.HTTP, scheme="bearer"))],
    security={"bearer": []},
    naming_strategy=lambda model: _schema_name(model.__name__),
    nested_naming_strategy=lambda parent, child: _schema_name(child),
    validation_error_model=ErrorReply,
    before=_refuse_invalid,
    after=_refuse_wrong_reply,
)


def _schema_name(name: str) -> str:
    """Component names OpenAPI accepts (`Page[AdvocateReply]` → `Page_AdvocateReply`)."""
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name).strip("_")


ERROR_REPLIES = {
    401: "No or invalid token",
    403: "Wrong role",
    404: "Not found",
    409: "Refused by a business rule",
    422: "Invalid input (fields names each field's problem)",
    429: "Too many requests (Retry-After)",
    503: "Busy with other writes (Retry-After)",
}


class IdempotencyHeaders(BaseModel):
    """The header of writes a client may retry: the same key and body replay the first reply."""

    idempotency_key: str | None = Field(None, alias="Idempotency-Key", max_length=255)


def endpoint(
    blueprint: Blueprint,
    rule: str,
    method: str = "GET",
    *,
    roles: Iterable[Role | str],
    summary: str,
    reply: type[BaseModel],
    status: int | tuple[int, ...] = 200,
    body: type[Body] | None = None,
    query: type[Query] | None = None,
    idempotent: bool = False,
    tag: str = "hub",
    csv: Callable[..., Response] | None = None,
    form: type[UploadForm] | None = None,
    upload: str | None = None,
    download: Callable[..., Response] | None = None,
    caller: bool = False,
    redis_read: ReadPlanner | None = None,
) -> Callable:
    """Register a JSON route: authenticate, check the role, validate the body and query string
    against their models, run, commit once, and write the reply through its model.

    The function receives `user` and the URL values, plus `data` (a `body` instance) when `body`
    is given and `args` (a `query` instance) when `query` is; it returns a `reply` instance, or
    (reply, status) for a status in `status`. Invalid input is 422 `invalid` with `fields`;
    domain errors become the api.md error shape; serialization failures and lock contention are
    retried, then 503. The document lists the route with its models and the roles allowed.

    `csv`: the same route answers `?format=csv` with `csv(user=…, args=…, **url values)` — a
    text/csv Response, past the JSON reply model (its query model must accept `format`).
    `download`: likewise for `?format=file`, a file Response (hub.uploads.file_response).

    `caller`: the function's `user` is a hub.tokens.Caller (id, role, advocate id) kept per
    process and checked against the callers' stamp, not a User loaded from the database: a
    route that needs no more than who is calling then costs no SQL for the token (issue 22).
    A write may take one too (its service reads and locks the rows it needs itself); with
    `idempotent`, the key is claimed for the caller's user id.

    `redis_read`: plans the Redis read the route will make (hub.redis_stamps.RedisRead, from
    the request alone, no I/O): the rate limit's script call makes it too, and the route's own
    read takes that answer instead of a round trip of its own (issue 22).

    `form` and `upload`: the route also takes `multipart/form-data` — its text fields read
    through `form` (an UploadForm, whose `as_body()` is the `data` the function receives) and
    the files sent in the field named `upload`, passed as `files` (werkzeug FileStorage list;
    empty for a JSON body). Such a route allows a request as large as an upload
    (hub.uploads.accepts_upload), and a larger one is that field's 422.
    """
    allowed = frozenset(Role(r) for r in roles)
    if caller and (csv or download):
        raise ValueError(f"{rule}: a route given a Caller has no CSV or file variant")
    statuses = (status,) if isinstance(status, int) else status
    replies: dict[str, Any] = {f"HTTP_{code}": reply for code in statuses}
    replies |= {f"HTTP_{code}": (ErrorReply, text) for code, text in ERROR_REPLIES.items()}

    def decorator(fn: Callable) -> Callable:
        def run(**kwargs: Any) -> Any:
            context = getattr(request, "context", None)
            if form is not None and is_multipart():
                parsed_form = getattr(context, "form", None) or read(form, request.form)
                kwargs["data"] = parsed_form.as_body()
            elif body is not None:
                parsed = getattr(context, "json", None)
                # spectree reads JSON bodies sent as JSON; one sent with another type is read here.
                kwargs["data"] = parsed if parsed is not None else read(body, json_body())
            if upload is not None:
                kwargs["files"] = request.files.getlist(upload) if is_multipart() else []
            if query is not None:
                kwargs["args"] = context.query if context is not None else read(query, request.args)
            return fn(**kwargs)

        run.__name__ = fn.__name__
        run.__doc__ = f"{summary}\n\nRoles: {', '.join(sorted(allowed))}."
        checked = api_spec.validate(
            json=body,
            form=form,
            query=query,
            headers=IdempotencyHeaders if idempotent else None,
            resp=Replies(**replies),
            tags=[tag],
            operation_id=f"{blueprint.name}.{fn.__name__}",
        )(run)

        @wraps(checked)
        def view(**kwargs: Any) -> Response:
            user = current_api_caller() if caller else current_api_user()
            if user is None:
                return api_error(401, "unauthorized", "Send a valid token: Authorization: Bearer <token>.")
            if user.role not in allowed:
                return api_error(403, "forbidden", "Your role may not do this.")
            if body is not None and not (form is not None and is_multipart()):
                try:
                    json_body()
                except VouchError as exc:
                    return vouch_error_response(exc)
            if csv is not None and request.args.get("format") == "csv":
                return _call(_csv_variant(csv, query), user, kwargs)
            if download is not None and request.args.get("format") == "file":
                return _call(_csv_variant(download, query), user, kwargs)
            key = request.headers.get("Idempotency-Key") if idempotent else None
            if key:
                return _idempotent_call(checked, user, key, kwargs)
            return _call(checked, user, kwargs)

        view.allowed_roles = allowed  # type: ignore[attr-defined]
        if redis_read is not None:
            view.redis_read = redis_read  # type: ignore[attr-defined]  # hub.redis_stamps._planned_read
        if upload is not None:
            view.upload_field = upload  # type: ignore[attr-defined]  # hub.uploads.accepts_upload
        if download is not None:
            sandboxed(view)
        own_transaction(view)  # its units run through in_transaction below (the key is claimed first)
        blueprint.add_url_rule(rule, endpoint=fn.__name__, view_func=view, methods=[method])
        return view

    return decorator


def is_multipart() -> bool:
    return request.mimetype == "multipart/form-data"


def _csv_variant(csv: Callable[..., Response], query: type[Query] | None) -> Callable[..., Response]:
    """The route's CSV answer: its query string read through the same model (422 when invalid)."""

    def run(**kwargs: Any) -> Response:
        if query is not None:
            kwargs["args"] = read(query, request.args)
        return csv(**kwargs)

    return run


def _json_response(result: Any) -> Response:
    if isinstance(result, Response):  # written by the route's reply model
        return result
    payload, code = result if isinstance(result, tuple) else (result, 200)
    response = jsonify(payload)
    response.status_code = code
    return response


def _call(fn: Callable, user: User | tokens.Caller, kwargs: dict) -> Response:
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
    if is_multipart():
        return _multipart_fingerprint()
    raw = request.get_data(cache=True) or b""
    try:
        canonical = json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":")).encode() if raw else b""
    except (ValueError, RecursionError):
        canonical = raw
    return hashlib.sha256(request.method.encode() + request.path.encode() + b"\n" + canonical).hexdigest()


def _multipart_fingerprint() -> str:
    """A form's fingerprint from its fields and its files' names and contents, not its bytes:
    a client's retry frames the same form with a new boundary."""
    digest = hashlib.sha256(request.method.encode() + request.path.encode() + b"\n")
    for name in sorted(request.form):
        for value in request.form.getlist(name):
            digest.update(json.dumps([name, value]).encode())
    for name in sorted(request.files):
        for storage in request.files.getlist(name):
            content = hashlib.sha256(storage.stream.read()).hexdigest()
            storage.stream.seek(0)
            digest.update(json.dumps([name, storage.filename, content]).encode())
    return digest.hexdigest()


def _idempotent_call(fn: Callable, user: User | tokens.Caller, key: str, kwargs: dict) -> Response:
    """Claim the key in its own transaction, then run; the response is stored in the same
    commit as the effects, so a replay is exact and a crash leaves nothing half-done. A User
    is loaded again after the claim's commit; a Caller is plain data and passed as it is."""
    if len(key) > 255:
        return api_error(
            422,
            "invalid",
            "Idempotency-Key is at most 255 characters.",
            {"Idempotency-Key": ["At most 255 characters."]},
        )
    fingerprint = _fingerprint()
    user_id = user.user_id if isinstance(user, tokens.Caller) else user.id
    claimed = _claim_key(user_id, key, fingerprint)
    if isinstance(claimed, Response):
        return claimed

    def run_and_record() -> Response:
        try:
            who = user if isinstance(user, tokens.Caller) else db.session.get_one(User, user_id)
            response = _json_response(fn(user=who, **kwargs))
        except VouchError as exc:
            db.session.rollback()
            response = current_app.make_response(vouch_error_response(exc))
        row = db.session.get_one(IdempotencyKey, claimed)
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
        # api.md: no new error codes — a key reused for another request is invalid input.
        return api_error(
            422,
            "invalid",
            "This Idempotency-Key was used with a different request.",
            {"Idempotency-Key": "Used before with a different request: send a new key."},
        )
    if existing.response_status is None:
        return api_error(409, "invalid_state", "A request with this Idempotency-Key is still being processed.")
    response = Response(existing.response_body, status=existing.response_status, mimetype="application/json")
    response.headers["Idempotent-Replayed"] = "true"
    return response
