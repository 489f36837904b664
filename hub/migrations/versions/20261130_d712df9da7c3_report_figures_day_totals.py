"""report figures: per-day ledger totals, per-day approved acts, approved completions by approval time

`ledger_day_totals` holds points and entries per UTC day, kind, sign and shard, kept by
rewards.ledger in the same transaction as each entry; `act_day_totals` holds approved completions
per UTC day of approval, challenge type and shard, counted by approve_completion in the approval's
transaction. This migration fills both from the existing rows (one grouped INSERT … SELECT each).
`ix_completions_approved_decided` lets the reports read approved completions in a time range
from the index alone (issue 17).

Revision ID: d712df9da7c3
Revises: b7e4c1a9d2f0
Create Date: 2026-11-30 17:30:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "d712df9da7c3"
down_revision = "b7e4c1a9d2f0"
branch_labels = None
depends_on = None

SHARDS = 8  # rewards.models.DAY_TOTAL_SHARDS and challenges.models.ACT_TOTAL_SHARDS when written


def upgrade():
    op.create_table(
        "ledger_day_totals",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "earn",
                "bonus",
                "redeem",
                "refund",
                "adjust",
                "expire",
                name="day_total_kind",
                native_enum=False,
                length=16,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("is_credit", sa.Boolean(), nullable=False),
        sa.Column("shard", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("entries", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "kind", "is_credit", "shard", name=op.f("pk_ledger_day_totals")),
    )
    day = (
        "(created_at AT TIME ZONE 'UTC')::date" if op.get_bind().dialect.name == "postgresql" else "date(created_at)"
    )
    op.execute(
        "INSERT INTO ledger_day_totals (day, kind, is_credit, shard, points, entries) "
        f"SELECT {day}, kind, delta > 0, advocate_id % {SHARDS}, sum(delta), count(*) FROM ledger_entries "
        f"GROUP BY {day}, kind, delta > 0, advocate_id % {SHARDS}"
    )
    op.create_table(
        "act_day_totals",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("challenge_type", sa.String(length=32), nullable=False),
        sa.Column("shard", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("acts", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "challenge_type", "shard", name=op.f("pk_act_day_totals")),
    )
    decided = (
        "(c.decided_at AT TIME ZONE 'UTC')::date" if op.get_bind().dialect.name == "postgresql" else "date(c.decided_at)"
    )
    op.execute(
        "INSERT INTO act_day_totals (day, challenge_type, shard, acts) "
        f"SELECT {decided}, ch.type, c.advocate_id % {SHARDS}, count(*) FROM completions c "
        "JOIN challenges ch ON ch.id = c.challenge_id WHERE c.status = 'approved' AND c.decided_at IS NOT NULL "
        f"GROUP BY {decided}, ch.type, c.advocate_id % {SHARDS}"
    )
    with op.batch_alter_table("completions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_completions_approved_decided",
            ["decided_at", "advocate_id", "challenge_id"],
            unique=False,
            postgresql_where=sa.text("status = 'approved'"),
            sqlite_where=sa.text("status = 'approved'"),
        )


def downgrade():
    with op.batch_alter_table("completions", schema=None) as batch_op:
        batch_op.drop_index("ix_completions_approved_decided")
    op.drop_table("act_day_totals")
    op.drop_table("ledger_day_totals")
