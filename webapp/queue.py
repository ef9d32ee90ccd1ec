"""The embedded job queue (Huey), bound in create_app().

QUEUE_URL picks the storage: empty means a SQLite file in the instance folder
(nothing extra to start, one machine), sqlite:///path a SQLite file elsewhere,
redis://host:port/db (or rediss:// for TLS) means Redis, postgresql://... means
tables in a PostgreSQL database (huey's SqlHuey; it may be the app's own database),
and "immediate" runs every task in-process as soon as it is enqueued (tests).
Redis or PostgreSQL let several web machines and workers share one queue.
"""
import os

from flask import current_app
from huey import MemoryHuey
from huey import RedisHuey
from huey import SqliteHuey


def build_huey(url, instance_path):
    """A Huey for QUEUE_URL; see the module docstring."""
    if url == "immediate":
        return MemoryHuey("factor-desk", immediate=True)
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey("factor-desk", url=url)
    if url.startswith(("postgres://", "postgresql://")):
        from huey.contrib.sql_huey import SqlHuey
        return SqlHuey("factor-desk", database=url)
    if url.startswith("sqlite:///"):
        filename = url[len("sqlite:///"):]
    elif not url:
        filename = os.path.join(instance_path, "queue.db")
    else:
        # A typo must not quietly give each machine a private queue that no worker reads.
        raise ValueError(f"QUEUE_URL {url!r} is not understood: use redis://, postgresql://, "
                         "sqlite:///path, immediate, or leave it empty.")
    return SqliteHuey("factor-desk", filename=filename)


def init_app(app):
    """Create the app's Huey and register its tasks on it."""
    from webapp import tasks

    huey = build_huey(app.config["QUEUE_URL"], app.instance_path)
    app.extensions["huey"] = huey
    app.extensions["tasks"] = tasks.register(huey, app)


def enqueue(name, *args):
    """Put task NAME on the queue (or run it now in immediate mode)."""
    return current_app.extensions["tasks"][name](*args)


def ping():
    """Reachability of the queue's storage, for /healthz (raises when down)."""
    huey = current_app.extensions["huey"]
    huey.pending_count()
    return True
