"""Challenge cards with an optional banner (issue 19): chosen in the editor or the API from the
banners drawn for Vouch, refused when unknown (nothing written), shown on the advocate's card."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import func, select

from challenges.models import Challenge
from challenges.verifiers import BANNERS
from hub.extensions import db

SPRITE = Path(__file__).resolve().parents[2] / "static" / "img" / "banners.svg"
BODY = {"title": "Join the webinar", "type": "webinar", "points": 150, "description": "Live Q&A"}
HX = {"HX-Request": "true"}


def test_every_banner_is_drawn():
    assert set(re.findall(r'<symbol id="banner-([a-z]+)"', SPRITE.read_text())) == set(BANNERS)


def test_api_sets_shows_and_refuses_banners(api, make_user):
    staff = api(make_user("manager"))
    before = db.session.scalar(select(func.count()).select_from(Challenge))
    refused = staff.post("/challenges", BODY | {"banner": "fireworks"})
    assert refused.status_code == 422 and "banner" in refused.get_json()["error"]["fields"]
    assert db.session.scalar(select(func.count()).select_from(Challenge)) == before
    created = staff.post("/challenges", BODY | {"banner": "stage"}).get_json()
    assert created["banner"] == "stage"
    cleared = staff.patch(f"/challenges/{created['id']}", {"banner": None}).get_json()
    assert cleared["banner"] is None


def test_editor_saves_the_banner_and_the_card_shows_it(as_role, make_challenge):
    manager = as_role("manager")
    form = {
        "title": "Speak at the summit",
        "type": "speaking",
        "points": "900",
        "description": "Talk",
        "max_per_advocate": "1",
        "cooldown_days": "0",
        "banner": "stage",
    }
    assert 'value="stage"' in manager.get("/admin/challenges/new").get_data(as_text=True)
    preview = manager.post("/admin/challenges/preview", data=form, headers=HX).get_data(as_text=True)
    assert "banners.svg#banner-stage" in preview
    assert manager.post("/admin/challenges/new", data=form | {"banner": "nope"}).status_code == 422
    assert manager.post("/admin/challenges/new", data=form).status_code == 302
    assert db.session.scalar(select(Challenge.banner).where(Challenge.title == "Speak at the summit")) == "stage"
    make_challenge(title="Plain one")
    make_challenge(title="With stars", banner="stars")
    html = as_role("advocate").get("/challenges").get_data(as_text=True)
    cards = {m.group(2): m.group(1) for m in re.finditer(r"(<article.*?<h3>.*?>([^<]+)</a></h3>)", html, re.S)}
    assert "banners.svg#banner-stars" in cards["With stars"] and "card-banner" not in cards["Plain one"]
