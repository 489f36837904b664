"""places taken per challenge (trigger-kept counters) and cache stamps

`challenge_places` holds, per challenge and shard (advocate_id % 8), the number of its
completions that count (submitted, verifying, pending_review, approved), backfilled here and
kept from now on by triggers on `completions` (insert, delete, a change of status or challenge)
in the writing transaction; places taken = the sum over a challenge's shards.
`cache_stamps` holds the version tokens of per-process caches (hub.stamps): the published
catalogue and the program settings.

Revision ID: c6b22625e564
Revises: a3f45bd26af0
Create Date: 2026-11-30 20:40:00

"""

import secrets

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c6b22625e564"
down_revision = "a3f45bd26af0"
branch_labels = None
depends_on = None

COUNTING = "('submitted', 'verifying', 'pending_review', 'approved')"
SHARDS = 8

POSTGRES_FUNCTION = f"""
CREATE FUNCTION challenge_places_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND (OLD.status IN {COUNTING}) = (NEW.status IN {COUNTING})
       AND OLD.challenge_id = NEW.challenge_id THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status IN {COUNTING} THEN
        INSERT INTO challenge_places (challenge_id, shard, taken) VALUES (OLD.challenge_id, OLD.advocate_id % {SHARDS}, -1)
        ON CONFLICT (challenge_id, shard) DO UPDATE SET taken = challenge_places.taken - 1;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.status IN {COUNTING} THEN
        INSERT INTO challenge_places (challenge_id, shard, taken) VALUES (NEW.challenge_id, NEW.advocate_id % {SHARDS}, 1)
        ON CONFLICT (challenge_id, shard) DO UPDATE SET taken = challenge_places.taken + 1;
    END IF;
    RETURN NULL;
END $$
"""

POSTGRES_TRIGGER = """
CREATE TRIGGER trg_completions_places AFTER INSERT OR DELETE OR UPDATE OF status, challenge_id
ON completions FOR EACH ROW EXECUTE FUNCTION challenge_places_follow()
"""

_ADD = f"""INSERT INTO challenge_places (challenge_id, shard, taken) VALUES (NEW.challenge_id, NEW.advocate_id % {SHARDS}, 1)
        ON CONFLICT (challenge_id, shard) DO UPDATE SET taken = taken + 1;"""
_REMOVE = f"""INSERT INTO challenge_places (challenge_id, shard, taken) VALUES (OLD.challenge_id, OLD.advocate_id % {SHARDS}, -1)
        ON CONFLICT (challenge_id, shard) DO UPDATE SET taken = taken - 1;"""

SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER trg_completions_places_insert AFTER INSERT ON completions
    WHEN NEW.status IN {COUNTING} BEGIN {_ADD} END""",
    f"""CREATE TRIGGER trg_completions_places_delete AFTER DELETE ON completions
    WHEN OLD.status IN {COUNTING} BEGIN {_REMOVE} END""",
    f"""CREATE TRIGGER trg_completions_places_leave AFTER UPDATE OF status, challenge_id ON completions
    WHEN OLD.status IN {COUNTING} AND (NEW.status NOT IN {COUNTING} OR NEW.challenge_id != OLD.challenge_id)
    BEGIN {_REMOVE} END""",
    f"""CREATE TRIGGER trg_completions_places_enter AFTER UPDATE OF status, challenge_id ON completions
    WHEN NEW.status IN {COUNTING} AND (OLD.status NOT IN {COUNTING} OR NEW.challenge_id != OLD.challenge_id)
    BEGIN {_ADD} END""",
]


def upgrade():
    op.create_table(
        "cache_stamps",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("token", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_cache_stamps")),
    )
    op.create_table(
        "challenge_places",
        sa.Column("challenge_id", sa.Integer(), nullable=False),
        sa.Column("shard", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("taken", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["challenge_id"],
            ["challenges.id"],
            name=op.f("fk_challenge_places_challenge_id_challenges"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("challenge_id", "shard", name=op.f("pk_challenge_places")),
    )
    stamps = sa.table("cache_stamps", sa.column("name", sa.String), sa.column("token", sa.BigInteger))
    op.bulk_insert(stamps, [{"name": n, "token": secrets.randbits(62)} for n in ("catalogue", "settings")])
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        # No completion may change between the count and the trigger's first firing.
        op.execute("LOCK TABLE completions IN SHARE ROW EXCLUSIVE MODE")
    op.execute(
        f"""INSERT INTO challenge_places (challenge_id, shard, taken)
        SELECT challenge_id, advocate_id % {SHARDS}, count(*) FROM completions WHERE status IN {COUNTING}
        GROUP BY challenge_id, advocate_id % {SHARDS}"""
    )
    if bind.dialect.name == "postgresql":
        op.execute(POSTGRES_FUNCTION)
        op.execute(POSTGRES_TRIGGER)
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP TRIGGER trg_completions_places ON completions")
        op.execute("DROP FUNCTION challenge_places_follow()")
    else:
        for name in ("insert", "delete", "leave", "enter"):
            op.execute(f"DROP TRIGGER trg_completions_places_{name}")
    op.drop_table("challenge_places")
    op.drop_table("cache_stamps")
