"""advocates' time zone; the index of the hub's program activity

`advocates.time_zone` is the IANA zone an advocate reads times in (NULL: UTC until they choose
one). `ix_completions_status_decided` serves the hub's "happening in the program" query
(approvals of the last seven days).

Revision ID: 239454712e3d
Revises: d712df9da7c3
Create Date: 2026-11-30 17:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "239454712e3d"
down_revision = "d712df9da7c3"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("advocates", schema=None) as batch_op:
        batch_op.add_column(sa.Column("time_zone", sa.String(length=64), nullable=True))
    with op.batch_alter_table("completions", schema=None) as batch_op:
        batch_op.create_index("ix_completions_status_decided", ["status", "decided_at"], unique=False)


def downgrade():
    with op.batch_alter_table("completions", schema=None) as batch_op:
        batch_op.drop_index("ix_completions_status_decided")
    # In place (SQLite's own DROP COLUMN): a batch copy of `advocates` would rewrite its inline
    # CHECK constraints as table constraints, which the older revisions' in-place drops refuse.
    op.execute("ALTER TABLE advocates DROP COLUMN time_zone")
