"""Issue 19: a failed quiz comes back in place with the form, and tries are limited per challenge
(default 3 rejected tries, then a 24-hour wait from the last of them) — in the service, the API,
the editor and the page. Before, the page showed "Have another go!" with no form until a reload,
and a 9-combination quiz could be guessed by unlimited instant retries."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from challenges import services
from challenges.models import Challenge, Completion, CompletionStatus
from hub.errors import LimitReached
from hub.extensions import db

HX = {"HX-Request": "true"}
QUIZ = {
    "questions": [
        {"prompt": "Which plan has SSO?", "options": ["Basic", "Pro", "Enterprise"], "answer": 2},
        {"prompt": "Where are exports?", "options": ["Settings", "Reports", "Nowhere"], "answer": 1},
    ]
}
WRONG, RIGHT = [0, 0], [2, 1]


def fail_once(challenge_id: int, advocate_id: int, jobs, at: dt.datetime | None = None) -> Completion:
    """Submit wrong answers and let the grading job reject them; returns the decided completion."""
    completion = services.submit_completion(challenge_id, advocate_id, {"answers": WRONG}, at=at)
    db.session.commit()
    jobs.join()
    db.session.expire_all()
    decided = db.session.get(Completion, completion.id)
    assert decided.status is CompletionStatus.REJECTED
    return decided


def test_three_wrong_tries_then_a_24_hour_wait_then_three_more(make_advocate, make_challenge, jobs):
    challenge = make_challenge(type="quiz", quiz=QUIZ, points=40)
    assert (challenge.retry_limit, challenge.retry_wait_hours) == (3, 24)  # the defaults
    advocate = make_advocate()
    tries = [fail_once(challenge.id, advocate.id, jobs) for _ in range(3)]
    third_decided = tries[-1].decided_at
    with pytest.raises(LimitReached) as refused:
        services.submit_completion(challenge.id, advocate.id, {"answers": RIGHT})
    db.session.rollback()
    assert refused.value.details["available_at"] == third_decided + dt.timedelta(hours=24)
    assert "You have used your 3 tries — you can try again from" in refused.value.message
    item = next(
        i for i in services.feed_for(db.session.get(type(advocate), advocate.id)) if i.challenge.id == challenge.id
    )
    assert not item.available and item.available_at == third_decided + dt.timedelta(hours=24)

    one_second_early = third_decided + dt.timedelta(hours=24, seconds=-1)
    with pytest.raises(LimitReached):
        services.submit_completion(challenge.id, advocate.id, {"answers": RIGHT}, at=one_second_early)
    db.session.rollback()
    next_day = third_decided + dt.timedelta(hours=24)
    fourth = fail_once(challenge.id, advocate.id, jobs, at=next_day)  # a fresh round of three
    assert fourth.status is CompletionStatus.REJECTED
    round_two = services.retry_round(challenge, (*[t.decided_at for t in tries], fourth.decided_at), next_day)
    assert (round_two.used, round_two.left, round_two.wait_until) == (1, 2, None)


def test_the_retry_rule_counted_by_hand():
    """Rounds of `retry_limit` rejections; a used-up round waits from its last rejection."""
    challenge = Challenge(retry_limit=2, retry_wait_hours=10)
    t0 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
    hour = dt.timedelta(hours=1)
    assert services.retry_round(challenge, (t0,), t0 + hour).left == 1
    used_up = services.retry_round(challenge, (t0, t0 + hour), t0 + 2 * hour)
    assert (used_up.left, used_up.wait_until) == (2, t0 + 11 * hour)  # 10 h after the second
    assert services.retry_round(challenge, (t0, t0 + hour), t0 + 11 * hour).wait_until is None
    third = services.retry_round(challenge, (t0, t0 + hour, t0 + 12 * hour), t0 + 13 * hour)
    assert (third.used, third.wait_until) == (1, None)
    no_wait = Challenge(retry_limit=1, retry_wait_hours=0)
    assert services.retry_round(no_wait, (t0,), t0).wait_until is None


def test_retry_limit_and_wait_are_set_per_challenge_through_the_api(api, make_user, make_advocate, jobs):
    staff = api(make_user("manager"))
    body = {"title": "Product quiz", "type": "quiz", "points": 20, "quiz": QUIZ}
    bad = staff.post("/challenges", body | {"retry_limit": 0, "retry_wait_hours": -1})
    assert bad.status_code == 422, bad.json
    assert set(bad.json["error"]["fields"]) == {"retry_limit", "retry_wait_hours"}
    assert db.session.scalar(select(Challenge)) is None
    created = staff.post("/challenges", body | {"retry_limit": 1, "retry_wait_hours": 2}).json
    assert (created["retry_limit"], created["retry_wait_hours"]) == (1, 2)
    patched = staff.patch(f"/challenges/{created['id']}", {"retry_wait_hours": 6}).json
    assert (patched["retry_limit"], patched["retry_wait_hours"]) == (1, 6)
    assert staff.post(f"/challenges/{created['id']}/publish").status_code == 200
    defaults = staff.post("/challenges", body | {"title": "Another quiz"}).json
    assert (defaults["retry_limit"], defaults["retry_wait_hours"]) == (3, 24)

    advocate = make_advocate()
    me = api(advocate.user)
    first = me.post(f"/challenges/{created['id']}/completions", {"answers": WRONG})
    assert first.status_code in (200, 201, 202), first.json
    jobs.join()
    decided_at = db.session.scalar(select(Completion.decided_at))
    again = me.post(f"/challenges/{created['id']}/completions", {"answers": RIGHT})
    assert again.status_code == 409 and again.json["error"]["code"] == "limit_reached"
    available = dt.datetime.fromisoformat(again.json["error"]["available_at"])
    assert available == decided_at + dt.timedelta(hours=6)
    assert "You have used your try" in again.json["error"]["message"]


def test_the_editor_sets_the_retry_limit_and_wait(as_role):
    manager = as_role("manager")
    form = {
        "title": "Product quiz",
        "type": "quiz",
        "points": "20",
        "questions-0-prompt": "Q?",
        "questions-0-options-0": "a",
        "questions-0-options-1": "b",
        "questions-0-correct": "1",
        "max_per_advocate": "1",
    }
    refused = manager.post("/admin/challenges/new", data=form | {"retry_limit": "0", "retry_wait_hours": "24"})
    assert refused.status_code == 422 and db.session.scalar(select(Challenge)) is None
    created = manager.post("/admin/challenges/new", data=form | {"retry_limit": "5", "retry_wait_hours": "48"})
    assert created.status_code == 302, created.get_data(as_text=True)
    challenge = db.session.scalar(select(Challenge))
    assert (challenge.retry_limit, challenge.retry_wait_hours) == (5, 48)
    editor = manager.get(f"/admin/challenges/{challenge.id}/edit").get_data(as_text=True)
    assert 'name="retry_limit"' in editor and 'value="5"' in editor and 'value="48"' in editor


def test_a_failed_quiz_comes_back_in_place_with_the_form_and_the_tries_left(as_role, make_challenge, jobs):
    client = as_role("advocate")
    challenge = make_challenge(type="quiz", quiz=QUIZ, points=40, title="Product quiz")
    submitted = client.post(
        f"/challenges/{challenge.id}/complete", data={"answer-0": "0", "answer-1": "0", "target": "page"}, headers=HX
    )
    completion_id = db.session.scalar(select(Completion.id))
    # Graded in the request (issue 22): the submission's own response is the rejection, with the
    # form again — nothing to poll for.
    answered = submitted.get_data(as_text=True)
    assert "status?poll=1" not in answered
    polled = client.get(f"/completions/{completion_id}/status?poll=1&target=page", headers=HX).get_data(as_text=True)
    for page in (answered, polled):
        assert "Not approved" in page and "0 of 2 answers were right; 2 are needed." in page
        assert "2 tries left, then a 24-hour wait." in page
        assert f'hx-post="/challenges/{challenge.id}/complete"' in page and 'name="answer-1"' in page
        assert "Have another go" not in page

    for _ in range(2):
        client.post(f"/challenges/{challenge.id}/complete", data={"answer-0": "1", "answer-1": "2"}, headers=HX)
        jobs.join()
    last_id = db.session.scalar(select(Completion.id).order_by(Completion.id.desc()))
    locked = client.get(f"/completions/{last_id}/status?poll=1&target=card", headers=HX).get_data(as_text=True)
    assert "You have used your 3 tries — you can try again from" in locked
    assert 'name="answer-0"' not in locked  # no form while the wait applies
    refused = client.post(f"/challenges/{challenge.id}/complete", data={"answer-0": "2", "answer-1": "1"}, headers=HX)
    assert "You have used your 3 tries" in refused.get_data(as_text=True)
    assert db.session.scalar(select(Completion).where(Completion.status == CompletionStatus.APPROVED)) is None


def test_an_approval_starts_the_tries_afresh():
    """Only rejected tries submitted after the last counting completion (approved or in flight)
    count toward the round: a repeatable challenge's old rejections never lock a new round."""
    from challenges.services.feed import tries_since

    t0 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
    minute = dt.timedelta(minutes=1)
    rejected = [(t0, t0 + minute), (t0 + 2 * minute, t0 + 3 * minute), (t0 + 9 * minute, t0 + 10 * minute)]
    assert tries_since(rejected, None) == (t0 + minute, t0 + 3 * minute, t0 + 10 * minute)
    assert tries_since(rejected, t0 + 5 * minute) == (t0 + 10 * minute,)  # approved at t0 + 5 min
    assert tries_since(rejected, t0 + 9 * minute) == ()  # submitted at the same instant: not after
