"""post reports

`post_reports` holds members' reports of a question or an answer for the staff queue (issue 20),
one per member per post (two unique keys; exactly one of question_id / answer_id, a CHECK).

Revision ID: 9c30bc5695bf
Revises: a6658891258a
Create Date: 2026-11-30 17:07:10.707548

"""

from alembic import op
import sqlalchemy as sa
import hub.db


# revision identifiers, used by Alembic.
revision = "9c30bc5695bf"
down_revision = "a6658891258a"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "post_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=True),
        sa.Column("answer_id", sa.Integer(), nullable=True),
        sa.Column("reporter_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "dismissed",
                "actioned",
                name="reportstatus",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("created_at", hub.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", hub.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("(question_id IS NULL) <> (answer_id IS NULL)", name=op.f("ck_post_reports_one_post")),
        sa.ForeignKeyConstraint(
            ["answer_id"], ["answers.id"], name=op.f("fk_post_reports_answer_id_answers"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["decided_by_id"], ["users.id"], name=op.f("fk_post_reports_decided_by_id_users")),
        sa.ForeignKeyConstraint(
            ["question_id"], ["questions.id"], name=op.f("fk_post_reports_question_id_questions"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["reporter_id"], ["users.id"], name=op.f("fk_post_reports_reporter_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_post_reports")),
        sa.UniqueConstraint("answer_id", "reporter_id", name="uq_post_reports_answer_reporter"),
        sa.UniqueConstraint("question_id", "reporter_id", name="uq_post_reports_question_reporter"),
    )
    with op.batch_alter_table("post_reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_post_reports_answer_id"), ["answer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_post_reports_reporter_id"), ["reporter_id"], unique=False)
        batch_op.create_index("ix_post_reports_status_created", ["status", "created_at"], unique=False)


def downgrade():

    with op.batch_alter_table("post_reports", schema=None) as batch_op:
        batch_op.drop_index("ix_post_reports_status_created")
        batch_op.drop_index(batch_op.f("ix_post_reports_reporter_id"))
        batch_op.drop_index(batch_op.f("ix_post_reports_answer_id"))

    op.drop_table("post_reports")
