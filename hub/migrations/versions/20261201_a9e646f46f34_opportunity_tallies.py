"""opportunity tallies and the credits' creation date

The program report's attribution figures (issue 17) read `opportunity_tallies` — one row per
opportunity, written by challenges.crm.attribution.tally with the touches and credits — from
`ix_opportunity_tallies_created_date` alone (PostgreSQL INCLUDE), instead of joining the credits
to the opportunities and looking up each deal's reference calls. The credits carry their
opportunity's creation date (`ix_attribution_credits_created_date`) for the per-advocate table of
a period. Both are filled here from the opportunities and the touches as the tally computes them
(`flask challenges tally-attribution --full` recomputes everything).

Revision ID: a9e646f46f34
Revises: 5d0b7e2c9a14
Create Date: 2026-12-01 09:05:00.000000

"""

import sqlalchemy as sa
from alembic import op

# challenges.crm.attribution._opportunity_tally_query, as SQL on both dialects.
FILL_TALLIES = """
INSERT INTO opportunity_tallies (opportunity_id, created_date, currency, is_closed, is_won, cycle_days,
                                 has_reference_call, advocates, sourced_amount, influenced_amount)
SELECT o.id, o.created_date, o.currency, o.is_closed, o.is_won, o.cycle_days,
       CASE WHEN t.referenced = 1 THEN TRUE ELSE FALSE END,
       COALESCE(t.advocates, 0),
       CASE WHEN t.referred = 1 THEN o.amount ELSE 0 END,
       CASE WHEN t.opportunity_id IS NOT NULL THEN o.amount ELSE 0 END
FROM opportunities o
LEFT JOIN (
    SELECT opportunity_id,
           max(CASE WHEN kind = 'referral' THEN 1 ELSE 0 END) AS referred,
           max(CASE WHEN kind = 'reference_call' THEN 1 ELSE 0 END) AS referenced,
           count(DISTINCT advocate_id) AS advocates
    FROM attribution_touches GROUP BY opportunity_id
) t ON t.opportunity_id = o.id
"""
FILL_CREDIT_DATES_POSTGRES = """
UPDATE attribution_credits c SET created_date = o.created_date FROM opportunities o WHERE o.id = c.opportunity_id
"""
FILL_CREDIT_DATES_SQLITE = """
UPDATE attribution_credits
SET created_date = (SELECT o.created_date FROM opportunities o WHERE o.id = attribution_credits.opportunity_id)
"""

# revision identifiers, used by Alembic.
revision = "a9e646f46f34"
down_revision = "5d0b7e2c9a14"
branch_labels = None
depends_on = None


def upgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "opportunity_tallies",
        sa.Column("opportunity_id", sa.Integer(), nullable=False),
        sa.Column("created_date", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("is_closed", sa.Boolean(), nullable=False),
        sa.Column("is_won", sa.Boolean(), nullable=False),
        sa.Column("cycle_days", sa.Integer(), nullable=True),
        sa.Column("has_reference_call", sa.Boolean(), nullable=False),
        sa.Column("advocates", sa.Integer(), nullable=False),
        sa.Column("sourced_amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("influenced_amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["opportunity_id"],
            ["opportunities.id"],
            name=op.f("fk_opportunity_tallies_opportunity_id_opportunities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("opportunity_id", name=op.f("pk_opportunity_tallies")),
    )
    op.execute(FILL_TALLIES)
    with op.batch_alter_table("opportunity_tallies", schema=None) as batch_op:
        batch_op.create_index(
            "ix_opportunity_tallies_created_date",
            ["created_date"],
            unique=False,
            postgresql_include=[
                "currency",
                "is_closed",
                "is_won",
                "cycle_days",
                "has_reference_call",
                "advocates",
                "sourced_amount",
                "influenced_amount",
            ],
        )

    with op.batch_alter_table("attribution_credits", schema=None) as batch_op:
        batch_op.add_column(sa.Column("created_date", sa.Date(), nullable=True))
    op.execute(FILL_CREDIT_DATES_POSTGRES if postgres else FILL_CREDIT_DATES_SQLITE)
    with op.batch_alter_table("attribution_credits", schema=None) as batch_op:
        batch_op.alter_column("created_date", existing_type=sa.Date(), nullable=False)
        batch_op.create_index(
            "ix_attribution_credits_created_date",
            ["created_date"],
            unique=False,
            postgresql_include=[
                "advocate_id",
                "currency",
                "is_closed",
                "is_won",
                "sourced_amount",
                "influenced_amount",
            ],
        )
    if postgres:
        op.execute("ANALYZE opportunity_tallies, attribution_credits")


def downgrade():
    with op.batch_alter_table("attribution_credits", schema=None) as batch_op:
        batch_op.drop_index("ix_attribution_credits_created_date")
        batch_op.drop_column("created_date")
    op.drop_table("opportunity_tallies")
