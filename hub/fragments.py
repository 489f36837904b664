"""Rendered page fragments kept per process by what they show (issue 22, the hub page).

A fragment is one template rendered with a small context — a challenge card, the leaderboard
widget, the badges card — whose HTML is a function of a few values: the caller passes those
values as the `key`, and the HTML rendered the first time is returned for every later render
with an equal key. Nothing needs invalidating: a changed value is a different key (a renamed
challenge is a new catalogue entry object, a moved score a different row tuple). What the key
must cover is every value the template reads, apart from what this module adds itself:

- the template object (a template reloaded in development is a new object),
- the request's script root (the `url_for` paths in it) and the viewer's time zone (the `date`
  filters in it).

The template sees only `context` and the Jinja environment's globals (`url_for`, `request`, …):
no context processors run, so it must not use their values (`current_user`, the unread count,
`csrf_token()` — a per-session secret never belongs in a shared fragment). Autoescaping applies
as in any render; the result is `Markup`.

`anchor`: an object whose identity belongs to the key (a compiled catalogue entry); the kept
fragment holds it, so its id cannot be reused by another object while the fragment is kept.

At most `LIMIT` fragments are kept per process; the least recently used goes first.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from threading import Lock
from typing import Any

from flask import current_app, request
from markupsafe import Markup

from hub.timezones import viewer_zone

LIMIT = 4096

_kept: OrderedDict[tuple[Any, ...], tuple[object, Markup]] = OrderedDict()
_lock = Lock()


def render_fragment(template_name: str, key: Hashable, context: dict[str, Any], anchor: object = None) -> Markup:
    """`template_name` rendered with `context`, or the HTML kept from an earlier render with an
    equal `key` (and the same `anchor` object, script root and viewer zone). See the module
    docstring for what the key must cover."""
    template = current_app.jinja_env.get_template(template_name)
    full_key = (template, request.script_root, viewer_zone(), id(anchor), key)
    with _lock:
        kept = _kept.get(full_key)
        if kept is not None and kept[0] is anchor:
            _kept.move_to_end(full_key)
            return kept[1]
    html = _rendered(template, context)
    with _lock:
        _kept[full_key] = (anchor, html)
        if len(_kept) > LIMIT:
            _kept.popitem(last=False)
    return html


def render_now(template_name: str, context: dict[str, Any]) -> Markup:
    """`template_name` rendered with `context` as `render_fragment` renders it, and not kept (a
    fragment whose key would be too wide, e.g. a card that polls its completion's status)."""
    return _rendered(current_app.jinja_env.get_template(template_name), context)


def _rendered(template: Any, context: dict[str, Any]) -> Markup:
    return Markup(template.render(context))  # noqa: S704 - an autoescaping template's output


def clear() -> None:
    """Forget every kept fragment (tests)."""
    with _lock:
        _kept.clear()
