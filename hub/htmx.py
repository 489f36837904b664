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
- The CSRF token travels in `hx-headers` on `<body>`; htmx is configured by a meta tag
  (`selfRequestsOnly`, no inline styles or eval) so the CSP needs no 'unsafe-inline'.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from flask import Flask, Response, make_response, render_template, request
from flask_login import current_user
from flask_wtf import FlaskForm

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
        }

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
