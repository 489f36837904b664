"""accounts and personas (issue 15, product.md §13)

Customer accounts; advocates and opportunities point at one; advocates get a persona. Existing
advocates and opportunities are linked by hub.account_links.relink_all (the same rules as the
create and import paths) and the attribution touches are left to the next tally, which reads
the account instead of the company name.

Revision ID: a7c3e1f0b2d4
Revises: b7d41e9c2a53
Create Date: 2026-11-30 13:45:00.000000

"""

import sqlalchemy as sa
from alembic import op

from hub.db import UTCDateTime

revision = "a7c3e1f0b2d4"
down_revision = "b7d41e9c2a53"
branch_labels = None
depends_on = None

PERSONAS = ("public_champion", "private_reference", "product_influencer", "community_contributor", "review_advocate")


def upgrade():
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=160), nullable=False),
        sa.Column("name_key", sa.String(length=160), nullable=False),
        sa.Column("domain", sa.String(length=253), nullable=True),
        sa.Column("merged_into_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["merged_into_id"], ["accounts.id"], name=op.f("fk_accounts_merged_into_id_accounts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("domain", name=op.f("uq_accounts_domain")),
        sa.UniqueConstraint("name_key", name=op.f("uq_accounts_name_key")),
    )
    op.create_index(op.f("ix_accounts_merged_into_id"), "accounts", ["merged_into_id"], unique=False)
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_add_columns()
    else:
        with op.batch_alter_table("advocates", schema=None) as batch_op:
            batch_op.add_column(sa.Column("account_id", sa.Integer(), nullable=True))
            batch_op.add_column(
                sa.Column(
                    "persona",
                    sa.Enum(*PERSONAS, name="persona", native_enum=False, length=32, create_constraint=True),
                    nullable=True,
                )
            )
            batch_op.create_foreign_key(
                batch_op.f("fk_advocates_account_id_accounts"), "accounts", ["account_id"], ["id"]
            )
        with op.batch_alter_table("opportunities", schema=None) as batch_op:
            batch_op.add_column(sa.Column("account_id", sa.Integer(), nullable=True))
            batch_op.create_foreign_key(
                batch_op.f("fk_opportunities_account_id_accounts"), "accounts", ["account_id"], ["id"]
            )
    op.create_index(op.f("ix_advocates_account_id"), "advocates", ["account_id"], unique=False)
    op.create_index(op.f("ix_opportunities_account_id"), "opportunities", ["account_id"], unique=False)

    from hub.account_links import relink_all

    relink_all(op.get_bind())


def _sqlite_add_columns() -> None:
    """SQLite adds a nullable column with its REFERENCES and CHECK in place; a batch rebuild
    would drop and re-create `advocates`, firing the ON DELETE actions of the tables pointing
    at it."""
    personas = ", ".join(f"'{p}'" for p in PERSONAS)
    op.execute(
        "ALTER TABLE advocates ADD COLUMN account_id INTEGER "
        "CONSTRAINT fk_advocates_account_id_accounts REFERENCES accounts (id)"
    )
    op.execute(
        f"ALTER TABLE advocates ADD COLUMN persona VARCHAR(32) "
        f"CONSTRAINT ck_advocates_persona CHECK (persona IN ({personas}))"
    )
    op.execute(
        "ALTER TABLE opportunities ADD COLUMN account_id INTEGER "
        "CONSTRAINT fk_opportunities_account_id_accounts REFERENCES accounts (id)"
    )


def downgrade():
    op.drop_index(op.f("ix_opportunities_account_id"), table_name="opportunities")
    op.drop_index(op.f("ix_advocates_account_id"), table_name="advocates")
    if op.get_bind().dialect.name == "sqlite":  # in place, as added (see _sqlite_add_columns)
        for table, column in (("opportunities", "account_id"), ("advocates", "persona"), ("advocates", "account_id")):
            op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    else:
        with op.batch_alter_table("opportunities", schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f("fk_opportunities_account_id_accounts"), type_="foreignkey")
            batch_op.drop_column("account_id")
        with op.batch_alter_table("advocates", schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f("fk_advocates_account_id_accounts"), type_="foreignkey")
            batch_op.drop_column("persona")
            batch_op.drop_column("account_id")
    op.drop_index(op.f("ix_accounts_merged_into_id"), table_name="accounts")
    op.drop_table("accounts")
