"""htmx conventions for every page.

- A page includes its partials; an htmx request for the same URL gets just the partial
  (`render_page_or_partial`), and the response varies on `HX-Request`.
- Invalid htmx forms come back as **200 with the form re-rendered and its field errors**,
  swapped into the form's own target. We chose 200 over 422 so that htmx swaps the
  content without any `responseHandling` configuration and the page works the same
  without JavaScript (a plain POST re-renders the full page with the same errors).
- A refusal by a service (a `VouchError`) is shown the way the view declared with
  `hub.transactions.refusal_renders`, after the request's unit rolled back: the form with
  `apply_errors`, the swapped partial with `refusal_text`, or a flash and a redirect for a
  plain POST. Views never commit, roll back or catch refusals themselves (hub.transactions).
- Parts of a page that depend on a balance or a count (the header's balance, the catalog's
  balance and reward cards, a challenge's "Done by N advocates") carry `data-part="<kind>"` or
  `data-part="<kind>:<key>"`; static/js/app.js lists the parts on the page in the
  `X-Vouch-Parts` header of every htmx request. A view whose act changes them calls
  `refresh_parts(response, kinds…)`, which appends a fresh copy of each such part as an
  out-of-band swap (`hx-swap-oob`) to the same response: one mechanism, one round trip, and
  only parts the page holds (htmx logs an error for an out-of-band target it cannot find).
  Packages register how to render a kind with `register_part`.
- The CSRF token travels in `hx-headers` on `<body>`; htmx is configured by a meta tag
  (`selfRequestsOnly`, no inline styles or eval) so the CSP needs no 'unsafe-inline'.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from flask import Flask, Response, make_response, render_template, request
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup

from hub.db import utcnow
from hub.errors import VouchError

F = TypeVar("F", bound=FlaskForm)


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true" and not request.headers.get("HX-Boosted")


def render_page_or_partial(page_template: str, partial_template: str, status: int = 200, **context: Any) -> Response:
    """Full page for a normal request, just the partial for an htmx request."""
    template = partial_template if is_htmx() else page_template
    response = make_response(render_template(template, **context), status)
    response.vary.add("HX-Request")
    return response


def trigger(response: Response, *events: str) -> Response:
    """Ask the page to refresh the parts listening for these events (balance, bell …)."""
    existing = response.headers.get("HX-Trigger")
    names = [*(existing.split(",") if existing else []), *events]
    response.headers["HX-Trigger"] = ",".join(dict.fromkeys(n.strip() for n in names if n.strip()))
    return response


PARTS_HEADER = "X-Vouch-Parts"
MAX_PARTS = 200
# kind → render(key) → the part's element with `hx-swap-oob`, or None when it has nothing to show.
PartRenderer = Callable[[str | None], str | None]
_part_renderers: dict[str, PartRenderer] = {}


def register_part(kind: str, render: PartRenderer) -> None:
    """Say how to render a fresh copy of a page part of this kind (for `refresh_parts`)."""
    _part_renderers[kind] = render


def page_parts() -> list[tuple[str, str | None]]:
    """The parts the requesting page holds, as (kind, key) pairs, from the X-Vouch-Parts header."""
    names = list(dict.fromkeys(request.headers.get(PARTS_HEADER, "").split()))[:MAX_PARTS]
    return [(kind, key or None) for kind, _, key in (name.partition(":") for name in names)]


def refresh_parts(response: Response, kinds: Iterable[str], skip: Iterable[str] = ()) -> Response:
    """Append to an htmx response a fresh out-of-band copy of every part of these kinds the page
    holds, except the named ones in `skip` (e.g. the element the response itself replaces).
    Unknown kinds and parts are ignored; a plain (non-htmx) request is left as it is."""
    if not is_htmx():
        return response
    wanted, skipped = set(kinds), set(skip)
    fragments = []
    for kind, key in page_parts():
        name = f"{kind}:{key}" if key else kind
        render = _part_renderers.get(kind)
        if kind in wanted and name not in skipped and render is not None:
            html = render(key)
            if html:
                fragments.append(html)
    if fragments:
        response.set_data(response.get_data(as_text=True) + "\n".join(["", *fragments]))
    return response


def apply_errors(form: F, exc: VouchError) -> F:
    """Show a refused service call on its form: field errors under their fields (or on the form
    when it has no such field), else the message as a form error. Returns the form."""
    for name, messages in (exc.details.get("fields") or {}).items():
        if name in form:  # a form built again for the refusal was never validated: errors is a tuple
            form[name].errors = [*form[name].errors, *messages]
        else:
            form.form_errors.extend(messages)
    if not exc.details.get("fields"):
        form.form_errors.append(exc.message)
    return form


def refusal_text(exc: VouchError) -> str:
    """A refusal as one line for a flash or a partial: its field messages, else its message."""
    return "; ".join(m for messages in (exc.details.get("fields") or {}).values() for m in messages) or exc.message


def register_template_helpers(app: Flask) -> None:
    from hub.contracts import query_notices
    from hub.errors import request_limit_text
    from hub.notifications import unread_count
    from hub.trust import KINDS as TRUST_KINDS

    @app.context_processor
    def _globals() -> dict:
        unread = 0
        if current_user.is_authenticated:
            unread = unread_count(current_user.id)
        return {
            "unread_notifications": unread,
            "program_name": _program_name(),
            "query_notices": query_notices,
            "upload_limit": request_limit_text,
            "trust_kinds": TRUST_KINDS,
        }

    @app.template_global("advocate_menu")
    def _advocate_menu() -> Markup:
        """The advocate header's links and account menu (templates/_advocate_menu.html): the same
        for every view of a page by one name, so rendered once per process for each (hub.fragments)."""
        from hub.fragments import render_fragment

        endpoint, name = request.endpoint, current_user.name
        return render_fragment("_advocate_menu.html", (endpoint, name), {"endpoint": endpoint, "name": name})

    def _program_name() -> str:
        from hub.settings import get_setting

        return get_setting("program_name")

    @app.template_filter("markdown")
    def _markdown(value: str | None):
        from hub.markup import markdown_html

        return markdown_html(value)

    @app.template_filter("points")
    def _points(value: int | None) -> str:
        return f"{value or 0:,}"

    @app.template_filter("date")
    def _date(value, zone: str | None = None) -> str:
        """The day in the reader's zone (hub.timezones), or in `zone` (an email's advocate)."""
        from hub.timezones import format_date, zone_named

        return format_date(value, zone_named(zone) if zone else None) if value else ""

    @app.template_filter("datetime")
    def _datetime(value, zone: str | None = None) -> str:
        from hub.timezones import format_datetime, zone_named

        return format_datetime(value, zone_named(zone) if zone else None) if value else ""

    @app.template_filter("age")
    def _age(value) -> str:
        """ "today", "1 day ago", "12 days ago"."""
        if value is None:
            return ""
        days = max(0, (utcnow() - value).days)
        return "today" if days == 0 else f"{days} day{'s' if days != 1 else ''} ago"

    @app.template_filter("money")
    def _money(value) -> str:
        """A decimal amount (Decimal or decimal string) with thousands separators: 12,500.00."""
        try:
            return f"{Decimal(str(value)):,.2f}"
        except (InvalidOperation, ValueError):
            return str(value)
