"""User-written Markdown to safe HTML: markdown-it-py, then an nh3 allow-list.

Used for challenge descriptions, community posts and reward text. Raw HTML inside the
Markdown is allowed through markdown-it and then cleaned by nh3, which keeps only the
tags and attributes below: no scripts or styles (removed with their content), no event
handlers, no `hx-*`/`data-*` attributes, and links only to http(s) and mailto (markdown-it
decodes entity-encoded `javascript:` before nh3 sees it, and nh3 checks the scheme again).
"""

from __future__ import annotations

import functools
from html import unescape

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

ALLOWED_TAGS = frozenset(
    {
        "a",
        "abbr",
        "b",
        "blockquote",
        "br",
        "code",
        "del",
        "em",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "i",
        "kbd",
        "li",
        "mark",
        "ol",
        "p",
        "pre",
        "s",
        "strong",
        "sub",
        "sup",
        "table",
        "tbody",
        "td",
        "th",
        "thead",
        "tr",
        "ul",
    }
)
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "ol": {"start"},
    "th": {"align", "colspan", "rowspan"},
    "td": {"align", "colspan", "rowspan"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
MAX_SOURCE = 100_000


class _EveryLink(MarkdownIt):
    """Every link becomes an <a>, and nh3 alone decides which hrefs survive: a refused
    `javascript:` link then renders as plain link text instead of leaking its source."""

    def validateLink(self, url: str) -> bool:
        return True


_md = _EveryLink("commonmark", {"html": True, "linkify": False, "typographer": False}).enable(
    ["table", "strikethrough"]
)


def sanitize_html(html: str) -> str:
    """Clean an HTML fragment to the allow-list."""
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        clean_content_tags={"script", "style"},
        attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


def render_markdown(text: str | None) -> str:
    """Markdown source → sanitized HTML (a str; wrap with `markdown_html` for templates)."""
    if not text:
        return ""
    return _render_cached(text[:MAX_SOURCE])


@functools.lru_cache(maxsize=2048)
def _render_cached(text: str) -> str:
    """A pure function of the source, so feeds and catalogs re-render nothing they showed before."""
    return sanitize_html(_md.render(text)).strip()


def markdown_html(text: str | None) -> Markup:
    """The sanitized HTML marked safe for Jinja (the only place that may call Markup on user text)."""
    return Markup(render_markdown(text))  # noqa: S704 - sanitized by nh3 just above


def markdown_text(text: str | None) -> str:
    """Markdown source → the plain text a reader sees (no markup, entities decoded, one space
    between words), for excerpts and previews that show a post as a line of text."""
    if not text:
        return ""
    html = nh3.clean(_md.render(text[:MAX_SOURCE]), tags=set(), clean_content_tags={"script", "style"})
    return " ".join(unescape(html).split())
