"""Fragments kept per process by what they show (hub.fragments, issue 22): the same key gives the
kept HTML, anything else in the key renders anew; and the hub page served by a second process
shows, at its next view, a renamed challenge, a new badge, a moved leaderboard and a new
notification (the page's cards are kept fragments and its reads are read together)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hub.extensions import db
from hub.models import Notification


@pytest.fixture()
def fragments(ctx):
    from hub import fragments

    fragments.clear()
    yield fragments
    fragments.clear()


def _render(fragments, key, context, anchor=None, base_url="http://vouch.test/", viewer=None):
    """render_fragment of a one-line template inside a request (a script root of its own when
    `base_url` has a path), read by `viewer` (a user; anonymous when None)."""
    from flask import current_app, g

    with current_app.test_request_context("/", base_url=base_url):
        if viewer is not None:
            g._login_user = viewer  # what Flask-Login's current_user answers in this request
        return str(fragments.render_fragment("test_fragment.html", key, context, anchor=anchor))


@pytest.fixture()
def one_line_template(ctx, monkeypatch):
    """A template reading `name`, a URL and a date, served by the app's own loader."""
    from jinja2 import ChoiceLoader, DictLoader

    source = "{{ name }} {{ url_for('hub.home') }} {{ when|date }}"
    monkeypatch.setattr(
        ctx.jinja_env, "loader", ChoiceLoader([DictLoader({"test_fragment.html": source}), ctx.jinja_env.loader])
    )
    ctx.jinja_env.cache.clear()
    return source


def test_an_equal_key_gives_the_kept_html_and_a_new_key_renders_anew(fragments, one_line_template):
    import datetime as dt

    when = dt.datetime(2026, 11, 3, 23, 30, tzinfo=dt.UTC)
    first = _render(fragments, ("k", 1), {"name": "Ada <b>", "when": when})
    assert first == "Ada &lt;b&gt; / Nov 3, 2026"  # autoescaped, as any render
    # Same key, other context: the kept HTML (the key is the caller's promise of what shows).
    assert _render(fragments, ("k", 1), {"name": "Grace", "when": when}) == first
    assert _render(fragments, ("k", 2), {"name": "Grace", "when": when}) == "Grace / Nov 3, 2026"
    # Another script root: the URLs in it differ.
    assert _render(fragments, ("k", 1), {"name": "Ada", "when": when}, base_url="http://vouch.test/sub/") == (
        "Ada /sub/ Nov 3, 2026"
    )


def test_an_anchor_object_and_the_viewer_zone_belong_to_the_key(fragments, one_line_template, make):
    import datetime as dt

    class Anchor:
        pass

    when = dt.datetime(2026, 11, 3, 23, 30, tzinfo=dt.UTC)
    one, two = Anchor(), Anchor()
    assert _render(fragments, "k", {"name": "one", "when": when}, anchor=one).startswith("one ")
    assert _render(fragments, "k", {"name": "two", "when": when}, anchor=two).startswith("two ")
    assert _render(fragments, "k", {"name": "again", "when": when}, anchor=one).startswith("one ")
    tokyo = make.advocate()
    tokyo.time_zone = "Asia/Tokyo"
    db.session.commit()
    # The same key read by an advocate in Tokyo: their day, not the UTC reader's.
    assert _render(fragments, "k", {"name": "one", "when": when}, anchor=one, viewer=tokyo.user) == "one / Nov 4, 2026"


def test_the_least_recently_used_fragment_goes_first(fragments, one_line_template, monkeypatch):
    import datetime as dt

    when = dt.datetime(2026, 11, 3, tzinfo=dt.UTC)
    monkeypatch.setattr(fragments, "LIMIT", 2)
    _render(fragments, "a", {"name": "a1", "when": when})
    _render(fragments, "b", {"name": "b1", "when": when})
    _render(fragments, "a", {"name": "a2", "when": when})  # a is used again: b is the oldest
    _render(fragments, "c", {"name": "c1", "when": when})
    assert _render(fragments, "a", {"name": "a3", "when": when}).startswith("a1 ")
    assert _render(fragments, "b", {"name": "b2", "when": when}).startswith("b2 ")


_OTHER_PROCESS = textwrap.dedent(
    """
    import json, re, sys
    sys.path.insert(0, {root!r})
    from tests.support.environment import build_app
    app = build_app({pg_url!r}, REDIS_URL={redis_url!r})
    client = app.test_client()
    reply = client.post("/login", data={{"email": {email!r}, "password": {password!r}}})
    assert reply.status_code == 302, reply.status_code
    for line in sys.stdin:
        html = client.get("/").get_data(as_text=True)
        cards = re.findall(r'<h3><a href="[^"]*">([^<]*)</a></h3>', html)
        earned = html.split('data-testid="badges-earned"')[1].split("</ul>")[0] if "badges-earned" in html else ""
        board = html.split('id="leaderboard-widget-body"')[1].split("</table>")[0]
        print(json.dumps({{
            "cards": sorted(cards),
            "badges": re.findall(r"<strong>([^<]*)</strong>", earned),
            "board": [name.strip() for name in re.findall(r'<td class="person">([^<]*)', board)],
            "unread": re.search(r'Notifications: (\\d+) unread', html).group(1),
        }}), flush=True)
    """
)


@pytest.mark.multi_connection
def test_a_second_process_shows_every_change_at_its_next_hub_page(pg_app, pg_url, redis_url, make):
    from challenges import services
    from hub.notifications import notify
    from rewards.badges import award_badges
    from rewards.ledger import post_entry
    from tests.support.challenges import create_challenge
    from tests.support.environment import TEST_PASSWORD

    with pg_app.app_context():
        advocate = make.advocate(name="Ada Viewer", points=10)
        make.advocate(name="Lea Leader", points=500)
        staff_id = make.user("manager").id
        challenge = create_challenge(None, title="Review us")
        challenge_id, advocate_id, user_id = challenge.id, advocate.id, advocate.user_id
        email = advocate.user.email
        db.session.commit()
    root = str(Path(__file__).resolve().parents[2])
    script = _OTHER_PROCESS.format(root=root, pg_url=pg_url, redis_url=redis_url, email=email, password=TEST_PASSWORD)
    other = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=root
    )
    assert other.stdin is not None and other.stdout is not None

    def page() -> dict:
        other.stdin.write("go\n")
        other.stdin.flush()
        return json.loads(other.stdout.readline())

    try:
        first = page()
        assert page() == first  # the second view from kept fragments
        assert first["cards"] == ["Review us"] and first["badges"] == [] and first["unread"] == "0"
        assert first["board"][:2] == ["Lea Leader", "Ada Viewer"]
        with pg_app.app_context():
            found = services.get_challenge(challenge_id)
            services.update_challenge(challenge_id, services.input_from(found, title="Review us, renamed"), staff_id)
            award_badges(advocate_id, ["first_completion"])
            post_entry(advocate_id, 1000, kind="bonus", source_type="test", source_id="jump")
            notify(user_id, "points", "Something happened")
            db.session.commit()
        after = page()
        assert after["cards"] == ["Review us, renamed"]
        assert after["badges"] == ["First step", "Silver"]  # the bonus made them Silver
        assert after["board"][:2] == ["Ada Viewer", "Lea Leader"]
        with pg_app.app_context():
            unread = db.session.scalar(
                select(func.count())
                .select_from(Notification)
                .where(Notification.user_id == user_id, Notification.read_at.is_(None))
            )
        assert unread >= 1 and after["unread"] == str(unread)  # mine, the tier's and its badge's
    finally:
        other.stdin.close()
        other.wait(timeout=60)
        other.stdout.close()


def test_the_advocate_menu_marks_the_page_in_view_and_follows_a_new_name(client, login, make, fragments):
    import re

    advocate = make.advocate(name="Ada Lovelace")
    login(client, advocate.user)

    def menu(path: str) -> tuple[list[str], str]:
        html = client.get(path).get_data(as_text=True)
        links = html.split('<nav aria-label="Main">')[1].split("</nav>")[0]
        account = html.split('<span class="sr-only">Your account: </span>')[1].split("</summary>")[0]
        return re.findall(r'aria-current="page">([^<]*)</a>', links), account

    assert menu("/") == (["Hub"], "Ada Lovelace")
    assert menu("/challenges") == (["Challenges"], "Ada Lovelace")
    assert menu("/leaderboard") == (["Leaderboard"], "Ada Lovelace")
    assert menu("/me/preferences") == ([], "Ada Lovelace")  # a challenges page, not the list
    assert menu("/") == (["Hub"], "Ada Lovelace")  # kept, and still right
    advocate.user.name = "Grace Brewster Murray Hopper"
    db.session.commit()
    assert menu("/") == (["Hub"], "Grace Brewster Mu…")  # 18 characters with the ellipsis, as before
