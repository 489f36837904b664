"""What the seeded history earned, written as the product would have written it at the time:
the badges of the approvals and tiers (`rewards.badges.CATALOG`) and the thank-you emails of the
completion milestones (`hub.email.mailings.thank_for_completions`), marked sent.

A bench fairness fix (issue 22, "Workers"): without them the first approval of a seeded advocate
awards every badge their history earned and thanks them for their highest milestone at once
(about five emails per approval in `bench.verify_drain` instead of the one or two of a live
program), which measures a catch-up no live program has. `run_seed` writes them after the
tiers; on a copy seeded before this existed:

    DATABASE_URL=… python -m bench.seed_earned
"""

from __future__ import annotations

from typing import Any

import click
from sqlalchemy import String, Text, case, cast, func, literal, or_, select, union_all
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from challenges.models import Challenge, Completion, CompletionStatus
from hub.db import utcnow
from hub.email.mailings import COMPLETION_MILESTONES
from hub.email.models import EmailStatus, OutboxEmail
from hub.extensions import db
from hub.models import Advocate, Tier, User
from rewards.models import AdvocateBadge

# The approval badges by the ordinal of the approval that earns them
# (challenges.services.decisions: `first_completion` at 1, then BADGE_STEPS).
STEP_BADGES = {1: "first_completion", 5: "completions_5", 25: "completions_25", 100: "completions_100"}
# The badges of a first approved completion of a challenge type.
TYPE_BADGES = {"review": "first_review", "reference_call": "first_reference"}


def _insert(table: Any) -> Any:
    dialect = db.session.get_bind().dialect.name
    return (pg_insert if dialect == "postgresql" else sqlite_insert)(table)


def _count(model: Any) -> int:
    return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def write_earned_badges() -> int:
    """Every badge the approved completions and the tiers earned, dated when they were earned
    (the deciding approval; the tier's last change, else now); one INSERT … SELECT … ON CONFLICT
    DO NOTHING, so badges already held stay as they are. Returns the rows written."""
    approved = (
        select(
            Completion.advocate_id,
            Completion.decided_at,
            Challenge.type,
            func.row_number()
            .over(partition_by=Completion.advocate_id, order_by=(Completion.decided_at, Completion.id))
            .label("n"),
        )
        .join(Challenge, Challenge.id == Completion.challenge_id)
        .where(Completion.status == CompletionStatus.APPROVED, Completion.decided_at.is_not(None))
        .subquery()
    )
    parts: list[Any] = [
        select(approved.c.advocate_id, literal(code, String(40)), approved.c.decided_at).where(approved.c.n == n)
        for n, code in STEP_BADGES.items()
    ]
    parts += [
        select(approved.c.advocate_id, literal(code, String(40)), func.min(approved.c.decided_at))
        .where(approved.c.type == kind)
        .group_by(approved.c.advocate_id)
        for kind, code in TYPE_BADGES.items()
    ]
    now = utcnow()
    when = func.coalesce(Advocate.tier_changed_at, literal(now, Advocate.tier_changed_at.type))
    parts += [
        select(Advocate.id, literal("tier_silver", String(40)), when).where(
            or_(Advocate.tier == Tier.SILVER, Advocate.tier == Tier.GOLD)
        ),
        select(Advocate.id, literal("tier_gold", String(40)), when).where(Advocate.tier == Tier.GOLD),
    ]
    held = _count(AdvocateBadge)
    db.session.execute(
        _insert(AdvocateBadge.__table__)
        .from_select(["advocate_id", "code", "awarded_at"], union_all(*parts))
        .on_conflict_do_nothing(index_elements=["advocate_id", "code"])
    )
    return _count(AdvocateBadge) - held


def write_sent_thanks() -> int:
    """The thank-you of each advocate's highest completion milestone reached, as a sent outbox
    row with the dedupe key `thank_for_completions` writes (`thanks:<advocate>:<milestone>`), so a
    seeded advocate is not thanked again for a milestone their history passed. Returns the rows
    written."""
    counts = (
        select(Completion.advocate_id, func.count().label("approved"))
        .where(Completion.status == CompletionStatus.APPROVED)
        .group_by(Completion.advocate_id)
        .subquery()
    )
    *higher, lowest = sorted(COMPLETION_MILESTONES, reverse=True)
    milestone = case(*((counts.c.approved >= step, step) for step in higher), else_=lowest)
    milestone_text = cast(milestone, String)
    now = utcnow()
    at = literal(now, OutboxEmail.created_at.type)
    rows = (
        select(
            User.email,
            literal("Thank you for your approved completions!", String(255)),
            literal("", Text),
            literal("milestones", String(40)),
            User.id,
            literal(EmailStatus.SENT.value, String(16)),
            literal(1),
            at,
            at,
            literal("thanks:", String) + cast(Advocate.id, String) + literal(":", String) + milestone_text,
        )
        .select_from(counts)
        .join(Advocate, Advocate.id == counts.c.advocate_id)
        .join(User, User.id == Advocate.user_id)
        .where(counts.c.approved >= COMPLETION_MILESTONES[0])
    )
    held = _count(OutboxEmail)
    db.session.execute(
        _insert(OutboxEmail.__table__)
        .from_select(
            [
                "to_address",
                "subject",
                "body_text",
                "kind",
                "user_id",
                "status",
                "attempts",
                "created_at",
                "sent_at",
                "dedupe_key",
            ],
            rows,
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
    )
    return _count(OutboxEmail) - held


def write_earned() -> dict[str, int]:
    """Both of the above in the caller's transaction: {"badges": rows, "thanks": rows}."""
    return {"badges": write_earned_badges(), "thanks": write_sent_thanks()}


@click.command()
def main() -> None:
    """Write what the seeded history earned onto an existing bench database (one transaction)."""
    from hub.app import create_app

    app = create_app()
    with app.app_context():
        written = write_earned()
        db.session.commit()
    click.echo(written)


if __name__ == "__main__":
    main()
