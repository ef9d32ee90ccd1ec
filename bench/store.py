"""The dataset file under bench/data/: built once, reused while its stamp matches.

The stamp covers the dataset's code, the models and every migration, so a
schema change rebuilds it. Measurements never touch the cached file: each run
works on a fresh copy (run.db).
"""
import glob
import hashlib
import json
import os
import shutil
import sqlite3
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DATA = os.path.join(HERE, "data")
DATASET = os.path.join(DATA, "dataset.db")
STAMP = os.path.join(DATA, "dataset.json")
# One copy per bench process, so that two runs side by side never share a file.
RUN_DB = os.path.join(DATA, f"run-{os.getpid()}.db")


def stamp():
    """Hash of what decides the dataset's content and schema."""
    from bench import dataset
    h = hashlib.sha256(f"dataset v{dataset.VERSION}".encode())
    paths = [os.path.join(HERE, "dataset.py"), os.path.join(ROOT, "webapp", "models.py")]
    paths += sorted(glob.glob(os.path.join(ROOT, "webapp", "migrations", "*.py")))
    for path in paths:
        h.update(os.path.relpath(path, ROOT).encode())
        with open(path, "rb") as fh:
            h.update(fh.read())
    return h.hexdigest()


def _remove(path):
    for suffix in ("", "-wal", "-shm", "-journal"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)


def cached_facts():
    """The facts of the cached dataset when its stamp matches, else None."""
    if not (os.path.exists(DATASET) and os.path.exists(STAMP)):
        return None
    with open(STAMP, encoding="utf-8") as fh:
        saved = json.load(fh)
    if saved.get("stamp") != stamp():
        return None
    return saved


def build(log=print):
    """Build the dataset file from scratch; returns its facts (with build_seconds)."""
    from bench import dataset
    from bench.app import make_app
    from webapp import database
    from webapp.models import db

    os.makedirs(DATA, exist_ok=True)
    tmp = DATASET + ".tmp"
    _remove(tmp)
    started = time.perf_counter()
    make_app("sqlite:///" + tmp)
    database.migrate()
    with database.connection():
        db.execute_sql("PRAGMA synchronous=OFF")
        facts = dataset.build()
        db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    # One file, no WAL beside it: copies of it are then consistent.
    conn = sqlite3.connect(tmp)
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.close()
    _remove(DATASET)
    os.replace(tmp, DATASET)
    saved = facts.as_dict()
    saved["stamp"] = stamp()
    saved["build_seconds"] = round(time.perf_counter() - started, 1)
    with open(STAMP, "w", encoding="utf-8") as fh:
        json.dump(saved, fh, indent=2)
    return saved


def dataset_facts(rebuild=False, log=print):
    """The facts of a ready dataset file, building it when needed."""
    facts = None if rebuild else cached_facts()
    if facts is not None:
        log(f"Dataset: reusing {os.path.relpath(DATASET, ROOT)} (stamp matches).")
        facts["reused"] = True
        return facts
    log("Dataset: building 200,000 loads (bulk inserts, one transaction)...")
    facts = build(log)
    log(f"Dataset: built in {facts['build_seconds']} s.")
    facts["reused"] = False
    return facts


def fresh_run_copy():
    """A fresh copy of the dataset for this run's measurements; returns its URL."""
    for stale in glob.glob(os.path.join(DATA, "run-*.db")):
        pid = stale.rsplit("-", 1)[1].split(".")[0]
        if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
            _remove(stale)   # left by a run that has ended
    _remove(RUN_DB)
    shutil.copyfile(DATASET, RUN_DB)
    return "sqlite:///" + RUN_DB
