"""Demo community: a few questions and answers between the demo advocates and the manager."""

from __future__ import annotations

from sqlalchemy import select

from hub.community import services
from hub.extensions import db
from hub.models import User

THREADS = [
    (
        "ada@example.com",
        "How do you roll out SSO for contractors?",
        "We have ~40 contractors who need access for a few weeks at a time. Do you create **separate groups**, "
        "or use expiring invites?",
        [
            (
                "grace@example.com",
                "We use a dedicated *Contractors* group with a 30-day review. "
                "Expiring invites alone were easy to forget.",
                2,
                True,
            ),
            ("alan@example.com", "Separate IdP app per agency, then `SCIM` deprovisioning on the end date.", 1, False),
        ],
    ),
    (
        "katherine@example.com",
        "Best way to export audit logs to our SIEM?",
        "Is there a webhook, or do people poll the API? Looking for something that survives restarts.",
        [
            (
                "margaret@example.com",
                "Poll the API every minute with a cursor — it is boring and it never loses events.",
                3,
                False,
            )
        ],
    ),
    (
        "tim@example.com",
        "Any tips for the quarterly business review deck?",
        "What do your executives actually look at? I have 10 minutes.",
        [],
    ),
]


def seed_community() -> str:
    """Create the demo threads once (skipped when questions exist); votes and acceptance use the services."""
    from hub.community.models import Question

    if db.session.scalar(select(Question.id).limit(1)):
        return ""
    users = {u.email: u for u in db.session.scalars(select(User))}
    voters = [u for u in users.values() if u.role.value == "advocate"]
    count = 0
    for asker_email, title, body, answers in THREADS:
        asker = users.get(asker_email)
        if asker is None:
            continue
        question = services.ask_question(asker, title, body)
        count += 1
        for author_email, text, votes, accepted in answers:
            author = users.get(author_email)
            if author is None:
                continue
            answer = services.post_answer(author, question.id, text)
            for voter in [v for v in voters if v.id not in {author.id}][:votes]:
                services.upvote_answer(voter, answer.id)
            if accepted:
                services.accept_answer(asker, answer.id)
    return f"{count} community questions"
