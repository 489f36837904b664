"""reliability.md case 41: stored XSS in questions and answers, from advocates and from staff."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from hub.markup import render_markdown

# (payload, text that must survive) — the dangerous part must be gone in every case.
HOSTILE = [
    ("<script>alert(1)</script>Hello", "Hello"),
    ('<img src="x" onerror="alert(1)">Picture', "Picture"),
    ("<svg onload=alert(1)><circle r=5 /></svg>Shape", "Shape"),
    ('<a href="javascript:alert(1)">plain js link</a>', "plain js link"),
    ('<a href="&#106;avascript:alert(1)">decimal entity</a>', "decimal entity"),
    (
        '<a href="&#x6A;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;&#x3A;alert(1)">hex entities</a>',
        "hex entities",
    ),
    ('<a href="jav&#x09;ascript:alert(1)">tab split</a>', "tab split"),
    ('<a href=" JaVaScRiPt:alert(1)">mixed case</a>', "mixed case"),
    ("[md link](javascript:alert(1))", "md link"),
    ("[md entity](&#106;avascript:alert(1))", "md entity"),
    ("[md data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)", "md data"),
    ('<div hx-get="/admin" hx-trigger="load">htmx div</div>', "htmx div"),
    ('<button data-hx-post="/logout" hx-swap="outerHTML">data prefixed</button>', "data prefixed"),
    ('<p onclick="alert(1)" style="position:fixed" id="bell">handlers</p>', "handlers"),
    ('<iframe src="https://evil.example"></iframe><object data="x"></object>Framed', "Framed"),
    ('<form action="/logout"><input name="x"></form>Form', "Form"),
    ("<style>body{display:none}</style>Styled", "Styled"),
    ('<a href="vbscript:msgbox(1)">vb</a>', "vb"),
]
BAD_TAGS = {"script", "svg", "img", "iframe", "object", "embed", "form", "input", "style", "button", "math", "base"}
BAD_SCHEMES = ("javascript:", "vbscript:", "data:")


class _Audit(HTMLParser):
    """Collects what a browser would treat as active content in an HTML fragment."""

    def __init__(self, page_tags: frozenset[str] = frozenset()) -> None:
        super().__init__(convert_charrefs=True)
        self.page_tags = page_tags
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in BAD_TAGS - self.page_tags:
            self.problems.append(f"<{tag}>")
        for name, value in attrs:
            value = "".join(ch for ch in (value or "") if ch > " ").lower()
            if name.startswith("on") or name == "style" or (name.startswith(("hx-", "data-hx")) and not self.page_tags):
                self.problems.append(f"{tag}[{name}]")
            if name.startswith(("hx-", "data-hx")) and ("/admin" in value or "/logout" in value):
                self.problems.append(f"{tag}[{name}={value}]")
            if name in {"href", "src", "action", "formaction", "xlink:href"} and value.startswith(BAD_SCHEMES):
                self.problems.append(f"{tag}[{name}={value}]")


def problems(html: str, page_tags: frozenset[str] = frozenset()) -> list[str]:
    audit = _Audit(page_tags)
    audit.feed(html)
    audit.close()
    return audit.problems


@pytest.mark.parametrize(("payload", "survivor"), HOSTILE)
def test_render_markdown_strips_hostile_markup(payload: str, survivor: str):
    html = render_markdown(payload)
    assert problems(html) == [], html
    assert survivor in html
    assert "id=" not in html


def test_safe_markdown_survives():
    html = render_markdown("**bold** _it_ `code` [docs](https://example.com/a?b=1)\n\n- one\n- two")
    assert "<strong>bold</strong>" in html and "<em>it</em>" in html and "<code>code</code>" in html
    assert '<a href="https://example.com/a?b=1"' in html and 'rel="' in html and "nofollow" in html
    assert "<li>one</li>" in html


@pytest.fixture(params=["advocate", "manager", "owner"])
def author(request, make, ctx):
    return make.advocate().user if request.param == "advocate" else make.user(request.param)


@pytest.mark.parametrize(("payload", "survivor"), HOSTILE)
def test_questions_and_answers_store_and_show_only_safe_html(api, author, make, login, client, payload, survivor):
    client_api = api(author)
    question = client_api.post("/questions", {"title": "Hostile question", "body": payload})
    assert question.status_code == 201, question.json
    answer = client_api.post(f"/questions/{question.json['id']}/answers", {"body": payload})
    assert answer.status_code == 201, answer.json
    for html in (question.json["body_html"], answer.json["body_html"]):
        assert problems(html) == [] and survivor in html

    viewer = make.advocate().user
    login(client, viewer)
    page = client.get(f"/community/questions/{question.json['id']}").get_data(as_text=True)
    shown = page[page.index('<main id="main"') :]
    # The page's own forms and htmx attributes are allowed; nothing the author typed may be active.
    assert problems(shown, page_tags=frozenset({"form", "input", "button"})) == []
    assert shown.count(survivor) >= 2


def test_the_live_preview_is_sanitized_too(make, login, client, ctx):
    login(client, make.advocate().user)
    response = client.post("/community/preview", data={"body": "<img src=x onerror=alert(1)>**hi** [x](javascript:1)"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<strong>hi</strong>" in html
    assert problems(html) == []


@pytest.mark.parametrize(("payload", "survivor"), [(p, s) for p, s in HOSTILE if p.startswith("<")])
def test_the_audit_would_catch_each_raw_payload(payload: str, survivor: str):
    assert problems(payload), payload
