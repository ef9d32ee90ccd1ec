"""PostgreSQL and Redis for the test run: up (started when down), and the test databases made and dropped.

In CI (REQUIRE_POSTGRES=1, or CI set) a missing service fails the run; on a
developer's machine the tests that need it are skipped with the reason.
"""
import glob
import io
import os
import socket
import subprocess
import time
from urllib.parse import urlsplit
from urllib.parse import urlunsplit


def _port_open(host, port, timeout=0.5):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _wait_for(host, port, what, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _port_open(host, port):
            return
        time.sleep(0.2)  # polling a port that is starting, not timing a test
    raise RuntimeError(f"{what} did not come up on {host}:{port}")


def in_ci():
    """True in CI, where nothing may be skipped for want of a service."""
    return (os.environ.get("REQUIRE_POSTGRES") == "1"
            or os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"))


def need(what, check):
    """Run CHECK (which raises when WHAT is unavailable): fail in CI, else skip the test."""
    import pytest

    try:
        return check()
    except Exception as exc:  # any failure to reach it means "not available"
        message = f"{what} is not available: {type(exc).__name__}: {exc}"
        if in_ci():
            pytest.fail(message + " (required in CI)", pytrace=False)
        pytest.skip(message)


def pg_server_available(url):
    """Start PostgreSQL if needed, then open and close one connection (raises when down)."""
    import psycopg2

    ensure_postgres(url)
    psycopg2.connect(url, connect_timeout=5).close()


def ensure_postgres(url):
    """Start the local PostgreSQL cluster when nothing answers at URL's host and port."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 5432
    if _port_open(host, port):
        return
    for conf in glob.glob("/etc/postgresql/*/main"):
        version = conf.split("/")[3]
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"],
                       check=False)
    _wait_for(host, port, "PostgreSQL")


def ensure_redis(url="redis://127.0.0.1:6379/0"):
    """Start a throw-away Redis (no persistence) when nothing answers at URL."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 6379
    if _port_open(host, port):
        return
    try:
        subprocess.run(["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "--port", str(port),
                        "--save", "", "--appendonly", "no"], check=False)
    except FileNotFoundError:
        raise RuntimeError("Redis is down and redis-server is not installed") from None
    _wait_for(host, port, "Redis")


def pg_name(base):
    """A database name of this test process only: runs side by side on one server do not collide."""
    return f"{base}_{os.getpid()}"


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def drop_pg_databases(url, names=None):
    """Drop NAMES on URL's server; without NAMES, the fd_test_*_<pid> left by dead runs."""
    import psycopg2

    conn = psycopg2.connect(url)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            if names is None:
                cur.execute("SELECT datname FROM pg_database WHERE datname LIKE 'fd\\_test\\_%'")
                names = []
                for (name,) in cur.fetchall():
                    pid = name.rsplit("_", 1)[-1]
                    if pid.isdigit() and not _pid_alive(int(pid)):
                        names.append(name)
            for name in names:
                cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
                cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
    finally:
        conn.close()


def recreate_pg_database(url, name, template=None):
    """Drop and create database NAME on URL's server; return its URL."""
    import psycopg2

    conn = psycopg2.connect(url)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
            cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
            if template:
                cur.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
            else:
                cur.execute(f'CREATE DATABASE "{name}"')
    finally:
        conn.close()
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


# What the schema of a database is made of, read from its catalog: its tables, indexes,
# sequences and views (by oid: a table dropped and made again is another), their columns,
# constraints, defaults and triggers, and the functions of its own schemas. A test that changes
# any of it (a restore, a queue's tables) leaves a database that rows alone cannot put back.
_SCHEMA_FINGERPRINT = """
WITH own_namespace AS (
    SELECT oid, nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'
), own_class AS (
    SELECT c.oid, n.nspname, c.relname, c.relkind FROM pg_class c JOIN own_namespace n ON n.oid = c.relnamespace
)
SELECT md5(string_agg(item, ',' ORDER BY item)) FROM (
    SELECT 'n' || nspname AS item FROM own_namespace
    UNION ALL
    SELECT 'c' || oid::text || nspname || '.' || relname || relkind::text FROM own_class
    UNION ALL
    SELECT 'a' || a.attrelid::text || a.attname || a.atttypid::text || a.atttypmod::text
           || a.attnotnull::text || a.attnum::text || a.attisdropped::text
    FROM pg_attribute a JOIN own_class c ON c.oid = a.attrelid WHERE a.attnum > 0
    UNION ALL
    SELECT 'k' || k.oid::text || k.conname || pg_get_constraintdef(k.oid)
    FROM pg_constraint k JOIN own_namespace n ON n.oid = k.connamespace
    UNION ALL
    SELECT 'd' || d.adrelid::text || d.adnum::text || pg_get_expr(d.adbin, d.adrelid)
    FROM pg_attrdef d JOIN own_class c ON c.oid = d.adrelid
    UNION ALL
    SELECT 't' || t.oid::text || t.tgname || t.tgenabled::text FROM pg_trigger t JOIN own_class c ON c.oid = t.tgrelid
    UNION ALL
    SELECT 'f' || p.oid::text || p.proname || md5(p.prosrc) FROM pg_proc p JOIN own_namespace n ON n.oid = p.pronamespace
) AS schema_items
"""


class PgRunDatabase:
    """The database the tests run on, on PostgreSQL: made once from the template, then put back
    to the template's rows before each test.

    DROP and CREATE DATABASE per test cost about a second each on a busy machine (files
    copied, WAL and checkpoints flushed); deleting the rows and copying the template's back
    costs a few hundredths. The rows are deleted and copied in one transaction with triggers and
    foreign-key checks off (session_replication_role, which the test server's superuser may
    set), and the sequences set back to the template's values, so a test sees exactly what a
    fresh copy would hold. A test that changed the schema (a restore, a queue's own tables) is
    seen in the catalog's fingerprint, and the database is made again from the template then.
    Without a superuser, every test gets a fresh copy as before.

    The tests' sessions on it do not wait for their commits to reach the disk
    (synchronous_commit off for this database only): a crash of the test server loses nothing
    that matters."""

    def __init__(self, server_url, name, template):
        import psycopg2

        self._psycopg2 = psycopg2
        self._server_url, self._name, self._template = server_url, name, template
        self._conn = None
        self.url = self._make()
        with self._conn.cursor() as cur:
            cur.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            self._superuser = cur.fetchone()[0]
            cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
            self._tables = [table for (table,) in cur.fetchall()]
            self._rows = {}
            for table in self._tables:
                cur.execute(f'SELECT EXISTS (SELECT 1 FROM "{table}")')
                if cur.fetchone()[0]:
                    buffer = io.BytesIO()
                    cur.copy_expert(f'COPY "{table}" TO STDOUT (FORMAT binary)', buffer)
                    self._rows[table] = buffer.getvalue()
            cur.execute("SELECT format('%I.%I', schemaname, sequencename), start_value, last_value "
                        "FROM pg_sequences WHERE schemaname = 'public'")
            self._sequences = cur.fetchall()
            self._fingerprint = self._schema_fingerprint(cur)
        self._conn.commit()
        self._used = False

    def _make(self):
        """Make the database again from the template, with its setting; keep a connection to it."""
        self.close()
        url = recreate_pg_database(self._server_url, self._name, template=self._template)
        conn = self._psycopg2.connect(self._server_url)
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute(f'ALTER DATABASE "{self._name}" SET synchronous_commit = off')
        finally:
            conn.close()
        self._conn = self._psycopg2.connect(url)
        return url

    @staticmethod
    def _schema_fingerprint(cur):
        cur.execute(_SCHEMA_FINGERPRINT)
        return cur.fetchone()[0]

    def fresh(self):
        """The database as the template made it, for the next test; returns its URL."""
        if not self._used:
            self._used = True
            return self.url
        if not self._superuser or not self._put_rows_back():
            self._make()
        return self.url

    def _put_rows_back(self):
        """Delete every row and copy the template's back; False when the schema changed."""
        try:
            with self._conn.cursor() as cur:
                # What the last test left connected (a served app's threads, a worker) goes first.
                cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE datname = %s AND pid <> pg_backend_pid()", (self._name,))
                if self._schema_fingerprint(cur) != self._fingerprint:
                    self._conn.rollback()
                    return False
                cur.execute("SET LOCAL session_replication_role = replica")
                cur.execute("SET LOCAL lock_timeout = '10s'")
                for table in self._tables:
                    # DELETE, not TRUNCATE: a TRUNCATE's commit waits for new files on disk.
                    cur.execute(f'DELETE FROM "{table}"')
                for table, rows in self._rows.items():
                    cur.copy_expert(f'COPY "{table}" FROM STDIN (FORMAT binary)', io.BytesIO(rows))
                for sequence, start, last in self._sequences:
                    cur.execute("SELECT setval(%s, %s, %s)",
                                (sequence, start if last is None else last, last is not None))
            self._conn.commit()
            return True
        except self._psycopg2.Error:
            # A lock the last test left held, or its session gone: a fresh copy settles it.
            return False

    def close(self):
        """Close the connection kept to the database (before it is dropped)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
