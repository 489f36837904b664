"""The pages of issues 14 and 15 fit a 390-pixel phone: a wide table scrolls inside its own box
and never widens the page (a visually hidden column label once pushed the whole page sideways)."""

from __future__ import annotations

import pytest

from challenges.prospects.models import AdvocacyScore, Nomination
from hub.extensions import db
from tests.browser.test_journeys import assert_no_horizontal_overflow

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


def test_people_and_prospect_pages_fit_a_390_pixel_screen(pages, make, log_in):
    advocate = make.advocate(name="Katherine Johnson-Smith", company="Langley Aeronautical Laboratory")
    owner, sales = make.user("owner"), make.user("sales")
    db.session.add(
        Nomination(
            email="nia.nominee@initech-industries.com",
            name="Nia Nominee",
            company="Initech Industries",
            reason="Praised us on the quarterly business review call",
            nominated_by_id=sales.id,
        )
    )
    db.session.add(
        AdvocacyScore(
            email="carla.candidate@initech-industries.com",
            name="Carla Candidate",
            company="Initech Industries",
            nps=10,
            score=90,
            qualified=True,
            reasons=["NPS 10", "feature adoption over 70%", "health over 80", "customer over 12 months"],
        )
    )
    db.session.commit()

    staff = pages.new(**PHONE)
    log_in(staff, owner.email)
    for path in (
        "/admin/nominations",
        "/admin/candidates",
        "/admin/accounts",
        "/admin/accounts?coverage=gap",
        f"/admin/accounts/{advocate.account_id}",
        "/admin/users",
        "/admin/settings/terms",
        f"/admin/advocates/{advocate.id}/edit",
        "/nominations",
        "/me/profile",
    ):
        assert_no_horizontal_overflow(staff, path)

    phone = pages.new(**PHONE)
    log_in(phone, advocate.user.email)
    for path in ("/me/profile", "/me/preferences", "/me/erase"):
        assert_no_horizontal_overflow(phone, path)
    assert pages.errors == []
