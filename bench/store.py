"""Where the benchmark's dataset lives: built once per scale and per database, reused while
its stamp matches; each run measures on a fresh copy of it, never on the cached one.

- SQLite (the default): bench/data/dataset-<scale>.db, its facts and stamp beside it in
  dataset-<scale>.json; a run copies it to run-<pid>.db.
- PostgreSQL (a postgresql:// URL): the database fd_bench_dataset_<scale> on that URL's
  server, its facts and stamp in the database's comment; a run copies it with CREATE
  DATABASE fd_bench_run_<scale>_<pid> TEMPLATE ... STRATEGY FILE_COPY and drops it at the end.
  The URL's own database is only where the bench connects to create and drop those.

The stamp covers the scale, the dataset's code, the models and every migration, so a schema
change rebuilds it. A build writes to a name of its own process (…build-<pid>) and puts it
in place when done, so two builds side by side never clobber each other; copies and builds
left by processes that have ended are removed.
"""
import glob
import hashlib
import json
import os
import re
import shutil
import sqlite3
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DATA = os.path.join(HERE, "data")
DEFAULT_SCALE = 200_000
# The tables that take most of the dataset's rows (see SqliteStore.build).
BULK_TABLES = ("load", "load_line", "batch_load", "audit_log", "ledger_entry")


def stamp(scale, spec=None):
    """Hash of what decides the dataset's content and schema at SCALE loads (or of SPEC)."""
    from bench import dataset
    h = hashlib.sha256(f"dataset v{dataset.VERSION} scale {int(scale)}{f' {spec!r}' if spec else ''}".encode())
    paths = [os.path.join(HERE, "dataset.py"), os.path.join(ROOT, "webapp", "models.py")]
    paths += sorted(glob.glob(os.path.join(ROOT, "webapp", "migrations", "*.py")))
    for path in paths:
        h.update(os.path.relpath(path, ROOT).encode())
        with open(path, "rb") as fh:
            h.update(fh.read())
    return h.hexdigest()


def _alive(pid):
    return os.path.exists(f"/proc/{pid}")


def _write_dataset(url, spec, prepare=None, finish=None):
    """Migrate the empty database at URL and write the dataset of SPEC; returns Facts.
    PREPARE(db) runs before the rows are written, FINISH(db) after, on the same connection."""
    from bench import dataset
    from bench.app import make_app
    from webapp import database
    from webapp.models import db

    make_app(url)
    database.migrate()
    with database.connection():
        if prepare:
            prepare(db)
        facts = dataset.build(spec)
        if finish:
            finish(db)
    database.release(db.obj)   # the pool's too: the database is renamed or copied next
    return facts


def target(database_url, scale=DEFAULT_SCALE):
    """The store for DATABASE_URL (a PostgreSQL server) or, when it is empty or a SQLite URL,
    the SQLite file under bench/data."""
    if database_url and database_url.startswith(("postgres://", "postgresql://")):
        return PostgresStore(database_url, scale)
    return SqliteStore(scale)


class Store:
    """What both kinds share: the cached facts, building when needed, the run's copy. SPEC
    replaces the scale's own (Spec.at) for a small dataset in the tests."""

    kind = ""

    def __init__(self, scale, spec=None):
        from bench.dataset import Spec
        self.scale = int(scale)
        self.custom = spec
        self.spec = spec or Spec.at(self.scale)

    def stamp(self):
        return stamp(self.scale, self.custom)

    def dataset_facts(self, rebuild=False, log=print):
        """The facts of a ready dataset, building it when needed (or when REBUILD)."""
        facts = None if rebuild else self.cached_facts()
        if facts is not None:
            log(f"Dataset: reusing {self.where()} (stamp matches).")
            facts["reused"] = True
            return facts
        log(f"Dataset: building {self.spec.total_loads():,} loads into {self.where()} "
            "(bulk inserts, one transaction)...")
        started, cpu = time.perf_counter(), time.process_time()
        stamped = self.stamp()   # of the code that builds it, were a file to change meanwhile
        facts = self.build().as_dict()
        facts["stamp"] = stamped
        facts["scale"] = self.scale
        facts["database"] = self.kind
        facts["build_seconds"] = round(time.perf_counter() - started, 1)
        # This process's CPU time, which a busy machine does not inflate (SQLite's work is in it;
        # PostgreSQL's server is not).
        facts["build_cpu_seconds"] = round(time.process_time() - cpu, 1)
        self.save_facts(facts)
        log(f"Dataset: built in {facts['build_seconds']} s (CPU {facts['build_cpu_seconds']} s in this process).")
        facts["reused"] = False
        return facts

    def cached_facts(self):
        """The saved facts when the cached dataset exists and its stamp matches, else None."""
        saved = self.load_facts()
        if saved is None or saved.get("stamp") != self.stamp():
            return None
        return saved


class SqliteStore(Store):
    """The dataset as a SQLite file under bench/data (see the module)."""

    kind = "sqlite"

    def __init__(self, scale, folder=DATA, spec=None):
        super().__init__(scale, spec)
        self.folder = folder
        self.path = os.path.join(folder, f"dataset-{self.scale}.db")
        self.stamp_path = os.path.join(folder, f"dataset-{self.scale}.json")
        # One copy per bench process, so that two runs side by side never share a file.
        self.run_path = os.path.join(folder, f"run-{os.getpid()}.db")

    def where(self):
        return os.path.relpath(self.path, ROOT)

    def load_facts(self):
        if not (os.path.exists(self.path) and os.path.exists(self.stamp_path)):
            return None
        with open(self.stamp_path, encoding="utf-8") as fh:
            return json.load(fh)

    def save_facts(self, facts):
        tmp = f"{self.stamp_path}.{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(facts, fh, indent=2)
        os.replace(tmp, self.stamp_path)

    def build(self):
        """Build the file from scratch under a name of this process, then put it in place."""
        os.makedirs(self.folder, exist_ok=True)
        self._remove_stale(r"dataset-\d+\.db\.build-(\d+)")
        tmp = f"{self.path}.build-{os.getpid()}"
        _remove(tmp)

        indexes = []

        def prepare(db):
            # Nobody else sees this file until it is complete, and a failed build is thrown away:
            # no journal, no syncs, a large cache.
            db.execute_sql("PRAGMA journal_mode=OFF")
            db.execute_sql("PRAGMA synchronous=OFF")
            db.execute_sql("PRAGMA cache_size=-262144")
            # The big tables' indexes are built once at the end, from sorted rows: half the
            # build's time otherwise goes to keeping them row by row. (payment keeps its own: the
            # triggers that keep a load's latest payment date look its payments up.)
            names = ", ".join("?" for _ in BULK_TABLES)
            indexes.extend(db.execute_sql(
                f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                f"AND tbl_name IN ({names})", BULK_TABLES).fetchall())
            for name, _sql in indexes:
                db.execute_sql(f'DROP INDEX "{name}"')

        def finish(db):
            for _name, sql in indexes:
                db.execute_sql(sql)

        try:
            facts = _write_dataset("sqlite:///" + tmp, self.spec, prepare, finish)
            # One file, no WAL beside it: copies of it are then consistent.
            conn = sqlite3.connect(tmp)
            conn.execute("PRAGMA journal_mode=DELETE")
            conn.close()
            os.replace(tmp, self.path)   # at once: a run copying the old file reads it to its end
        finally:
            _remove(tmp)
        return facts

    def _remove_stale(self, pattern):
        for name in os.listdir(self.folder):
            m = re.fullmatch(pattern, name)
            if m and not _alive(m.group(1)):
                _remove(os.path.join(self.folder, name))   # left by a process that has ended

    def fresh_run_copy(self):
        """A fresh copy of the dataset for this run's measurements; returns its URL."""
        self._remove_stale(r"run-(\d+)\.db")
        _remove(self.run_path)
        shutil.copyfile(self.path, self.run_path)
        return "sqlite:///" + self.run_path

    def run_copy(self):
        return os.path.relpath(self.run_path, ROOT)

    def drop_run_copy(self):
        _remove(self.run_path)


def _remove(path):
    for suffix in ("", "-wal", "-shm", "-journal"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)


PREFIX = "fd_bench"


def dataset_name(scale, prefix=PREFIX):
    """The PostgreSQL database holding the cached dataset of SCALE loads."""
    return f"{prefix}_dataset_{int(scale)}"


def run_copy_name(scale, pid=None, prefix=PREFIX):
    """The PostgreSQL database one bench process measures on."""
    return f"{prefix}_run_{int(scale)}_{pid or os.getpid()}"


def build_name(scale, pid=None, prefix=PREFIX):
    """The PostgreSQL database one process builds the dataset into before it is put in place."""
    return f"{prefix}_build_{int(scale)}_{pid or os.getpid()}"


def stale_copy(name, prefix=PREFIX, alive=None):
    """Whether NAME is a run copy or a build of a process that has ended."""
    m = re.fullmatch(rf"{re.escape(prefix)}_(?:run|build)_\d+_(\d+)", name)
    return bool(m) and not (alive or _alive)(m.group(1))


def with_database(url, name):
    """URL with its database replaced by NAME."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


class PostgresStore(Store):
    """The dataset as a PostgreSQL database on the server of a URL (see the module)."""

    kind = "postgresql"

    def __init__(self, url, scale, prefix=PREFIX, spec=None):
        super().__init__(scale, spec)
        self.url = url
        self.prefix = prefix
        self.name = dataset_name(scale, prefix=prefix)
        self.run_name = run_copy_name(scale, prefix=prefix)

    def where(self):
        parts = urllib.parse.urlsplit(self.url)
        return f"PostgreSQL database {self.name} on {parts.hostname}:{parts.port or 5432}"

    def _admin(self):
        import psycopg2
        conn = psycopg2.connect(self.url)
        conn.autocommit = True
        return conn

    def _run(self, sql, params=None):
        conn = self._admin()
        try:
            with conn.cursor() as cur:
                cur.execute(sql, params)
                return cur.fetchall() if cur.description else None
        finally:
            conn.close()

    def load_facts(self):
        rows = self._run("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
                         (self.name,))
        if not rows or not rows[0][0]:
            return None
        try:
            return json.loads(rows[0][0])
        except ValueError:
            return None

    def save_facts(self, facts):
        # COMMENT takes a literal, not a parameter: psycopg2 quotes it on this side.
        self._run(f'COMMENT ON DATABASE "{self.name}" IS %s', (json.dumps(facts),))

    def _drop_stale(self):
        """Run copies and builds of processes that have ended."""
        for (name,) in self._run("SELECT datname FROM pg_database"):
            if stale_copy(name, self.prefix):
                self._run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def build(self):
        """Build into a database of this process, then rename it into place."""
        self._drop_stale()
        tmp = build_name(self.scale, prefix=self.prefix)
        self._run(f'DROP DATABASE IF EXISTS "{tmp}" WITH (FORCE)')
        self._run(f'CREATE DATABASE "{tmp}"')
        indexes = []

        def prepare(db):
            # As on SQLite (see SqliteStore.build): the big tables' own indexes are built at the
            # end; those behind a constraint (primary keys, unique constraints) stay.
            indexes.extend(db.execute_sql(
                "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = current_schema() "
                "AND i.tablename IN %s AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
                (BULK_TABLES,)).fetchall())
            for name, _sql in indexes:
                db.execute_sql(f'DROP INDEX "{name}"')

        def finish(db):
            for _name, sql in indexes:
                db.execute_sql(sql)

        try:
            facts = _write_dataset(with_database(self.url, tmp), self.spec, prepare, finish)
            import psycopg2
            conn = psycopg2.connect(with_database(self.url, tmp))
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute("VACUUM ANALYZE")   # every copy starts with its statistics and visibility map
            conn.close()
            self._run(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            self._run(f'ALTER DATABASE "{tmp}" RENAME TO "{self.name}"')
        finally:
            self._run(f'DROP DATABASE IF EXISTS "{tmp}" WITH (FORCE)')
        return facts

    def fresh_run_copy(self):
        """A fresh copy of the dataset (a file copy of its database); returns its URL."""
        self._drop_stale()
        self._run(f'DROP DATABASE IF EXISTS "{self.run_name}" WITH (FORCE)')
        self._run(f'CREATE DATABASE "{self.run_name}" TEMPLATE "{self.name}" STRATEGY FILE_COPY')
        return with_database(self.url, self.run_name)

    def run_copy(self):
        return self.run_name

    def drop_run_copy(self):
        self._run(f'DROP DATABASE IF EXISTS "{self.run_name}" WITH (FORCE)')
