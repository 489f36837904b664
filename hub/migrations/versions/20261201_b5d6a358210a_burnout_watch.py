"""burnout watch: the advocates whose asks the burnout report counts one by one

`advocates.burnout_watch` is set by challenges.caps when a claim finds 5 asks counted at some
moment after it, or an ask dated before the advocate joined, and by an erasure; the burnout
report (challenges.reports.people.asks_and_burnout_at) counts only these advocates' asks one by
one and takes the total from the per-day totals, with the part days at the window's ends and the
asks released since a past period's end from two new indexes on the asks. Filled here the way
`challenges.caps.rebuild_burnout_watch` (run by `flask challenges rebuild-act-totals`) fills it.

Revision ID: b5d6a358210a
Revises: 68fa440557bf
Create Date: 2026-12-01 12:40:00.000000

"""

import datetime as dt

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b5d6a358210a"
down_revision = "68fa440557bf"
branch_labels = None
depends_on = None

LOOKBACK = dt.timedelta(days=365)
WATCHED_ASKS = 5

advocates = sa.table(
    "advocates",
    sa.column("id", sa.Integer),
    sa.column("joined_at", sa.DateTime(timezone=True)),
    sa.column("is_erased", sa.Boolean),
    sa.column("burnout_watch", sa.Boolean),
)
asks = sa.table(
    "asks",
    sa.column("advocate_id", sa.Integer),
    sa.column("asked_at", sa.DateTime(timezone=True)),
    sa.column("cancelled_at", sa.DateTime(timezone=True)),
)


def _watched_by_their_asks(theirs):
    """challenges.caps.watched_by_their_asks: some moment just after an ask counts 5 asks made
    in the 365 days up to it and not released by it."""
    ordered = sorted(theirs, key=lambda a: a[0])
    for asked_at, _ in ordered:
        counted = sum(
            1
            for other_at, released in ordered
            if asked_at - LOOKBACK < other_at <= asked_at and (released is None or released > asked_at)
        )
        if counted >= WATCHED_ASKS:
            return True
    return False


def _fill():
    bind = op.get_bind()
    many = sa.select(asks.c.advocate_id).group_by(asks.c.advocate_id).having(sa.func.count() >= WATCHED_ASKS)
    theirs = {}
    for advocate_id, asked_at, released in bind.execute(
        sa.select(asks.c.advocate_id, asks.c.asked_at, asks.c.cancelled_at).where(asks.c.advocate_id.in_(many))
    ):
        theirs.setdefault(advocate_id, []).append((asked_at, released))
    watched = {advocate_id for advocate_id, found in theirs.items() if _watched_by_their_asks(found)}
    watched.update(
        bind.scalars(
            sa.select(asks.c.advocate_id)
            .join(advocates, advocates.c.id == asks.c.advocate_id)
            .where(asks.c.asked_at < advocates.c.joined_at)
        )
    )
    watched.update(bind.scalars(sa.select(advocates.c.id).where(advocates.c.is_erased.is_(True))))
    ids = sorted(watched)
    for start in range(0, len(ids), 5000):
        bind.execute(
            sa.update(advocates).where(advocates.c.id.in_(ids[start : start + 5000])).values(burnout_watch=True)
        )


def upgrade():
    # In place on SQLite too (op, not batch): a batch rebuild would drop and re-create
    # `advocates`, firing the ON DELETE actions of the tables pointing at it (as in fc83a0a5aac9).
    op.add_column("advocates", sa.Column("burnout_watch", sa.Boolean(), server_default=sa.false(), nullable=False))
    _fill()
    op.create_index(
        "ix_advocates_burnout_watch",
        "advocates",
        ["id"],
        unique=False,
        postgresql_include=["joined_at", "is_erased"],
        postgresql_where=sa.text("burnout_watch"),
        sqlite_where=sa.text("burnout_watch"),
    )
    op.create_index("ix_asks_asked_at", "asks", ["asked_at"], unique=False, postgresql_include=["cancelled_at"])
    op.create_index(
        "ix_asks_cancelled_at",
        "asks",
        ["cancelled_at"],
        unique=False,
        postgresql_include=["asked_at"],
        postgresql_where=sa.text("cancelled_at IS NOT NULL"),
        sqlite_where=sa.text("cancelled_at IS NOT NULL"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ANALYZE advocates, asks")


def downgrade():
    op.drop_index("ix_asks_cancelled_at", table_name="asks")
    op.drop_index("ix_asks_asked_at", table_name="asks")
    op.drop_index("ix_advocates_burnout_watch", table_name="advocates")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE advocates DROP COLUMN burnout_watch")
    else:
        op.drop_column("advocates", "burnout_watch")
