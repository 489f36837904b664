"""Demo challenges of every type, plus a few completions waiting in the review queue."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from challenges import services
from challenges.models import Challenge, CompletionStatus
from hub.db import utcnow
from hub.extensions import db
from hub.models import Advocate, Role, User
from hub.queue import PENDING_KEY

QUIZ = {
    "questions": [
        {
            "prompt": "Which report shows influenced pipeline?",
            "options": ["Attribution", "Audit log", "Badges"],
            "answer": 0,
        },
        {
            "prompt": "How many reference calls does the default policy allow per 30 days?",
            "options": ["1", "3", "5"],
            "answer": 0,
        },
    ],
    "pass_mark": 2,
}
SURVEY = {
    "questions": [
        {"prompt": "What do you use us for most?", "options": []},
        {"prompt": "How likely are you to recommend us?", "options": ["0–6", "7–8", "9–10"]},
    ]
}

WELCOME_SURVEY = {
    "questions": [
        {
            "prompt": "What do you most want from the program?",
            "options": ["Learn", "Meet peers", "Rewards", "Influence the roadmap"],
        },
        {"prompt": "Anything we should know about you?", "options": []},
    ]
}

CHALLENGES = [
    {
        "title": "Welcome aboard: tell us what you want from the program",
        "banner": "welcome",
        "type": "survey",
        "points": 25,
        "quiz": WELCOME_SURVEY,
        "description": "Two questions, two minutes: what you hope to get from the program, so we ask you for "
        "the right things. Your first badge is waiting.",
    },
    {
        "title": "Review us on G2",
        "banner": "stars",
        "type": "review",
        "platform": "g2",
        "points": 250,
        "allowed_domains": ["g2.com"],
        "marker": "Acme Analytics",
        "target_groups": [],
        "description": "Tell peers what you think on **G2**. Mention *Acme Analytics* so we can find it.\n\n"
        "Honest reviews only — we reward the effort, not the stars.",
    },
    {
        "title": "Review us on Capterra",
        "type": "review",
        "platform": "capterra",
        "points": 200,
        "allowed_domains": ["capterra.com"],
        "marker": "Acme Analytics",
        "description": "Share your experience on Capterra.",
    },
    {
        "title": "Share our launch post",
        "banner": "megaphone",
        "type": "social_share",
        "points": 50,
        "allowed_domains": ["linkedin.com", "x.com", "mastodon.social"],
        "marker": "acme.example/launch",
        "max_per_advocate": 3,
        "cooldown_days": 30,
        "description": "Share the launch announcement with your network (include the link).",
    },
    {
        "title": "Answer a community question",
        "banner": "conversation",
        "type": "community_answer",
        "points": 75,
        "max_per_advocate": 10,
        "description": "Help a peer in the community. An accepted answer or 3 upvotes completes this.",
    },
    {
        "title": "Product knowledge quiz",
        "type": "quiz",
        "points": 40,
        "quiz": QUIZ,
        "description": "Two quick questions. Get both right to earn the points.",
    },
    {
        "title": "Tell us how you use Acme",
        "banner": "lightbulb",
        "type": "survey",
        "points": 30,
        "quiz": SURVEY,
        "description": "A two-question survey that shapes our roadmap.",
    },
    {
        "title": "Refer a peer",
        "type": "referral",
        "points": 300,
        "bonus_points": 1000,
        "max_per_advocate": 20,
        "description": "Know someone who would benefit? Refer them: points when they talk to sales, a bonus if "
        "they buy.",
    },
    {
        "title": "Take a reference call",
        "type": "reference_call",
        "points": 400,
        "max_per_advocate": 50,
        "description": "Talk to a prospect in your industry for 30 minutes.",
    },
    {
        "title": "Join the spring webinar",
        "type": "webinar",
        "points": 150,
        "description": "Join our live webinar and ask a question.",
    },
    {
        "title": "Be our next case study",
        "type": "case_study",
        "points": 1500,
        "target_tiers": ["silver", "gold"],
        "description": "A 60-minute interview and a review of the draft. We write it; you shine.",
    },
    {
        "title": "Speak at Acme Summit",
        "banner": "stage",
        "type": "speaking",
        "points": 2000,
        "target_tiers": ["gold"],
        "max_total": 3,
        "description": "A 20-minute session about your journey.",
    },
    {
        "title": "Join the customer advisory board",
        "type": "advisory_board",
        "points": 1000,
        "target_groups": ["EMEA"],
        "description": "Quarterly roadmap sessions with our product team.",
    },
    {
        "title": "Send us a photo of your team",
        "type": "custom",
        "points": 80,
        "description": "A team photo for our customer wall (optional, fun).",
    },
]


def seed_demo_challenges() -> str:
    """Published demo challenges of every type and three completions to review."""
    owner_id = db.session.scalar(select(User.id).where(User.role == Role.OWNER).limit(1))
    created: dict[str, Challenge] = {}
    for data in CHALLENGES:
        challenge = services.create_challenge(services.clean_challenge(data), owner_id)
        services.publish_challenge(challenge.id, owner_id)
        created.setdefault(challenge.type, challenge)
    advocates = list(db.session.scalars(select(Advocate).order_by(Advocate.id).limit(4)))
    pending = 0
    now = utcnow()
    for advocate, (ctype, evidence) in zip(
        advocates,
        [
            ("webinar", {"evidence_text": "Joined the session on analytics and asked about exports."}),
            ("custom", {"evidence_text": "Uploaded to the shared folder: team-photo.jpg"}),
            ("review", {"evidence_url": "https://www.g2.com/products/acme-analytics/reviews/123"}),
        ],
        strict=False,
    ):
        completion = services.submit_completion(
            created[ctype].id, advocate.id, evidence, at=now - dt.timedelta(hours=30 - 8 * pending)
        )
        if completion.status is not CompletionStatus.PENDING_REVIEW:
            # The demo's links are not real pages: skip the fetch and put it in the queue.
            pending_jobs = db.session.info.get(PENDING_KEY, [])
            pending_jobs[:] = [j for j in pending_jobs if j.job_id != f"verify-completion-{completion.id}"]
            services.send_to_review(completion.id, "Demo: this link was not fetched.")
        pending += 1
    return f"{len(CHALLENGES)} challenges, {pending} completions to review"
