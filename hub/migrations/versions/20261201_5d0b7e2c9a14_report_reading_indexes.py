"""report reading indexes and asks per day

`ask_day_totals` (asks not cancelled per UTC day of asking and shard) is kept by
challenges.caps with each claim and release, filled here from the asks; `flask challenges
rebuild-act-totals` recounts it.

The program report (issue 17) counts advocates per tier, and a changed advocate's tier by id,
from `ix_advocates_tier` (tier, id) alone; subtracts the advocates not counted at a period's end
from `ix_advocates_joined_at`, rebuilt to carry id, tier and the erasure mark (PostgreSQL
INCLUDE); reads a past period's tiers from the tier changes after its end
(`ix_tier_changes_changed_at`); and sums the attribution of the opportunities created in a
period (`ix_opportunities_created_date`) — instead of scanning each table. Nothing to backfill for
the indexes.

Revision ID: 5d0b7e2c9a14
Revises: a3e5c7d9f1b2
Create Date: 2026-12-01 04:30:00.000000

"""

import sqlalchemy as sa
from alembic import op

# challenges.caps.rebuild_ask_day_totals (8 = challenges.models.ASK_TOTAL_SHARDS).
FILL_ASKS_POSTGRES = """
INSERT INTO ask_day_totals (day, shard, asks)
SELECT CAST(timezone('UTC', asked_at) AS DATE), advocate_id % 8, count(*)
FROM asks WHERE cancelled_at IS NULL
GROUP BY CAST(timezone('UTC', asked_at) AS DATE), advocate_id % 8
"""
FILL_ASKS_SQLITE = """
INSERT INTO ask_day_totals (day, shard, asks)
SELECT date(asked_at), advocate_id % 8, count(*)
FROM asks WHERE cancelled_at IS NULL
GROUP BY date(asked_at), advocate_id % 8
"""

# revision identifiers, used by Alembic.
revision = "5d0b7e2c9a14"
down_revision = "a3e5c7d9f1b2"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "ask_day_totals",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("shard", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("asks", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "shard", name=op.f("pk_ask_day_totals")),
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    op.execute(FILL_ASKS_POSTGRES if postgres else FILL_ASKS_SQLITE)
    with op.batch_alter_table("advocates", schema=None) as batch_op:
        batch_op.drop_index("ix_advocates_joined_at")
        batch_op.create_index(
            "ix_advocates_joined_at", ["joined_at"], unique=False, postgresql_include=["id", "tier", "is_erased"]
        )
        batch_op.create_index("ix_advocates_tier", ["tier", "id"], unique=False)
    with op.batch_alter_table("tier_changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tier_changes_changed_at"), ["changed_at"], unique=False)
    with op.batch_alter_table("opportunities", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_opportunities_created_date"), ["created_date"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ANALYZE advocates")
        op.execute("ANALYZE tier_changes")
        op.execute("ANALYZE opportunities, ask_day_totals")


def downgrade():
    op.drop_table("ask_day_totals")
    with op.batch_alter_table("opportunities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_opportunities_created_date"))
    with op.batch_alter_table("tier_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tier_changes_changed_at"))
    with op.batch_alter_table("advocates", schema=None) as batch_op:
        batch_op.drop_index("ix_advocates_tier")
        batch_op.drop_index("ix_advocates_joined_at")
        batch_op.create_index("ix_advocates_joined_at", ["joined_at"], unique=False)
