"""What the trust code (issue 18) costs on the submit and redeem paths: no write or read that
cannot change the outcome (measured at bench scale in docs/performance.md, "Trust and review
compliance"). The outcomes themselves are tests/challenges/test_trust.py's."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from challenges import services
from challenges.models import Completion
from hub import trust
from hub.extensions import db
from hub.models import Advocate
from hub.settings import save_setting


def hold_reason_writes(statements: list[str]) -> list[str]:
    """UPDATEs of completions that set hold_reason (alone or with other columns)."""
    return [s for s in statements if s.lstrip().startswith("UPDATE completions SET") and "hold_reason" in s]


def test_a_submission_nothing_holds_issues_no_update_of_its_new_row(make_challenge, make_advocate, sql_statements):
    challenge = make_challenge(title="Tell us about the webinar", type="custom", points=10)
    advocate = make_advocate()
    sql_statements.clear()
    completion = services.submit_completion(
        challenge.id, advocate.id, {"evidence_text": "The demo of the new reports was useful."}
    )
    db.session.commit()
    assert hold_reason_writes(sql_statements) == []
    db.session.expire_all()
    assert db.session.get(Completion, completion.id).hold_reason is None


def test_a_held_submission_still_stores_its_hold_reason(make_challenge, make_advocate, sql_statements):
    review = make_challenge(title="Review us on G2", type="review", platform="g2", points=100, marker="Acme")
    first = services.submit_completion(review.id, make_advocate().id, {"evidence_url": "https://g2.com/r/77"})
    db.session.commit()
    sql_statements.clear()
    second = services.submit_completion(review.id, make_advocate().id, {"evidence_url": "https://www.g2.com/r/77"})
    db.session.commit()
    assert len(hold_reason_writes(sql_statements)) == 1
    db.session.expire_all()
    stored = db.session.scalar(select(Completion.hold_reason).where(Completion.id == second.id))
    assert stored == f"Duplicate evidence link: already used by another advocate (completion #{first.id})."


def test_a_full_score_is_never_below_the_threshold_and_reads_no_setting(make_advocate, sql_statements):
    save_setting("trust_review_threshold", 100, None)  # the highest the settings allow
    db.session.commit()
    advocate = make_advocate()
    sql_statements.clear()
    assert trust.below_threshold(advocate.id) is None
    assert [s for s in sql_statements if "settings" in s.lower()] == []


@pytest.mark.parametrize(("score", "threshold", "below"), [(99, 100, 99), (39, 40, 39), (40, 40, None), (0, 1, 0)])
def test_below_threshold_edges(make_advocate, score, threshold, below):
    save_setting("trust_review_threshold", threshold, None)
    advocate = make_advocate()
    db.session.get(Advocate, advocate.id).trust_score = score
    db.session.commit()
    assert trust.below_threshold(advocate.id) == below
