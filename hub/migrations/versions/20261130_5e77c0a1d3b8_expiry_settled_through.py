"""expiry: each advocate's lots settled through a point in FIFO order

`advocates.expiry_settled_at` and `advocates.expiry_settled_id` name the last credited entry
(by time, then id) up to which every one of the advocate's lots is settled for expiry: it has
its `expire` entry or nothing left. `flask rewards expire-points` writes them and reads only the
lots after them; a refund (the only entry that can put points back into an older lot), a
credit dated before the mark and a cache rebuild clear them. `advocates.expiry_watch_from` is the earliest (credit time − notice
lead) among the advocate's unsettled lots: the run skips the advocate until its cutoff (now − N)
reaches it; a credit lowers it, a refund, a cache rebuild and a change of N clear it. NULL
(every existing row) means "read from the policy's start" and "visit", so no backfill: the
first run after the upgrade fills them.

Revision ID: 5e77c0a1d3b8
Revises: c6b22625e564
Create Date: 2026-11-30 20:45:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "5e77c0a1d3b8"
down_revision = "c6b22625e564"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("advocates", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expiry_settled_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("expiry_settled_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("expiry_watch_from", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    # Plain DROP COLUMN (SQLite 3.35+ has it): a batch operation would rebuild `advocates` on
    # SQLite, and the earlier downgrades expect the table as their own migrations left it.
    op.drop_column("advocates", "expiry_watch_from")
    op.drop_column("advocates", "expiry_settled_id")
    op.drop_column("advocates", "expiry_settled_at")
