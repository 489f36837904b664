"""points economy: leaderboard scores' reached-at for ties, expiry notices

`leaderboard_scores.reached_at` orders equal scores (the earlier first); existing rows keep NULL
(sorting before any timed one) until `flask rewards rebuild-leaderboards` fills it from the
ledger. `expiry_notices` records each "points expire on …" notice once (advocate, date, 30 or 7
days ahead).

Revision ID: b7e4c1a9d2f0
Revises: b7e2c4a91d30
Create Date: 2026-11-30 14:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

import hub.db

# revision identifiers, used by Alembic.
revision = "b7e4c1a9d2f0"
down_revision = "b7e2c4a91d30"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("leaderboard_scores", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reached_at", hub.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.drop_index("ix_leaderboard_scores_period_points")
        batch_op.create_index(
            "ix_leaderboard_scores_period_points",
            ["period_key", "points", "reached_at", "advocate_id"],
            unique=False,
        )
    op.create_table(
        "expiry_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("advocate_id", sa.Integer(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("days_ahead", sa.Integer(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("sent_at", hub.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["advocate_id"], ["advocates.id"], name=op.f("fk_expiry_notices_advocate_id_advocates"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expiry_notices")),
        sa.UniqueConstraint(
            "advocate_id", "expires_on", "days_ahead", name=op.f("uq_expiry_notices_advocate_id_expires_on_days_ahead")
        ),
    )


def downgrade():
    op.drop_table("expiry_notices")
    with op.batch_alter_table("leaderboard_scores", schema=None) as batch_op:
        batch_op.drop_index("ix_leaderboard_scores_period_points")
        batch_op.create_index(
            "ix_leaderboard_scores_period_points", ["period_key", "points", "advocate_id"], unique=False
        )
        batch_op.drop_column("reached_at")
