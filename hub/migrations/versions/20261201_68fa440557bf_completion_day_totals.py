"""completion day totals and approval hour counts

`completion_day_totals` (per challenge and UTC day of submission: completions, approved,
rejected, points paid, active asks held) and `approval_hour_counts` (per challenge, day of
submission and whole hours to approve: approvals) are kept by
challenges.services.completion_tallies with each submission, decision and ask of a completion,
and filled here from the completions (the same statements as
`completion_tallies.rebuild_completion_totals`); the reports page's per-challenge table reads
them instead of scanning the period's completions.

Revision ID: 68fa440557bf
Revises: a9e646f46f34
Create Date: 2026-12-01 09:25:00.000000

"""

import sqlalchemy as sa
from alembic import op

FILL = {
    "postgresql": (
        """
INSERT INTO completion_day_totals (challenge_id, day, completions, approved, rejected, points_paid, asks_spent)
SELECT c.challenge_id, CAST(timezone('UTC', c.submitted_at) AS DATE), count(*),
       sum(CASE WHEN c.status = 'approved' THEN 1 ELSE 0 END),
       sum(CASE WHEN c.status = 'rejected' THEN 1 ELSE 0 END),
       sum(CASE WHEN c.status = 'approved' THEN coalesce(c.points_awarded, 0) ELSE 0 END),
       count(a.source_id)
FROM completions c
LEFT JOIN (SELECT source_id FROM asks WHERE source_type = 'completion' AND cancelled_at IS NULL) a
       ON a.source_id = CAST(c.id AS VARCHAR)
GROUP BY c.challenge_id, CAST(timezone('UTC', c.submitted_at) AS DATE)
""",
        """
INSERT INTO approval_hour_counts (challenge_id, day, hours, approvals)
SELECT challenge_id, CAST(timezone('UTC', submitted_at) AS DATE),
       CAST(floor(extract(epoch FROM decided_at - submitted_at) / 3600) AS INTEGER), count(*)
FROM completions WHERE status = 'approved' AND decided_at IS NOT NULL
GROUP BY 1, 2, 3
""",
    ),
    "sqlite": (
        """
INSERT INTO completion_day_totals (challenge_id, day, completions, approved, rejected, points_paid, asks_spent)
SELECT c.challenge_id, date(c.submitted_at), count(*),
       sum(CASE WHEN c.status = 'approved' THEN 1 ELSE 0 END),
       sum(CASE WHEN c.status = 'rejected' THEN 1 ELSE 0 END),
       sum(CASE WHEN c.status = 'approved' THEN coalesce(c.points_awarded, 0) ELSE 0 END),
       count(a.source_id)
FROM completions c
LEFT JOIN (SELECT source_id FROM asks WHERE source_type = 'completion' AND cancelled_at IS NULL) a
       ON a.source_id = CAST(c.id AS VARCHAR)
GROUP BY c.challenge_id, date(c.submitted_at)
""",
        """
INSERT INTO approval_hour_counts (challenge_id, day, hours, approvals)
SELECT challenge_id, date(submitted_at),
       CAST(floor(round((julianday(decided_at) - julianday(submitted_at)) * 86400000) / 3600000.0) AS INTEGER),
       count(*)
FROM completions WHERE status = 'approved' AND decided_at IS NOT NULL
GROUP BY 1, 2, 3
""",
    ),
}

# revision identifiers, used by Alembic.
revision = "68fa440557bf"
down_revision = "a9e646f46f34"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "completion_day_totals",
        sa.Column("challenge_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("completions", sa.BigInteger(), nullable=False),
        sa.Column("approved", sa.BigInteger(), nullable=False),
        sa.Column("rejected", sa.BigInteger(), nullable=False),
        sa.Column("points_paid", sa.BigInteger(), nullable=False),
        sa.Column("asks_spent", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["challenge_id"],
            ["challenges.id"],
            name=op.f("fk_completion_day_totals_challenge_id_challenges"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("day", "challenge_id", name=op.f("pk_completion_day_totals")),
    )
    op.create_table(
        "approval_hour_counts",
        sa.Column("challenge_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("hours", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("approvals", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["challenge_id"],
            ["challenges.id"],
            name=op.f("fk_approval_hour_counts_challenge_id_challenges"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("day", "challenge_id", "hours", name=op.f("pk_approval_hour_counts")),
    )
    for statement in FILL[op.get_bind().dialect.name]:
        op.execute(statement)


def downgrade():
    op.drop_table("approval_hour_counts")
    op.drop_table("completion_day_totals")
