"""PostgreSQL and Redis for the test run: up (started when down), and the test databases made and dropped.

In CI (REQUIRE_POSTGRES=1, or CI set) a missing service fails the run; on a
developer's machine the tests that need it are skipped with the reason.
"""
import glob
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
