"""The hub's program activity (issue 19): peers' public acts of the last week, one line per
challenge, anonymity as on the leaderboard, private acts never shown, one grouped query."""

from __future__ import annotations

import datetime as dt
import secrets

import pytest
from sqlalchemy import update

from challenges import services
from challenges.models import Completion
from challenges.services.activity import program_activity
from hub.extensions import db
from hub.models import Advocate
from tests.support.challenges import create_challenge


def approved(challenge, advocate, days_ago: float = 0.0):
    evidence = {"evidence_text": "Done"}
    if challenge.type == "review":
        evidence = {"evidence_url": f"https://www.g2.com/products/acme/reviews/{advocate.id}"}
    completion = services.auto_complete(challenge.id, advocate.id, secrets.token_hex(8), evidence)
    if days_ago:
        when = dt.datetime.now(dt.UTC) - dt.timedelta(days=days_ago)
        db.session.execute(update(Completion).where(Completion.id == completion.id).values(decided_at=when))
    db.session.commit()
    return completion


def lines(viewer_id: int, challenge_ids: set[int]) -> dict[int, str]:
    return {
        item.challenge_id: item.text
        for item in program_activity(viewer_id, limit=50)
        if item.challenge_id in challenge_ids
    }


def test_one_named_advocate_and_a_group_counted(make, make_challenge):
    grace = make.advocate(name="Grace Hopper")
    ada, alan, viewer = make.advocate(name="Ada L"), make.advocate(name="Alan T"), make.advocate(name="Me")
    answer = make_challenge(title="Answer a community question", type="community_answer", max_per_advocate=5)
    review = make_challenge(title="Review us on G2", type="review", allowed_domains=["g2.com"])
    approved(answer, grace)
    for advocate in (grace, ada, alan):
        approved(review, advocate)
    got = lines(viewer.id, {answer.id, review.id})
    assert got == {answer.id: "Grace answered a question", review.id: "3 advocates reviewed us on G2 this week"}


def test_anonymous_advocate_is_never_named_and_the_viewer_is_you(make, make_challenge):
    shy = make.advocate(name="Hedy Lamarr")
    db.session.execute(update(Advocate).where(Advocate.id == shy.id).values(show_on_leaderboard=False))
    db.session.commit()
    viewer = make.advocate(name="Katherine J")
    webinar = make_challenge(title="Join the spring webinar", type="webinar")
    quiz = make_challenge(title="Product quiz", type="custom")
    approved(webinar, shy)
    approved(quiz, viewer)
    got = lines(viewer.id, {webinar.id, quiz.id})
    assert got[webinar.id] == "An advocate joined “Join the spring webinar”"
    assert "Hedy" not in " ".join(got.values())
    assert got[quiz.id] == "You completed “Product quiz”"
    # The shy advocate sees their own act as theirs.
    assert lines(shy.id, {webinar.id})[webinar.id] == "You joined “Join the spring webinar”"


def test_private_acts_old_acts_and_erased_advocates_never_show(make, make_challenge):
    doer, gone, viewer = make.advocate(name="Radia P"), make.advocate(name="Gone Person"), make.advocate()
    call = make_challenge(title="Take a reference call", type="reference_call", max_per_advocate=5)
    referral = make_challenge(title="Refer a peer", type="referral", max_per_advocate=5)
    old = make_challenge(title="Old news", type="custom")
    shared = make_challenge(title="Shared thing", type="custom")
    approved(call, doer)
    approved(referral, doer)
    approved(old, doer, days_ago=8)
    approved(shared, doer, days_ago=6.5)
    approved(shared, gone)
    db.session.execute(update(Advocate).where(Advocate.id == gone.id).values(is_erased=True))
    db.session.commit()
    got = lines(viewer.id, {call.id, referral.id, old.id, shared.id})
    # Reference calls and referrals are private; 8 days ago is outside the week; the erased
    # advocate does not count, so the line is the one remaining advocate, named.
    assert got == {shared.id: "Radia completed “Shared thing”"}


def test_newest_first_within_the_limit(make, make_challenge):
    doer, viewer = make.advocate(name="Tim B"), make.advocate()
    first = make_challenge(title="First", type="custom")
    second = make_challenge(title="Second", type="custom")
    approved(first, doer, days_ago=2)
    approved(second, doer, days_ago=1)
    mine = [i for i in program_activity(viewer.id, limit=50) if i.challenge_id in {first.id, second.id}]
    assert [i.challenge_id for i in mine] == [second.id, first.id]
    assert all(i.count == 1 for i in mine)


def test_activity_is_one_query_and_shows_on_the_hub(make, make_challenge, sql_statements, client, login):
    doers = [make.advocate(name=f"Person{n} X") for n in range(4)]
    viewer = make.advocate()
    for n in range(3):
        challenge = make_challenge(title=f"Thing {n}", type="custom")
        for advocate in doers[: n + 1]:
            approved(challenge, advocate)
    viewer_id = viewer.id
    sql_statements.clear()
    items = program_activity(viewer_id)
    selects = [s for s in sql_statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 1
    assert {i.text for i in items} >= {"Person0 completed “Thing 0”", "2 advocates completed “Thing 1” this week"}
    login(client, viewer.user)
    html = client.get("/").get_data(as_text=True)
    assert "Happening in the program" in html and "3 advocates completed “Thing 2” this week" in html


@pytest.mark.services
def test_the_grouped_query_on_postgresql(pg_ctx, make):
    """The same rules on PostgreSQL (its GROUP BY, CASE and boolean cast differ from SQLite's)."""
    shy, grace, viewer = make.advocate(name="Shy One"), make.advocate(name="Grace H"), make.advocate()
    db.session.execute(update(Advocate).where(Advocate.id == shy.id).values(show_on_leaderboard=False))
    db.session.commit()
    alone = create_challenge(title="Alone", type="custom")
    hidden = create_challenge(title="Hidden", type="custom")
    both = create_challenge(title="Both", type="custom")
    call = create_challenge(title="Call", type="reference_call", max_per_advocate=5)
    approved(alone, grace)
    approved(hidden, shy)
    approved(both, grace)
    approved(both, shy)
    approved(call, grace)
    got = lines(viewer.id, {alone.id, hidden.id, both.id, call.id})
    assert got == {
        alone.id: "Grace completed “Alone”",
        hidden.id: "An advocate completed “Hidden”",
        both.id: "2 advocates completed “Both” this week",
    }
