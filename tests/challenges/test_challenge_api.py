"""The challenges and completions API exactly as api.md names it, with its error codes."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select

from challenges.models import Challenge, Completion
from hub.extensions import db

BODY = {
    "title": "Review us on G2",
    "type": "review",
    "description": "Post a **review**.",
    "points": 150,
    "allowed_domains": ["g2.com"],
    "marker": "Acme Analytics",
}


@pytest.fixture()
def manager(make_user):
    return make_user("manager")


@pytest.fixture()
def staff_api(api, manager):
    return api(manager)


def published(staff_api, **overrides) -> dict:
    body = staff_api.post("/challenges", BODY | overrides).get_json()
    response = staff_api.post(f"/challenges/{body['id']}/publish")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_create_is_a_draft_and_ignores_smuggled_fields(staff_api, manager):
    response = staff_api.post(
        "/challenges",
        BODY | {"status": "published", "id": 777, "created_by_id": 1, "published_at": "2020-01-01T00:00:00Z"},
    )
    assert response.status_code == 201
    body = response.get_json()
    assert body["status"] == "draft" and body["id"] != 777 and body["published_at"] is None
    assert (body["effort"], body["verification"], body["evidence"]) == ("low", "url_check", ["url"])
    assert "<strong>review</strong>" in body["description_html"]
    assert db.session.get(Challenge, body["id"]).created_by_id == manager.id


def test_roles(api, make_user, make_advocate):
    advocate = make_advocate()
    assert api(advocate.user).post("/challenges", BODY).status_code == 403
    assert api(make_user("sales")).post("/challenges", BODY).status_code == 403
    assert api(advocate.user).post("/completions/1/approve").status_code == 403
    assert api(advocate.user).get("/completions").status_code == 403


def test_unauthenticated(client):
    assert client.get("/api/v1/challenges").status_code == 401


ABUSE = ["-1", "0", "1.5", "1e309", str(2**63), "NaN", "Infinity", '""', "true", '"12abc"', "[]", "{}"]
NUMBER_FIELDS = {  # zero is a valid cooldown and bonus; null means "not given" for optional numbers
    "points": [*ABUSE, "null"],
    "max_total": ABUSE,
    "max_per_advocate": ABUSE,
    "cooldown_days": [r for r in ABUSE if r != "0"],
    "bonus_points": [r for r in ABUSE if r != "0"],
}


@pytest.mark.parametrize(("field", "raw"), [(f, r) for f, raws in NUMBER_FIELDS.items() for r in raws])
def test_numeric_abuse_is_422_with_a_field_error(staff_api, raw, field):
    body = json.dumps(BODY).replace('"points": 150', '"points": 150' if field != "points" else f'"points": {raw}')
    if field != "points":
        body = body[:-1] + f', "{field}": {raw}}}'
    response = staff_api.client.post(
        "/api/v1/challenges", data=body, headers=staff_api.headers, content_type="application/json"
    )
    assert response.status_code == 422, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] == "invalid" and field in error["fields"]
    assert db.session.scalar(select(func.count()).select_from(Challenge)) == 0


def test_body_must_be_an_object(staff_api):
    response = staff_api.client.post(
        "/api/v1/challenges", data="[1,2]", headers=staff_api.headers, content_type="application/json"
    )
    assert response.status_code == 422


def test_publish_close_and_invalid_transitions(staff_api):
    body = published(staff_api)
    assert body["status"] == "published"
    again = staff_api.post(f"/challenges/{body['id']}/publish")
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "invalid_state"
    assert staff_api.post(f"/challenges/{body['id']}/close").get_json()["status"] == "closed"
    assert staff_api.post("/challenges/424242/close").status_code == 404
    patched = staff_api.patch(f"/challenges/{body['id']}", {"points": 300, "status": "draft"})
    assert patched.status_code == 200 and patched.get_json()["points"] == 300
    assert patched.get_json()["status"] == "closed"
    assert staff_api.patch(f"/challenges/{body['id']}", {"points": -5}).status_code == 422


def test_advocate_feed_and_visibility(api, staff_api, make_advocate):
    advocate = make_advocate(groups=("EMEA",))
    outsider = make_advocate()
    open_one = published(staff_api)
    emea = published(staff_api, title="EMEA webinar", type="webinar", target_groups=["EMEA"])
    draft = staff_api.post("/challenges", BODY | {"title": "Draft"}).get_json()
    feed = api(advocate.user).get("/challenges").get_json()
    assert {i["id"] for i in feed["items"]} == {open_one["id"], emea["id"]} and feed["total"] == 2
    item = next(i for i in feed["items"] if i["id"] == open_one["id"])
    assert item["available"] is True and item["locked_reason"] is None and item["available_at"] is None
    assert "marker" not in item
    outsider_api = api(outsider.user)
    assert {i["id"] for i in outsider_api.get("/challenges").get_json()["items"]} == {open_one["id"]}
    assert outsider_api.get(f"/challenges/{emea['id']}").status_code == 404
    assert outsider_api.get(f"/challenges/{draft['id']}").status_code == 404
    assert staff_api.get("/challenges?status=draft").get_json()["total"] == 1
    assert staff_api.get("/challenges?status=bogus").status_code == 422


def test_quiz_answers_never_reach_advocates(api, staff_api, make_advocate):
    quiz = {"questions": [{"prompt": "2+2?", "options": ["3", "4"], "answer": 1}]}
    body = published(staff_api, type="quiz", quiz=quiz, allowed_domains=[])
    assert staff_api.get(f"/challenges/{body['id']}").get_json()["quiz"]["questions"][0]["answer"] == 1
    seen = api(make_advocate().user).get(f"/challenges/{body['id']}").get_json()
    assert seen["quiz"] == {"questions": [{"prompt": "2+2?", "options": ["3", "4"]}]}


def test_completion_flow_and_codes(api, staff_api, make_advocate):
    advocate = make_advocate()
    me = api(advocate.user)
    challenge = published(staff_api, type="custom", allowed_domains=[], evidence=["text"])
    smuggled = {
        "evidence_text": "I did it",
        "status": "approved",
        "points_offered": 10**6,
        "advocate_id": 999,
        "points": 10**6,
    }
    response = me.post(f"/challenges/{challenge['id']}/completions", smuggled)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert set(body) >= {"id", "challenge_id", "advocate_id", "status", "submitted_at"}
    assert (body["advocate_id"], body["status"], body["points_offered"]) == (advocate.id, "pending_review", 150)
    again = me.post(f"/challenges/{challenge['id']}/completions", {"evidence_text": "again"})
    assert (again.status_code, again.get_json()["error"]["code"]) == (409, "already_submitted")
    assert me.post(f"/challenges/{challenge['id']}/completions", {}).status_code == 422
    got = me.get(f"/completions/{body['id']}").get_json()
    assert set(got) >= {
        "id",
        "challenge_id",
        "advocate_id",
        "status",
        "points_awarded",
        "reason",
        "submitted_at",
        "decided_at",
    }
    assert api(make_advocate().user).get(f"/completions/{body['id']}").status_code == 404
    approved = staff_api.post(f"/completions/{body['id']}/approve")
    assert approved.get_json()["status"] == "approved" and approved.get_json()["points_awarded"] == 150
    twice = staff_api.post(f"/completions/{body['id']}/approve")
    assert (twice.status_code, twice.get_json()["error"]["code"]) == (409, "invalid_state")
    late_reject = staff_api.post(f"/completions/{body['id']}/reject", {"reason": "no"})
    assert late_reject.status_code == 409
    limit = me.post(f"/challenges/{challenge['id']}/completions", {"evidence_text": "more"})
    assert (limit.status_code, limit.get_json()["error"]["code"]) == (409, "limit_reached")
    assert me.get(f"/advocates/{advocate.id}/ledger").get_json()["balance"] == 150


def test_reject_needs_a_reason(api, staff_api, make_advocate):
    me = api(make_advocate().user)
    challenge = published(staff_api, type="custom", allowed_domains=[])
    cid = me.post(f"/challenges/{challenge['id']}/completions", {"evidence_text": "x"}).get_json()["id"]
    missing = staff_api.post(f"/completions/{cid}/reject", {})
    assert missing.status_code == 422 and "reason" in missing.get_json()["error"]["fields"]
    rejected = staff_api.post(f"/completions/{cid}/reject", {"reason": "Wrong link"}).get_json()
    assert (rejected["status"], rejected["reason"]) == ("rejected", "Wrong link")
    assert me.get(f"/completions/{cid}").get_json()["reason"] == "Wrong link"


def test_closed_draft_unknown_and_cap_codes(api, staff_api, make_advocate):
    me = api(make_advocate().user)
    closed = published(staff_api, type="custom", allowed_domains=[])
    staff_api.post(f"/challenges/{closed['id']}/close")
    draft = staff_api.post("/challenges", BODY | {"type": "custom", "allowed_domains": []}).get_json()
    assert (
        me.post(f"/challenges/{closed['id']}/completions", {"evidence_text": "x"}).get_json()["error"]["code"]
        == "challenge_closed"
    )
    assert me.post(f"/challenges/{draft['id']}/completions", {"evidence_text": "x"}).status_code == 404
    assert me.post("/challenges/99999/completions", {"evidence_text": "x"}).status_code == 404
    first = published(staff_api, title="Case study", type="case_study", allowed_domains=[])
    second = published(staff_api, title="Speaking", type="speaking", allowed_domains=[])
    assert me.post(f"/challenges/{first['id']}/completions", {"evidence_text": "x"}).status_code == 201
    capped = me.post(f"/challenges/{second['id']}/completions", {"evidence_text": "x"})
    assert capped.status_code == 409
    error = capped.get_json()["error"]
    assert error["code"] == "cap_reached" and error["available_at"].endswith("Z")
    at = dt.datetime.fromisoformat(error["available_at"].replace("Z", "+00:00"))
    assert dt.timedelta(days=89) < at - dt.datetime.now(dt.UTC) <= dt.timedelta(days=90)
    item = next(i for i in me.get("/challenges").get_json()["items"] if i["id"] == second["id"])
    assert item["available"] is False and item["available_at"] == error["available_at"]
    assert item["locked_reason"].startswith("You took on a high-effort challenge on")
    assert db.session.scalar(select(func.count()).select_from(Completion)) == 1


def test_list_completions_filters(api, staff_api, make_advocate):
    a, b = make_advocate(), make_advocate()
    challenge = published(staff_api, type="custom", allowed_domains=[])
    for adv in (a, b):
        api(adv.user).post(f"/challenges/{challenge['id']}/completions", {"evidence_text": "x"})
    listing = staff_api.get(f"/completions?advocate_id={a.id}&status=pending_review").get_json()
    assert listing["total"] == 1 and listing["items"][0]["advocate_id"] == a.id
    assert staff_api.get(f"/completions?challenge_id={challenge['id']}").get_json()["total"] == 2
    assert staff_api.get("/completions?status=nope").status_code == 422
    assert staff_api.get("/completions?per_page=500").status_code == 422


def test_idempotent_submission_replays(api, staff_api, make_advocate):
    me = api(make_advocate().user)
    challenge = published(staff_api, type="custom", allowed_domains=[])
    headers = {"Idempotency-Key": "click-1"}
    first = me.post(f"/challenges/{challenge['id']}/completions", {"evidence_text": "x"}, headers=headers)
    second = me.post(f"/challenges/{challenge['id']}/completions", {"evidence_text": "x"}, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.get_json() == second.get_json() and second.headers.get("Idempotent-Replayed") == "true"


def test_openapi_lists_the_routes(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in (
        "/api/v1/challenges",
        "/api/v1/challenges/{challenge_id}/publish",
        "/api/v1/challenges/{challenge_id}/close",
        "/api/v1/challenges/{challenge_id}/completions",
        "/api/v1/completions",
        "/api/v1/completions/{completion_id}/approve",
        "/api/v1/completions/{completion_id}/reject",
    ):
        assert path in paths


def test_a_link_is_enough_where_a_text_is_asked_for(api, staff_api, make_advocate):
    me = api(make_advocate().user)
    challenge = published(staff_api, type="custom", allowed_domains=[])
    assert challenge["evidence"] == ["text"]
    response = me.post(f"/challenges/{challenge['id']}/completions", {"evidence_url": "https://example.com/p"})
    assert response.status_code == 201
    bad = me.post(
        f"/challenges/{published(staff_api, type='webinar', allowed_domains=[])['id']}/completions",
        {"evidence_url": "ftp://nope"},
    )
    assert bad.status_code == 422 and "evidence_url" in bad.get_json()["error"]["fields"]
