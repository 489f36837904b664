"""account summaries, score import resume offset (issue 15's performance targets)

`account_summaries`: one row per live account with what the coverage list shows and sorts on
(challenges.accounts.summaries keeps it); a partial index over the gaps in the list's order.
The table starts empty: `flask challenges refresh-account-summaries` (also the daily job and the
full relink) fills it — run it once after this upgrade.
`score_imports.resume_offset`: where the next batch of an advocacy-score import starts in its
stored CSV text, so a batch no longer re-reads the file from the top.

Revision ID: 33368857e87b
Revises: 30d437cb617b
Create Date: 2026-11-30 16:54:47.052432

"""

import sqlalchemy as sa
from alembic import op

import hub.db

# revision identifiers, used by Alembic.
revision = "33368857e87b"
down_revision = "30d437cb617b"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "account_summaries",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column(
            "sort_name",
            sa.String(length=320).with_variant(sa.String(length=320, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("advocates", sa.Integer(), nullable=False),
        sa.Column("reference_ready", sa.Integer(), nullable=False),
        sa.Column("open_pipeline", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("influenced_won", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("sourced_won", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("last_act_at", hub.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("is_gap", sa.Boolean(), nullable=False),
        sa.Column("refreshed_at", hub.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_account_summaries_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_account_summaries")),
    )
    with op.batch_alter_table("account_summaries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_account_summaries_gap_order",
            ["open_pipeline", "sort_name", "account_id"],
            unique=False,
            postgresql_where=sa.text("is_gap"),
            sqlite_where=sa.text("is_gap"),
        )
    with op.batch_alter_table("score_imports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("resume_offset", sa.Integer(), server_default="0", nullable=False))


def downgrade():
    with op.batch_alter_table("score_imports", schema=None) as batch_op:
        batch_op.drop_column("resume_offset")
    with op.batch_alter_table("account_summaries", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_account_summaries_gap_order", postgresql_where=sa.text("is_gap"), sqlite_where=sa.text("is_gap")
        )
    op.drop_table("account_summaries")
