"""The demo program's past (issue 19, "a demo that tells the truth"): thirteen months of
campaigns that ran and ended — monthly release shares and quizzes, quarterly review drives,
webinars, customer stories, advisory boards, last year's summit — and each demo advocate's acts
in them, made through the same services the app uses.

So every `earn` entry of the demo is an approved completion of a real challenge, submitted
within its dates, within the advocate's limits, cooldowns and caps (medium and high-effort acts
are asks that count toward caps and burnout), approved when it happened; badges and tier
changes carry the date they were earned. An advocate's acts stop once their lifetime points
reach the level rewards.demo gives them (so the program has all three tiers).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from challenges import caps, services, verifiers
from challenges.models import Challenge
from challenges.services.submissions import EvidenceInput
from hub import tier_totals
from hub.db import utcnow
from hub.errors import VouchError
from hub.extensions import db
from hub.models import Advocate, User
from hub.settings import get_setting
from rewards.demo import LIFETIME_POINTS

MONTHS = 13
REVIEW_SITES = [("G2", "g2.com"), ("Capterra", "capterra.com"), ("TrustRadius", "trustradius.com")]
QUIZ_QUESTIONS = [
    ("Which report shows influenced pipeline?", ["Attribution", "Audit log", "Badges"], 0),
    ("Where do you set a break from asks?", ["Preferences", "Rewards", "Leaderboard"], 0),
    ("What does a Gold advocate unlock?", ["Conference passes", "Nothing", "Admin rights"], 0),
]
WEBINAR_NOTES = [
    "Joined live and asked how others roll out dashboards.",
    "Watched the session on exports; asked about scheduling.",
    "Attended with two colleagues; great Q&A on permissions.",
]
WIN_NOTES = [
    "Our weekly ops report now builds itself; saved the team a day.",
    "Finance signed off the budget with the cohort dashboard.",
    "Onboarded the support team in an afternoon.",
    "Found a churn signal two weeks earlier than last quarter.",
]
STORY_NOTES = [
    "Happy to share how we cut reporting time in half.",
    "Our rollout to 400 users in six weeks could help others.",
]


@dataclass(frozen=True)
class Campaign:
    """A past challenge and the window it ran in."""

    data: dict[str, Any]
    starts_at: dt.datetime
    ends_at: dt.datetime


def _month_start(now: dt.datetime, back: int) -> dt.datetime:
    year, month = now.year, now.month - back
    while month <= 0:
        month += 12
        year -= 1
    return dt.datetime(year, month, 1, tzinfo=dt.UTC)


def campaigns(now: dt.datetime) -> list[Campaign]:
    """The program's past campaigns, oldest first; the newest end shortly before `now` so the
    current week has activity too."""
    found: list[Campaign] = []
    for back in range(MONTHS, 0, -1):
        start = _month_start(now, back)
        end = min(_month_start(now, back - 1), now - dt.timedelta(hours=2))
        month = f"{start:%B %Y}"
        found.append(
            Campaign(
                {
                    "title": f"Share the {month} release",
                    "type": "social_share",
                    "points": 75,
                    "allowed_domains": ["linkedin.com", "x.com", "mastodon.social"],
                    "marker": "acme.example/releases",
                    "description": f"Tell your network what is new in the {month} release (include the link).",
                },
                start,
                end,
            )
        )
        prompt, options, answer = QUIZ_QUESTIONS[back % len(QUIZ_QUESTIONS)]
        found.append(
            Campaign(
                {
                    "title": f"{month} product quiz",
                    "type": "quiz",
                    "points": 40,
                    "quiz": {"questions": [{"prompt": prompt, "options": options, "answer": answer}], "pass_mark": 1},
                    "description": "One quick question about this month's release.",
                },
                start,
                end,
            )
        )
        found.append(
            Campaign(
                {
                    "title": f"{month} pulse survey",
                    "type": "survey",
                    "points": 50,
                    "quiz": {
                        "questions": [
                            {"prompt": "What did you use most this month?", "options": []},
                            {"prompt": "How likely are you to recommend us?", "options": ["0–6", "7–8", "9–10"]},
                        ]
                    },
                    "description": "Two questions that shape next month's release.",
                },
                start,
                end,
            )
        )
        found.append(
            Campaign(
                {
                    "title": f"Share a win from {month}",
                    "type": "custom",
                    "points": 125,
                    "description": "Tell us one thing our product helped your team do this month.",
                },
                start,
                end,
            )
        )
        if back % 2 == 1:
            found.append(
                Campaign(
                    {
                        "title": f"{month} customer webinar",
                        "type": "webinar",
                        "points": 150,
                        "description": "Join the live session and ask the product team a question.",
                    },
                    start,
                    end,
                )
            )
        if back % 3 == 1:
            quarter_start = _month_start(now, back + 2)
            site, domain = REVIEW_SITES[(back // 3) % len(REVIEW_SITES)]
            for title, data in (
                (
                    f"Review drive: {site}, {quarter_start:%b}–{start:%b %Y}",
                    {
                        "type": "review",
                        "points": 250,
                        "platform": site.lower(),  # the platform's key: its incentives are logged under it
                        "allowed_domains": [domain],
                        "marker": "Acme Analytics",
                    },
                ),
                (
                    f"Customer story, {quarter_start:%b}–{start:%b %Y}",
                    {"type": "case_study", "points": 1500, "target_tiers": ["silver", "gold"]},
                ),
                (
                    f"Advisory board, {quarter_start:%b}–{start:%b %Y}",
                    {"type": "advisory_board", "points": 1000, "target_groups": ["EMEA"]},
                ),
            ):
                found.append(
                    Campaign(
                        {"title": title, "description": "A campaign of the program's past quarter."} | data,
                        quarter_start,
                        end,
                    )
                )
    summit = now - dt.timedelta(days=200)
    found.append(
        Campaign(
            {
                "title": f"Speak at Acme Summit {summit.year}",
                "type": "speaking",
                "points": 2000,
                "target_tiers": ["gold"],
                "max_total": 4,
                "description": "A 20-minute session about your journey at our annual summit.",
            },
            summit - dt.timedelta(days=60),
            summit,
        )
    )
    return found


def _evidence(challenge: Challenge, advocate_id: int, rng: random.Random) -> EvidenceInput:
    if challenge.type == "review":
        domain = challenge.allowed_domains[0]
        return EvidenceInput(f"https://www.{domain}/products/acme-analytics/reviews/{advocate_id}-{challenge.id}", None)
    if challenge.type == "social_share":
        return EvidenceInput(f"https://www.linkedin.com/posts/demo-{advocate_id}-{challenge.id}", None)
    if challenge.type == "quiz":
        answers = [q["answer"] for q in (challenge.quiz or {}).get("questions", [])]
        return EvidenceInput(None, None, answers)
    if challenge.type == "survey":
        return EvidenceInput(None, None, [rng.choice(WIN_NOTES), 2])
    if challenge.type == "custom":
        return EvidenceInput(None, rng.choice(WIN_NOTES))
    if challenge.type == "webinar":
        return EvidenceInput(None, rng.choice(WEBINAR_NOTES))
    if challenge.type == "case_study":
        return EvidenceInput(None, rng.choice(STORY_NOTES))
    return EvidenceInput(None, "Joined the session and shared our experience.")


# Verified by a machine on the spot (the rest waited a day or two for a manager).
AUTOMATIC = frozenset({"review", "social_share", "quiz", "survey"})


def _act(challenge: Challenge, advocate_id: int, at: dt.datetime, rng: random.Random) -> dt.datetime | None:
    """One act: submit at `at` and approve when it would have been; returns the decision's
    time, or None when a rule (limits, cooldown, caps, targeting) refused it — nothing is
    written then."""
    auto = challenge.type in AUTOMATIC
    decided = min(at + (dt.timedelta(minutes=2) if auto else dt.timedelta(hours=rng.randint(4, 40))), utcnow())
    try:
        with db.session.begin_nested():
            completion = services.submit_completion(
                challenge.id, advocate_id, _evidence(challenge, advocate_id, rng), at=at, system=True
            )
            services.approve_completion(completion.id, None, auto=auto, at=decided)
    except VouchError:
        return None
    return decided


def seed_demo_history() -> str:
    """The past campaigns and each demo advocate's acts in them (see the module docstring)."""
    rng = random.Random(19)
    now = utcnow()
    created: list[tuple[Challenge, Campaign]] = []
    for campaign in campaigns(now):
        challenge = services.create_challenge(
            services.clean_challenge(
                campaign.data | {"starts_at": campaign.starts_at.isoformat(), "ends_at": campaign.ends_at.isoformat()}
            ),
            None,
        )
        services.publish_challenge(challenge.id, None)
        created.append((challenge, campaign))
    advocates = db.session.execute(
        select(Advocate, User.email).join(User, User.id == Advocate.user_id).order_by(Advocate.id)
    ).all()
    # The program never used anyone's whole year of asks: one stays free for today's requests
    # (the demo's reference call and referrals).
    ask_room = max(0, get_setting("caps_policy")["asks_per_365_days"] - 1)
    # …and no ask in the windows of the shorter caps (30, 60 and 90 days), so today's demo asks
    # of any effort are allowed whatever day the demo is seeded on.
    quiet_since = now - dt.timedelta(days=max(r.window_days for r in caps.RULES if r.window_days < 365))
    acts = 0
    for advocate, email in advocates:
        target = LIFETIME_POINTS.get(email)
        if not target:
            continue
        # Points take time: an advocate has been in the program long enough to have earned theirs
        # (about 250 points a month of the campaigns' low-effort acts, plus a few asks).
        tenure_days = min(395, max(30 + target // 8, (now - advocate.joined_at).days))
        if target >= 3000:
            tenure_days = 395
        tier_totals.move_join(advocate, min(advocate.joined_at, now - dt.timedelta(days=tenure_days)))
        first_day = advocate.joined_at + dt.timedelta(days=1)
        chances = []
        for challenge, campaign in created:
            start = max(campaign.starts_at, first_day)
            if start >= campaign.ends_at:
                continue
            span = (campaign.ends_at - start).total_seconds()
            chances.append((start + dt.timedelta(seconds=rng.uniform(0, span * 0.9)), challenge))
        chances.sort(key=lambda pair: pair[0])
        earned = 0
        # Acts spread over the whole tenure (so this week has activity too): each chance is taken
        # at the rate that would still reach the target with the chances left (many are refused
        # by targeting, limits and caps, hence the margin); nobody does everything.
        left = sum(challenge.points for _, challenge in chances)
        asked: list[dt.datetime] = []
        busy_until = first_day
        for when, challenge in chances:
            if earned >= target:
                break
            rate = 0.95 if target >= 5000 else min(0.95, 2.5 * (target - earned) / max(left, 1))
            left -= challenge.points
            if rng.random() > rate or challenge.points > 2 * (target - earned) + 100:
                continue
            # One act at a time: the next starts after the last was decided, so approvals (and
            # the badges they earn) come in the order the acts were done.
            when = max(when, busy_until + dt.timedelta(hours=rng.randint(1, 30)))
            if challenge.ends_at is not None and when >= challenge.ends_at:
                continue
            is_ask = verifiers.ask_kind_for(challenge.type, challenge.effort) is not None
            year = [t for t in asked if t > when - dt.timedelta(days=365)]
            if is_ask and (len(year) >= ask_room or when > quiet_since):
                continue
            decided = _act(challenge, advocate.id, when, rng)
            if decided is None:
                continue
            busy_until = decided
            earned += challenge.points
            acts += 1
            if is_ask:
                asked.append(when)
    db.session.flush()
    return f"{len(created)} past campaigns with {acts} approved acts"
