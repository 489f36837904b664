"""report summaries: review platform in the act tally, active advocates per month and quarter

`act_day_totals` gains `platform` (the review platform of the challenge, "" for other types and
reviews without one) in its key, so review velocity per platform is a sum of day rows.
`active_advocate_periods` holds one row per (span, period start, advocate) for every calendar
month (span 1) and quarter (span 3) in which the advocate had a completion approved, and
`active_advocate_totals` their count per period and shard, and `active_spells` each advocate's runs
of approvals no more than 90 days apart (the activation rate); all are written by
approve_completion in the approval's transaction (challenges.services.act_tallies) and filled
here from the approved completions (one grouped INSERT … SELECT each). `advocates.joined_at` and
`advocates.is_erased` get indexes: the reports subtract the advocates not counted at a period's
end from those tallies.

Revision ID: 7c1e5a9b3d42
Revises: 5e1d7f0c2a84
Create Date: 2026-11-30 21:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

from hub.db import UTCDateTime

# revision identifiers, used by Alembic.
revision = "7c1e5a9b3d42"
down_revision = "5e1d7f0c2a84"
branch_labels = None
depends_on = None

SHARDS = 8  # challenges.models.ACT_TOTAL_SHARDS when written
UTC_DATETIME = UTCDateTime(timezone=True)


def _fill_acts(with_platform: bool) -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    day = "(c.decided_at AT TIME ZONE 'UTC')::date" if postgresql else "date(c.decided_at)"
    platform = ("CASE WHEN ch.type = 'review' THEN coalesce(ch.platform, '') ELSE '' END",) if with_platform else ()
    columns = ", ".join(("day", "challenge_type", *(("platform",) if with_platform else ()), "shard", "acts"))
    grouped = ", ".join((day, "ch.type", *platform, f"c.advocate_id % {SHARDS}"))
    op.execute(
        f"INSERT INTO act_day_totals ({columns}) SELECT {grouped}, count(*) FROM completions c "
        "JOIN challenges ch ON ch.id = c.challenge_id WHERE c.status = 'approved' AND c.decided_at IS NOT NULL "
        f"GROUP BY {grouped}"
    )


def _create_acts(with_platform: bool) -> None:
    key = ("day", "challenge_type", *(("platform",) if with_platform else ()), "shard")
    op.create_table(
        "act_day_totals",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("challenge_type", sa.String(length=32), nullable=False),
        *((sa.Column("platform", sa.String(length=16), nullable=False),) if with_platform else ()),
        sa.Column("shard", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("acts", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(*key, name=op.f("pk_act_day_totals")),
    )


def upgrade():
    # The key changes: rebuilt from the completions rather than altered in place (SQLite cannot
    # alter a primary key, and the rebuild is one grouped statement either way).
    op.drop_table("act_day_totals")
    _create_acts(with_platform=True)
    _fill_acts(with_platform=True)

    op.create_table(
        "active_advocate_periods",
        sa.Column("span", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("starts", sa.Date(), nullable=False),
        sa.Column("advocate_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["advocate_id"], ["advocates.id"], name=op.f("fk_active_advocate_periods_advocate_id_advocates")
        ),
        sa.PrimaryKeyConstraint("span", "starts", "advocate_id", name=op.f("pk_active_advocate_periods")),
    )
    op.create_table(
        "active_advocate_totals",
        sa.Column("span", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("starts", sa.Date(), nullable=False),
        sa.Column("shard", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("advocates", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("span", "starts", "shard", name=op.f("pk_active_advocate_totals")),
    )
    postgresql = op.get_bind().dialect.name == "postgresql"
    for span in (1, 3):
        if postgresql:
            decided = "(decided_at AT TIME ZONE 'UTC')"
            starts = (
                f"date_trunc('month', {decided})::date"
                if span == 1
                else f"date_trunc('quarter', {decided})::date"
            )
        else:
            starts = (
                "date(decided_at, 'start of month')"
                if span == 1
                else "date(decided_at, 'start of month', "
                "'-' || ((cast(strftime('%m', decided_at) as integer) - 1) % 3) || ' months')"
            )
        op.execute(
            "INSERT INTO active_advocate_periods (span, starts, advocate_id) "
            f"SELECT DISTINCT {span}, {starts}, advocate_id FROM completions "
            "WHERE status = 'approved' AND decided_at IS NOT NULL"
        )
    op.execute(
        "INSERT INTO active_advocate_totals (span, starts, shard, advocates) "
        f"SELECT span, starts, advocate_id % {SHARDS}, count(*) FROM active_advocate_periods "
        f"GROUP BY span, starts, advocate_id % {SHARDS}"
    )
    op.create_table(
        "active_spells",
        sa.Column("advocate_id", sa.Integer(), nullable=False),
        sa.Column("started_at", UTC_DATETIME, nullable=False),
        sa.Column("last_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(["advocate_id"], ["advocates.id"], name=op.f("fk_active_spells_advocate_id_advocates")),
        sa.PrimaryKeyConstraint("advocate_id", "started_at", name=op.f("pk_active_spells")),
    )
    if postgresql:
        gap = "at - before > interval '90 days'"
    else:
        gap = "round((julianday(at) - julianday(before)) * 86400000) > 90 * 86400000"
    op.execute(
        "INSERT INTO active_spells (advocate_id, started_at, last_at) "
        "SELECT advocate_id, min(at), max(at) FROM ("
        f" SELECT advocate_id, at, sum(CASE WHEN before IS NULL OR {gap} THEN 1 ELSE 0 END)"
        "  OVER (PARTITION BY advocate_id ORDER BY at) AS spell FROM ("
        "  SELECT advocate_id, decided_at AS at,"
        "   lag(decided_at) OVER (PARTITION BY advocate_id ORDER BY decided_at) AS before"
        "  FROM completions WHERE status = 'approved' AND decided_at IS NOT NULL) ordered) numbered "
        "GROUP BY advocate_id, spell"
    )
    op.create_index("ix_active_spells_last_started", "active_spells", ["last_at", "started_at"], unique=False)
    with op.batch_alter_table("advocates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_advocates_joined_at"), ["joined_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_advocates_is_erased"), ["is_erased"], unique=False)
    if postgresql:
        # Plans for the new tables from the first report on, not after autovacuum's first pass.
        op.execute("ANALYZE act_day_totals, active_advocate_periods, active_advocate_totals, active_spells, advocates")


def downgrade():
    with op.batch_alter_table("advocates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_advocates_is_erased"))
        batch_op.drop_index(batch_op.f("ix_advocates_joined_at"))
    op.drop_index("ix_active_spells_last_started", table_name="active_spells")
    op.drop_table("active_spells")
    op.drop_table("active_advocate_totals")
    op.drop_table("active_advocate_periods")
    op.drop_table("act_day_totals")
    _create_acts(with_platform=False)
    _fill_acts(with_platform=False)
