"""Referral abuse earns nothing (reliability.md case 7) and the email key is case/+tag-insensitive."""

from __future__ import annotations

import pytest

from challenges.referrals import services as referrals
from challenges.referrals.models import FlagReason, Referral, ReferralStatus
from challenges.values import email_key
from hub.errors import ValidationFailed
from hub.extensions import db
from rewards.models import LedgerEntry


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("Ada+x@Example.com", "ada@example.com"),
        ("ada@example.com", "ada@example.com"),
        ("ADA+work+more@EXAMPLE.COM", "ada@example.com"),
        ("a.da@example.com", "a.da@example.com"),  # dots are part of most addresses: kept
        ("+tag@example.com", "@example.com"),
    ],
)
def test_email_key(raw, key):
    assert email_key(raw) == key


def refer(advocate, email: str, name: str = "Peer Person"):
    referral = referrals.submit_referral(
        advocate.id, referrals.parse_referral({"name": name, "email": email, "company": "Peer Co", "consent": True})
    )
    db.session.commit()
    return referral


def test_self_referral_in_any_case_or_tag_is_flagged(make, refs):
    refs.challenge("referral", points=300, bonus_points=500)
    ada = make.advocate(email="ada@example.com")
    referral = refer(ada, "Ada+x@Example.com")
    assert referral.flag_reason is FlagReason.SELF_REFERRAL
    assert referral.status is ReferralStatus.FLAGGED
    assert referral.completion_id is None and referral.claimed_email_key is None


def test_existing_user_or_invitee_is_flagged(make, refs):
    refs.challenge("referral")
    ada = make.advocate(email="ada@example.com")
    make.user("sales", email="grace@example.com")
    assert refer(ada, "GRACE+deals@example.com").flag_reason is FlagReason.EXISTING_USER
    other = make.advocate(email="linus@example.com")
    assert refer(other, "Ada@Example.COM").flag_reason is FlagReason.EXISTING_USER


def test_second_referral_of_the_same_person_is_flagged_whoever_sends_it(make, refs):
    refs.challenge("referral", points=300)
    ada, bob = make.advocate(), make.advocate()
    first = refer(ada, "peer@example.com")
    assert first.flag_reason is None and first.claimed_email_key == "peer@example.com"
    assert first.completion_id is not None and first.points == 300
    again = refer(bob, "Peer+newsletter@EXAMPLE.com")
    assert again.flag_reason is FlagReason.ALREADY_REFERRED
    assert again.completion_id is None
    same_person = refer(ada, "PEER@example.com")
    assert same_person.flag_reason is FlagReason.ALREADY_REFERRED
    rows = db.session.scalars(db.select(Referral).order_by(Referral.id)).all()
    assert [r.email_key for r in rows] == ["peer@example.com"] * 3
    assert db.session.scalar(db.select(db.func.count()).select_from(LedgerEntry)) == 0


def test_flagged_referrals_never_earn_even_when_the_crm_names_them(make, refs):
    refs.challenge("referral", points=300, bonus_points=500)
    ada = make.advocate(email="ada@example.com")
    flagged = refer(ada, "ada+me@example.com")
    opp = refs.opportunity(referral_id=flagged.id, is_closed=True, is_won=True, close_date="2026-02-01")
    assert opp.referral_id == flagged.id
    db.session.refresh(ada)
    assert ada.balance == 0
    assert db.session.get(Referral, flagged.id).status is ReferralStatus.FLAGGED


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "peer@example.com", "company": "X", "consent": True}, "name"),
        ({"name": "P", "email": "not-an-email", "company": "X", "consent": True}, "email"),
        ({"name": "P", "email": "peer@example.com", "consent": True}, "company"),
        ({"name": "P", "email": "peer@example.com", "company": "X"}, "consent"),
        ({"name": "P", "email": "peer@example.com", "company": "X", "consent": "maybe"}, "consent"),
        ({"name": "P" * 121, "email": "peer@example.com", "company": "X", "consent": True}, "name"),
        ({"name": "P", "email": "a" * 250 + "@x.io", "company": "X", "consent": True}, "email"),
        ({"name": ["P"], "email": "peer@example.com", "company": "X", "consent": True}, "name"),
    ],
)
def test_invalid_referrals_are_refused_with_a_field_error(body, field):
    with pytest.raises(ValidationFailed) as err:
        referrals.parse_referral(body)
    assert field in err.value.fields


def test_referral_api_flags_and_ignores_extra_fields(api, make, refs):
    refs.challenge("referral", points=300)
    ada = make.advocate(email="ada@example.com")
    client = api(ada.user)
    made = client.post(
        "/referrals",
        json={
            "name": "Peer",
            "email": "Peer@Example.com",
            "company": "Peer Co",
            "consent": True,
            "points": 99999,
            "status": "won",
            "advocate_id": 999,
        },
    )
    assert made.status_code == 201, made.json
    assert made.json["status"] == "submitted" and made.json["earns_points"] is True
    dup = client.post(
        "/referrals", json={"name": "Peer", "email": "peer+2@example.com", "company": "Peer Co", "consent": True}
    )
    assert dup.status_code == 201
    assert dup.json["status"] == "flagged" and dup.json["earns_points"] is False
    assert "flag_reason" not in dup.json  # the reason is for staff
    assert client.post("/referrals", json={"name": "x"}).status_code == 422
    staff = api(make.user("manager")).get("/referrals?flagged=true")
    assert [r["flag_reason"] for r in staff.json["items"]] == ["already_referred"]
    assert client.get("/referrals").json["total"] == 2
