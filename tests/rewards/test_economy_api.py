"""The points economy's second release through the API: settings (validated, audited, applied),
corrections (lifetime: true), tier drops and re-reached tiers, what-if simulations (writing
nothing), ties on the leaderboard, liability in the program report."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from hub.email.models import OutboxEmail
from hub.extensions import db
from hub.models import Advocate, AuditEntry, Notification, Setting
from rewards import leaderboard, ledger
from rewards.models import AdvocateBadge, LedgerEntry, TierChange


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def earn(advocate_id: int, points: int, key: str, at: dt.datetime | None = None) -> None:
    ledger.post_entry(advocate_id, points, kind="earn", source_type="test", source_id=key, memo="Earned", at=at)
    db.session.commit()


# --- settings ----------------------------------------------------------------------------------


def test_settings_read_defaults_and_patch_is_audited(api, make):
    owner = api(make.user("owner"))
    body = owner.get("/settings").json
    assert body["tier_thresholds"] == {"silver": 1000, "gold": 5000}
    assert body["point_value"] == {"amount": "0.01", "currency": "USD"}
    assert body["points_expiry_days"] is None and body["trust_review_threshold"] == 40
    changed = owner.patch(
        "/settings", json={"point_value": {"amount": "0.05", "currency": "eur"}, "trust_review_threshold": 55}
    )
    assert changed.status_code == 200, changed.json
    assert changed.json["point_value"] == {"amount": "0.05", "currency": "EUR"}
    assert changed.json["trust_review_threshold"] == 55
    audit = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "settings.update")).one()
    assert audit.before == {"point_value": {"amount": "0.01", "currency": "USD"}, "trust_review_threshold": 40}
    assert audit.after == {"point_value": {"amount": "0.05", "currency": "EUR"}, "trust_review_threshold": 55}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"tier_thresholds": {"silver": 5000, "gold": 5000}}, "tier_thresholds"),
        ({"tier_thresholds": {"silver": 0, "gold": 10}}, "tier_thresholds"),
        ({"tier_basis": "forever"}, "tier_basis"),
        ({"point_value": {"amount": "-1", "currency": "USD"}}, "point_value"),
        ({"point_value": {"amount": "0.001", "currency": "USD"}}, "point_value"),
        ({"points_expiry_days": 0}, "points_expiry_days"),
        ({"points_expiry_days": "365"}, None),  # a digit string is read as the number
        ({"points_expiry_days": 1.5}, "points_expiry_days"),
        ({"trust_review_threshold": 101}, "trust_review_threshold"),
        ({"program_cost": {"amount": "10", "currency": "dollars"}}, "program_cost"),
    ],
)
def test_settings_refuse_bad_input_and_write_nothing(api, make, body, field):
    owner = api(make.user("owner"))
    rows_before, audits_before = count(Setting), count(AuditEntry)
    response = owner.patch("/settings", json=body)
    if field is None:
        assert response.status_code == 200
        return
    assert response.status_code == 422, response.json
    assert response.json["error"]["code"] == "invalid"
    assert any(name.startswith(field) for name in response.json["error"]["fields"]), response.json
    assert count(Setting) == rows_before
    assert count(AuditEntry) == audits_before


def test_settings_are_owner_only(api, make):
    manager = api(make.user("manager"))
    assert manager.get("/settings").status_code == 403
    assert manager.patch("/settings", json={"trust_review_threshold": 1}).status_code == 403


def test_threshold_change_recomputes_tiers_and_does_not_congratulate_twice(api, make):
    owner = api(make.user("owner"))
    advocates = [make.advocate(points=p) for p in (1200, 1300, 1400, 200)]
    silver = [a.id for a in advocates[:3]]
    assert {db.session.get(Advocate, a).tier.value for a in silver} == {"silver"}
    congratulations = count(OutboxEmail)
    assert owner.patch("/settings", json={"tier_thresholds": {"silver": 1500, "gold": 5000}}).status_code == 200
    db.session.expire_all()
    assert {db.session.get(Advocate, a).tier.value for a in silver} == {"bronze"}
    assert owner.patch("/settings", json={"tier_thresholds": {"silver": 1000, "gold": 5000}}).status_code == 200
    db.session.expire_all()
    assert {db.session.get(Advocate, a).tier.value for a in silver} == {"silver"}
    # Down and up again are recorded; no second "You reached Silver" email nor badge.
    assert count(TierChange) == 3 * 3
    assert count(OutboxEmail) == congratulations
    assert count(AdvocateBadge) == 3
    texts = list(db.session.scalars(select(Notification.text).where(Notification.kind.like("tier%"))))
    assert texts.count("You reached Silver status!") == 3
    assert texts.count("Your status is now Bronze.") == 3
    assert texts.count("Your status is Silver again.") == 3


# --- corrections -------------------------------------------------------------------------------


def test_correction_lowers_lifetime_tier_and_boards(api, make):
    owner = api(make.user("owner"))
    mistaken = make.advocate(points=300)
    other = make.advocate(points=500)
    earn(mistaken.id, 10_000, "mistake")
    assert db.session.get(Advocate, mistaken.id).tier.value == "gold"
    rows, _ = leaderboard.standings("all")
    assert rows[0].advocate_id == mistaken.id
    response = owner.post(
        f"/advocates/{mistaken.id}/adjustments",
        json={"points": -10_000, "memo": "Awarded by mistake", "lifetime": True},
    )
    assert response.status_code == 201, response.json
    db.session.expire_all()
    fresh = db.session.get(Advocate, mistaken.id)
    assert (fresh.balance, fresh.lifetime_points, fresh.tier.value) == (300, 300, "bronze")
    rows, _ = leaderboard.standings("all")
    assert [(r.advocate_id, r.points) for r in rows] == [(other.id, 500), (mistaken.id, 300)]
    drop = db.session.scalars(
        select(TierChange).where(TierChange.advocate_id == mistaken.id).order_by(TierChange.id.desc())
    ).first()
    assert (drop.from_tier.value, drop.to_tier.value) == ("gold", "bronze")
    # the boards agree with a rebuild from the ledger
    leaderboard.rebuild()
    rebuilt, _ = leaderboard.standings("all")
    assert [(r.advocate_id, r.points) for r in rebuilt] == [(other.id, 500), (mistaken.id, 300)]


def test_plain_deduction_keeps_lifetime(api, make):
    owner = api(make.user("owner"))
    advocate = make.advocate(points=1500)
    assert (
        owner.post(f"/advocates/{advocate.id}/adjustments", json={"points": -600, "memo": "Spent offline"}).status_code
        == 201
    )
    db.session.expire_all()
    fresh = db.session.get(Advocate, advocate.id)
    assert (fresh.balance, fresh.lifetime_points, fresh.tier.value) == (900, 1500, "silver")


@pytest.mark.parametrize(
    ("points", "lifetime", "field"),
    [(100, True, "lifetime"), (-100, "maybe", "lifetime"), (-5000, True, None)],
)
def test_correction_refusals_write_nothing(api, make, points, lifetime, field):
    owner = api(make.user("owner"))
    advocate = make.advocate(points=1000)
    entries = count(LedgerEntry)
    response = owner.post(
        f"/advocates/{advocate.id}/adjustments", json={"points": points, "memo": "Fix", "lifetime": lifetime}
    )
    assert 400 <= response.status_code < 500, response.json
    if field:
        assert field in response.json["error"]["fields"]
    assert count(LedgerEntry) == entries


# --- ties --------------------------------------------------------------------------------------


def test_ties_share_a_rank_and_the_first_to_reach_is_listed_first(api, make):
    late, early, top, after = (make.advocate() for _ in range(4))
    base = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
    earn(late.id, 100, "late", base + dt.timedelta(hours=3))
    earn(early.id, 100, "early", base + dt.timedelta(hours=1))
    earn(top.id, 300, "top", base)
    earn(after.id, 50, "after", base)
    viewer = api(make.user("manager"))
    entries = viewer.get("/leaderboard?period=all").json["entries"]
    assert [(e["rank"], e["advocate_id"]) for e in entries] == [(1, top.id), (2, early.id), (2, late.id), (4, after.id)]
    me = api(late.user).get("/leaderboard?period=all&limit=1").json["me"]
    assert me == {"rank": 2, "points": 100}


# --- what-if -----------------------------------------------------------------------------------


def test_simulation_lists_movers_and_writes_nothing(api, make):
    owner = api(make.user("owner"))
    a, b, c = make.advocate(points=1200), make.advocate(points=4000), make.advocate(points=6000)
    before = (count(LedgerEntry), count(Setting), count(TierChange), count(Notification), count(AuditEntry))
    response = owner.post(
        "/simulations",
        json={"tier_thresholds": {"silver": 1500, "gold": 4000}, "point_value": {"amount": "0.02", "currency": "USD"}},
    )
    assert response.status_code == 200, response.json
    body = response.json
    assert body["now"]["advocates_by_tier"] == {"bronze": 0, "silver": 2, "gold": 1}
    assert body["then"]["advocates_by_tier"] == {"bronze": 1, "silver": 0, "gold": 2}
    assert [(m["advocate_id"], m["from_tier"], m["to_tier"]) for m in body["tier_moves"]["up"]] == [
        (b.id, "silver", "gold")
    ]
    assert [(m["advocate_id"], m["to_tier"]) for m in body["tier_moves"]["down"]] == [(a.id, "bronze")]
    assert body["now"]["liability"] == {"amount": "112.00", "currency": "USD"}  # 11,200 × 0.01
    assert body["then"]["liability"] == {"amount": "224.00", "currency": "USD"}
    assert (count(LedgerEntry), count(Setting), count(TierChange), count(Notification), count(AuditEntry)) == before
    assert db.session.get(Advocate, c.id).tier.value == "gold"
    bad = owner.post("/simulations", json={"tier_thresholds": {"silver": 10, "gold": 5}})
    assert bad.status_code == 422


# --- liability ---------------------------------------------------------------------------------


def test_program_report_has_liability(api, make):
    owner = api(make.user("owner"))
    make.advocate(points=1234)
    owner.patch("/settings", json={"point_value": {"amount": "0.10", "currency": "EUR"}})
    points = owner.get("/reports/program").json["points"]
    assert points["outstanding"] == 1234
    assert points["liability"] == {"amount": "123.40", "currency": "EUR"}
    assert points["expiring_30d"] == 0


def test_program_csv_and_dashboard_show_liability(api, make, client, login):
    owner_user = make.user("owner")
    make.advocate(points=2500)
    api(owner_user).patch("/settings", json={"point_value": {"amount": "0.02", "currency": "USD"}})
    login(client, owner_user)
    csv_text = client.get("/admin/reports/program.csv").get_data(as_text=True)
    assert "points.liability.amount,50.00" in csv_text and "points.expiring_30d,0" in csv_text
    dashboard = client.get("/admin/").get_data(as_text=True)
    assert 'data-testid="liability">50.00 USD' in dashboard


def test_admin_correction_form(make, client, login):
    owner_user = make.user("owner")
    advocate = make.advocate(points=1500)
    login(client, owner_user)
    page = client.get(f"/admin/advocates/{advocate.id}").get_data(as_text=True)
    assert "Correction: also lower lifetime points" in page
    response = client.post(
        f"/admin/advocates/{advocate.id}/adjust", data={"points": "-1000", "memo": "Double award", "lifetime": "y"}
    )
    assert response.status_code == 302
    db.session.expire_all()
    fresh = db.session.get(Advocate, advocate.id)
    assert (fresh.balance, fresh.lifetime_points, fresh.tier.value) == (500, 500, "bronze")
    refused = client.post(
        f"/admin/advocates/{advocate.id}/adjust", data={"points": "100", "memo": "Oops", "lifetime": "y"}
    )
    assert refused.status_code == 422
    assert "Only a negative adjustment can lower lifetime points." in refused.get_data(as_text=True)
