"""Database set-up: one URL picks SQLite (WAL, foreign keys on) or PostgreSQL."""
import os

from playhouse.db_url import connect
from playhouse.migrations import Runner

from webapp.models import db

MIGRATIONS_DIR = os.path.join(os.path.dirname(__file__), "migrations")

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "busy_timeout": 10000,
    "synchronous": "normal",
    "cache_size": -32 * 1024,
}


def open_database(url):
    """Build the Database for a URL and bind the models' proxy to it."""
    if url.startswith("sqlite"):
        database = connect(url, pragmas=SQLITE_PRAGMAS)
    else:
        database = connect(url)
    db.initialize(database)
    return database


def migrate():
    """Apply every pending schema migration; returns their names."""
    with db.connection_context():
        return Runner(db.obj, directory=MIGRATIONS_DIR).up()


def is_postgres():
    """True when the app runs on PostgreSQL."""
    from peewee import PostgresqlDatabase
    return isinstance(db.obj, PostgresqlDatabase)


class connection:
    """Open a connection for the block unless one is already open (then reuse it)."""

    def __enter__(self):
        self.opened = db.is_closed()
        if self.opened:
            db.connect()
        return db

    def __exit__(self, *exc):
        if self.opened and not db.is_closed():
            db.close()
