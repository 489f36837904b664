"""challenge retry limits: tries after a rejection, then a wait (issue 19)

`challenges.retry_limit` (default 3) rejected tries in a row, then `retry_wait_hours` (default 24)
from the last of them before the next round. Existing challenges take the defaults.

Revision ID: 30d437cb617b
Revises: b7e4c1a9d2f0
Create Date: 2026-11-30 17:10:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "30d437cb617b"
down_revision = "b7e4c1a9d2f0"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("challenges", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retry_limit", sa.Integer(), server_default="3", nullable=False))
        batch_op.add_column(sa.Column("retry_wait_hours", sa.Integer(), server_default="24", nullable=False))
        batch_op.create_check_constraint(op.f("ck_challenges_retry_limit_positive"), "retry_limit >= 1")
        batch_op.create_check_constraint(op.f("ck_challenges_retry_wait_non_negative"), "retry_wait_hours >= 0")


def downgrade():
    with op.batch_alter_table("challenges", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_challenges_retry_wait_non_negative"), type_="check")
        batch_op.drop_constraint(op.f("ck_challenges_retry_limit_positive"), type_="check")
        batch_op.drop_column("retry_wait_hours")
        batch_op.drop_column("retry_limit")
