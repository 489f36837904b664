"""Issue 19: a break ("no asks on these dates") follows one rule for every challenge — while it
applies, every challenge the advocate would take on is locked with the same reason and its
submission refused, whatever its effort — and the hub says the advocate is on a break. Before,
a break locked the medium/high-effort challenges (asks) but left quizzes and reviews open, and
the hub did not mention it."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from challenges import caps, services
from hub.errors import CapReached
from hub.extensions import db
from hub.models import Advocate

TODAY = dt.datetime.now(dt.UTC).date()
QUIZ = {"questions": [{"prompt": "2+2?", "options": ["3", "4"], "answer": 1}]}


def on_break(advocate: Advocate, first: dt.date, last: dt.date) -> None:
    advocate.preferences = {
        **(advocate.preferences or {}),
        "blackouts": [{"start": first.isoformat(), "end": last.isoformat()}],
    }
    db.session.commit()


@pytest.fixture()
def three_efforts(make_challenge):
    return [
        make_challenge(title="Product quiz", type="quiz", quiz=QUIZ, points=20),  # low effort, not an ask
        make_challenge(title="Share a photo", type="custom", points=30),  # low effort
        make_challenge(title="Write a case study", type="case_study", points=300),  # medium/high: an ask
    ]


def test_a_break_locks_every_challenge_whatever_its_effort(make_advocate, three_efforts):
    advocate = make_advocate()
    first, last = TODAY - dt.timedelta(days=1), TODAY + dt.timedelta(days=2)
    on_break(advocate, first, last)
    back = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), dt.UTC)
    items = {i.challenge.id: i for i in services.feed_for(advocate)}
    reason = f"You are on a break until {caps.day_label(last)} — challenges open again on {caps.day_label(back)}."
    for challenge in three_efforts:
        item = items[challenge.id]
        assert (item.available, item.lock_code, item.locked_reason, item.available_at) == (
            False,
            "on_break",
            reason,
            back,
        )
    evidences = ({"answers": [1]}, {"evidence_text": "x"}, {"evidence_text": "y"})
    for challenge, evidence in zip(three_efforts, evidences, strict=True):
        with pytest.raises(CapReached) as refused:
            services.submit_completion(challenge.id, advocate.id, evidence)
        db.session.rollback()
        assert refused.value.message == reason and refused.value.details["available_at"] == back
    # The first instant after the break: the quiz can be taken again.
    done = services.submit_completion(three_efforts[0].id, advocate.id, {"answers": [1]}, at=back)
    assert done.id is not None


def test_a_break_that_is_over_or_ahead_locks_nothing(make_advocate, three_efforts):
    advocate = make_advocate()
    on_break(advocate, TODAY + dt.timedelta(days=3), TODAY + dt.timedelta(days=5))
    assert caps.current_break(advocate) is None
    assert all(i.lock_code != "on_break" for i in services.feed_for(advocate))


def test_the_api_refuses_a_submission_during_a_break_with_cap_reached(api, make_advocate, three_efforts):
    advocate = make_advocate()
    on_break(advocate, TODAY, TODAY)
    refused = api(advocate.user).post(f"/challenges/{three_efforts[1].id}/completions", {"evidence_text": "x"})
    assert refused.status_code == 409 and refused.json["error"]["code"] == "cap_reached"
    tomorrow = dt.datetime.combine(TODAY + dt.timedelta(days=1), dt.time(), dt.UTC)
    assert dt.datetime.fromisoformat(refused.json["error"]["available_at"]) == tomorrow
    assert "You are on a break until" in refused.json["error"]["message"]


def test_the_hub_says_the_advocate_is_on_a_break_while_it_applies(as_role, three_efforts):
    client = as_role("advocate", name="Ada Lovelace")
    assert 'data-testid="on-break"' not in client.get("/").get_data(as_text=True)
    last = TODAY + dt.timedelta(days=4)
    on_break(client.advocate, TODAY, last)
    hub = client.get("/").get_data(as_text=True)
    assert 'data-testid="on-break"' in hub and "You are on a break" in hub
    assert f"Until {last:%b} {last.day}, {last.year}, nothing asks for your time" in hub
    assert hub.index('data-testid="on-break"') < hub.index("For you")  # said first
    page = client.get(f"/challenges/{three_efforts[0].id}").get_data(as_text=True)
    assert "You are on a break until" in page and 'name="answer-0"' not in page


def test_a_break_locks_refer_a_peer_like_the_referral_card(as_role, make_challenge):
    """A referral is a medium-effort ask and the referral challenge's card is locked by the break
    (the advocate's own challenges pause too): the form it completes is locked with the same
    reason, and a stale form's submission is refused — no referral, no completion, no ask."""
    from challenges.models import Ask, Completion
    from challenges.referrals.models import Referral

    referral = make_challenge(title="Refer a peer", type="referral", points=300)
    client = as_role("advocate")
    last = TODAY + dt.timedelta(days=2)
    on_break(client.advocate, TODAY, last)
    reason = (
        f"You are on a break until {caps.day_label(last)} — challenges open again on "
        f"{caps.day_label(last + dt.timedelta(days=1))}."
    )
    item = next(i for i in services.feed_for(client.advocate) if i.challenge.id == referral.id)
    assert (item.lock_code, item.locked_reason) == ("on_break", reason)

    page = client.get("/referrals").get_data(as_text=True)
    assert reason in page and '<fieldset class="plain" disabled>' in page
    lead = {"name": "Lead Person", "email": "lead@acme.example", "company": "Acme", "consent": "y"}
    refused = client.post("/referrals", data=lead).get_data(as_text=True)
    assert f"Referrals are locked for you: {reason}" in refused
    for table in (Referral, Completion, Ask):
        assert db.session.scalar(select(func.count()).select_from(table)) == 0, table


def test_a_break_locks_the_reference_call_card_and_leaves_community_answers_open(make_advocate, make_challenge):
    """The hub says no reference requests are sent during a break: the reference call's card is
    locked with the break's reason. A community answer is completed in the community, where an
    answer still counts, so its card stays open (and the banner says so)."""
    call = make_challenge(title="Take a reference call", type="reference_call", max_per_advocate=5)
    answer = make_challenge(title="Answer a question", type="community_answer")
    advocate = make_advocate()
    last = TODAY + dt.timedelta(days=2)
    on_break(advocate, TODAY, last)
    items = {i.challenge.id: i for i in services.feed_for(advocate)}
    assert (items[call.id].available, items[call.id].lock_code) == (False, "on_break")
    assert items[call.id].available_at == dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), dt.UTC)
    assert (items[answer.id].available, items[answer.id].lock_code) == (True, None)
