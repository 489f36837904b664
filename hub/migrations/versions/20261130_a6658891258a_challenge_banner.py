"""challenges' card banner

`challenges.banner` is the optional banner of a challenge's card, a key of
challenges.verifiers.BANNERS (NULL: none).

Revision ID: a6658891258a
Revises: 239454712e3d
Create Date: 2026-11-30 17:45:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "a6658891258a"
down_revision = "239454712e3d"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("challenges", schema=None) as batch_op:
        batch_op.add_column(sa.Column("banner", sa.String(length=32), nullable=True))


def downgrade():
    # In place (SQLite's own DROP COLUMN), as the other revisions drop columns.
    op.execute("ALTER TABLE challenges DROP COLUMN banner")
