"""Issue 18 (product.md §15): the trust score's arithmetic, each signal at its edge, gating of
automatic approval and redemptions below the threshold, a duplicate evidence URL always going
to review, staff clearing a signal, and who sees the score."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from challenges import services, verifiers
from challenges import trust as challenge_trust
from challenges.models import Completion, CompletionStatus
from challenges.referrals.services import parse_referral, submit_referral
from hub import accounts, privacy, trust
from hub.community import services as community
from hub.db import utcnow
from hub.extensions import db
from hub.models import Account, Advocate, AuditEntry, TrustSignal, UserSession
from hub.settings import save_setting
from rewards.models import Redemption, RedemptionStatus, Reward

DAY = dt.timedelta(days=1)


def no_jobs_commit() -> None:
    """Commit without the after-commit jobs (each test runs the detector it is about itself)."""
    db.session.info.pop("vouch_pending_jobs", None)
    db.session.commit()


def kinds(advocate_id: int) -> list[str]:
    return sorted(db.session.scalars(select(TrustSignal.kind).where(TrustSignal.advocate_id == advocate_id)))


def score(advocate_id: int) -> int:
    db.session.expire_all()
    return db.session.get(Advocate, advocate_id).trust_score


# --- score arithmetic ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("weights", "expected"), [((), 100), ((40,), 60), ((40, 25), 35), ((40, 40, 30), 0), ((5, 5, 5), 85)]
)
def test_score_is_100_minus_uncleared_weights_never_below_zero(weights, expected):
    assert trust.score_of(list(weights)) == expected


def test_recompute_counts_only_uncleared_signals_and_a_signal_is_recorded_once(make_advocate, make_user):
    advocate = make_advocate()
    assert trust.record_signal(advocate.id, "duplicate_url", "completion:1", "Same link as #9.")
    assert not trust.record_signal(advocate.id, "duplicate_url", "completion:1", "Same link as #9.")  # a rerun
    assert trust.record_signal(advocate.id, "shared_ip", "8.8.8.8|2026-11-30", "Two accounts.")
    assert trust.recompute_score(advocate.id) == 100 - 40 - 25
    db.session.commit()
    signal = db.session.scalar(select(TrustSignal).where(TrustSignal.kind == "shared_ip"))
    trust.clear_signal(signal.id, make_user("manager").id, "Same office, checked with the CSM.")
    db.session.commit()
    assert score(advocate.id) == 60
    cleared = db.session.get(TrustSignal, signal.id)
    assert cleared.cleared_reason == "Same office, checked with the CSM." and cleared.cleared_at is not None
    assert db.session.scalar(select(AuditEntry.action).where(AuditEntry.action == "trust_signal.clear"))


# --- duplicate evidence URL ------------------------------------------------------------------


@pytest.fixture()
def review(make_challenge):
    return make_challenge(title="Review us on G2", type="review", platform="g2", points=100, marker="Acme")


@pytest.fixture()
def webinar(make_challenge):
    return make_challenge(title="Tell us about the webinar", type="custom", points=10, max_per_advocate=1000)


def submit(challenge, advocate, **evidence) -> Completion:
    completion = services.submit_completion(challenge.id, advocate.id, evidence)
    no_jobs_commit()
    return completion


@pytest.mark.parametrize(
    "copy",
    [
        "https://www.g2.com/products/acme/reviews/42",
        "https://g2.com/products/acme/reviews/42/",
        "HTTPS://WWW.G2.COM/products/acme/reviews/42?utm_source=mail#top",
    ],
)
def test_a_url_another_advocate_used_is_held_and_signalled(review, make_advocate, copy):
    first = submit(review, make_advocate(), evidence_url="https://www.g2.com/products/acme/reviews/42")
    second_advocate = make_advocate()
    second = submit(review, second_advocate, evidence_url=copy)
    assert first.hold_reason is None
    assert second.hold_reason == f"Duplicate evidence link: already used by another advocate (completion #{first.id})."
    assert challenge_trust.detect_submission_signals(second.id) == ["duplicate_url"]
    no_jobs_commit()
    assert kinds(second_advocate.id) == ["duplicate_url"] and score(second_advocate.id) == 60


def test_the_same_advocate_sending_their_link_again_is_no_duplicate(review, make_advocate):
    advocate = make_advocate()
    first = submit(review, advocate, evidence_url="https://g2.com/r/7")
    services.reject_completion(first.id, None, "Please add the disclosure line.")
    no_jobs_commit()
    again = submit(review, advocate, evidence_url="https://g2.com/r/7")
    assert again.hold_reason is None
    assert challenge_trust.detect_submission_signals(again.id) == []


def test_a_held_completion_goes_to_review_whatever_the_score(review, make_advocate):
    submit(review, make_advocate(), evidence_url="https://g2.com/r/8")
    held = submit(review, make_advocate(), evidence_url="https://g2.com/r/8")
    assert score(held.advocate_id) == 100  # no job ran: the score has not moved, the hold still holds
    outcome = services.apply_verdict(held.id, verifiers.Verdict("approve", "Found “Acme” on the page."))
    no_jobs_commit()
    done = db.session.get(Completion, held.id)
    assert outcome == "pending_review" and done.status is CompletionStatus.PENDING_REVIEW
    assert done.verification_note.startswith("Duplicate evidence link") and "Found “Acme”" in done.verification_note


# --- bursts, short and repeated answers ---------------------------------------------------------


def test_burst_needs_six_in_an_hour_far_above_the_own_rate(webinar, make_advocate):
    advocate = make_advocate()
    now = utcnow()
    for n in range(5):
        c = services.submit_completion(
            webinar.id,
            advocate.id,
            {"evidence_text": f"Session number {n} was useful"},
            at=now - dt.timedelta(minutes=50 - n),
        )
        services.approve_completion(c.id, None)
    no_jobs_commit()
    last = db.session.scalar(select(Completion).order_by(Completion.id.desc()))
    assert "burst" not in challenge_trust.detect_submission_signals(last.id)  # 5 in the hour: not yet
    sixth = services.submit_completion(webinar.id, advocate.id, {"evidence_text": "Session six was useful too"}, at=now)
    no_jobs_commit()
    assert challenge_trust.detect_submission_signals(sixth.id) == ["burst"]


def test_no_burst_for_an_advocate_whose_own_rate_is_that_high(webinar, make_advocate):
    advocate = make_advocate()
    now = utcnow()
    # 900 in the 30 days before this hour: 1.25 an hour, so 6 this hour is under 5 times that
    at = now - dt.timedelta(hours=2)
    for when in (at - dt.timedelta(minutes=45 * n) for n in range(900)):
        db.session.add(
            Completion(
                challenge_id=webinar.id,
                advocate_id=advocate.id,
                status=CompletionStatus.APPROVED,
                points_offered=10,
                submitted_at=when,
            )
        )
    for n in range(6):
        c = services.submit_completion(
            webinar.id,
            advocate.id,
            {"evidence_text": f"Another session {n} attended"},
            at=now - dt.timedelta(minutes=5 - n),
        )
        services.approve_completion(c.id, None)
    no_jobs_commit()
    last = db.session.scalar(select(Completion).order_by(Completion.id.desc()))
    assert challenge_trust._rates(advocate.id, last.submitted_at) == (6, 900)
    assert "burst" not in challenge_trust.detect_submission_signals(last.id)


@pytest.mark.parametrize(("text", "short"), [("x" * 14, True), ("x" * 15, False), ("   ok   ", True)])
def test_short_answer_edge(webinar, make_advocate, text, short):
    completion = submit(webinar, make_advocate(), evidence_text=text)
    assert ("short_answer" in challenge_trust.detect_submission_signals(completion.id)) is short


def test_an_answer_repeating_another_advocates_is_signalled_not_ones_own(webinar, make_advocate):
    words = "The webinar on dashboards helped our team ship reports."
    author = make_advocate()
    first = submit(webinar, author, evidence_text=words)
    assert challenge_trust.detect_submission_signals(first.id) == []
    services.approve_completion(first.id, None)
    mine_again = submit(webinar, author, evidence_text=words)
    assert challenge_trust.detect_submission_signals(mine_again.id) == []
    copier = make_advocate()
    copy = submit(webinar, copier, evidence_text="  the WEBINAR on dashboards helped our team   ship reports. ")
    assert challenge_trust.detect_submission_signals(copy.id) == ["repeated_answer"]
    no_jobs_commit()
    evidence = db.session.scalar(select(TrustSignal.evidence).where(TrustSignal.advocate_id == copier.id))
    assert f"completion #{first.id}" in evidence


# --- shared login address ----------------------------------------------------------------------


def _in_account(advocate, name: str) -> None:
    account = Account(name=name, name_key=name.lower())
    db.session.add(account)
    db.session.flush()
    db.session.get(Advocate, advocate.id).account_id = account.id


def _login(advocate, ip: str, at: dt.datetime) -> tuple[str, dt.datetime]:
    sid = accounts.start_session(advocate.user, ip, "test")
    db.session.get(UserSession, sid).created_at = at
    no_jobs_commit()
    return ip, at


def test_shared_public_ip_across_accounts_within_a_day(make_advocate):
    a, b, c = make_advocate(), make_advocate(), make_advocate()
    _in_account(a, "Alpha Corp")
    _in_account(b, "Beta Inc")
    db.session.get(Advocate, c.id).account_id = db.session.get(Advocate, a.id).account_id  # a's colleague
    now = utcnow()
    _login(a, "81.2.69.160", now - dt.timedelta(hours=20))
    _login(c, "81.2.69.160", now - dt.timedelta(hours=10))
    colleague = _login(c, "81.2.69.160", now - dt.timedelta(hours=9))
    assert trust.detect_shared_ip(*colleague) == []  # one account: colleagues in one office
    login = _login(b, "81.2.69.160", now)
    assert sorted(trust.detect_shared_ip(*login)) == sorted([a.id, b.id, c.id])
    no_jobs_commit()
    assert score(b.id) == 75
    assert trust.detect_shared_ip(*login) == []  # a rerun records nothing twice


def test_a_login_from_a_shared_public_address_raises_the_signal_through_its_job(make_advocate, jobs):
    a, b = make_advocate(), make_advocate()
    _in_account(a, "Alpha Corp")
    _in_account(b, "Beta Inc")
    _login(a, "81.2.69.160", utcnow() - dt.timedelta(hours=3))
    accounts.start_session(db.session.get(Advocate, b.id).user, "81.2.69.160", "test")
    db.session.commit()  # the job is queued after this commit
    db.session.rollback()
    jobs.join()
    assert kinds(a.id) == ["shared_ip"] and kinds(b.id) == ["shared_ip"] and score(b.id) == 75


@pytest.mark.parametrize("ip", ["127.0.0.1", "10.1.2.3", "192.168.0.7", "172.16.5.5", "::1", "fe80::1", "bogus"])
def test_loopback_and_private_addresses_never_count(make_advocate, ip):
    a, b = make_advocate(), make_advocate()
    _in_account(a, "Alpha Corp")
    _in_account(b, "Beta Inc")
    _login(a, ip, utcnow() - dt.timedelta(hours=1))
    assert trust.detect_shared_ip(*_login(b, ip, utcnow())) == []


def test_logins_more_than_a_day_apart_do_not_count(make_advocate):
    a, b = make_advocate(), make_advocate()
    _in_account(a, "Alpha Corp")
    _in_account(b, "Beta Inc")
    now = utcnow()
    _login(a, "81.2.69.160", now - DAY - dt.timedelta(minutes=1))
    assert trust.detect_shared_ip(*_login(b, "81.2.69.160", now)) == []


# --- upvote rings and flagged referrals --------------------------------------------------------


def _answers(author, n: int) -> list[int]:
    question = community.ask_question(author.user, "How do you set up dashboards?", "Tips welcome.")
    return [community.post_answer(author.user, question.id, f"Answer {i} about dashboards").id for i in range(n)]


def test_upvote_ring_needs_three_mutual_upvotes_that_are_most_of_each(make_advocate):
    a, b, other = make_advocate(), make_advocate(), make_advocate()
    a_answers, b_answers, other_answers = _answers(a, 3), _answers(b, 3), _answers(other, 4)
    for answer_id in a_answers[:2]:
        community.upvote_answer(b.user, answer_id)
    for answer_id in b_answers:
        community.upvote_answer(a.user, answer_id)
    no_jobs_commit()
    assert trust.detect_upvote_ring(a.user_id, b.user_id) == []  # b gave a only 2
    community.upvote_answer(b.user, a_answers[2])
    no_jobs_commit()
    assert sorted(trust.detect_upvote_ring(b.user_id, a.user_id)) == sorted([a.id, b.id])
    # a pair whose mutual upvotes are a minority of what one of them gives is no ring
    c, d = make_advocate(), make_advocate()
    c_answers, d_answers = _answers(c, 3), _answers(d, 3)
    for answer_id in c_answers:
        community.upvote_answer(d.user, answer_id)
    for answer_id in d_answers + other_answers:
        community.upvote_answer(c.user, answer_id)  # 3 of c's 7 upvotes go to d
    no_jobs_commit()
    assert trust.detect_upvote_ring(c.user_id, d.user_id) == []


def test_a_flagged_referral_lowers_the_score_once_its_job_runs(make_advocate, jobs):
    advocate = make_advocate()
    submit_referral(
        advocate.id,
        parse_referral({"name": "Me Again", "email": advocate.user.email, "company": "Self", "consent": True}),
    )
    db.session.commit()
    db.session.rollback()
    jobs.join()
    assert kinds(advocate.id) == ["flagged_referral"] and score(advocate.id) == 70


# --- gating -------------------------------------------------------------------------------------


def _below_threshold(advocate) -> None:
    trust.record_signal(advocate.id, "duplicate_url", "completion:0", "Same link as another advocate.")
    trust.record_signal(advocate.id, "shared_ip", "81.2.69.160|2026-11-30", "Two accounts on one address.")
    trust.recompute_score(advocate.id)
    no_jobs_commit()


def test_below_the_threshold_automatic_approval_goes_to_review_with_the_reason(review, make_advocate):
    advocate = make_advocate()
    _below_threshold(advocate)
    assert score(advocate.id) == 35
    completion = submit(review, advocate, evidence_url="https://g2.com/r/55")
    services.apply_verdict(completion.id, verifiers.Verdict("approve", "Found it."))
    no_jobs_commit()
    done = db.session.get(Completion, completion.id)
    assert done.status is CompletionStatus.PENDING_REVIEW
    assert done.verification_note.startswith("Trust score 35 is below the review threshold of 40.")
    # the owner lowers the threshold: the same score no longer holds anything
    save_setting("trust_review_threshold", 30, None)
    other = submit(review, make_advocate(), evidence_url="https://g2.com/r/56")
    db.session.get(Advocate, other.advocate_id).trust_score = 35
    no_jobs_commit()
    assert services.apply_verdict(other.id, verifiers.Verdict("approve", "Found it.")) == "approved"


def test_below_the_threshold_redemptions_need_approval(make_advocate, make_user):
    reward = Reward(name="Mug", description="", kind="swag", points_cost=100, requires_approval=False)
    db.session.add(reward)
    db.session.commit()
    from rewards import services as rewards_services

    trusted, doubted = make_advocate(points=500), make_advocate(points=500)
    _below_threshold(doubted)
    rewards_services.redeem_reward(trusted.id, reward.id)
    rewards_services.redeem_reward(doubted.id, reward.id)
    no_jobs_commit()
    statuses = dict(db.session.execute(select(Redemption.advocate_id, Redemption.status)).all())
    assert statuses == {trusted.id: RedemptionStatus.APPROVED, doubted.id: RedemptionStatus.REQUESTED}


# --- who sees it, clearing through the API, erasure ----------------------------------------------


def test_staff_see_trust_on_the_advocate_the_advocate_never_does(api, make_user, make_advocate):
    advocate = make_advocate()
    _below_threshold(advocate)
    manager = api(make_user("manager"))
    body = manager.get(f"/advocates/{advocate.id}").get_json()
    assert body["trust"]["score"] == 35 and body["trust"]["below_threshold"] is True
    assert sorted(s["kind"] for s in body["trust"]["signals"]) == ["duplicate_url", "shared_ip"]
    assert {s["weight"] for s in body["trust"]["signals"]} == {40, 25}
    own = api(advocate.user).get(f"/advocates/{advocate.id}").get_json()
    assert own.get("trust") is None
    me = api(advocate.user).get("/me").get_json()
    assert me["advocate"].get("trust") is None
    listed = manager.get("/advocates?trust_below=40").get_json()
    assert [a["id"] for a in listed["items"]] == [advocate.id]
    assert manager.get("/advocates?trust_below=101").get_json()["total"] >= 1
    assert manager.get("/advocates?trust_below=abc").status_code == 422


def test_clearing_a_signal_through_the_api(api, make_user, make_advocate):
    advocate = make_advocate()
    _below_threshold(advocate)
    signal_id = db.session.scalar(select(TrustSignal.id).where(TrustSignal.kind == "duplicate_url"))
    manager = api(make_user("manager"))
    path = f"/advocates/{advocate.id}/trust-signals/{signal_id}/clear"
    missing = manager.post(path, {"reason": "  "})
    assert missing.status_code == 422 and "reason" in missing.get_json()["error"]["fields"]
    assert (
        manager.post(f"/advocates/{advocate.id + 1}/trust-signals/{signal_id}/clear", {"reason": "x"}).status_code
        == 404
    )
    assert api(advocate.user).post(path, {"reason": "Not me"}).status_code == 403
    cleared = manager.post(path, {"reason": "The other advocate's link was a typo."})
    assert (
        cleared.status_code == 200 and cleared.get_json()["cleared_reason"] == "The other advocate's link was a typo."
    )
    assert score(advocate.id) == 75
    assert manager.post(path, {"reason": "again"}).status_code == 409


def test_profile_page_shows_signals_and_clears_one(as_role, make_advocate):
    advocate = make_advocate()
    _below_threshold(advocate)
    manager = as_role("manager")
    page = manager.get(f"/admin/advocates/{advocate.id}").get_data(as_text=True)
    assert 'data-testid="admin-trust-score">35<' in page and "Same link as another advocate." in page
    signal_id = db.session.scalar(select(TrustSignal.id).where(TrustSignal.kind == "shared_ip"))
    refused = manager.post(f"/admin/advocates/{advocate.id}/trust-signals/{signal_id}/clear", data={"reason": ""})
    assert refused.status_code == 422 and "Say why this signal does not count." in refused.get_data(as_text=True)
    done = manager.post(
        f"/admin/advocates/{advocate.id}/trust-signals/{signal_id}/clear", data={"reason": "Same coworking space"}
    )
    assert done.status_code == 302 and score(advocate.id) == 60
    listing = manager.get("/admin/advocates?trust_below=40").get_data(as_text=True)
    assert advocate.user.email not in listing


def test_signals_are_erased_with_the_advocate(make_advocate, make_user):
    advocate = make_advocate()
    _below_threshold(advocate)
    privacy.erase_advocate(advocate.id, make_user("owner").id, "test")
    no_jobs_commit()
    assert db.session.scalar(select(func.count()).select_from(TrustSignal)) == 0
    assert score(advocate.id) == 100


def test_below_the_threshold_an_answer_milestone_goes_to_review_a_persons_decision_does_not(
    make_challenge, make_advocate
):
    """Approvals no person made (an accepted or upvoted community answer) are held like any
    verifier's; a sales rep's feedback on a reference call is a person's decision and stands."""
    answers = make_challenge(title="Answer a peer", type="community_answer", points=10, max_per_advocate=10)
    advocate = make_advocate()
    _below_threshold(advocate)
    evidence = services.EvidenceInput(evidence_text="Answered: use SSO groups.")
    held = services.auto_complete(answers.id, advocate.id, "answer:901", evidence)
    no_jobs_commit()
    assert held.status is CompletionStatus.PENDING_REVIEW
    assert held.verification_note == "Trust score 35 is below the review threshold of 40."
    assert held.points_awarded in (None, 0) and db.session.get(Advocate, advocate.id).balance == 0
    # the same call again (a retried job) finds the held completion and approves nothing
    again = services.auto_complete(answers.id, advocate.id, "answer:901", evidence)
    assert again.id == held.id and again.status is CompletionStatus.PENDING_REVIEW
    other = make_advocate()
    _below_threshold(other)
    by_person = services.auto_complete(answers.id, other.id, "reference-request-7", evidence, decided_by_person=True)
    no_jobs_commit()
    assert by_person.status is CompletionStatus.APPROVED
    assert db.session.get(Advocate, other.id).balance == 10


def test_below_the_threshold_a_referral_named_by_the_crm_goes_to_review(make_advocate, make_challenge):
    from challenges.referrals import services as referrals

    make_challenge(title="Refer a peer", type="referral", points=300)
    advocate = make_advocate()
    referral = referrals.submit_referral(
        advocate.id,
        referrals.parse_referral({"name": "Lead", "email": "lead@acme.example", "company": "Acme", "consent": True}),
    )
    no_jobs_commit()
    _below_threshold(advocate)
    assert referrals.approve_completion_once(referral.completion_id) is False
    no_jobs_commit()
    completion = db.session.get(Completion, referral.completion_id)
    assert completion.status is CompletionStatus.PENDING_REVIEW
    assert completion.verification_note == "Trust score 35 is below the review threshold of 40."
    assert db.session.get(Advocate, advocate.id).balance == 0


def test_a_referral_held_for_review_gets_its_won_bonus_when_a_manager_approves_it(
    make_advocate, make_challenge, make_user
):
    """The deal was won while the completion waited in the review queue: the manager's approval pays
    the points and the bonus in one transaction, once — no later CRM event is needed, and a
    repeated CRM event pays nothing more."""
    from challenges.crm.opportunities import parse_opportunity, upsert_opportunity
    from challenges.referrals import services as referrals
    from hub.models import Notification
    from rewards.models import LedgerEntry

    make_challenge(title="Refer a peer", type="referral", points=300, bonus_points=700)
    advocate = make_advocate()
    referral = referrals.submit_referral(
        advocate.id,
        referrals.parse_referral({"name": "Lead", "email": "lead@acme.example", "company": "Acme", "consent": True}),
    )
    no_jobs_commit()
    _below_threshold(advocate)
    won = {
        "external_id": "SF-9",
        "name": "Acme",
        "account": "Acme",
        "amount": "1000",
        "currency": "USD",
        "stage": "Closed Won",
        "is_closed": True,
        "is_won": True,
        "created_date": "2026-10-01",
        "close_date": "2026-11-01",
        "referral_id": referral.id,
    }
    upsert_opportunity(parse_opportunity(won), tally=False)
    no_jobs_commit()
    assert db.session.get(Completion, referral.completion_id).status is CompletionStatus.PENDING_REVIEW
    assert db.session.get(Advocate, advocate.id).balance == 0

    services.approve_completion(referral.completion_id, make_user("manager").id)
    no_jobs_commit()
    assert db.session.get(Advocate, advocate.id).balance == 1000  # before any later CRM event
    upsert_opportunity(parse_opportunity(won), tally=False)  # the CRM repeats the event
    no_jobs_commit()
    entries = db.session.execute(
        select(LedgerEntry.delta, LedgerEntry.source_type)
        .where(LedgerEntry.advocate_id == advocate.id)
        .order_by(LedgerEntry.id)
    ).all()
    assert [tuple(e) for e in entries] == [(300, "completion"), (700, "referral_won")]
    assert db.session.get(Advocate, advocate.id).balance == 1000
    texts = db.session.scalars(select(Notification.text).where(Notification.user_id == advocate.user_id)).all()
    assert sum("was won: +700 bonus points" in t for t in texts) == 1


def test_a_referral_approved_before_its_deal_is_won_gets_the_bonus_only_when_won(
    make_advocate, make_challenge, make_user
):
    """Approval alone pays no bonus; the won event pays it once."""
    from challenges.crm.opportunities import parse_opportunity, upsert_opportunity
    from challenges.referrals import services as referrals
    from rewards.models import LedgerEntry

    make_challenge(title="Refer a peer", type="referral", points=300, bonus_points=700)
    advocate = make_advocate()
    referral = referrals.submit_referral(
        advocate.id,
        referrals.parse_referral({"name": "Lead", "email": "lead@acme.example", "company": "Acme", "consent": True}),
    )
    no_jobs_commit()
    services.approve_completion(referral.completion_id, make_user("manager").id)
    no_jobs_commit()
    assert db.session.get(Advocate, advocate.id).balance == 300
    open_deal = {
        "external_id": "SF-10",
        "name": "Acme",
        "account": "Acme",
        "amount": "1000",
        "currency": "USD",
        "stage": "Proposal",
        "is_closed": False,
        "is_won": False,
        "created_date": "2026-10-01",
        "referral_id": referral.id,
    }
    upsert_opportunity(parse_opportunity(open_deal), tally=False)
    no_jobs_commit()
    assert db.session.get(Advocate, advocate.id).balance == 300
    won = open_deal | {"stage": "Closed Won", "is_closed": True, "is_won": True, "close_date": "2026-11-01"}
    upsert_opportunity(parse_opportunity(won), tally=False)
    no_jobs_commit()
    sources = db.session.scalars(
        select(LedgerEntry.source_type).where(LedgerEntry.advocate_id == advocate.id).order_by(LedgerEntry.id)
    ).all()
    assert sources == ["completion", "referral_won"]
