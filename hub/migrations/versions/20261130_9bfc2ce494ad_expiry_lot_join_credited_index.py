"""points economy performance: expire entries name their lot; credited entries indexed; whole-second ties

`ledger_entries.lot_id` (unique) is the credited entry an `expire` entry expires, filled here
from the existing ones' source id, so expiry finds a lot's expiry by a join.
`ix_ledger_entries_credited` (partial: credited entries only, by advocate, time and id, with
the points) serves expiry's FIFO window in order; `ix_ledger_entries_expired_lots` (partial:
expire entries by advocate and lot, with the points) its per-lot lookup. `leaderboard_scores.reached_at` is cut to the
whole second, the resolution the Redis scores keep (rewards.leaderboard); run
`flask rewards rebuild-leaderboards` after upgrading (the periodic reconciler does it within
minutes otherwise; until then boards are read from SQL).

Revision ID: 9bfc2ce494ad
Revises: fc83a0a5aac9
Create Date: 2026-11-30 17:10:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "9bfc2ce494ad"
down_revision = "fc83a0a5aac9"
branch_labels = None
depends_on = None

CREDITED = "delta > 0 AND kind IN ('adjust', 'bonus', 'earn')"


def upgrade():
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lot_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_ledger_entries_lot_id_ledger_entries"), "ledger_entries", ["lot_id"], ["id"]
        )
        batch_op.create_unique_constraint(batch_op.f("uq_ledger_entries_lot_id"), ["lot_id"])
        batch_op.create_index(
            "ix_ledger_entries_credited",
            ["advocate_id", "created_at", "id"],
            unique=False,
            postgresql_include=["delta"],
            postgresql_where=sa.text(CREDITED),
            sqlite_where=sa.text(CREDITED),
        )
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ledger_entries_expired_lots",
            ["advocate_id", "lot_id"],
            unique=False,
            postgresql_include=["delta"],
            postgresql_where=sa.text("lot_id IS NOT NULL"),
            sqlite_where=sa.text("lot_id IS NOT NULL"),
        )
    op.execute(
        "UPDATE ledger_entries SET lot_id = CAST(source_id AS INTEGER)"
        " WHERE kind = 'expire' AND source_type = 'ledger_entry'"
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE leaderboard_scores SET reached_at = date_trunc('second', reached_at)")
    else:
        op.execute(
            "UPDATE leaderboard_scores SET reached_at = strftime('%Y-%m-%d %H:%M:%S.000000', reached_at)"
            " WHERE reached_at IS NOT NULL"
        )


def downgrade():
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_ledger_entries_expired_lots",
            postgresql_where=sa.text("lot_id IS NOT NULL"),
            sqlite_where=sa.text("lot_id IS NOT NULL"),
        )
        batch_op.drop_index(
            "ix_ledger_entries_credited", postgresql_where=sa.text(CREDITED), sqlite_where=sa.text(CREDITED)
        )
        batch_op.drop_constraint(batch_op.f("uq_ledger_entries_lot_id"), type_="unique")
        batch_op.drop_constraint(batch_op.f("fk_ledger_entries_lot_id_ledger_entries"), type_="foreignkey")
        batch_op.drop_column("lot_id")
