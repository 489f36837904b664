"""Markdown from users (staff and advocates) rendered to HTML that is safe to show anywhere.

markdown-it-py renders CommonMark with raw HTML disabled, then nh3 keeps only an
allow-list of tags and attributes: no `on*` handlers, no `hx-*`/`style`/`class`, and links
only to http(s)/mailto (so `javascript:` in any spelling is dropped).
"""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt

MAX_MARKDOWN = 20_000

ALLOWED_TAGS = frozenset({
    "p", "br", "hr", "strong", "em", "b", "i", "del", "s", "code", "pre", "blockquote",
    "ul", "ol", "li", "a", "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody",
    "tr", "th", "td",
})
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "th": {"align"}, "td": {"align"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")
_md.enable("strikethrough")


def render_markdown(text: str | None) -> str:
    """Markdown → sanitized HTML (empty string for empty input)."""
    if not text:
        return ""
    html = _md.render(text[:MAX_MARKDOWN])
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    ).strip()
