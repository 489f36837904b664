"""Markdown descriptions are rendered and sanitized (reliability.md case 41)."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from hub.markup import ALLOWED_TAGS, render_markdown

HOSTILE = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)><circle/></svg>",
    "<body onload=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    '<a href="&#106;avascript:alert(1)">x</a>',
    '<a href="&#x6A;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;:alert(1)">x</a>',
    '<a href="jav&#x09;ascript:alert(1)">x</a>',
    '<a href=" javascript:alert(1)">x</a>',
    "[x](javascript:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](vbscript:msgbox(1))",
    '<div hx-get="/admin" hx-trigger="load">x</div>',
    '<p hx-post="/x" data-hx-post="/y">x</p>',
    '<button hx-delete="/me">x</button>',
    '<iframe src="https://evil.example"></iframe>',
    '<form action="/logout" method="post"><button>x</button></form>',
    '<p style="background:url(javascript:alert(1))" class="x">x</p>',
    "<style>body{display:none}</style>",
    '<object data="x.swf"></object><embed src="x">',
    '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
    '<a href="https://ok.example" onclick="alert(1)" target="_blank">ok</a>',
    "<!-- <script>alert(1)</script> -->",
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    "<input autofocus onfocus=alert(1)>",
]


class Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.tags.append(tag)
        self.attrs.extend(attrs)


@pytest.mark.parametrize("source", HOSTILE)
def test_hostile_markup_is_neutralized(source):
    html = render_markdown(source)
    parsed = Collect()
    parsed.feed(html)
    assert set(parsed.tags) <= ALLOWED_TAGS, html
    for name, value in parsed.attrs:
        assert name in {"href", "title", "rel", "start", "align", "colspan", "rowspan"}, html
        assert not name.startswith(("on", "hx-", "data-")), html
        if name == "href":
            assert value.lower().startswith(("http://", "https://", "mailto:")), html
    lowered = html.lower()
    assert "<script" not in lowered and "javascript:" not in lowered and "onerror" not in lowered


def test_markdown_still_renders():
    html = render_markdown("# Title\n\n**bold** and [a link](https://g2.com/x) and `code`\n\n- one\n- two")
    assert "<h1>Title</h1>" in html and "<strong>bold</strong>" in html
    assert '<a href="https://g2.com/x" rel="noopener noreferrer nofollow">a link</a>' in html
    assert "<li>one</li>" in html


def test_empty_and_huge_input():
    assert render_markdown("") == "" and render_markdown(None) == ""
    assert len(render_markdown("a" * 500_000)) < 200_000
