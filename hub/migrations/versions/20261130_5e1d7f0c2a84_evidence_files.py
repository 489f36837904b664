"""evidence files

Issue 19, evidence by upload: `evidence_files` holds the file an advocate sent with a completion
(one per completion: a random storage key, the cleaned display name, type, size, sha256; the
bytes live under VOUCH_UPLOAD_DIR), and `challenges.file_kinds` the kinds of file a challenge
takes ("image", "pdf"; NULL: both).

Revision ID: 5e1d7f0c2a84
Revises: 5e77c0a1d3b8
Create Date: 2026-11-30 20:28:35.152983

"""

from alembic import op
import sqlalchemy as sa

import hub.db


# revision identifiers, used by Alembic.
revision = "5e1d7f0c2a84"
down_revision = "5e77c0a1d3b8"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "evidence_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("completion_id", sa.Integer(), nullable=False),
        sa.Column("storage_key", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=160), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", hub.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["completion_id"],
            ["completions.id"],
            name=op.f("fk_evidence_files_completion_id_completions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_files")),
        sa.UniqueConstraint("completion_id", name=op.f("uq_evidence_files_completion_id")),
        sa.UniqueConstraint("storage_key", name=op.f("uq_evidence_files_storage_key")),
    )
    with op.batch_alter_table("challenges", schema=None) as batch_op:
        batch_op.add_column(sa.Column("file_kinds", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("challenges", schema=None) as batch_op:
        batch_op.drop_column("file_kinds")

    op.drop_table("evidence_files")
