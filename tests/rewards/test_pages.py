"""Advocate pages for points: the hub home, the leaderboard page and widget, my activity."""

from __future__ import annotations

import re

from hub.extensions import db
from hub.settings import save_setting


def test_home_shows_balance_lifetime_tier_and_progress(client, login, make):
    advocate = make.advocate(name="Ada Lovelace", points=1200)
    from rewards.ledger import post_entry

    post_entry(advocate.id, -200, kind="redeem", source_type="redemption", source_id=1, memo="Gift card")
    db.session.commit()
    login(client, advocate.user)
    html = client.get("/").get_data(as_text=True)
    assert 'data-testid="balance">1,000<' in html
    assert 'data-testid="lifetime">1,200<' in html
    assert 'class="tier tier-silver">Silver<' in html
    assert "3,800 points to Gold" in html


def test_home_for_gold_and_rolling_basis(client, login, make):
    gold = make.advocate(points=5000)
    login(client, gold.user)
    assert "You have reached Gold" in client.get("/").get_data(as_text=True)
    save_setting("tier_basis", "rolling_365", None)
    db.session.commit()
    assert "last 365 days" in client.get("/").get_data(as_text=True)


def test_widget_tabs_swap_in_place(client, login, make):
    advocate = make.advocate(name="Ada", points=50)
    login(client, advocate.user)
    html = client.get("/leaderboard/widget?period=month").get_data(as_text=True)
    assert "<html" not in html and 'id="leaderboard-widget-body"' in html
    assert re.search(r'aria-selected="true"[^>]*>This month<', html)
    assert not re.search(r'aria-selected="true"[^>]*>All time<', html)
    decade = client.get("/leaderboard/widget?period=decade").get_data(as_text=True)  # the default period
    assert re.search(r'aria-selected="true"[^>]*>All time<', decade)


def test_leaderboard_page_and_partial(client, login, make):
    me = make.advocate(name="Me Myself", points=5)
    for n in range(30):
        make.advocate(name=f"Other {n}", points=100 + n)
    login(client, me.user)
    page = client.get("/leaderboard").get_data(as_text=True)
    assert "Page 1 of 2" in page
    assert "<td>31</td><td>You</td>" in page.replace("\n", "")  # my row although I am not on the page
    partial = client.get("/leaderboard?period=quarter&page=2", headers={"HX-Request": "true"})
    assert b"<html" not in partial.data and b"Me Myself" in partial.data
    nowhere = client.get("/leaderboard?group=Nowhere")  # issue 12 item 8: the whole board, with a note
    assert nowhere.status_code == 200
    assert "There is no group “Nowhere”, so the whole board is shown." in nowhere.get_data(as_text=True)
    first = client.get("/leaderboard?page=0")
    assert first.status_code == 200 and "“page=0” was not used" in first.get_data(as_text=True)


def test_my_activity_lists_the_ledger(client, login, make, make_user):
    from rewards.services import adjust_points

    advocate = make.advocate(points=300)
    adjust_points(advocate.id, -50, "Duplicate review removed", make_user("owner").id)
    db.session.commit()
    login(client, advocate.user)
    html = client.get("/me/activity").get_data(as_text=True)
    assert "Duplicate review removed" in html and "Seed points" in html
