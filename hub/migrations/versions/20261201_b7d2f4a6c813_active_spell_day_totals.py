"""active spell day totals and each advocate's first approval

`active_spell_day_totals` (per UTC day and shard of advocate ids: how many spells of approvals
start and how many end on that day) is kept by challenges.services.act_tallies with the spells
and filled here from them (the statement of `act_tallies.rebuild_spell_days`); the program
report's active advocates are two sums of it instead of a count of the window's spells.
`active_spells` gets the check that a spell ends no earlier than it starts (the report finds the
spells started on a day among those ending on or after it). `advocates.first_approved_at` (their
first spell's start, lowered with the spells) is filled from the spells and carried by
`ix_advocates_joined_at` (PostgreSQL), so the report probes the tallies of advocates who joined
after a period only for those approved before it (none, unless a join time was set by hand).

Revision ID: b7d2f4a6c813
Revises: 48ec07568816
Create Date: 2026-12-01 12:40:00.000000

"""

import sqlalchemy as sa
from alembic import op

from hub.db import UTCDateTime

# revision identifiers, used by Alembic.
revision = "b7d2f4a6c813"
down_revision = "48ec07568816"
branch_labels = None
depends_on = None

# challenges.models.ACT_TOTAL_SHARDS when this was written.
SHARDS = 8


def upgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "active_spell_day_totals",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("shard", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("starts", sa.BigInteger(), nullable=False),
        sa.Column("lasts", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "shard", name=op.f("pk_active_spell_day_totals")),
    )
    day = "CAST(timezone('UTC', {0}) AS DATE)" if postgresql else "date({0})"
    op.execute(
        "INSERT INTO active_spell_day_totals (day, shard, starts, lasts) "
        "SELECT day, shard, sum(s), sum(l) FROM ("
        f" SELECT {day.format('started_at')} AS day, advocate_id % {SHARDS} AS shard, 1 AS s, 0 AS l"
        " FROM active_spells"
        " UNION ALL"
        f" SELECT {day.format('last_at')}, advocate_id % {SHARDS}, 0, 1 FROM active_spells"
        ") ends GROUP BY day, shard"
    )
    with op.batch_alter_table("active_spells", schema=None) as batch_op:
        batch_op.create_check_constraint("last_not_before_start", "last_at >= started_at")
    # In place on SQLite too: a batch rebuild would drop and re-create `advocates`, firing the
    # ON DELETE actions of the tables pointing at it (as in fc83a0a5aac9).
    op.add_column("advocates", sa.Column("first_approved_at", UTCDateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE advocates SET first_approved_at = ("
        "SELECT min(started_at) FROM active_spells WHERE active_spells.advocate_id = advocates.id) "
        "WHERE EXISTS (SELECT 1 FROM active_spells WHERE active_spells.advocate_id = advocates.id)"
    )
    op.drop_index("ix_advocates_joined_at", table_name="advocates")
    op.create_index(
        "ix_advocates_joined_at",
        "advocates",
        ["joined_at"],
        unique=False,
        postgresql_include=["id", "tier", "is_erased", "first_approved_at"],
    )
    if postgresql:
        op.execute("ANALYZE active_spell_day_totals, advocates")


def downgrade():
    op.drop_index("ix_advocates_joined_at", table_name="advocates")
    op.create_index(
        "ix_advocates_joined_at",
        "advocates",
        ["joined_at"],
        unique=False,
        postgresql_include=["id", "tier", "is_erased"],
    )
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE advocates DROP COLUMN first_approved_at")  # in place, as in upgrade
    else:
        op.drop_column("advocates", "first_approved_at")
    with op.batch_alter_table("active_spells", schema=None) as batch_op:
        batch_op.drop_constraint("last_not_before_start", type_="check")
    op.drop_table("active_spell_day_totals")
