"""The embedded job queue (Huey), bound in create_app().

QUEUE_URL picks the storage: empty means a SQLite file in the instance folder
(nothing extra to start), redis://host:port/db means Redis, and "immediate"
runs every task in-process as soon as it is enqueued (tests).
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
    if url.startswith("redis://"):
        return RedisHuey("factor-desk", url=url)
    if url.startswith("sqlite:///"):
        filename = url[len("sqlite:///"):]
    else:
        filename = os.path.join(instance_path, "queue.db")
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
