"""Community answers complete `community_answer` challenges; the weekly digest reads the feed.

Both hook into hub through hub.hooks (installed by challenges.hooks): hub enqueues
`challenges.jobs.complete_community_answer` when an answer is accepted or gets its 3rd
upvote, and asks `digest_items` which new challenges an advocate may take — through
`services.feed_for`, the same eligibility and caps code the hub feed uses.
"""

from __future__ import annotations

import datetime as dt

from flask import current_app
from sqlalchemy import or_, select

from challenges import services
from challenges.models import Challenge, ChallengeStatus, Completion
from hub.community.models import Answer, Question
from hub.db import utcnow
from hub.errors import VouchError
from hub.extensions import db
from hub.models import Advocate, Role, User

UPVOTES_NEEDED = 3
COMMUNITY_TYPE = "community_answer"


def answer_qualifies(answer: Answer, question: Question) -> bool:
    """Accepted, or at least 3 upvotes; and neither the answer nor its question hidden."""
    return (answer.is_accepted or answer.upvotes >= UPVOTES_NEEDED) and not (answer.is_hidden or question.is_hidden)


def complete_community_answer(answer_id: int, at: dt.datetime | None = None) -> list[Completion]:
    """Create and approve the answer author's completion of every open `community_answer`
    challenge that matches (its `question_id`, or any question when it has none).

    Exactly once per (challenge, answer): the completion's `source_key` is `answer:<id>`
    under a unique key, so a repeated or concurrent run returns the existing completion.
    A challenge the advocate cannot take (dates, targeting, per-advocate limit, caps) is
    skipped — never awarded. Caller commits.
    """
    at = at or utcnow()
    answer = db.session.get(Answer, answer_id)
    question = db.session.get(Question, answer.question_id) if answer is not None else None
    if answer is None or question is None or not answer_qualifies(answer, question):
        return []
    author = db.session.get(User, answer.author_id)
    if author is None or author.role is not Role.ADVOCATE or author.advocate is None or author.advocate.is_erased:
        return []
    challenge_ids = list(
        db.session.scalars(
            select(Challenge.id)
            .where(
                Challenge.type == COMMUNITY_TYPE,
                Challenge.status == ChallengeStatus.PUBLISHED,
                or_(Challenge.question_id.is_(None), Challenge.question_id == question.id),
            )
            .order_by(Challenge.id)
        )
    )
    base = current_app.config["VOUCH_BASE_URL"]
    evidence = services.EvidenceInput(
        evidence_url=f"{base}/community/questions/{question.id}#answer-{answer.id}",
        evidence_text=f"Answer to “{question.title[:150]}”: "
        f"{'accepted' if answer.is_accepted else f'{answer.upvotes} upvotes'}.",
    )
    done = []
    for challenge_id in challenge_ids:
        try:
            with db.session.begin_nested():
                done.append(
                    services.auto_complete(challenge_id, author.advocate.id, f"answer:{answer.id}", evidence, at=at)
                )
        except VouchError:
            continue  # closed, not targeted, limit or cap reached, or a concurrent run won: nothing to award
    return done


def digest_items(advocate_id: int, since: dt.datetime, limit: int) -> list[dict]:
    """Challenges published since `since` that the advocate may take now (the feed's own rules:
    published, in date, targeted, not locked by a limit or a cap), best first, at most `limit`."""
    advocate = db.session.get(Advocate, advocate_id)
    if advocate is None or advocate.is_erased or limit <= 0:
        return []
    items = [
        item
        for item in services.feed_for(advocate)
        if item.available and item.challenge.published_at is not None and item.challenge.published_at >= since
    ]
    return [
        {
            "title": item.challenge.title,
            "points": item.challenge.points,
            "effort": item.challenge.effort.value,
            "url": f"/challenges/{item.challenge.id}",
        }
        for item in items[:limit]
    ]
