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


# Connections are kept open between requests (playhouse.pool): opening one cost more than a
# whole simple page (SQLite: the pragmas above, about 2 ms; PostgreSQL: a server process and
# its sign-in, about 10 ms). A connection goes back to the pool when the request closes it,
# rolled back if a transaction was left open; one idle longer than STALE_SECONDS is closed.
POOL_SIZE = 32
POOL_WAIT_SECONDS = 10
STALE_SECONDS = 300


def _pooled(url):
    """URL with the scheme of its pooled database class (sqlite+pool, postgresql+pool)."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.endswith("+pool"):
        return url
    return f"{scheme}+pool://{rest}"


def open_database(url):
    """Build the Database for a URL and bind the models' proxy to it (the idle connections of
    the one bound before are closed)."""
    options = {"max_connections": POOL_SIZE, "stale_timeout": STALE_SECONDS, "timeout": POOL_WAIT_SECONDS}
    if url.startswith("sqlite"):
        # A pooled connection may serve another thread next (never two at once).
        database = connect(_pooled(url), pragmas=SQLITE_PRAGMAS, check_same_thread=False, **options)
    else:
        database = connect(_pooled(url), **options)
    release(db.obj)
    db.initialize(database)
    return database


def release(database):
    """Close this thread's connection of DATABASE and every idle one of its pool. A connection
    another thread is using stays open (closing it under a running statement would crash that
    thread): it goes back to its pool when that thread is done, and closes with it."""
    if database is None:
        return
    if not database.is_closed():
        database.close()
    if hasattr(database, "close_idle"):
        database.close_idle()


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
