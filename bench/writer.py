"""Keeps awarding points (as verification jobs would) while the leaderboard is read.

python -m bench.writer --seconds 15 --rate 50
"""

from __future__ import annotations

import random
import time
import uuid

import click


@click.command()
@click.option("--seconds", default=15.0)
@click.option("--rate", default=50.0, help="awards per second")
def main(seconds: float, rate: float) -> None:
    from sqlalchemy import func, select

    from hub.app import create_app
    from hub.extensions import db
    from hub.models import Advocate
    from rewards.ledger import post_entry

    app = create_app()
    with app.app_context():
        low, high = db.session.execute(select(func.min(Advocate.id), func.max(Advocate.id))).one()
        deadline = time.monotonic() + seconds
        awarded = 0
        while time.monotonic() < deadline:
            tick = time.monotonic()
            post_entry(
                random.randint(low, high),
                random.choice((50, 100, 250)),
                kind="bonus",
                source_type="bench_writer",
                source_id=uuid.uuid4().hex,
                memo="Streaming award",
            )
            db.session.commit()
            awarded += 1
            time.sleep(max(0.0, 1.0 / rate - (time.monotonic() - tick)))
        click.echo(f"awarded={awarded}")


if __name__ == "__main__":
    main()
