"""table names agree with their models

The outbox model is OutboxEmail (outbox_emails), AuditEntry's table is audit_entries, and the
CRM tables drop their prefix beside their classes: Opportunity (opportunities),
OpportunityReference (opportunity_references), DealThanks (deal_thanks).

Each table is renamed, and so is every index and constraint whose name carries the old table
name (the naming convention's ix_/uq_/fk_/ck_/pk_ names, including foreign keys in other tables
that point at a renamed one), so the schema reads as if it had been created with the new
names. PostgreSQL renames in place (and the id sequences with them). SQLite cannot rename a
constraint, so there a table whose constraint names change (and any table pointing at one) is
rebuilt from its own CREATE TABLE text with the names replaced, rows copied, in the same
transaction (see _rename_sqlite_names).

Revision ID: 3f6a1c2d9b7e
Revises: 56b8b5f3e5e6
Create Date: 2026-11-30 12:00:00.000000

"""

import re

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "3f6a1c2d9b7e"
down_revision = "56b8b5f3e5e6"
branch_labels = None
depends_on = None

RENAMES = {
    "audit_log": "audit_entries",
    "email_outbox": "outbox_emails",
    "crm_opportunities": "opportunities",
    "crm_opportunity_references": "opportunity_references",
    "attribution_thanks": "deal_thanks",
}


def upgrade():
    _rename_tables(RENAMES)


def downgrade():
    _rename_tables({new: old for old, new in RENAMES.items()})


def _renamed(name: str | None, renames: dict[str, str]) -> str | None:
    """`name` with every old table name in it replaced (longest first, whole words between
    underscores, so crm_opportunities never matches inside crm_opportunity_references)."""
    if name is None:
        return None
    for old in sorted(renames, key=len, reverse=True):
        name = re.sub(rf"(?<![a-z0-9]){re.escape(old)}(?![a-z0-9])", renames[old], name)
    return name


def _rename_tables(renames: dict[str, str]) -> None:
    bind = op.get_bind()
    for old, new in renames.items():
        op.rename_table(old, new)
    if bind.dialect.name == "postgresql":
        _rename_postgresql_names(bind, renames)
    else:
        _rename_sqlite_names(bind, renames)


def _rename_postgresql_names(bind, renames: dict[str, str]) -> None:
    inspector = sa.inspect(bind)
    for table in inspector.get_table_names():
        constraints = [inspector.get_pk_constraint(table)]
        constraints += inspector.get_unique_constraints(table)
        constraints += inspector.get_foreign_keys(table)
        constraints += inspector.get_check_constraints(table)
        constraint_names = {c.get("name") for c in constraints if c.get("name")}
        for name in sorted(constraint_names):
            target = _renamed(name, renames)
            if target != name:
                op.execute(f'ALTER TABLE "{table}" RENAME CONSTRAINT "{name}" TO "{target}"')
        for index in inspector.get_indexes(table):
            name = index["name"]
            target = _renamed(name, renames)
            if name not in constraint_names and target != name:
                op.execute(f'ALTER INDEX "{name}" RENAME TO "{target}"')
    for old, new in renames.items():
        op.execute(f'ALTER SEQUENCE IF EXISTS "{old}_id_seq" RENAME TO "{new}_id_seq"')


def _rename_sqlite_names(bind, renames: dict[str, str]) -> None:
    """SQLite: rebuild each table whose constraint names change, and each table that points at
    one, from its own CREATE TABLE text (with the new names), in this transaction.

    The old tables are first renamed aside (`<table>__old`), which SQLite follows in the other
    tables' REFERENCES; so when they are dropped at the end nothing points at them any more and
    no ON DELETE action fires. Foreign keys stay on, checked at commit (defer_foreign_keys),
    and PRAGMA foreign_key_check must find nothing."""
    tables = "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    schema = dict(bind.exec_driver_sql(tables).all())
    rebuild = {t for t, sql in schema.items() if _renamed_constraints_sql(sql, renames) != sql}
    while True:  # and every table whose foreign keys point at one being rebuilt
        pointing = {t for t, sql in schema.items() if t not in rebuild and any(_references(sql, r) for r in rebuild)}
        if not pointing:
            break
        rebuild |= pointing
    indexes = bind.exec_driver_sql(
        "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
    ).all()
    bind.exec_driver_sql("PRAGMA defer_foreign_keys=ON")
    for table in sorted(rebuild):
        bind.exec_driver_sql(f'ALTER TABLE "{table}" RENAME TO "{table}__old"')
    for table in sorted(rebuild):
        bind.exec_driver_sql(_renamed_constraints_sql(schema[table], renames))
    for table in sorted(rebuild):  # the same columns in the same order
        bind.exec_driver_sql(f'INSERT INTO "{table}" SELECT * FROM "{table}__old"')  # noqa: S608
    for table in sorted(rebuild):
        bind.exec_driver_sql(f'DROP TABLE "{table}__old"')
    for name, table, sql in indexes:
        target = _renamed(name, renames)
        if table in rebuild:  # dropped with the old table: create it again, under its new name
            bind.exec_driver_sql(sql.replace(name, target, 1))
        elif target != name:
            bind.exec_driver_sql(f'DROP INDEX "{name}"')
            bind.exec_driver_sql(sql.replace(name, target, 1))
    problems = bind.exec_driver_sql("PRAGMA foreign_key_check").all()
    if problems:
        raise RuntimeError(f"foreign keys broken by the rename: {problems[:5]}")


def _references(create_sql: str, table: str) -> bool:
    return re.search(rf'REFERENCES\s+"?{re.escape(table)}"?\s*\(', create_sql, re.IGNORECASE) is not None


def _renamed_constraints_sql(sql: str, renames: dict[str, str]) -> str:
    """The CREATE TABLE text with the old table names replaced in its CONSTRAINT names only
    (the table's own name and its REFERENCES were already renamed by ALTER TABLE RENAME)."""
    return re.sub(
        r'(CONSTRAINT\s+)("?)([A-Za-z0-9_]+)\2',
        lambda m: m.group(1) + m.group(2) + _renamed(m.group(3), renames) + m.group(2),
        sql,
    )
