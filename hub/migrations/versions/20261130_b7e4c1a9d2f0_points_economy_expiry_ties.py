"""points economy: ledger entries' expiry date, leaderboard scores' reached-at for ties

`ledger_entries.expires_at` (NULL = never) is set on credited entries made while the points
expiry policy is on; `leaderboard_scores.reached_at` orders equal scores (the earlier first).
Existing rows keep NULL: points credited before the policy never expire (grandfathered), and a
score without a time sorts before any timed one until `flask rewards rebuild-leaderboards`
fills it from the ledger.

Revision ID: b7e4c1a9d2f0
Revises: 3f6a1c2d9b7e
Create Date: 2026-11-30 14:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

from hub.db import UTCDateTime

# revision identifiers, used by Alembic.
revision = "b7e4c1a9d2f0"
down_revision = "3f6a1c2d9b7e"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_ledger_entries_expires_at", ["expires_at"], unique=False)
    with op.batch_alter_table("leaderboard_scores", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reached_at", UTCDateTime(timezone=True), nullable=True))
        batch_op.drop_index("ix_leaderboard_scores_period_points")
        batch_op.create_index(
            "ix_leaderboard_scores_period_points",
            ["period_key", "points", "reached_at", "advocate_id"],
            unique=False,
        )


def downgrade():
    with op.batch_alter_table("leaderboard_scores", schema=None) as batch_op:
        batch_op.drop_index("ix_leaderboard_scores_period_points")
        batch_op.create_index(
            "ix_leaderboard_scores_period_points", ["period_key", "points", "advocate_id"], unique=False
        )
        batch_op.drop_column("reached_at")
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_entries_expires_at")
        batch_op.drop_column("expires_at")
