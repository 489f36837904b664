"""expire entries: `lot_id` without its foreign key

The foreign key from `ledger_entries.lot_id` to `ledger_entries.id` made every `expire` entry
lock its lot's row (FOR KEY SHARE) when inserted: about 0.11 s of each 1,000-advocate batch of
the expiry run, 750,000 row locks in a first run at bench scale. The lot is read from the
ledger under the advocate's lock in the statement that writes its expiry (rewards.expiry), and
entries are never deleted, so the reference cannot dangle. The unique key on `lot_id` stays (one
expiry per lot), as do the source key and the partial index of expire entries.

Revision ID: a3e5c7d9f1b2
Revises: 7c1e5a9b3d42
Create Date: 2026-12-01 04:15:00.000000

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "a3e5c7d9f1b2"
down_revision = "7c1e5a9b3d42"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_ledger_entries_lot_id_ledger_entries"), type_="foreignkey")


def downgrade():
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f("fk_ledger_entries_lot_id_ledger_entries"), "ledger_entries", ["lot_id"], ["id"]
        )
