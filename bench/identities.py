"""Prints JSON with API tokens and a session cookie for bench/run.py (creates the bench owner once)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BENCH_OWNER = "bench-owner@example.com"
BENCH_ADVOCATE = "bench-advocate@example.com"
BENCH_PASSWORD = "bench-password-2026"  # noqa: S105 - a local benchmark login


def main() -> None:
    from sqlalchemy import func, select

    from hub import services
    from hub.app import create_app
    from hub.extensions import db
    from hub.models import Advocate, Group, Role, User, advocate_groups
    from rewards.ledger import post_entry

    app = create_app()
    with app.app_context():
        owner = db.session.scalar(select(User).where(User.email == BENCH_OWNER)) or services.create_user(
            BENCH_OWNER, "Bench Owner", Role.OWNER, BENCH_PASSWORD)
        user = db.session.scalar(select(User).where(User.email == BENCH_ADVOCATE))
        if user is None:
            user = services.create_user(BENCH_ADVOCATE, "Bench Advocate", Role.ADVOCATE, BENCH_PASSWORD)
            post_entry(user.advocate.id, 1500, "earn", "bench", "bench-advocate", "Bench points")
        group_id, = db.session.execute(
            select(advocate_groups.c.group_id).group_by(advocate_groups.c.group_id)
            .order_by(func.count().desc()).limit(1)).one()
        if not db.session.scalar(select(func.count()).select_from(advocate_groups).where(
                advocate_groups.c.advocate_id == user.advocate.id)):
            db.session.execute(advocate_groups.insert().values(advocate_id=user.advocate.id, group_id=group_id))
        _, owner_token = services.create_api_token(owner, "bench", None)
        _, advocate_token = services.create_api_token(user, "bench", None)
        db.session.commit()
        group = db.session.get(Group, group_id).name
        client = app.test_client()
        client.post("/login", data={"email": BENCH_ADVOCATE, "password": BENCH_PASSWORD},
                    headers={"X-Forwarded-Proto": "https"})
        cookie = client.get_cookie("session")
        advocate_count = db.session.scalar(select(func.count()).select_from(Advocate))
    print(json.dumps({"owner_token": owner_token, "advocate_token": advocate_token, "group": group,
                      "advocate_cookie": f"session={cookie.value}" if cookie else "", "advocates": advocate_count}))


if __name__ == "__main__":
    main()
