"""Challenge services on SQLite: lifecycle, targeting, limits, caps, deciding, badges."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from challenges import services
from challenges.catalogue import Entry
from challenges.models import Ask, ChallengeStatus, Completion, CompletionStatus
from hub.errors import (
    AlreadySubmitted,
    CapReached,
    ChallengeClosed,
    InvalidState,
    LimitReached,
    NotFound,
    ValidationFailed,
)
from hub.extensions import db
from hub.models import AuditEntry, Notification, Tier
from rewards.badges import badges_of
from rewards.models import LedgerEntry

NOW = dt.datetime.now(dt.UTC)


def submit(challenge, advocate, at=None, **evidence):
    completion = services.submit_completion(challenge.id, advocate.id, evidence or {"evidence_text": "Done"}, at=at)
    db.session.commit()
    return completion


def entries(advocate_id: int) -> list[LedgerEntry]:
    return list(db.session.scalars(select(LedgerEntry).where(LedgerEntry.advocate_id == advocate_id)))


def test_lifecycle_and_audit(make_user, make_challenge):
    owner = make_user("owner")
    challenge = make_challenge(actor_id=owner.id, publish=False)
    assert challenge.status is ChallengeStatus.DRAFT
    with pytest.raises(InvalidState):
        services.close_challenge(challenge.id, owner.id)
    db.session.rollback()
    for step, status in (
        (services.publish_challenge, "published"),
        (services.close_challenge, "closed"),
        (services.publish_challenge, "published"),
        (services.archive_challenge, "archived"),
    ):
        assert step(challenge.id, owner.id).status.value == status
        db.session.commit()
    with pytest.raises(InvalidState):
        services.publish_challenge(challenge.id, owner.id)
    db.session.rollback()
    actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == [
        "challenge.create",
        "challenge.published",
        "challenge.closed",
        "challenge.published",
        "challenge.archived",
    ]
    copy = services.duplicate_challenge(challenge.id, owner.id)
    assert copy.status is ChallengeStatus.DRAFT and copy.title == "Copy of Review us on G2"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"type": "quiz", "quiz": {"questions": [{"prompt": "Q?", "options": ["a", "b"], "answer": 5}]}}, "quiz"),
        ({"type": "nope"}, "type"),
        ({"points": 0}, "points"),
        ({"title": "  "}, "title"),
        ({"starts_at": "2026-12-02T00:00:00Z", "ends_at": "2026-12-01T00:00:00Z"}, "ends_at"),
        ({"target_groups": ["No such group"]}, "target_groups"),
        ({"allowed_domains": ["not a domain"]}, "allowed_domains"),
        ({"max_total": ""}, "max_total"),
        ({"effort": "extreme"}, "effort"),
    ],
)
def test_clean_challenge_rejects(ctx, data, field):
    with pytest.raises(ValidationFailed) as info:
        services.clean_challenge({"title": "T", "type": "custom", "points": 10} | data)
    assert field in info.value.fields


def test_gaps_are_warnings_not_errors(ctx):
    inp = services.clean_challenge({"title": "T", "type": "review", "points": 10})
    assert len(services.challenge_warnings(inp)) == 2
    quiz = services.clean_challenge({"title": "T", "type": "quiz", "points": 10})
    assert services.challenge_warnings(quiz) == ["Add the questions advocates will answer."]


def test_type_defaults_and_domains(ctx):
    inp = services.clean_challenge(
        {
            "title": "T",
            "type": "review",
            "points": 10,
            "allowed_domains": ["https://www.G2.com/products", "capterra.com"],
        }
    )
    assert (inp.effort.value, inp.verification, inp.evidence) == ("low", "url_check", ("url",))
    assert inp.allowed_domains == ("www.g2.com", "capterra.com")


def test_targeting_by_tier_and_group(make_advocate, make_challenge):
    emea = make_advocate(groups=("EMEA",))
    other = make_advocate()
    by_group = make_challenge(title="EMEA only", target_groups=["EMEA"])
    by_tier = make_challenge(title="Gold only", target_tiers=["gold"])
    everyone = make_challenge(title="Everyone")
    assert {i.challenge.id for i in services.feed_for(emea)} == {everyone.id, by_group.id}
    assert {i.challenge.id for i in services.feed_for(other)} == {everyone.id}
    with pytest.raises(NotFound):
        services.submit_completion(by_group.id, other.id, {"evidence_text": "x"})
    db.session.rollback()
    other.tier = Tier.GOLD
    db.session.commit()
    assert {i.challenge.id for i in services.feed_for(other)} == {everyone.id, by_tier.id}


def test_submission_to_draft_closed_or_unknown_writes_nothing(make_advocate, make_challenge):
    advocate = make_advocate()
    draft = make_challenge(publish=False)
    closed = make_challenge()
    services.close_challenge(closed.id, None)
    db.session.commit()
    for cid, error in ((draft.id, NotFound), (closed.id, ChallengeClosed), (999_999, NotFound)):
        with pytest.raises(error):
            services.submit_completion(cid, advocate.id, {"evidence_text": "x"})
        db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Completion)) == 0


def test_deadline_edges(make_advocate, make_challenge):
    ends = NOW + dt.timedelta(days=1)
    challenge = make_challenge(ends_at=ends.isoformat(), starts_at=(NOW - dt.timedelta(days=1)).isoformat())
    late, early = make_advocate(), make_advocate()
    with pytest.raises(ChallengeClosed):
        services.submit_completion(challenge.id, late.id, {"evidence_text": "x"}, at=ends)
    db.session.rollback()
    with pytest.raises(ChallengeClosed):
        services.submit_completion(
            challenge.id, late.id, {"evidence_text": "x"}, at=NOW - dt.timedelta(days=1, seconds=1)
        )
    db.session.rollback()
    completion = submit(challenge, early, at=ends - dt.timedelta(seconds=1))
    # Decided after the deadline: still awarded.
    services.approve_completion(completion.id, None)
    db.session.commit()
    assert [e.delta for e in entries(early.id)] == [150]


def test_one_open_completion_then_limit(make_advocate, make_challenge):
    advocate = make_advocate()
    challenge = make_challenge()
    first = submit(challenge, advocate)
    assert first.status is CompletionStatus.PENDING_REVIEW
    with pytest.raises(AlreadySubmitted):
        submit(challenge, advocate)
    db.session.rollback()
    services.approve_completion(first.id, None)
    db.session.commit()
    with pytest.raises(LimitReached):
        submit(challenge, advocate)
    db.session.rollback()


def test_rejected_attempt_frees_the_place(make_advocate, make_challenge, make_user):
    manager = make_user("manager")
    advocate = make_advocate()
    challenge = make_challenge(max_total=1)
    first = submit(challenge, advocate)
    with pytest.raises(LimitReached):
        submit(challenge, make_advocate())
    db.session.rollback()
    services.reject_completion(first.id, manager.id, "The link was broken")
    db.session.commit()
    assert submit(challenge, advocate).status is CompletionStatus.PENDING_REVIEW


def test_cooldown_boundary(make_advocate, make_challenge):
    advocate = make_advocate()
    challenge = make_challenge(max_per_advocate=5, cooldown_days=7)
    t0 = NOW - dt.timedelta(days=30)
    first = submit(challenge, advocate, at=t0)
    services.approve_completion(first.id, None)
    db.session.commit()
    with pytest.raises(LimitReached) as info:
        submit(challenge, advocate, at=t0 + dt.timedelta(days=7, seconds=-1))
    assert info.value.details["available_at"] == t0 + dt.timedelta(days=7)
    db.session.rollback()
    assert submit(challenge, advocate, at=t0 + dt.timedelta(days=7)).status is CompletionStatus.PENDING_REVIEW


def test_max_total_counts_approved_and_in_flight(make_advocate, make_challenge):
    challenge = make_challenge(max_total=2)
    a, b, c = make_advocate(), make_advocate(), make_advocate()
    services.approve_completion(submit(challenge, a).id, None)
    db.session.commit()
    submit(challenge, b)
    with pytest.raises(LimitReached):
        submit(challenge, c)
    db.session.rollback()
    item = next(i for i in services.feed_for(c) if i.challenge.id == challenge.id)
    assert not item.available and "All places" in item.locked_reason


def test_medium_effort_completion_is_an_ask_and_caps_apply(make_advocate, make_challenge, make_user):
    advocate = make_advocate()
    webinar = make_challenge(title="Webinar", type="webinar")
    other = make_challenge(title="Another webinar", type="webinar")
    at = NOW - dt.timedelta(days=2)
    completion = submit(webinar, advocate, at=at)
    assert db.session.scalar(select(Ask.kind).where(Ask.source_id == str(completion.id))) == "medium"
    with pytest.raises(CapReached) as info:
        submit(other, advocate)
    assert info.value.details["available_at"] == at + dt.timedelta(days=60)
    db.session.rollback()
    item = next(i for i in services.feed_for(advocate) if i.challenge.id == other.id)
    assert (item.available, item.lock_code, item.available_at) == (False, "cap_reached", at + dt.timedelta(days=60))
    assert item.locked_reason.startswith("You took on a medium-effort challenge on")
    # Rejecting releases the ask, so the advocate is free again.
    services.reject_completion(completion.id, make_user("manager").id, "Wrong session")
    db.session.commit()
    assert submit(other, advocate).status is CompletionStatus.PENDING_REVIEW


def test_approval_awards_points_offered_once_with_badges(make_advocate, make_challenge, make_user):
    manager = make_user("manager")
    advocate = make_advocate()
    challenge = make_challenge(type="review", allowed_domains=["g2.com"], points=150)
    completion = services.submit_completion(challenge.id, advocate.id, {"evidence_url": "https://www.g2.com/r/1"})
    completion.status = CompletionStatus.PENDING_REVIEW  # as if the link check could not decide
    db.session.commit()
    edited = services.input_from(challenge, points=999)
    services.update_challenge(challenge.id, edited, manager.id)
    db.session.commit()
    approved = services.approve_completion(completion.id, manager.id)
    db.session.commit()
    assert approved.points_awarded == 150
    with pytest.raises(InvalidState):
        services.approve_completion(completion.id, manager.id)
    db.session.rollback()
    with pytest.raises(InvalidState):
        services.reject_completion(completion.id, manager.id, "too late")
    db.session.rollback()
    assert [e.delta for e in entries(advocate.id)] == [150]
    assert {b.code for b, _ in badges_of(advocate.id)} == {"first_completion", "first_review"}
    texts = db.session.scalars(select(Notification.text).where(Notification.user_id == advocate.user_id)).all()
    assert any("+150 points" in t for t in texts)


def test_five_completions_badge_and_bulk(make_advocate, make_challenge, make_user):
    manager = make_user("manager")
    advocate = make_advocate()
    ids = [submit(make_challenge(title=f"C{n}"), advocate).id for n in range(5)]
    result = services.decide_many([*ids, ids[0], 424242], manager.id, approve=True)
    db.session.commit()
    assert result.done == ids and [(f.id, f.code) for f in result.failed] == [(424242, "not_found")]
    assert "completions_5" in {b.code for b, _ in badges_of(advocate.id)}
    assert len(entries(advocate.id)) == 5


def test_reject_needs_reason_and_notifies(make_advocate, make_challenge, make_user):
    manager = make_user("manager")
    advocate = make_advocate()
    completion = submit(make_challenge(), advocate)
    with pytest.raises(ValidationFailed):
        services.reject_completion(completion.id, manager.id, "  ")
    db.session.rollback()
    services.reject_completion(completion.id, manager.id, "The screenshot is unreadable")
    db.session.commit()
    assert db.session.get(Completion, completion.id).reason == "The screenshot is unreadable"
    note = db.session.scalar(select(Notification.text).where(Notification.kind == "completion_rejected"))
    assert "The screenshot is unreadable" in note
    assert entries(advocate.id) == []


def test_auto_complete_is_idempotent_on_source(make_advocate, make_challenge):
    advocate = make_advocate()
    challenge = make_challenge(type="community_answer", max_per_advocate=10)
    with pytest.raises(InvalidState):
        services.submit_completion(challenge.id, advocate.id, {})
    db.session.rollback()
    first = services.auto_complete(challenge.id, advocate.id, "answer-7", services.EvidenceInput(evidence_text="a"))
    db.session.commit()
    again = services.auto_complete(challenge.id, advocate.id, "answer-7", services.EvidenceInput(evidence_text="a"))
    db.session.commit()
    assert first.id == again.id and again.status is CompletionStatus.APPROVED
    assert len(entries(advocate.id)) == 1


def test_quiz_answers_are_validated_and_graded(make_advocate, make_challenge, jobs):
    quiz = {
        "questions": [
            {"prompt": "2+2?", "options": ["3", "4"], "answer": 1},
            {"prompt": "Capital of France?", "options": ["Paris", "Rome"], "answer": 0},
        ]
    }
    challenge = make_challenge(type="quiz", quiz=quiz, points=40)
    advocate, other = make_advocate(), make_advocate()
    with pytest.raises(ValidationFailed):
        services.submit_completion(challenge.id, advocate.id, {"answers": [1]})
    db.session.rollback()
    good = submit(challenge, advocate, answers=[1, 0])
    bad = submit(challenge, other, answers=[0, 0])
    jobs.join()
    db.session.expire_all()
    assert db.session.get(Completion, good.id).status is CompletionStatus.APPROVED
    rejected = db.session.get(Completion, bad.id)
    assert rejected.status is CompletionStatus.REJECTED and "1 of 2" in rejected.reason
    assert [e.delta for e in entries(advocate.id)] == [40]


def test_survey_any_complete_answer(make_advocate, make_challenge, jobs):
    survey = {
        "questions": [{"prompt": "What do you like?", "options": []}, {"prompt": "Rate us", "options": ["1", "2", "3"]}]
    }
    challenge = make_challenge(type="survey", quiz=survey)
    advocate = make_advocate()
    completion = submit(challenge, advocate, answers=["The dashboards", "2"])
    jobs.join()
    db.session.expire_all()
    assert db.session.get(Completion, completion.id).status is CompletionStatus.APPROVED


def test_feed_hides_quiz_answers_from_nobody_but_lists_status(make_advocate, make_challenge):
    advocate = make_advocate()
    challenge = make_challenge()
    submit(challenge, advocate)
    item = services.feed_item(challenge, advocate)
    assert item.lock_code == "already_submitted" and item.latest.status is CompletionStatus.PENDING_REVIEW


def test_reference_flow_completion_does_not_count_a_second_ask(make_advocate, make_challenge):
    from challenges import caps
    from challenges.models import AskKind

    advocate = make_advocate()
    challenge = make_challenge(type="reference_call", max_per_advocate=5)
    caps.claim_ask(advocate.id, AskKind.REFERENCE_CALL, "reference_request", 41)
    db.session.commit()
    completion = services.auto_complete(
        challenge.id, advocate.id, "reference-41", services.EvidenceInput(evidence_text="Call held"), count_as_ask=False
    )
    db.session.commit()
    assert completion.status is CompletionStatus.APPROVED
    assert caps.asks_last_365([advocate.id]) == {advocate.id: 1}
    assert "first_reference" in {b.code for b, _ in badges_of(advocate.id)}


def test_feed_summarises_a_long_history_as_the_challenge_page_does(
    make_advocate, make_challenge, make_user, sql_statements
):
    """The feed reads counts and the latest completion per challenge instead of every row;
    it must lock, date and count exactly as the one-challenge page (full history) does, and
    its number of queries must not grow with the history."""
    staff = make_user("manager")
    advocate = make_advocate()
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=400)
    repeatable = make_challenge(title="Share again", max_per_advocate=50, cooldown_days=7)
    once = make_challenge(title="Once only")
    untouched = make_challenge(title="Never tried")
    for n in range(12):  # approvals and rejections weeks apart; a reject frees the cooldown
        completion = submit(repeatable, advocate, at=start + dt.timedelta(days=30 * n))
        if n % 3 == 2:
            services.reject_completion(completion.id, staff.id, "Not this time")
        else:
            services.approve_completion(completion.id, staff.id)
        db.session.commit()
    latest_repeat = submit(repeatable, advocate)  # in review now
    done_once = submit(once, advocate, at=start)
    services.approve_completion(done_once.id, staff.id)
    db.session.commit()

    sql_statements.clear()
    feed = {item.challenge.id: item for item in services.feed_for(advocate)}
    queries = len(sql_statements)
    for challenge in (repeatable, once, untouched):
        page = services.feed_item(challenge, advocate)
        item = feed[challenge.id]
        assert (item.available, item.lock_code, item.locked_reason, item.available_at, item.times_done) == (
            page.available,
            page.lock_code,
            page.locked_reason,
            page.available_at,
            page.times_done,
        )
        assert (item.latest.id if item.latest else None) == (page.latest.id if page.latest else None)
    assert feed[repeatable.id].lock_code == "already_submitted" and feed[repeatable.id].latest.id == latest_repeat.id
    assert feed[repeatable.id].times_done == 8
    assert feed[once.id].lock_code == "limit_reached" and feed[untouched.id].available

    cooling = make_advocate()  # approved three days ago: the 7-day cooldown locks it until a date
    services.approve_completion(submit(repeatable, cooling, at=NOW - dt.timedelta(days=3)).id, staff.id)
    db.session.commit()
    cooled = {i.challenge.id: i for i in services.feed_for(cooling)}[repeatable.id]
    page = services.feed_item(repeatable, cooling)
    assert cooled.lock_code == "limit_reached" and cooled.available_at == page.available_at is not None
    assert cooled.locked_reason == page.locked_reason

    for _ in range(5):
        services.approve_completion(submit(make_challenge(max_per_advocate=1), advocate).id, staff.id)
    db.session.commit()
    services.feed_for(advocate)  # loads the changed catalog once
    sql_statements.clear()
    services.feed_for(advocate)
    assert len(sql_statements) <= queries


def test_feed_catalog_is_shared_until_any_challenge_changes(make_advocate, make_challenge, make_user, sql_statements):
    """feed_for reuses the published challenges it loaded until a publish, close, edit or
    target-group change; every such change shows on the very next read."""
    from challenges.services import catalog

    staff = make_user("manager")
    advocate = make_advocate(groups=("EMEA",))
    first = make_challenge(title="First")
    titles = lambda: {i.challenge.title for i in services.feed_for(advocate)}  # noqa: E731
    assert titles() == {"First"}

    sql_statements.clear()
    items = services.feed_for(advocate)
    assert not [s for s in sql_statements if s.lstrip().startswith("SELECT challenges.id")]
    assert isinstance(items[0].challenge, Entry)  # plain shared data, never part of a unit of work

    second = make_challenge(title="Second")
    assert titles() == {"First", "Second"}
    services.update_challenge(second.id, catalog.input_from(second, title="Second, renamed"), staff.id)
    db.session.commit()
    assert titles() == {"First", "Second, renamed"}
    make_advocate(groups=("APAC",))  # the group exists; our advocate is not in it
    services.update_challenge(first.id, catalog.input_from(first, target_groups=("APAC",)), staff.id)
    db.session.commit()
    assert titles() == {"Second, renamed"}
    services.close_challenge(second.id, staff.id)
    db.session.commit()
    assert titles() == set()

    # A change not committed yet is not served to others, and does not stick in the cache.
    third = make_challenge(title="Third", publish=False)
    services.publish_challenge(third.id, staff.id)
    services.feed_for(advocate)
    db.session.rollback()
    assert titles() == set()
