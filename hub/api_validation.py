"""spectree's Flask plugin with a request's query string validated once, and no header or cookie
dicts built for routes that declare no model for them (issue 22).

spectree's own `request_validation` copies every request's headers and cookies into dicts
before it knows whether the route has a header or cookie model (most API routes have neither;
the idempotent writes have a header model), and validates the query string even when a planner
(hub.redis_stamps: the Redis read made with the rate limit) already validated it through the
same model: ~11 % and ~5 % of a warm leaderboard read's CPU. `VouchFlaskPlugin` builds each dict
only when its model is there and takes the query through `validated_query`, which validates
once per request, model and query string. The inputs validated and the context the route reads
(`request.context`) are spectree's own.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import request
from pydantic import BaseModel, ValidationError
from spectree.plugins.base import Context
from spectree.plugins.flask_plugin import FlaskPlugin
from spectree.utils import get_multidict_items

Q = TypeVar("Q", bound=BaseModel)

# request → (its query string as validated, the model, the instance or the ValidationError).
_queries: weakref.WeakKeyDictionary[Any, tuple[Any, type, Any]] = weakref.WeakKeyDictionary()


def validated_query(model: type[Q]) -> Q:
    """The request's query string validated through `model` as spectree validates it (a
    parameter given twice is a list; the model decides), once per request: a second call with
    the same model and query string returns the same instance, or raises the same
    pydantic ValidationError again."""
    current = request._get_current_object()  # type: ignore[attr-defined]
    args = current.args
    kept = _queries.get(current)
    if kept is not None and kept[0] is args and kept[1] is model:
        outcome = kept[2]
    else:
        try:
            outcome = model.model_validate(get_multidict_items(args, model))
        except ValidationError as error:
            outcome = error
        _queries[current] = (args, model, outcome)
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


@dataclass(frozen=True, slots=True)
class WrittenReply:
    """A reply a route has already written as its model writes it: `body` is byte for byte
    `model.model_dump_json()` of the reply it stands for (the route answers for that, and tests
    it). Sent as it is, with its status; `model` must be the status's reply model (a route that
    keeps its reply's bytes, e.g. rewards.api.leaderboard_json; issue 22)."""

    model: type[BaseModel]
    body: bytes


class VouchFlaskPlugin(FlaskPlugin):
    """spectree's Flask plugin; `request_validation` as spectree's, the dicts built only for the
    models declared, the query through `validated_query`; `validate_response` writes a reply
    that is already an instance of its status's model straight to JSON, and a `WrittenReply` of
    that model as it is."""

    def validate_response(
        self, resp: Any, resp_model: Any, skip_validation: bool, force_resp_serialize: bool
    ) -> tuple[Any, Exception | None]:
        """A route's reply as spectree writes it. spectree does not validate an instance of the
        status's own model again — it dumps it and wraps the bytes through Flask's
        `make_response` with the status; that case (a model instance, or one with a status) is
        written here directly, byte for byte the same. Anything else is spectree's."""
        payload, status = resp, 200
        if isinstance(resp, tuple):
            if len(resp) != 2 or not isinstance(resp[1], int):
                return super().validate_response(resp, resp_model, skip_validation, force_resp_serialize)
            payload, status = resp
        model = resp_model.find_model(status) if resp_model is not None and not skip_validation else None
        if isinstance(payload, WrittenReply):
            if model is not None and payload.model is not model:
                raise TypeError(f"a {payload.model.__name__} written for a {model.__name__} reply")
            body = payload.body
        elif model is None or not isinstance(payload, BaseModel) or not isinstance(payload, model):
            return super().validate_response(resp, resp_model, skip_validation, force_resp_serialize)
        else:
            body = payload.model_dump_json().encode("utf-8")
        response = self.get_current_app().response_class(body, mimetype="application/json")
        response.status_code = status
        return response, None

    def request_validation(self, request: Any, query: Any, json: Any, form: Any, headers: Any, cookies: Any) -> None:
        has_data = request.method not in ("GET", "DELETE")
        use_json = json and has_data and request.mimetype not in self.FORM_MIMETYPE
        use_form = form and has_data and request.mimetype in self.FORM_MIMETYPE
        request.context = Context(
            validated_query(query) if query else None,
            self.model_adapter.validate_obj(json, request.get_json(silent=True) or {}) if use_json else None,
            self.model_adapter.validate_obj(form, self.fill_form(request)) if use_form else None,
            self.model_adapter.validate_obj(headers, dict(iter(request.headers))) if headers else None,
            self.model_adapter.validate_obj(cookies, get_multidict_items(request.cookies)) if cookies else None,
        )
