"""tier day totals

`tier_day_totals` (per UTC day, tier and shard of advocate ids: the net change that day in the
advocates counted in the tier) is kept by hub.tier_totals with each join, tier change and
erasure, and filled here from the advocates not erased and their tier history (the statement of
`rewards.tier_changes.rebuild_tier_day_totals`: one row per day and tier, in shard 0); the
program report reads the advocates per tier at a period's end from it instead of counting the
advocates and walking the tier changes since.

Revision ID: 48ec07568816
Revises: b5d6a358210a
Create Date: 2026-12-01 12:13:14.994750

"""

import sqlalchemy as sa
from alembic import op

FILL = """
INSERT INTO tier_day_totals (day, tier, shard, advocates)
WITH later AS (
    SELECT t.advocate_id, {changed} AS day, t.from_tier AS left_tier,
           coalesce(lead(t.from_tier) OVER w, a.tier) AS next_tier,
           row_number() OVER w AS nth
    FROM tier_changes t JOIN advocates a ON a.id = t.advocate_id
    WHERE a.is_erased = {false} AND {changed} > {joined}
    WINDOW w AS (PARTITION BY t.advocate_id ORDER BY t.changed_at, t.id)
), moves AS (
    SELECT {joined} AS day, coalesce(l.left_tier, a.tier) AS tier, 1 AS n
    FROM advocates a LEFT JOIN later l ON l.advocate_id = a.id AND l.nth = 1
    WHERE a.is_erased = {false}
    UNION ALL SELECT day, left_tier, -1 FROM later
    UNION ALL SELECT day, next_tier, 1 FROM later
)
SELECT day, tier, 0, sum(n) FROM moves GROUP BY day, tier HAVING sum(n) <> 0
"""

DAY = {
    "postgresql": "CAST(timezone('UTC', {}) AS DATE)",
    "sqlite": "date({})",
}
FALSE = {"postgresql": "false", "sqlite": "0"}

# revision identifiers, used by Alembic.
revision = "48ec07568816"
down_revision = "b5d6a358210a"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "tier_day_totals",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column(
            "tier",
            sa.Enum(
                "bronze",
                "silver",
                "gold",
                name="tier_day_total_tier",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("shard", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("advocates", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "tier", "shard", name=op.f("pk_tier_day_totals")),
    )
    dialect = op.get_bind().dialect.name
    op.execute(
        FILL.format(
            changed=DAY[dialect].format("t.changed_at"),
            joined=DAY[dialect].format("a.joined_at"),
            false=FALSE[dialect],
        )
    )


def downgrade():
    op.drop_table("tier_day_totals")
