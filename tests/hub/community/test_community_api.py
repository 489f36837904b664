"""Community API (api.md): questions, answers, upvote and accept rules, moderation, milestones."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from hub import signals
from hub.community.models import Answer, AnswerVote, Question
from hub.extensions import db
from hub.hooks import hooks
from hub.models import Advocate, AuditEntry, Notification
from hub.queue import job_timeout


@pytest.fixture()
def people(make, ctx):
    asker = make.advocate(name="Asker")
    answerer = make.advocate(name="Answerer")
    voter = make.advocate(name="Voter")
    manager = make.user("manager")
    sales = make.user("sales")
    return {"asker": asker.user, "answerer": answerer.user, "voter": voter.user, "manager": manager, "sales": sales}


@pytest.fixture()
def milestones(monkeypatch, app):
    """Record the answer-milestone jobs and signals (as the challenges package would subscribe)."""
    calls: list[tuple[str, int]] = []

    @job_timeout(10)
    def record_milestone(answer_id: int) -> None:
        calls.append(("job", answer_id))

    monkeypatch.setattr(hooks(app), "answer_milestone_jobs", [record_milestone])

    def on_accepted(_sender, answer_id, **_kw):
        calls.append(("accepted", answer_id))

    def on_threshold(_sender, answer_id, **_kw):
        calls.append(("upvotes", answer_id))

    signals.answer_accepted.connect(on_accepted)
    signals.answer_upvote_threshold.connect(on_threshold)
    yield calls
    signals.answer_accepted.disconnect(on_accepted)
    signals.answer_upvote_threshold.disconnect(on_threshold)


def _thread(api, people) -> tuple[dict, dict]:
    question = api(people["asker"]).post("/questions", {"title": "How do you run SSO?", "body": "Any **tips**?"})
    assert question.status_code == 201, question.json
    answer = api(people["answerer"]).post(f"/questions/{question.json['id']}/answers", {"body": "Use *groups*."})
    assert answer.status_code == 201, answer.json
    return question.json, answer.json


def test_ask_and_answer_return_sanitized_html(api, people):
    question, answer = _thread(api, people)
    assert question["body_html"] == "<p>Any <strong>tips</strong>?</p>"
    assert question["author_id"] == people["asker"].id and question["created_at"].endswith("Z")
    assert answer["body_html"] == "<p>Use <em>groups</em>.</p>"
    assert (answer["upvotes"], answer["is_accepted"]) == (0, False)
    detail = api(people["sales"]).get(f"/questions/{question['id']}").json
    assert [a["id"] for a in detail["answers"]] == [answer["id"]]
    assert set(detail["answers"][0]) >= {"id", "body_html", "author_id", "upvotes", "is_accepted"}


def test_roles_validation_and_mass_assignment(api, people):
    assert api(people["sales"]).post("/questions", {"title": "Sales question", "body": "x"}).status_code == 403
    bad = api(people["asker"]).post("/questions", {"title": "", "body": "   "})
    assert bad.status_code == 422 and set(bad.json["error"]["fields"]) == {"title", "body"}
    assert api(people["asker"]).post("/questions", {"title": ["x"], "body": 5}).status_code == 422
    assert api(people["asker"]).post("/questions", {"title": "Long one", "body": "x" * 20_001}).status_code == 422
    only_script = api(people["asker"]).post("/questions", {"title": "Scripted", "body": "<script>x()</script>"})
    assert only_script.status_code == 422
    smuggled = api(people["asker"]).post(
        "/questions",
        {
            "title": "Smuggled fields",
            "body": "ok",
            "author_id": people["manager"].id,
            "accepted_answer_id": 5,
            "is_hidden": True,
            "body_html": "<script>1</script>",
        },
    )
    assert smuggled.status_code == 201
    assert (smuggled.json["author_id"], smuggled.json["accepted_answer_id"]) == (people["asker"].id, None)
    assert smuggled.json["body_html"] == "<p>ok</p>"
    assert api(people["asker"]).post("/questions/999999/answers", {"body": "x"}).status_code == 404
    assert api(people["asker"]).get("/questions/999999").status_code == 404


def test_upvote_once_never_own(api, people, milestones):
    _, answer = _thread(api, people)
    path = f"/answers/{answer['id']}/upvote"
    first = api(people["voter"]).post(path)
    assert first.status_code == 200 and first.json["upvotes"] == 1 and first.json["voted"] is True
    again = api(people["voter"]).post(path)
    assert again.status_code == 409 and again.json["error"]["code"] == "already_voted"
    own = api(people["answerer"]).post(path)
    assert own.status_code == 409 and own.json["error"]["code"] == "invalid_state"
    assert api(people["sales"]).post(path).status_code == 403
    assert api(people["voter"]).post("/answers/999999/upvote").status_code == 404
    assert db.session.scalar(select(func.count()).select_from(AnswerVote)) == 1
    assert db.session.get(Answer, answer["id"]).upvotes == 1
    assert milestones == []


def test_third_upvote_fires_the_milestone_once(api, people, make, milestones, jobs):
    _, answer = _thread(api, people)
    voters = [people["voter"], people["asker"], people["manager"], make.advocate().user]
    for voter in voters:
        assert api(voter).post(f"/answers/{answer['id']}/upvote").status_code == 200
    jobs.join()
    assert sorted(milestones) == [("job", answer["id"]), ("upvotes", answer["id"])]
    assert db.session.get(Answer, answer["id"]).upvotes == 4


def test_accept_rules(api, people, milestones, jobs):
    question, answer = _thread(api, people)
    other = api(people["voter"]).post(f"/questions/{question['id']}/answers", {"body": "Another view"}).json
    path = f"/answers/{answer['id']}/accept"
    assert api(people["voter"]).post(path).status_code == 403  # neither the asker nor a manager
    assert api(people["sales"]).post(path).status_code == 403
    accepted = api(people["asker"]).post(path)
    assert accepted.status_code == 200 and accepted.json["is_accepted"] is True
    assert api(people["asker"]).post(path).json["is_accepted"] is True  # a repeat is a no-op
    second = api(people["manager"]).post(f"/answers/{other['id']}/accept")
    assert second.status_code == 409 and second.json["error"]["code"] == "invalid_state"
    jobs.join()
    assert sorted(milestones) == [("accepted", answer["id"]), ("job", answer["id"])]
    note = db.session.scalar(select(Notification).where(Notification.kind == "answer_accepted"))
    assert note.user_id == people["answerer"].id and "was accepted" in note.text
    assert note.url == f"/community/questions/{question['id']}#answer-{answer['id']}"
    detail = api(people["asker"]).get(f"/questions/{question['id']}").json
    assert detail["accepted_answer_id"] == answer["id"] and detail["answers"][0]["id"] == answer["id"]


def test_nobody_accepts_their_own_answer(api, people):
    question = api(people["asker"]).post("/questions", {"title": "Self answered", "body": "?"}).json
    mine = api(people["asker"]).post(f"/questions/{question['id']}/answers", {"body": "Found it"}).json
    refused = api(people["asker"]).post(f"/answers/{mine['id']}/accept")
    assert refused.status_code == 409 and refused.json["error"]["code"] == "invalid_state"


def test_manager_accepts_for_the_asker(api, people):
    _, answer = _thread(api, people)
    assert api(people["manager"]).post(f"/answers/{answer['id']}/accept").json["is_accepted"] is True
    audit = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "community.accept"))
    assert audit.actor_id == people["manager"].id


def test_hiding_is_for_managers_audited_and_invisible_to_others(api, people):
    question, answer = _thread(api, people)
    assert api(people["voter"]).post(f"/answers/{answer['id']}/hide", {"reason": "spam"}).status_code == 403
    assert api(people["manager"]).post(f"/answers/{answer['id']}/hide", {"reason": ""}).status_code == 422
    hidden = api(people["manager"]).post(f"/answers/{answer['id']}/hide", {"reason": "Abusive language"})
    assert hidden.status_code == 200 and hidden.json["hidden_reason"] == "Abusive language"
    again = api(people["manager"]).post(f"/answers/{answer['id']}/hide", {"reason": "Twice"})
    assert again.status_code == 409
    assert api(people["voter"]).get(f"/questions/{question['id']}").json["answers"] == []
    assert api(people["voter"]).post(f"/answers/{answer['id']}/upvote").status_code == 404
    assert len(api(people["manager"]).get(f"/questions/{question['id']}").json["answers"]) == 1

    assert api(people["manager"]).post(f"/questions/{question['id']}/hide", {"reason": "Off topic"}).status_code == 200
    assert api(people["voter"]).get(f"/questions/{question['id']}").status_code == 404
    assert api(people["voter"]).get("/questions").json["total"] == 0
    assert api(people["manager"]).get("/questions").json["items"][0]["is_hidden"] is True
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.target_type.in_(["answer", "question"])))
    assert sorted(actions) == ["community.hide", "community.hide"]


def test_search_filters_and_sort(api, people):
    asker, other = api(people["asker"]), api(people["voter"])
    sso = asker.post("/questions", {"title": "SSO with Okta", "body": "How do you map groups?"}).json
    audit = other.post("/questions", {"title": "Audit exports", "body": "SIEM 100% coverage_ok?"}).json
    quiet = asker.post("/questions", {"title": "Quiet question", "body": "Nobody answers"}).json
    top = api(people["answerer"]).post(f"/questions/{audit['id']}/answers", {"body": "Poll the API"}).json
    api(people["answerer"]).post(f"/questions/{sso['id']}/answers", {"body": "Use SCIM"})
    asker.post(f"/answers/{top['id']}/upvote")

    def ids(client, **params) -> list[int]:
        query = "&".join(f"{k}={v}" for k, v in params.items())
        response = client.get(f"/questions?{query}")
        assert response.status_code == 200, response.json
        return [item["id"] for item in response.json["items"]]

    assert ids(other) == [quiet["id"], audit["id"], sso["id"]]
    assert ids(other, q="okta") == [sso["id"]]
    assert ids(other, q="GROUPS") == [sso["id"]]
    assert ids(other, q="100%25") == [audit["id"]]  # LIKE wildcards are literal
    assert ids(other, q="_ok") == [audit["id"]]
    assert ids(other, filter="unanswered") == [quiet["id"]]
    assert ids(asker, filter="mine") == [quiet["id"], sso["id"]]
    assert ids(other, sort="top")[0] == audit["id"]
    assert other.get("/questions?sort=loudest").status_code == 422
    listed = other.get("/questions?q=audit").json["items"][0]
    assert (listed["answer_count"], listed["upvotes"], listed["is_answered"]) == (1, 1, False)


def test_activity_is_recorded_for_advocates(api, people):
    _thread(api, people)
    advocate = db.session.scalar(select(Advocate).where(Advocate.user_id == people["answerer"].id))
    assert advocate.last_activity_at is not None


def test_idempotency_key_replays_a_question(api, people):
    client = api(people["asker"])
    headers = {"Idempotency-Key": "ask-once"}
    first = client.post("/questions", {"title": "Only once please", "body": "x"}, headers=headers)
    second = client.post("/questions", {"title": "Only once please", "body": "x"}, headers=headers)
    assert first.status_code == second.status_code == 201 and first.json == second.json
    assert db.session.scalar(select(func.count()).select_from(Question)) == 1
