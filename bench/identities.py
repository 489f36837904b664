"""Prepares the actors bench/run.py drives and prints them as one JSON line.

    python -m bench.identities --submitters 600 --quizzes 20

- an owner with an API token (reports);
- "the busiest advocate": the seeded advocate with the most completions gets a password, an
  API token and a logged-in session cookie (the feed and hub page are measured for the
  advocate whose history is the largest — the worst case, not an empty account);
- `--quizzes` published `auto` quiz challenges (one question, always gradable) and
  `--submitters` seeded advocates with tokens and enough points to redeem: every submit in
  the benchmark is a fresh (advocate, challenge) pair, so each one passes every rule and
  really creates a completion and enqueues its verification;
- an unlimited, approval-free reward for the redemption benchmark.

Re-running reuses the bench challenges and reward and makes fresh submitters (advocates
who have not taken the bench quizzes yet).
"""

from __future__ import annotations

import json
import re

import click

BENCH_OWNER = "bench-owner@example.com"
BENCH_PASSWORD = "bench-password-2026"  # noqa: S105 - a local benchmark login
QUIZ_TITLE = "Bench quiz"
REWARD_NAME = "Bench e-gift card"
QUIZ = {"questions": [{"prompt": "Is this a benchmark?", "options": ["Yes", "No"], "answer": 0}], "pass_mark": 1}
SUBMITTER_POINTS = 1_000_000


def bench_quizzes(count: int, owner_id: int) -> list[int]:
    from sqlalchemy import select

    from challenges import services
    from challenges.models import Challenge, ChallengeStatus
    from hub.extensions import db

    ids = list(
        db.session.scalars(
            select(Challenge.id)
            .where(Challenge.title.like(f"{QUIZ_TITLE} %"), Challenge.status == ChallengeStatus.PUBLISHED)
            .order_by(Challenge.id)
        )
    )
    for n in range(len(ids), count):
        challenge = services.create_challenge(
            services.clean_challenge(
                {
                    "title": f"{QUIZ_TITLE} {n + 1}",
                    "type": "quiz",
                    "points": 10,
                    "quiz": QUIZ,
                    "description": "A one-question quiz the benchmark submits.",
                }
            ),
            owner_id,
        )
        services.publish_challenge(challenge.id, owner_id)
        ids.append(challenge.id)
    return ids[:count]


def bench_reward(owner_id: int) -> int:
    from sqlalchemy import select

    from hub.extensions import db
    from rewards import catalog
    from rewards.models import Reward

    found = db.session.scalar(select(Reward.id).where(Reward.name == REWARD_NAME))
    if found is not None:
        return found
    values = catalog.read_reward_input(
        {
            "name": REWARD_NAME,
            "kind": "gift_card",
            "points_cost": 10,
            "stock": None,
            "min_tier": "bronze",
            "per_advocate_limit": None,
            "requires_approval": False,
            "description": "Redeemed by the benchmark.",
        },
        partial=False,
    )
    return catalog.create_reward(values, owner_id).id


def fresh_submitters(count: int, quiz_ids: list[int], owner_id: int) -> list[str]:
    """Tokens of seeded advocates who have not touched the bench quizzes, topped up with points."""
    from sqlalchemy import select

    from challenges.models import Completion
    from hub import tokens
    from hub.extensions import db
    from hub.models import Advocate, User
    from rewards.ledger import post_entry

    rows = db.session.execute(
        select(Advocate.id, Advocate.balance, User)
        .join(User, User.id == Advocate.user_id)
        .where(
            User.role == "advocate",
            User.is_active_user.is_(True),
            Advocate.is_erased.is_(False),
            ~select(Completion.id)
            .where(Completion.advocate_id == Advocate.id, Completion.challenge_id.in_(quiz_ids))
            .exists(),
        )
        .order_by(Advocate.id.desc())
        .limit(count)
    ).all()
    plaintexts = []
    for advocate_id, balance, user in rows:
        _, token = tokens.create_api_token(user, "bench submitter", owner_id)
        # Topped up to SUBMITTER_POINTS, never added to: repeated bench runs on one copy would
        # otherwise push these advocates' scores past the leaderboard's exact Redis range
        # (rewards.leaderboard.MAX_EXACT_POINTS), and every board read would fall back to SQL.
        if balance >= SUBMITTER_POINTS:
            plaintexts.append(token)
            continue
        post_entry(
            advocate_id,
            SUBMITTER_POINTS - balance,
            kind="bonus",
            source_type="bench_topup",
            source_id=f"{advocate_id}-{token[:10]}",
            memo="Benchmark points",
        )
        plaintexts.append(token)
    return plaintexts


def busiest_advocate(app, owner_id: int) -> dict:
    from sqlalchemy import func, select

    from challenges.models import Completion
    from hub import tokens
    from hub.extensions import db
    from hub.models import Advocate, Group, User, advocate_groups
    from hub.security import hash_password

    advocate_id = db.session.scalar(
        select(Completion.advocate_id).group_by(Completion.advocate_id).order_by(func.count().desc()).limit(1)
    ) or db.session.scalar(select(Advocate.id).order_by(Advocate.lifetime_points.desc()).limit(1))
    advocate = db.session.get_one(Advocate, advocate_id)
    user = db.session.get_one(User, advocate.user_id)
    user.password_hash = hash_password(BENCH_PASSWORD)
    _, token = tokens.create_api_token(user, "bench", owner_id)
    group_id = db.session.scalar(
        select(advocate_groups.c.group_id).where(advocate_groups.c.advocate_id == advocate_id).limit(1)
    )
    if group_id is None:
        group_id = db.session.scalar(
            select(advocate_groups.c.group_id)
            .group_by(advocate_groups.c.group_id)
            .order_by(func.count().desc())
            .limit(1)
        )
        db.session.execute(advocate_groups.insert().values(advocate_id=advocate_id, group_id=group_id))
    group = db.session.get_one(Group, group_id).name
    completions = db.session.scalar(
        select(func.count()).select_from(Completion).where(Completion.advocate_id == advocate_id)
    )
    db.session.commit()
    client = app.test_client()
    https = {"X-Forwarded-Proto": "https"}
    form = client.get("/login", headers=https).get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form) or re.search(
        r'name="csrf_token" value="([^"]+)"', form
    )
    client.post(
        "/login",
        data={"email": user.email, "password": BENCH_PASSWORD, "csrf_token": csrf.group(1) if csrf else ""},
        headers={**https, "Referer": "https://localhost/login"},
    )
    cookie = client.get_cookie("session")
    if cookie is None or client.get("/", headers=https).status_code != 200:
        raise click.ClickException(f"could not log in as {user.email}")
    return {
        "advocate_token": token,
        "advocate_cookie": f"session={cookie.value}",
        "group": group,
        "advocate_email": user.email,
        "advocate_completions": completions,
    }


@click.command()
@click.option("--submitters", default=600, show_default=True, help="advocates with tokens that submit and redeem")
@click.option("--quizzes", default=20, show_default=True, help="auto-verified bench challenges")
def main(submitters: int, quizzes: int) -> None:
    from sqlalchemy import func, select

    from hub import accounts, tokens
    from hub.app import create_app
    from hub.extensions import db
    from hub.models import Advocate, Role, User

    app = create_app()
    with app.app_context():
        owner = db.session.scalar(select(User).where(User.email == BENCH_OWNER)) or accounts.create_user(
            BENCH_OWNER, "Bench Owner", Role.OWNER, BENCH_PASSWORD
        )
        _, owner_token = tokens.create_api_token(owner, "bench", None)
        quiz_ids = bench_quizzes(quizzes, owner.id)
        reward_id = bench_reward(owner.id)
        submit_tokens = fresh_submitters(submitters, quiz_ids, owner.id)
        db.session.commit()
        found = busiest_advocate(app, owner.id)
        advocate_count = db.session.scalar(select(func.count()).select_from(Advocate))
    print(
        json.dumps(
            {
                "owner_token": owner_token,
                "quiz_ids": quiz_ids,
                "reward_id": reward_id,
                "submit_tokens": submit_tokens,
                "advocates": advocate_count,
                **found,
            }
        )
    )


if __name__ == "__main__":
    main()
