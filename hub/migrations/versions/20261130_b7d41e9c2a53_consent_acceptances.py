"""consent acceptances: every version of the program terms an advocate accepted (issue 14)

Revision ID: b7d41e9c2a53
Revises: 3f6a1c2d9b7e
Create Date: 2026-11-30 14:00:00

The acceptances known so far (each advocate's recorded consent_version and consented_at) are
copied in, so the export lists them too.
"""

import sqlalchemy as sa
from alembic import op

import hub.db

revision = "b7d41e9c2a53"
down_revision = "3f6a1c2d9b7e"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "consent_acceptances",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("advocate_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("accepted_at", hub.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["advocate_id"], ["advocates.id"], name=op.f("fk_consent_acceptances_advocate_id_advocates"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_acceptances")),
        sa.UniqueConstraint("advocate_id", "version", name="uq_consent_acceptances_advocate_version"),
    )
    op.execute(
        "INSERT INTO consent_acceptances (advocate_id, version, accepted_at) "
        "SELECT id, consent_version, consented_at FROM advocates "
        "WHERE consent_version IS NOT NULL AND consented_at IS NOT NULL"
    )


def downgrade():
    op.drop_table("consent_acceptances")
