"""A capped referral (issue 12 item 7): the referral card and form are locked in advance with the
reason and date, by the feed's rule; a referral's award is decided when the CRM names it,
against the caps at that time — so rejecting the completion that blocked it restores it."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from challenges import services
from challenges.caps import day_label
from challenges.crm import opportunities
from challenges.referrals import services as referrals
from challenges.referrals.models import Referral
from hub.db import utcnow
from hub.extensions import db
from hub.models import Notification
from rewards.models import LedgerEntry

LEAD = {"name": "Lead Person", "email": "lead@acme.example", "company": "Acme", "consent": True}
OPP = {
    "external_id": "SF-9",
    "name": "Acme deal",
    "account": "Acme",
    "amount": "1000.00",
    "currency": "USD",
    "stage": "Discovery",
    "is_closed": False,
    "is_won": False,
    "created_date": "2026-01-05",
}


@pytest.fixture()
def capped(refs, make):
    """An advocate with a pending medium-effort completion (the default caps: 1 per 60 days)
    and an open 300-point referral challenge."""
    referral_challenge = refs.challenge("referral", points=300)
    webinar = refs.challenge("webinar", points=50)
    ada = make.advocate()
    pending = services.submit_completion(webinar.id, ada.id, {"evidence_text": "I joined the roadmap session"})
    db.session.commit()
    return ada, pending, referral_challenge


def points(advocate_id: int) -> int:
    return db.session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.delta), 0)).where(LedgerEntry.advocate_id == advocate_id)
    )


def expected_reason(pending) -> str:
    """The medium cap's words, computed from the blocking completion's date (60-day window)."""
    asked = pending.submitted_at
    return (
        f"You took on a medium-effort challenge on {day_label(asked)} — next one from "
        f"{day_label(asked + dt.timedelta(days=60))}"
    )


def test_the_referral_card_in_the_feed_is_locked_with_the_reason_and_date(capped):
    ada, pending, challenge = capped
    item = next(i for i in services.feed_for(ada) if i.challenge.id == challenge.id)
    assert (item.available, item.lock_code) == (False, "cap_reached")
    assert item.locked_reason == expected_reason(pending)
    assert item.available_at == pending.submitted_at + dt.timedelta(days=60)


def test_the_referral_form_is_locked_in_advance_and_a_submission_is_refused(capped, client, login):
    ada, pending, _ = capped
    login(client, ada.user)
    page = client.get("/referrals").get_data(as_text=True)
    assert expected_reason(pending) in page
    assert "Earn <strong>300 points</strong>" not in page
    assert '<fieldset class="plain" disabled>' in page
    response = client.post("/referrals", data=LEAD)  # a stale form: the panel comes back with the refusal
    assert f"Referrals are locked for you: {expected_reason(pending)}" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Referral)) == 0


def test_the_api_refuses_a_capped_referral_with_409_and_the_date(capped, api):
    ada, pending, _ = capped
    response = api(ada.user).post("/referrals", json=LEAD)
    assert response.status_code == 409, response.json
    assert response.json["error"]["code"] == "cap_reached"
    assert response.json["error"]["message"] == f"Referrals are locked for you: {expected_reason(pending)}"
    assert db.session.scalar(select(func.count()).select_from(Referral)) == 0


def test_the_form_opens_again_once_the_blocking_completion_is_rejected(capped, client, login, make):
    ada, pending, _ = capped
    services.reject_completion(pending.id, make.user("manager").id, "Not the right session")
    db.session.commit()
    login(client, ada.user)
    page = client.get("/referrals").get_data(as_text=True)
    assert "Earn <strong>300 points</strong>" in page and "disabled" not in page


def undecided_referral(ada, monkeypatch) -> Referral:
    """A referral made while the check said "open" but whose ask the caps then refused (a
    second ask claimed in between): its award is left to the CRM event."""
    real = referrals.open_referral_challenge

    def unlocked(advocate_id):
        offer = real(advocate_id)
        return referrals.Offer(offer.challenge_id, offer.title, offer.points, offer.bonus_points)

    monkeypatch.setattr(referrals, "open_referral_challenge", unlocked)
    referral = referrals.submit_referral(ada.id, referrals.parse_referral(LEAD))
    db.session.commit()
    monkeypatch.setattr(referrals, "open_referral_challenge", real)
    assert (referral.completion_id, referral.no_points_reason, referral.points) == (None, None, 300)
    return referral


def test_the_award_is_decided_when_the_crm_event_arrives_against_the_caps_then(capped, make, monkeypatch):
    ada, pending, _ = capped
    referral = undecided_referral(ada, monkeypatch)
    services.reject_completion(pending.id, make.user("manager").id, "Not the right session")
    db.session.commit()
    opportunities.upsert_opportunity(opportunities.parse_opportunity(OPP | {"referral_id": referral.id}))
    db.session.commit()
    db.session.refresh(referral)
    assert referral.completion_id is not None and referral.no_points_reason is None
    assert points(ada.id) == 300


def test_still_capped_when_the_crm_event_arrives_earns_nothing_and_says_why(capped, monkeypatch):
    ada, pending, _ = capped
    referral = undecided_referral(ada, monkeypatch)
    for _ in range(2):  # the CRM repeats itself: decided once
        opportunities.upsert_opportunity(opportunities.parse_opportunity(OPP | {"referral_id": referral.id}))
        db.session.commit()
    db.session.refresh(referral)
    assert referral.completion_id is None
    assert referral.no_points_reason == expected_reason(pending)
    assert points(ada.id) == 0
    notes = db.session.scalars(select(Notification.text).where(Notification.user_id == ada.user_id)).all()
    assert (
        notes.count(
            f"Your referral of Lead Person became an opportunity but earns no points: {expected_reason(pending)}"
        )
        == 1
    )


def test_the_points_shown_are_the_points_paid_even_if_the_challenge_changed(capped, make, monkeypatch):
    ada, pending, challenge = capped
    referral = undecided_referral(ada, monkeypatch)
    services.reject_completion(pending.id, make.user("manager").id, "Not the right session")
    db.session.execute(type(challenge).__table__.update().values(points=10, updated_at=utcnow()))
    db.session.commit()
    opportunities.upsert_opportunity(opportunities.parse_opportunity(OPP | {"referral_id": referral.id}))
    db.session.commit()
    assert points(ada.id) == 300


def test_an_open_referral_still_takes_its_ask_when_made(refs, make):
    refs.challenge("referral", points=300)
    webinar = refs.challenge("webinar", points=50)
    ada = make.advocate()
    referral = referrals.submit_referral(ada.id, referrals.parse_referral(LEAD))
    db.session.commit()
    assert referral.completion_id is not None and referral.no_points_reason is None
    assert services.feed_item(webinar, ada).lock_code == "cap_reached"  # its ask counts from now
