"""trust and review compliance: review platform and disclosure, trust signals and score,
evidence URL claims

`challenges.platform` and `challenges.disclosure` (review challenges; existing reviews read as
platform `other` with the default disclosure once edited). `advocates.trust_score` starts at 100
for everyone. `trust_signals` holds each signal with its evidence; `evidence_claims` is the first
completion of each evidence URL (its primary key decides between parallel submissions).
`completions.hold_reason`, `completions.text_digest` and `completions.disclosure_shown` feed the
review queue, the repeated-answer signal and the incentive log; the new indexes keep the signals' look-ups indexed.

Revision ID: fc83a0a5aac9
Revises: 33368857e87b
Create Date: 2026-11-30 17:10:00.000000

"""

import sqlalchemy as sa
from alembic import op

import hub.db

# revision identifiers, used by Alembic.
revision = "fc83a0a5aac9"
down_revision = "33368857e87b"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("challenges", sa.Column("platform", sa.String(length=16), nullable=True))
    op.add_column("challenges", sa.Column("disclosure", sa.String(length=500), nullable=True))
    if op.get_bind().dialect.name == "sqlite":
        # In place, with its CHECK: a batch rebuild would drop and re-create `advocates`, firing
        # the ON DELETE actions of the tables pointing at it (as in a7c3e1f0b2d4).
        op.execute(
            "ALTER TABLE advocates ADD COLUMN trust_score INTEGER DEFAULT '100' NOT NULL "
            "CONSTRAINT ck_advocates_trust_score_range CHECK (trust_score BETWEEN 0 AND 100)"
        )
    else:
        with op.batch_alter_table("advocates", schema=None) as batch_op:
            batch_op.add_column(sa.Column("trust_score", sa.Integer(), server_default="100", nullable=False))
            batch_op.create_check_constraint(
                batch_op.f("ck_advocates_trust_score_range"), "trust_score BETWEEN 0 AND 100"
            )
    op.create_index(op.f("ix_advocates_trust_score"), "advocates", ["trust_score"], unique=False)
    op.add_column("completions", sa.Column("hold_reason", sa.String(length=500), nullable=True))
    op.add_column("completions", sa.Column("text_digest", sa.String(length=64), nullable=True))
    op.add_column("completions", sa.Column("disclosure_shown", sa.String(length=500), nullable=True))
    op.create_index("ix_completions_advocate_submitted", "completions", ["advocate_id", "submitted_at"], unique=False)
    op.create_index("ix_completions_text_digest", "completions", ["text_digest"], unique=False)
    op.create_index("ix_user_sessions_ip_created", "user_sessions", ["ip", "created_at"], unique=False)
    op.create_table(
        "trust_signals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("advocate_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.Column("evidence", sa.String(length=1000), nullable=False),
        sa.Column("source_key", sa.String(length=160), nullable=False),
        sa.Column("detected_at", hub.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("cleared_at", hub.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cleared_by_id", sa.Integer(), nullable=True),
        sa.Column("cleared_reason", sa.String(length=500), nullable=True),
        sa.CheckConstraint("weight BETWEEN 0 AND 100", name=op.f("ck_trust_signals_weight_range")),
        sa.ForeignKeyConstraint(
            ["advocate_id"], ["advocates.id"], name=op.f("fk_trust_signals_advocate_id_advocates"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["cleared_by_id"], ["users.id"], name=op.f("fk_trust_signals_cleared_by_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trust_signals")),
        sa.UniqueConstraint("advocate_id", "kind", "source_key", name="uq_trust_signals_source"),
    )
    op.create_index("ix_trust_signals_advocate_cleared", "trust_signals", ["advocate_id", "cleared_at"], unique=False)
    op.create_table(
        "evidence_claims",
        sa.Column("url_key", sa.String(length=64), nullable=False),
        sa.Column("completion_id", sa.Integer(), nullable=False),
        sa.Column("claimed_at", hub.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["completion_id"],
            ["completions.id"],
            name=op.f("fk_evidence_claims_completion_id_completions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("url_key", name=op.f("pk_evidence_claims")),
    )
    op.create_index(op.f("ix_evidence_claims_completion_id"), "evidence_claims", ["completion_id"], unique=False)


def _drop_columns(table, *columns):
    """SQLite drops in place (no rebuild: see upgrade); others through batch."""
    if op.get_bind().dialect.name == "sqlite":
        for column in columns:
            op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        return
    with op.batch_alter_table(table, schema=None) as batch_op:
        for column in columns:
            batch_op.drop_column(column)


def downgrade():
    op.drop_index(op.f("ix_evidence_claims_completion_id"), table_name="evidence_claims")
    op.drop_table("evidence_claims")
    op.drop_index("ix_trust_signals_advocate_cleared", table_name="trust_signals")
    op.drop_table("trust_signals")
    op.drop_index("ix_user_sessions_ip_created", table_name="user_sessions")
    op.drop_index("ix_completions_text_digest", table_name="completions")
    op.drop_index("ix_completions_advocate_submitted", table_name="completions")
    _drop_columns("completions", "disclosure_shown", "text_digest", "hold_reason")
    op.drop_index(op.f("ix_advocates_trust_score"), table_name="advocates")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(op.f("ck_advocates_trust_score_range"), "advocates", type_="check")
    _drop_columns("advocates", "trust_score")
    _drop_columns("challenges", "disclosure", "platform")
