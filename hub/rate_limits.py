"""Flask-Limiter with the JSON API's limit resolved once per app and route (issue 22).

Flask-Limiter works out a request's limits on every request: the exemption scopes of the route
and its blueprint, the blueprint's limit string (the API's is a callable reading
`VOUCH_API_RATE_LIMIT`, since one process builds apps with different limits) parsed again, new
`RuntimeLimit` objects, meta limits. For a warm API read that was ~14 % of its CPU. The answer
only changes with the app's routes (fixed once the app is built) and the limit string, so
`VouchLimiter` keeps it per app and endpoint, under the string it was resolved for, for the
blueprints registered with `per_app_limit` (the `/api/v1` ones, hub.endpoints).

What is counted, where and when a request is refused are Flask-Limiter's own: the limits come
from its resolution (`LimitManager.resolve_limits`, run once), and the hit, the keys, the
`RequestLimit` kept for the 429's `Retry-After` (hub.errors) and the `RateLimitExceeded` raised
are made as its `__evaluate_limits` makes them. Anything this path does not handle — storage
down (the in-memory fallback), request filters, meta limits, a route with its own decorated
limit — goes through Flask-Limiter's own check unchanged (tests/hub/test_rate_limit_kept.py
compares the two).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import flask
from flask import Blueprint, current_app, request
from flask.globals import request_ctx
from flask_limiter import Limiter, RateLimitExceeded, RequestLimit
from flask_limiter._extension import LimiterContext
from flask_limiter._limits import RuntimeLimit
from flask_limiter.util import get_qualified_name

# The one scope of every `per_app_limit` route: a caller's requests to any of them share one count
# (api.md, VOUCH_API_RATE_LIMIT: "requests per API token (or IP)").
API_SCOPE = "api"

# app.extensions key of the per-app resolutions.
_KEPT = "vouch_rate_limits"

# Flask-Limiter's own after-request and teardown hooks (private: name-mangled), which `init_app`
# replaces on each app and the after-request one still runs when there is something to do.
_INJECT_HEADERS: Callable[..., flask.Response] = getattr(Limiter, "_Limiter__inject_headers")  # noqa: B009
_RELEASE_CONTEXT: Callable[..., None] = getattr(Limiter, "_Limiter__release_context")  # noqa: B009


@dataclass(frozen=True, slots=True)
class _Resolved:
    """One route's limits as Flask-Limiter resolved them, for the limit string `provided` and
    the limiter's application and default limit lists then (the one Limiter is shared by every
    app of the process; a later app's `init_app` replaces those lists). `limits` is None when
    the route needs Flask-Limiter's own check (see the module docstring)."""

    provided: str
    application: object
    defaults: object
    limits: tuple[RuntimeLimit, ...] | None


class VouchLimiter(Limiter):
    """Flask-Limiter whose before-request check resolves a `per_app_limit` blueprint's limits once
    per app and endpoint (the module docstring says why and what is unchanged)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._per_app: dict[str, str] = {}  # blueprint name → the config key of its limit string

    def per_app_limit(self, blueprint: Blueprint, config_key: str, key_func: Callable[[], str]) -> None:
        """Limit every route of `blueprint` by the limit string in the app's `config_key`
        (`"600/minute"`, `"10/second;600/minute"`: limits' notation), counted per `key_func()`
        over every such route together (one scope, `API_SCOPE`), as
        `limiter.shared_limit(lambda: config[config_key], API_SCOPE, key_func=…)(blueprint)` counts —
        which is what it registers, for Flask-Limiter's own check to use when it runs."""
        self.shared_limit(lambda: current_app.config[config_key], scope=API_SCOPE, key_func=key_func)(blueprint)
        self._per_app[blueprint.name] = config_key

    def init_app(self, app: flask.Flask) -> None:
        """Flask-Limiter's `init_app`, with its after-request and teardown hooks replaced by
        ones that look the request's limiter state up once and leave at once when there is
        nothing to do (no rate-limit headers configured, no deduction pending): its own looked
        it up three times per request, creating it when missing. A request with something to
        do runs Flask-Limiter's own hook."""
        super().init_app(app)
        hooks = app.after_request_funcs.get(None, [])
        for n, hook in enumerate(hooks):
            if isinstance(hook, partial) and hook.func is _INJECT_HEADERS and hook.args == (self,):
                hooks[n] = self._after_request
        teardowns = app.teardown_request_funcs.get(None, [])
        for n, hook in enumerate(teardowns):
            if getattr(hook, "__func__", None) is _RELEASE_CONTEXT and getattr(hook, "__self__", None) is self:
                teardowns[n] = self._release_state

    def _request_state(self) -> LimiterContext | None:
        """This limiter's state for the current request (Flask-Limiter's `context`), or None
        when the request has none yet — without creating one."""
        states = getattr(request_ctx._get_current_object(), "_limiter_request_context", None)  # type: ignore[attr-defined]
        return states.get(self) if states is not None else None

    def _after_request(self, response: flask.Response) -> flask.Response:
        state = self._request_state()
        if state is None or (not state.conditional_deductions and not self._headers_enabled):
            return response
        return _INJECT_HEADERS(self, response)

    def _release_state(self, _exc: BaseException | None = None) -> None:
        state = self._request_state()
        if state is not None:
            state.reset()

    def _check_request_limit(self, callable_name: str | None = None, in_middleware: bool = True) -> None:
        """The before-request check (and, with a `callable_name`, a decorated view's): for a
        `per_app_limit` route, the kept limits; otherwise Flask-Limiter's own."""
        endpoint = self.identify_request() if in_middleware and callable_name is None else ""
        limits = self._kept_limits(endpoint) if endpoint else None
        if limits is None:
            super()._check_request_limit(callable_name, in_middleware)
            return
        try:
            self._evaluate(endpoint, limits)
        except RateLimitExceeded:
            raise
        except Exception:
            # Flask-Limiter's own handling of a storage error: fall back to memory and check again.
            if self._in_memory_fallback_enabled and not self._storage_dead:
                self.logger.warning("Rate limit storage unreachable - falling back to in-memory storage")
                self._storage_dead = True
                self.context.seen_limits.clear()
                super()._check_request_limit(callable_name, in_middleware)
            elif self._swallow_errors:
                self.logger.exception("Failed to rate limit. Swallowing error")
            else:
                raise

    def _kept_limits(self, endpoint: str) -> tuple[RuntimeLimit, ...] | None:
        """The limits of this request (identified as `endpoint`) when the kept path applies,
        else None: Flask-Limiter's own check then runs."""
        config_key = self._per_app.get(request.blueprint or "")
        if (
            config_key is None
            or endpoint.split(".")[-1] == "static"
            or not (self.enabled and self.initialized)
            or self._storage_dead
            or self._request_filters
            or self._meta_limits
            or self._on_breach
            or self.limit_manager.has_hints(endpoint)
        ):
            return None
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        provided = app.config[config_key]
        kept: dict[str, _Resolved] = app.extensions.setdefault(_KEPT, {})
        found = kept.get(endpoint)
        manager = self.limit_manager
        if (
            found is None
            or found.provided != provided
            or found.application is not manager._application_limits
            or found.defaults is not manager._default_limits
        ):
            found = kept[endpoint] = self._resolve(app, endpoint, provided)
        return found.limits

    def _resolve(self, app: flask.Flask, endpoint: str, provided: str) -> _Resolved:
        """Flask-Limiter's resolution for `endpoint` (as its before-request check asks for it);
        None as the limits when any of them needs more than the kept evaluation handles."""
        view = app.view_functions.get(endpoint)
        name = get_qualified_name(view) if view else ""
        manager = self.limit_manager
        application, default = manager._application_limits, manager._default_limits
        if name in self._marked_for_limiting:
            return _Resolved(provided, application, default, None)
        defaults, decorated = manager.resolve_limits(
            app, endpoint, request.blueprint, name, in_middleware=True, marked_for_limiting=False
        )
        # Default limits are shared with a decorated view's own check (Flask-Limiter's
        # `seen_limits`), meta limits and breach callbacks need its full evaluation.
        if defaults or any(limit.meta_limits or limit.on_breach for limit in decorated):
            return _Resolved(provided, application, default, None)
        return _Resolved(provided, application, default, tuple(decorated))

    def _evaluate(self, endpoint: str, limits: tuple[RuntimeLimit, ...]) -> None:
        """Flask-Limiter's `__evaluate_limits` for limits without meta limits or breach
        callbacks: hit each (or test it, when it deducts on the response), keep the
        `RequestLimit`s for the response's hooks and the 429 (hub.errors), raise
        RateLimitExceeded at the first breach (or, configured so, after all)."""
        context = self.context
        failed: list[tuple[RuntimeLimit, list[str]]] = []
        limit_for_header: RequestLimit | None = None
        view_limits: list[RequestLimit] = []
        for lim in sorted(limits, key=lambda x: x.limit) if len(limits) > 1 else limits:
            if lim.is_exempt or lim.method_exempt:
                continue
            scope = lim.scope_for(endpoint, request.method)
            key = lim.key_func()
            args = [key, scope]
            if not all(args):
                self.logger.error(f"Skipping limit: {lim.limit}. Empty value found in parameters.")
                continue
            if self._key_prefix:
                args = [self._key_prefix, *args]
            if lim.deduct_when:
                context.conditional_deductions[lim] = args
                method = self.limiter.test
            else:
                method = self.limiter.hit
            request_limit = RequestLimit(self, lim.limit, args, False, lim.shared)
            view_limits.append(request_limit)
            if not method(lim.limit, *args, cost=lim.deduction_amount):
                self.logger.info("ratelimit %s (%s) exceeded at endpoint: %s", lim.limit, key, scope)
                failed.append((lim, args))
                request_limit.breached = True
                limit_for_header = request_limit
                if self._fail_on_first_breach:
                    break
        if not limit_for_header and view_limits:
            explicit = [limit for limit in view_limits if not limit.shared]
            limit_for_header = explicit[0] if explicit else view_limits[0]
        context.view_rate_limit = limit_for_header or None
        context.view_rate_limits = view_limits
        if failed:
            raise RateLimitExceeded(sorted(failed, key=lambda x: x[0].limit)[0][0])
