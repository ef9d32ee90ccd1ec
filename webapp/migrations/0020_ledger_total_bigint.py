"""ledger_total.amount_cents holds a month's sum of one kind of money for a subsidiary and a
factor: past $21,474,836.47 it outgrows PostgreSQL's 32-bit integer, which a busy carrier's
purchases reach. It becomes a 64-bit integer there (SQLite's integers are 64-bit already: its
column is left as it is).
"""
from peewee import PostgresqlDatabase


def up(migrator, db):
    if isinstance(db, PostgresqlDatabase):
        db.execute_sql("ALTER TABLE ledger_total ALTER COLUMN amount_cents TYPE BIGINT")


def down(migrator, db):
    if isinstance(db, PostgresqlDatabase):
        db.execute_sql("ALTER TABLE ledger_total ALTER COLUMN amount_cents TYPE INTEGER")
