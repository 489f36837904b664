"""Times the owner's report figures (issue 17) at bench scale and prints one JSON line.

    .venv/bin/python -m bench.reports [--runs 5]

On the seeded bench database (BENCH_REPORTS_DATABASE_URL, else DATABASE_URL, else
postgresql+psycopg://postgres@127.0.0.1:5432/vouch_bench; `make bench` seeds it first), migrated
here (it adds one API token for an owner and otherwise only reads):
- `GET /api/v1/reports/program` (the default period: this quarter beside the previous one),
  through the app with an owner token — median (p50) and worst of `runs` after one warm-up;
- `GET /api/v1/reports/trends?metric=…` for each metric over the default twelve months, the same way;
- the program report's figures one by one (challenges.reports), to show where the time goes.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Callable

import click

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/vouch_bench"


def _timed(work: Callable[[], object], runs: int) -> dict[str, float]:
    work()  # warm-up: plans and caches
    spent = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        spent.append((time.perf_counter() - started) * 1000)
    return {"p50_ms": round(statistics.median(spent), 1), "max_ms": round(max(spent), 1)}


def owner_token() -> str:
    """Inside an app context: the database migrated to head, and a new API token of its first owner
    (one is created when there is none), committed."""
    from flask_migrate import upgrade

    from hub import accounts, tokens
    from hub.extensions import db
    from hub.models import Role, User

    upgrade()
    owner = db.session.scalars(db.select(User).where(User.role == Role.OWNER).limit(1)).first()
    if owner is None:
        owner = accounts.create_user("bench-reports@example.com", "Bench Owner", "owner", None)
    _, token = tokens.create_api_token(owner, "bench reports", None)
    db.session.commit()
    return token


@click.command()
@click.option("--runs", default=5, show_default=True)
def main(runs: int) -> None:
    url = os.environ.get("BENCH_REPORTS_DATABASE_URL") or os.environ.get("DATABASE_URL") or DEFAULT_URL
    os.environ["DATABASE_URL"] = url

    from challenges import reports
    from challenges.crm.reports import references_and_attribution
    from challenges.reports import activity, people, program
    from hub.app import create_app
    from hub.extensions import db

    app = create_app()
    figures: dict[str, object] = {"database": url.rpartition("/")[2]}
    with app.app_context():
        token = owner_token()
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}", "X-Forwarded-Proto": "https"}

        def get(path: str) -> Callable[[], object]:
            def call() -> object:
                response = client.get(path, headers=headers)
                assert response.status_code == 200, (path, response.status_code)
                return response

            return call

        figures["GET /reports/program"] = _timed(get("/api/v1/reports/program"), runs)
        for metric in reports.TRENDS:
            figures[f"GET /reports/trends?metric={metric}"] = _timed(
                get(f"/api/v1/reports/trends?metric={metric}"), runs
            )

        period = reports.report_period(None, None)
        parts: dict[str, Callable[[], object]] = {
            "program_report (in process, both periods)": lambda: program.program_report(period),
            "advocates_by_tier": lambda: people.advocates_by_tier(period),
            "active_advocates (activation)": lambda: people.active_advocates(period),
            "participation_rate": lambda: people.participation_rate(period),
            "asks_and_burnout": lambda: people.asks_and_burnout(period),
            "review_velocity": lambda: activity.review_velocity(period),
            "points": lambda: program.points_figures(period),
            "redemptions_by_status": lambda: activity.redemptions_by_status(period),
            "references_and_attribution": lambda: references_and_attribution(period.start, period.end),
        }
        for name, work in parts.items():
            figures[f"part {name}"] = _timed(work, max(1, runs // 2))
            db.session.rollback()
        db.session.rollback()
    click.echo(json.dumps(figures, indent=1), err=True)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
