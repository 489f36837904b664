"""report reading indexes: advocates by tier, tier changes by time, opportunities by created date

The program report (issue 17) counts advocates per tier from `ix_advocates_tier` alone, reads a
past period's tiers from the tier changes after its end (`ix_tier_changes_changed_at`), and sums
the attribution of the opportunities created in a period (`ix_opportunities_created_date`)
instead of scanning each table. Indexes only: nothing to backfill.

Revision ID: 5d0b7e2c9a14
Revises: 7c1e5a9b3d42
Create Date: 2026-12-01 04:30:00.000000

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "5d0b7e2c9a14"
down_revision = "7c1e5a9b3d42"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("advocates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_advocates_tier"), ["tier"], unique=False)
    with op.batch_alter_table("tier_changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tier_changes_changed_at"), ["changed_at"], unique=False)
    with op.batch_alter_table("opportunities", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_opportunities_created_date"), ["created_date"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ANALYZE advocates")
        op.execute("ANALYZE tier_changes")
        op.execute("ANALYZE opportunities")


def downgrade():
    with op.batch_alter_table("opportunities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_opportunities_created_date"))
    with op.batch_alter_table("tier_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tier_changes_changed_at"))
    with op.batch_alter_table("advocates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_advocates_tier"))
