"""report reading indexes and attribution day totals

`attribution_day_totals` (credits in cents per opportunity creation day and currency) and
`deal_day_counts` (closed deals per creation day, reference call, won and cycle days) are kept by
the attribution tally in its transaction (challenges.crm.attribution.refresh_day_totals) and
filled here from the credits, touches and opportunities with the same grouping;
`opportunities.tallied_date` (the day an opportunity was last counted under) is set to its
creation date. A full tally (`flask challenges tally-attribution --full`) rebuilds them.
`ask_day_totals` (asks not cancelled per UTC day of asking and shard) is kept by
challenges.caps with each claim and release, filled here from the asks; `flask challenges
rebuild-act-totals` recounts it.

The program report (issue 17) counts advocates per tier, and a changed advocate's tier by id,
from `ix_advocates_tier` (tier, id) alone; subtracts the advocates not counted at a period's end
from `ix_advocates_joined_at`, rebuilt to carry id, tier and the erasure mark (PostgreSQL
INCLUDE); reads a past period's tiers from the tier changes after its end
(`ix_tier_changes_changed_at`); and sums the attribution of the opportunities created in a
period (`ix_opportunities_created_date`) — instead of scanning each table. Indexes only: nothing
to backfill for the indexes.

Revision ID: 5d0b7e2c9a14
Revises: 7c1e5a9b3d42
Create Date: 2026-12-01 04:30:00.000000

"""

import sqlalchemy as sa
from alembic import op

# challenges.crm.attribution._day_sums_query and _day_deals_query over every day; -1 is
# challenges.crm.models.NO_CYCLE.
FILL_SUMS = """
INSERT INTO attribution_day_totals (day, currency, sourced_cents, sourced_won_cents, influenced_cents,
                                    influenced_won_cents)
SELECT o.created_date, c.currency,
       sum(CAST(round(c.sourced_amount * 100) AS BIGINT)),
       sum(CASE WHEN c.is_won THEN CAST(round(c.sourced_amount * 100) AS BIGINT) ELSE 0 END),
       sum(CAST(round(c.influenced_amount * 100) AS BIGINT)),
       sum(CASE WHEN c.is_won THEN CAST(round(c.influenced_amount * 100) AS BIGINT) ELSE 0 END)
FROM attribution_credits c JOIN opportunities o ON o.id = c.opportunity_id
GROUP BY o.created_date, c.currency
"""
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
FILL_DEALS = """
INSERT INTO deal_day_counts (day, has_reference, is_won, cycle_days, deals)
SELECT d.created_date, d.has_reference, d.is_won, d.cycle_days, count(*)
FROM (SELECT o.created_date, o.is_won, coalesce(o.cycle_days, -1) AS cycle_days,
             CASE WHEN EXISTS (SELECT 1 FROM attribution_touches t
                               WHERE t.opportunity_id = o.id AND t.kind = 'reference_call')
                  THEN {true} ELSE {false} END AS has_reference
      FROM opportunities o WHERE o.is_closed) d
GROUP BY d.created_date, d.has_reference, d.is_won, d.cycle_days
"""

# revision identifiers, used by Alembic.
revision = "5d0b7e2c9a14"
down_revision = "7c1e5a9b3d42"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "attribution_day_totals",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("sourced_cents", sa.BigInteger(), nullable=False),
        sa.Column("sourced_won_cents", sa.BigInteger(), nullable=False),
        sa.Column("influenced_cents", sa.BigInteger(), nullable=False),
        sa.Column("influenced_won_cents", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "currency", name=op.f("pk_attribution_day_totals")),
    )
    op.create_table(
        "deal_day_counts",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("has_reference", sa.Boolean(), nullable=False),
        sa.Column("is_won", sa.Boolean(), nullable=False),
        sa.Column("cycle_days", sa.Integer(), nullable=False),
        sa.Column("deals", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "has_reference", "is_won", "cycle_days", name=op.f("pk_deal_day_counts")),
    )
    op.create_table(
        "ask_day_totals",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("shard", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("asks", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "shard", name=op.f("pk_ask_day_totals")),
    )
    with op.batch_alter_table("opportunities", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tallied_date", sa.Date(), nullable=True))
    postgres = op.get_bind().dialect.name == "postgresql"
    op.execute(FILL_ASKS_POSTGRES if postgres else FILL_ASKS_SQLITE)
    op.execute(FILL_SUMS)
    op.execute(FILL_DEALS.format(true="true" if postgres else "1", false="false" if postgres else "0"))
    op.execute("UPDATE opportunities SET tallied_date = created_date")
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
        op.execute("ANALYZE opportunities, attribution_day_totals, deal_day_counts, ask_day_totals")


def downgrade():
    with op.batch_alter_table("opportunities", schema=None) as batch_op:
        batch_op.drop_column("tallied_date")
    op.drop_table("deal_day_counts")
    op.drop_table("ask_day_totals")
    op.drop_table("attribution_day_totals")
    with op.batch_alter_table("opportunities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_opportunities_created_date"))
    with op.batch_alter_table("tier_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tier_changes_changed_at"))
    with op.batch_alter_table("advocates", schema=None) as batch_op:
        batch_op.drop_index("ix_advocates_tier")
        batch_op.drop_index("ix_advocates_joined_at")
        batch_op.create_index("ix_advocates_joined_at", ["joined_at"], unique=False)
