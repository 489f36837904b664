"""invitations: when last sent, and revoked

Staff resend a pending invitation (a new link; at most once per quarter hour) and revoke one
(issue 20, "People housekeeping"). Existing invitations were sent when they were created.

Revision ID: c41d7e9a0b62
Revises: b7e4c1a9d2f0
Create Date: 2026-11-30 17:20:00.000000

"""

import sqlalchemy as sa
from alembic import op

import hub.db

# revision identifiers, used by Alembic.
revision = "c41d7e9a0b62"
down_revision = "b7e4c1a9d2f0"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("invites", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sent_at", hub.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("revoked_at", hub.db.UTCDateTime(timezone=True), nullable=True))
    invites = sa.table("invites", sa.column("sent_at"), sa.column("created_at"))
    op.execute(invites.update().values(sent_at=invites.c.created_at))


def downgrade():
    with op.batch_alter_table("invites", schema=None) as batch_op:
        batch_op.drop_column("revoked_at")
        batch_op.drop_column("sent_at")
