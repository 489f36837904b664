"""Times in the advocate's own time zone (issue 19): the conversion (daylight-saving edges
included), the profile and API that choose it, and the pages and notices that use it."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import select

from hub.extensions import db
from hub.models import Advocate, AuditEntry
from hub.timezones import UTC, format_date, format_datetime, zone_named

PARIS = ZoneInfo("Europe/Paris")


def test_conversion_across_the_spring_and_autumn_changes():
    # 2026-03-29: Paris moves from CET (+1) to CEST (+2) at 01:00 UTC.
    assert format_datetime(dt.datetime(2026, 3, 29, 0, 59, tzinfo=dt.UTC), PARIS) == "Mar 29, 2026 01:59 CET"
    assert format_datetime(dt.datetime(2026, 3, 29, 1, 0, tzinfo=dt.UTC), PARIS) == "Mar 29, 2026 03:00 CEST"
    # 2026-10-25: back to CET at 01:00 UTC; 02:30 local happens twice, told apart by the zone.
    assert format_datetime(dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC), PARIS) == "Oct 25, 2026 02:30 CEST"
    assert format_datetime(dt.datetime(2026, 10, 25, 1, 30, tzinfo=dt.UTC), PARIS) == "Oct 25, 2026 02:30 CET"


def test_the_day_is_the_day_where_the_reader_is():
    late = dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC)
    assert format_date(late, ZoneInfo("Asia/Tokyo")) == "Jan 1, 2027"
    assert format_date(late, ZoneInfo("America/Los_Angeles")) == "Dec 31, 2026"
    assert format_date(late, UTC) == "Dec 31, 2026"
    assert format_date(dt.datetime(2026, 12, 31, 23, 30), ZoneInfo("Asia/Tokyo")) == "Jan 1, 2027"  # naive = UTC
    assert format_date(dt.date(2026, 5, 1), ZoneInfo("Asia/Tokyo")) == "May 1, 2026"  # a date stays that day


def test_unknown_or_missing_zone_reads_utc():
    assert zone_named(None) is UTC and zone_named("Mars/Olympus") is UTC
    assert zone_named("Europe/Paris") == PARIS


def test_profile_form_saves_a_zone_and_refuses_a_made_up_one(client, login, make):
    advocate = make.advocate(name="Ada Lovelace")
    login(client, advocate.user)
    page = client.get("/me/profile").get_data(as_text=True)
    assert "data-browser-zone" in page and '<option value="Europe/Paris">Europe/Paris</option>' in page
    bad = client.post("/me/profile", data={"name": "Ada Lovelace", "time_zone": "Mars/Olympus"})
    assert bad.status_code == 422 and "An IANA time zone such as Europe/Paris" in bad.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalar(select(Advocate.time_zone).where(Advocate.id == advocate.id)) is None
    ok = client.post("/me/profile", data={"name": "Ada Lovelace", "time_zone": "America/New_York"})
    assert ok.status_code == 302
    db.session.expire_all()
    assert db.session.get(Advocate, advocate.id).time_zone == "America/New_York"
    audit = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "user.profile")).all()
    assert any((a.after or {}).get("time_zone") == "America/New_York" for a in audit)


def test_api_sets_and_returns_the_zone(client, api, make):
    advocate = make.advocate()
    me = api(advocate.user)
    refused = me.patch("/me", json={"time_zone": "Europe/Pariss"})
    assert refused.status_code == 422 and refused.get_json()["error"]["fields"]["time_zone"]
    db.session.expire_all()
    assert db.session.get(Advocate, advocate.id).time_zone is None
    done = me.patch("/me", json={"time_zone": "Asia/Tokyo"})
    assert done.status_code == 200 and done.get_json()["advocate"]["time_zone"] == "Asia/Tokyo"
    cleared = me.patch("/me", json={"time_zone": None})
    assert cleared.get_json()["advocate"]["time_zone"] is None


def test_hub_dates_follow_the_advocates_zone(client, login, make):
    from rewards.badges import award_badge

    advocate = make.advocate()
    award_badge(advocate.id, "first_completion", at=dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC))
    db.session.commit()
    login(client, advocate.user)
    assert "Dec 31, 2026" in client.get("/me/activity").get_data(as_text=True)
    db.session.get(Advocate, advocate.id).time_zone = "Asia/Tokyo"
    db.session.commit()
    html = client.get("/me/activity").get_data(as_text=True)
    assert "Jan 1, 2027" in html and "Dec 31, 2026" not in html


def test_expiry_notice_and_its_email_say_the_day_in_the_advocates_zone(ctx, make):
    from hub.email.models import OutboxEmail
    from hub.models import Notification
    from hub.settings import save_setting
    from rewards import expiry, ledger

    advocate = make.advocate()
    db.session.get(Advocate, advocate.id).time_zone = "Pacific/Kiritimati"  # UTC+14
    save_setting("points_expiry_days", 60, None)
    save_setting("points_expiry_since", "2026-01-01T00:00:00+00:00", None)
    # Earned 2026-03-01 15:00 UTC: expires 2026-04-30 15:00 UTC, which is May 1 05:00 in Kiritimati.
    earned = dt.datetime(2026, 3, 1, 15, 0, tzinfo=dt.UTC)
    ledger.post_entry(advocate.id, 120, kind="earn", source_type="test", source_id="tz", memo="x", at=earned)
    db.session.commit()
    expiry.expire_points(now=dt.datetime(2026, 4, 10, tzinfo=dt.UTC))
    db.session.commit()
    text = db.session.scalar(
        select(Notification.text).where(Notification.kind == "points_expiry", Notification.user_id == advocate.user_id)
    )
    assert text == "120 points expire on 1 May: spend them first."
    body = db.session.scalar(select(OutboxEmail.body_text).where(OutboxEmail.user_id == advocate.user_id))
    assert body is not None and "120 points expire on 1 May" in body
