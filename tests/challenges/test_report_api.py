"""`GET /reports/program` and `GET /reports/trends` (issue 17): every api.md field, the previous
period beside it, refusals in the api.md error shape, and the pages and CSV reading the same
service."""

from __future__ import annotations

import datetime as dt

import pytest

from challenges.models import Completion, CompletionStatus
from challenges.reports.period import quarter_of
from hub.db import utcnow
from hub.extensions import db
from rewards.ledger import post_entry

API_FIELDS = {
    "advocates_by_tier",
    "activation_rate",
    "participation_rate",
    "burnout",
    "reference_fill_rate",
    "reference_median_hours_to_fill",
    "review_velocity",
    "points",
    "redemptions_by_status",
    "sourced_pipeline",
    "sourced_won",
    "influenced_pipeline",
    "influenced_won",
    "win_rate_with_reference",
    "win_rate_without_reference",
    "roi",
}


def test_the_program_report_has_every_field_for_the_quarter_and_the_previous(api, make):
    owner = api(make.user("owner"))
    make.advocate(points=300)
    body = owner.get("/reports/program").json
    assert set(body) >= API_FIELDS
    assert set(body["previous"]) >= API_FIELDS
    today = utcnow().date()
    first_month = 3 * ((today.month - 1) // 3) + 1
    assert body["from"] == dt.date(today.year, first_month, 1).isoformat()
    assert dt.date.fromisoformat(body["previous"]["to"]) == dt.date.fromisoformat(body["from"]) - dt.timedelta(days=1)
    assert set(body["points"]) >= {"issued", "redeemed", "expired", "outstanding", "liability", "expiring_30d"}
    assert body["points"]["issued"] == 300 and body["points"]["outstanding"] == 300
    assert body["previous"]["points"]["issued"] == 0
    assert body["burnout"] == {"healthy": 1, "acceptable": 0, "at_risk": 0, "burning": 0}
    assert sum(body["advocates_by_tier"].values()) == 1
    # api.md: present, null while there is no renewal data (Vouch keeps none).
    assert body["advocate_accounts_retention"] is None and body["other_accounts_retention"] is None
    assert body["previous"]["advocate_accounts_retention"] is None


def test_a_period_that_has_not_begun_is_422_naming_from(api, make):
    tomorrow = utcnow().date() + dt.timedelta(days=1)
    owner = api(make.user("owner"))
    for path, extra in (("/reports/program", {}), ("/reports/trends", {"metric": "acts"})):
        response = owner.get(path, query_string={"from": tomorrow.isoformat(), **extra})
        assert response.status_code == 422, path
        assert list(response.json["error"]["fields"]) == ["from"]
    # Today itself may start a period (a one-day report of today so far).
    today = utcnow().date().isoformat()
    assert owner.get("/reports/program", query_string={"from": today, "to": today}).status_code == 200


def test_only_a_to_whose_quarter_has_not_begun_is_422_naming_to(api, make):
    next_quarter = quarter_of(utcnow().date()).end + dt.timedelta(days=1)
    owner = api(make.user("owner"))
    for path, extra in (("/reports/program", {}), ("/reports/trends", {"metric": "acts"})):
        response = owner.get(path, query_string={"to": (next_quarter + dt.timedelta(days=30)).isoformat(), **extra})
        assert response.status_code == 422, path
        assert list(response.json["error"]["fields"]) == ["to"]


@pytest.mark.parametrize("bad", ["2026-01-01garbage", "2026-01-01T25:99", "2026-W01-1", "2026-01-01 junk"])
def test_a_date_with_anything_else_after_it_is_422_naming_it(api, make, bad):
    owner = api(make.user("owner"))
    for name in ("from", "to"):
        response = owner.get("/reports/program", query_string={name: bad})
        assert response.status_code == 422, (name, bad)
        assert list(response.json["error"]["fields"]) == [name]


def test_a_parameter_given_twice_is_422_saying_so(api, make):
    owner = api(make.user("owner"))
    for path, query, name in (
        ("/reports/program", "from=2026-01-01&from=2026-04-01", "from"),
        ("/reports/trends", "metric=acts&metric=reviews", "metric"),
    ):
        response = owner.get(f"{path}?{query}")
        assert response.status_code == 422, path
        assert response.json["error"]["fields"] == {
            name: ["One value, not several (give this field or query parameter once)."]
        }


def test_a_reversed_period_is_422_naming_to(api, make):
    response = api(make.user("owner")).get("/reports/program", query_string={"from": "2026-03-02", "to": "2026-03-01"})
    assert response.status_code == 422
    assert response.json["error"]["code"] == "invalid"
    assert set(response.json["error"]["fields"]) == {"to"}


def test_trends_are_zero_filled_months(api, make):
    owner = api(make.user("owner"))
    ada = make.advocate()
    post_entry(ada.id, 70, kind="earn", source_type="test", source_id="t1", at=dt.datetime(2025, 2, 3, tzinfo=dt.UTC))
    db.session.commit()
    body = owner.get(
        "/reports/trends", query_string={"metric": "points_issued", "from": "2025-01-15", "to": "2025-03-01"}
    )
    assert body.status_code == 200
    assert body.json == {
        "metric": "points_issued",
        "interval": "month",
        "points": [
            {"period": "2025-01", "value": 0},
            {"period": "2025-02", "value": 70},
            {"period": "2025-03", "value": 0},
        ],
    }


def test_trends_default_to_twelve_months_and_refuse_unknown_metrics(api, make):
    owner = api(make.user("owner"))
    assert len(owner.get("/reports/trends", query_string={"metric": "acts"}).json["points"]) == 12
    for query, field in (
        ({"metric": "logins"}, "metric"),
        ({}, "metric"),
        ({"metric": "acts", "interval": "week"}, "interval"),
    ):
        response = owner.get("/reports/trends", query_string=query)
        assert response.status_code == 422 and field in response.json["error"]["fields"], query
    reversed_range = owner.get(
        "/reports/trends", query_string={"metric": "acts", "from": "2025-02-01", "to": "2025-01-01"}
    )
    assert reversed_range.status_code == 422


def test_trends_are_for_owners_only(api, make):
    assert api(make.user("manager")).get("/reports/trends", query_string={"metric": "acts"}).status_code == 403


def test_the_csv_and_the_api_read_the_same_figures(api, make, client, login):
    owner_user = make.user("owner")
    ada = make.advocate(points=120)
    completion_at = utcnow() - dt.timedelta(minutes=5)
    from challenges.services.act_tallies import rebuild_act_totals
    from tests.support.challenges import create_challenge

    challenge = create_challenge(owner_user.id)
    db.session.add(
        Completion(
            challenge_id=challenge.id,
            advocate_id=ada.id,
            status=CompletionStatus.APPROVED,
            points_offered=10,
            submitted_at=completion_at,
            decided_at=completion_at,
        )
    )
    # Written outside approve_completion, so counted into the approvals' tallies by their rebuild.
    rebuild_act_totals()
    db.session.commit()
    body = api(owner_user).get("/reports/program").json
    assert body["participation_rate"] == 1.0 and body["activation_rate"] == 1.0
    login(client, owner_user)
    csv_text = client.get("/admin/reports/program.csv").get_data(as_text=True)
    assert "participation_rate,1.0" in csv_text
    assert "points.issued,120" in csv_text and "previous.points.issued,0" in csv_text
