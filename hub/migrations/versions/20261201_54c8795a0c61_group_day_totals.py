"""group day totals, group approval hour counts and the memberships they include

`group_day_totals` and `group_approval_hour_counts` hold the per-challenge tallies' figures per
group of advocates (membership now), UTC day of submission and shard (advocate id mod 8);
`group_tally_members` the memberships they include. Kept by
challenges.services.completion_tallies with each submission, decision and ask of a completion and
with each change of an advocate's groups (`follow_memberships`); filled here from hub's
memberships and the completions (the statements of `completion_tallies.rebuild_group_totals`).
The reports page's per-group table reads them instead of scanning the period's completions.

Revision ID: 54c8795a0c61
Revises: b7d2f4a6c813
Create Date: 2026-12-01 12:30:00.000000

"""

import sqlalchemy as sa
from alembic import op

SHARDS = 8  # challenges.models.GROUP_TOTAL_SHARDS when written

DAY = {"postgresql": "CAST(timezone('UTC', c.submitted_at) AS DATE)", "sqlite": "date(c.submitted_at)"}
HOURS = {
    "postgresql": "CAST(floor(extract(epoch FROM c.decided_at - c.submitted_at) / 3600) AS INTEGER)",
    "sqlite": "CAST(floor(round((julianday(c.decided_at) - julianday(c.submitted_at)) * 86400000) / 3600000.0)"
    " AS INTEGER)",
}


def fill(dialect: str) -> list[str]:
    day, hours = DAY[dialect], HOURS[dialect]
    return [
        "INSERT INTO group_tally_members (advocate_id, group_id) SELECT advocate_id, group_id FROM advocate_groups",
        f"""
INSERT INTO group_day_totals (group_id, shard, day, completions, approved, rejected, points_paid, asks_spent)
SELECT m.group_id, c.advocate_id % {SHARDS}, {day}, count(*),
       sum(CASE WHEN c.status = 'approved' THEN 1 ELSE 0 END),
       sum(CASE WHEN c.status = 'rejected' THEN 1 ELSE 0 END),
       sum(CASE WHEN c.status = 'approved' THEN coalesce(c.points_awarded, 0) ELSE 0 END),
       count(a.source_id)
FROM completions c
JOIN advocate_groups m ON m.advocate_id = c.advocate_id
LEFT JOIN (SELECT source_id FROM asks WHERE source_type = 'completion' AND cancelled_at IS NULL) a
       ON a.source_id = CAST(c.id AS VARCHAR)
GROUP BY 1, 2, 3
""",
        f"""
INSERT INTO group_approval_hour_counts (group_id, shard, day, hours, approvals)
SELECT m.group_id, c.advocate_id % {SHARDS}, {day}, {hours}, count(*)
FROM completions c
JOIN advocate_groups m ON m.advocate_id = c.advocate_id
WHERE c.status = 'approved' AND c.decided_at IS NOT NULL
GROUP BY 1, 2, 3, 4
""",
    ]


# revision identifiers, used by Alembic.
revision = "54c8795a0c61"
down_revision = "b7d2f4a6c813"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "group_tally_members",
        sa.Column("advocate_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("group_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ["advocate_id"],
            ["advocates.id"],
            name=op.f("fk_group_tally_members_advocate_id_advocates"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["group_id"], ["groups.id"], name=op.f("fk_group_tally_members_group_id_groups"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("advocate_id", "group_id", name=op.f("pk_group_tally_members")),
    )
    op.create_table(
        "group_day_totals",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("group_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("shard", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("completions", sa.BigInteger(), nullable=False),
        sa.Column("approved", sa.BigInteger(), nullable=False),
        sa.Column("rejected", sa.BigInteger(), nullable=False),
        sa.Column("points_paid", sa.BigInteger(), nullable=False),
        sa.Column("asks_spent", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"], ["groups.id"], name=op.f("fk_group_day_totals_group_id_groups"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("day", "group_id", "shard", name=op.f("pk_group_day_totals")),
    )
    op.create_table(
        "group_approval_hour_counts",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("group_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("hours", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("shard", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("approvals", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"], ["groups.id"], name=op.f("fk_group_approval_hour_counts_group_id_groups"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("day", "group_id", "hours", "shard", name=op.f("pk_group_approval_hour_counts")),
    )
    for statement in fill(op.get_bind().dialect.name):
        op.execute(statement)


def downgrade():
    op.drop_table("group_approval_hour_counts")
    op.drop_table("group_day_totals")
    op.drop_table("group_tally_members")
