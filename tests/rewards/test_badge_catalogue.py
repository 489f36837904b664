"""Badges on the hub and My activity (issue 19): an SVG icon for each, the catalogue of badges
still to earn with how to earn them and progress, and the date each was earned."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from hub.extensions import db
from rewards.badges import CATALOG, award_badge, badge_catalogue
from rewards.ledger import post_entry

SPRITE = Path(__file__).resolve().parents[2] / "static" / "img" / "badges.svg"


def test_every_badge_has_its_own_svg_symbol():
    symbols = set(re.findall(r'<symbol id="badge-([a-z0-9_]+)"', SPRITE.read_text()))
    assert set(CATALOG) <= symbols


def test_catalogue_lists_earned_with_dates_then_the_rest_with_progress(ctx, make):
    advocate = make.advocate()
    for n in range(3):  # three approvals, as decisions posts them: one earn entry per completion
        post_entry(advocate.id, 10, kind="earn", source_type="completion", source_id=f"c{n}", memo="x")
    earned_at = dt.datetime(2026, 3, 14, 9, 30, tzinfo=dt.UTC)
    award_badge(advocate.id, "first_completion", at=earned_at)
    db.session.commit()
    entries = badge_catalogue(advocate.id)
    assert entries[0].badge.code == "first_completion"
    assert entries[0].awarded_at == earned_at
    rest = {e.badge.code: e for e in entries[1:]}
    assert set(rest) == set(CATALOG) - {"first_completion"}
    assert all(e.awarded_at is None for e in rest.values())
    assert rest["completions_5"].progress == "3 of 5"
    assert rest["completions_100"].progress == "3 of 100"
    assert rest["tier_gold"].progress is None and rest["tier_gold"].badge.how.startswith("Earn enough points")


def test_hub_and_activity_show_icons_dates_and_how_to_earn(client, login, make):
    advocate = make.advocate()
    award_badge(advocate.id, "first_review", at=dt.datetime(2026, 2, 3, 12, 0, tzinfo=dt.UTC))
    db.session.commit()
    login(client, advocate.user)
    for path in ("/", "/me/activity"):
        html = client.get(path).get_data(as_text=True)
        earned, _, to_earn = html.partition('data-testid="badges-to-earn"')
        assert (
            "badges.svg#badge-first_review" in earned
            and 'Earned <time datetime="2026-02-03T12:00:00+00:00">Feb 3, 2026' in earned
        )
        assert "Have 5 challenges approved." in to_earn and "0 of 5 so far" in to_earn
        assert "Reviewer" not in to_earn
        if path == "/":  # the hub shows the next three and links the whole catalogue
            assert to_earn.count('class="badge locked"') == 3 and "badges.svg#badge-tier_gold" not in to_earn
            assert "All 8 badges and how to earn them" in to_earn
        else:
            assert to_earn.count('class="badge locked"') == 7 and "badges.svg#badge-tier_gold" in to_earn
