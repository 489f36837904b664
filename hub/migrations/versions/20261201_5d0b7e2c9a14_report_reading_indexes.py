"""report reading indexes: advocates by tier, tier changes by time, opportunities by created date

The program report (issue 17) counts advocates per tier, and a changed advocate's tier by id,
from `ix_advocates_tier` (tier, id) alone; subtracts the advocates not counted at a period's end
from `ix_advocates_joined_at`, rebuilt to carry id, tier and the erasure mark (PostgreSQL
INCLUDE); reads a past period's tiers from the tier changes after its end
(`ix_tier_changes_changed_at`); and sums the attribution of the opportunities created in a
period (`ix_opportunities_created_date`) — instead of scanning each table. Indexes only: nothing
to backfill.

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
        op.execute("ANALYZE opportunities")


def downgrade():
    with op.batch_alter_table("opportunities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_opportunities_created_date"))
    with op.batch_alter_table("tier_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tier_changes_changed_at"))
    with op.batch_alter_table("advocates", schema=None) as batch_op:
        batch_op.drop_index("ix_advocates_tier")
        batch_op.drop_index("ix_advocates_joined_at")
        batch_op.create_index("ix_advocates_joined_at", ["joined_at"], unique=False)
