"""User Markdown to safe HTML: markdown-it-py renders, nh3 keeps only an allow-list.

Everything people type (questions, answers, challenge descriptions, reward text — from
advocates and from staff alike) goes through `render_markdown`. Raw HTML inside the
Markdown is allowed through the parser and then cut down by nh3, so `<script>`, event
handlers (`onerror`, `onload` …), `hx-*`/`data-*` attributes, `style`, `id`/`name`
(DOM clobbering) and any URL whose scheme is not http(s)/mailto — including
entity-encoded or whitespace-split `javascript:` — never reach a page.
"""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt

MAX_SOURCE = 50_000

ALLOWED_TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6",
    "hr", "i", "kbd", "li", "ol", "p", "pre", "s", "strong", "sub", "sup", "table", "tbody", "td",
    "th", "thead", "tr", "ul",
})
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "ol": {"start"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto"})

_markdown = MarkdownIt("commonmark", {"html": True, "linkify": False, "typographer": False})
_markdown.enable(["table", "strikethrough"])


def sanitize_html(html: str) -> str:
    """Cut arbitrary HTML down to the allow-list (the single nh3 policy of the app)."""
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel="nofollow noopener noreferrer ugc",
        strip_comments=True,
    )


def render_markdown(text: str) -> str:
    """Render user Markdown to sanitized HTML (safe to mark as safe in a template)."""
    source = (text or "")[:MAX_SOURCE]
    return sanitize_html(_markdown.render(source)).strip()
