"""flask-talisman with its per-view options and policy text worked out once, not per request.

Talisman's hooks (the HTTPS redirect, the nonce, the response headers) each look up the view's
options and fill in the defaults, and the Content-Security-Policy header is formatted from its
dict on every response: about 4 % of an API read's CPU (issue 22's leaderboard profile). The
options are fixed once the app is built (Talisman's constructor arguments and each view's
`talisman_view_options`, set when the view is defined), so `KeptTalisman` keeps them per view,
and the policy text per policy object. A request that carries a CSP nonce (none does unless
`content_security_policy_nonce_in` is set) has its policy formatted as Talisman does. The
headers written are Talisman's own, byte for byte (tests/hub/test_security.py).
"""

from __future__ import annotations

from typing import Any

from flask import current_app, redirect, request
from flask_talisman import Talisman
from werkzeug.datastructures import Headers

# The options a view may set for itself (`talisman_view_options`), each defaulting to the
# instance's own value of that name (flask-talisman's per-view options).
LOCAL_OPTIONS = (
    "force_https",
    "frame_options",
    "frame_options_allow_from",
    "content_security_policy",
    "content_security_policy_nonce_in",
    "permissions_policy",
    "document_policy",
    "feature_policy",
)


class KeptTalisman(Talisman):
    """Talisman, with `_get_local_options` kept per view function and `_parse_policy` per
    policy object (see the module docstring). Options are read when a view is first served:
    change them before that (as one does, at import), not afterwards."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._view_options: dict[Any, dict[str, Any]] = {}
        self._policy_text: dict[int, tuple[Any, str]] = {}
        # (view's options, whether HSTS applies) → the headers Talisman writes for them.
        self._header_sets: dict[tuple[int, bool], tuple[dict[str, Any], tuple[tuple[str, str], ...]]] = {}
        super().__init__(*args, **kwargs)

    def _set_response_headers(self, response: Any) -> Any:
        """Talisman's response headers, worked out once per view and per whether the request
        is HTTPS (the one request-dependent choice: Strict-Transport-Security), then set on each
        response as Talisman sets them (replacing a header of the same name). A request with a
        CSP nonce has them worked out by Talisman each time (the nonce is in the policy)."""
        if hasattr(request, "csp_nonce"):
            return super()._set_response_headers(response)
        options = self._get_local_options()
        secure = request.is_secure
        kept = self._header_sets.get((id(options), secure))
        if kept is None or kept[0] is not options:
            scratch = Headers()
            self._set_feature_policy_headers(scratch, options)
            self._set_permissions_policy_headers(scratch, options)
            self._set_document_policy_headers(scratch, options)
            self._set_frame_options_headers(scratch, options)
            self._set_content_security_policy_headers(scratch, options)
            self._set_hsts_headers(scratch)
            self._set_referrer_policy_headers(scratch)
            kept = (options, tuple(scratch.items()))
            self._header_sets[(id(options), secure)] = kept
        headers = response.headers
        for name, value in kept[1]:
            headers[name] = value
        return response

    def _force_https(self) -> Any:
        """Talisman's redirect of a plain-HTTP request to HTTPS, with "is it HTTPS" answered by
        `request.is_secure` alone. Talisman also believes an `X-Forwarded-Proto: https` header as
        any client sends it; here that header counts only through the trusted proxies that
        ProxyFix is told of (VOUCH_TRUSTED_PROXIES, hub.app), which set `is_secure` from it."""
        if self.session_cookie_secure and not self.app.debug:
            self.app.config["SESSION_COOKIE_SECURE"] = True
        if self.app.debug or request.is_secure or not self._get_local_options()["force_https"]:
            return None
        if not request.url.startswith("http://"):
            return None
        return redirect(request.url.replace("http://", "https://", 1), code=301 if self.force_https_permanent else 302)

    def _set_hsts_headers(self, headers: Any) -> None:
        """Talisman's Strict-Transport-Security header, sent on HTTPS as `request.is_secure`
        tells it (see `_force_https`: a client's own X-Forwarded-Proto is not believed)."""
        if self.strict_transport_security and request.is_secure:
            super()._set_hsts_headers(headers)

    def _get_local_options(self) -> dict[str, Any]:
        view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
        try:
            return self._view_options[view]
        except KeyError:
            options = self._options_of(view)
            self._view_options[view] = options
            return options
        except TypeError:  # pragma: no cover - a view that cannot be a key
            return self._options_of(view)

    def _options_of(self, view: Any) -> dict[str, Any]:
        """The view's own options over this instance's: a new dict. (Talisman's own version
        fills this instance's values into the view's `talisman_view_options` in place — a dict
        shared by every app built in the process, so the first app to serve a view decided
        `force_https` and the rest for all of them: a production app's HTTPS redirect leaked
        into later test apps.)"""
        defaults = {name: getattr(self, name) for name in LOCAL_OPTIONS}
        return defaults | dict(getattr(view, "talisman_view_options", {}))

    def _parse_policy(self, policy: Any) -> str:
        if hasattr(request, "csp_nonce"):
            return super()._parse_policy(policy)
        kept = self._policy_text.get(id(policy))
        if kept is not None and kept[0] is policy:
            return kept[1]
        text = super()._parse_policy(policy)
        self._policy_text[id(policy)] = (policy, text)
        return text
