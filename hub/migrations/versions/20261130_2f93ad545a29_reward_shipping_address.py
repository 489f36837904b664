"""reward shipping and redemption shipping address

`rewards.needs_shipping` (existing rewards: false) makes redeeming the reward ask for a
shipping address, kept in `redemptions.shipping_address` (private to staff and the advocate;
erased with the advocate).

Revision ID: 2f93ad545a29
Revises: 9c30bc5695bf
Create Date: 2026-11-30 17:17:00.932966

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "2f93ad545a29"
down_revision = "9c30bc5695bf"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("redemptions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("shipping_address", sa.String(length=1000), nullable=True))

    with op.batch_alter_table("rewards", schema=None) as batch_op:
        batch_op.add_column(sa.Column("needs_shipping", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table("rewards", schema=None) as batch_op:
        batch_op.drop_column("needs_shipping")

    with op.batch_alter_table("redemptions", schema=None) as batch_op:
        batch_op.drop_column("shipping_address")
