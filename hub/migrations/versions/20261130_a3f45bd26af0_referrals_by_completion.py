"""referrals by completion

An index of `referrals.completion_id`: approving a referral's completion looks up its referral to
pay the bonus of a deal won before the approval (a completion held for review, then approved).

Revision ID: a3f45bd26af0
Revises: 2f93ad545a29
Create Date: 2026-11-30 20:28:37.272128

"""

from alembic import op


# revision identifiers, used by Alembic.
revision = "a3f45bd26af0"
down_revision = "2f93ad545a29"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_referrals_completion_id"), ["completion_id"], unique=False)


def downgrade():
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_referrals_completion_id"))
