"""Backup and restore of the whole database, while the app keeps running.

SQLite: the online backup API (sqlite3.Connection.backup) copies a consistent
snapshot, page by page, without stopping writers; restoring copies the file back
the same way, in one write transaction, so readers see the old data or the new,
never a mix. PostgreSQL: pg_dump in its custom format, restored with
pg_restore --clean --if-exists in a single transaction.

A restore checks the file first (SQLite: integrity and the schema history table;
PostgreSQL: pg_restore --list), so a wrong file changes nothing.
"""
import os
import re
import shutil
import sqlite3
import subprocess
from urllib.parse import parse_qsl
from urllib.parse import unquote
from urllib.parse import urlsplit

from playhouse.db_url import parse as parse_db_url

# The table peewee's migration Runner keeps: present in every database of this app.
SCHEMA_TABLE = "schema_migration"


class BackupError(Exception):
    """A backup or restore refused or failed, with a message for the operator."""


def backup(database_url, path, *, pg_bin_dir=""):
    """Write a consistent copy of the database at DATABASE_URL to PATH; returns its size."""
    path = os.path.abspath(path)
    if os.path.isdir(path):
        raise BackupError(f"{path} is a directory: give a file name.")
    tmp = path + ".partial"
    try:
        if _is_sqlite(database_url):
            _sqlite_backup(_sqlite_file(database_url), tmp)
        elif _is_postgres(database_url):
            _pg_dump(database_url, tmp, pg_bin_dir)
        else:
            raise BackupError(f"Backups are not supported for {urlsplit(database_url).scheme} databases.")
        os.replace(tmp, path)  # a half-written backup never takes the name
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return os.path.getsize(path)


def restore(database_url, path, *, pg_bin_dir=""):
    """Replace the whole content of the database at DATABASE_URL with the backup in PATH."""
    if not os.path.isfile(path):
        raise BackupError(f"No backup file at {path}.")
    if _is_sqlite(database_url):
        _sqlite_restore(path, _sqlite_file(database_url))
    elif _is_postgres(database_url):
        _pg_restore(database_url, path, pg_bin_dir)
    else:
        raise BackupError(f"Restore is not supported for {urlsplit(database_url).scheme} databases.")


# --- SQLite ---------------------------------------------------------------------------

def _is_sqlite(url):
    return url.startswith("sqlite")


def _is_postgres(url):
    return url.startswith(("postgres://", "postgresql://"))


def _sqlite_file(url):
    name = parse_db_url(url)["database"]
    if not name or name == ":memory:":
        raise BackupError("An in-memory database cannot be backed up or restored.")
    return name


def _check_sqlite_backup(path):
    """Raise unless PATH is a sound SQLite database of this app."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            (result,) = conn.execute("PRAGMA quick_check").fetchone()
            found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                                 (SCHEMA_TABLE,)).fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a SQLite backup of this app ({exc}).") from None
    if result != "ok":
        raise BackupError(f"{path} is damaged: {result}.")
    if not found:
        raise BackupError(f"{path} is a SQLite database, but not one of this app "
                          f"(it has no {SCHEMA_TABLE} table).")


def _sqlite_backup(source, target):
    if not os.path.isfile(source):
        raise BackupError(f"No database file at {source}.")
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
        # One self-contained file: no -wal/-shm companions needed to read it.
        dst.execute("PRAGMA journal_mode=DELETE")
    finally:
        dst.close()
        src.close()
    _check_sqlite_backup(target)


def _sqlite_restore(backup_path, target):
    _check_sqlite_backup(backup_path)
    src = sqlite3.connect(f"file:{backup_path}?mode=ro", uri=True)
    dst = sqlite3.connect(target, timeout=30)
    try:
        src.backup(dst)
    except sqlite3.Error as exc:
        raise BackupError(f"Restore failed, the database is unchanged: {exc}") from None
    finally:
        dst.close()
        src.close()


# --- PostgreSQL -----------------------------------------------------------------------

_LIBPQ_PARAMS = {"sslmode": "PGSSLMODE", "sslrootcert": "PGSSLROOTCERT", "sslcert": "PGSSLCERT",
                 "sslkey": "PGSSLKEY", "connect_timeout": "PGCONNECT_TIMEOUT"}


def _pg_env(url):
    """libpq environment for URL: the password never appears on a command line."""
    parts = urlsplit(url)
    env = dict(os.environ)
    for key in ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE", "PGSERVICE"):
        env.pop(key, None)
    if parts.hostname:
        env["PGHOST"] = parts.hostname
    if parts.port:
        env["PGPORT"] = str(parts.port)
    if parts.username:
        env["PGUSER"] = unquote(parts.username)
    if parts.password:
        env["PGPASSWORD"] = unquote(parts.password)
    env["PGDATABASE"] = unquote(parts.path.lstrip("/"))
    for key, value in parse_qsl(parts.query):
        if key in _LIBPQ_PARAMS:
            env[_LIBPQ_PARAMS[key]] = value
    return env


def _server_major(url):
    import psycopg2

    try:
        conn = psycopg2.connect(url, connect_timeout=10)
    except psycopg2.Error as exc:
        raise BackupError(f"Cannot reach the PostgreSQL server: {str(exc).strip()}") from None
    try:
        return conn.server_version // 10000
    finally:
        conn.close()


def _tool(name, server_major, pg_bin_dir):
    """The pg_dump / pg_restore to use: PG_BIN_DIR, the server's version, or PATH."""
    candidates = [os.path.join(pg_bin_dir, name)] if pg_bin_dir else []
    candidates.append(f"/usr/lib/postgresql/{server_major}/bin/{name}")
    found = shutil.which(name)
    if found:
        candidates.append(found)
    for candidate in candidates:
        if os.access(candidate, os.X_OK):
            break
    else:
        raise BackupError(f"{name} was not found: install the PostgreSQL client tools "
                          f"(version {server_major} or newer) or set PG_BIN_DIR.")
    output = subprocess.run([candidate, "--version"], capture_output=True, text=True).stdout
    match = re.search(r"(\d+)(?:\.\d+)?", output)
    if not match or int(match.group(1)) < server_major:
        raise BackupError(f"{candidate} is version {match.group(1) if match else '?'}, older than the "
                          f"server ({server_major}): set PG_BIN_DIR to version {server_major}'s tools.")
    return candidate


def _run(command, env, what):
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise BackupError(f"{what} failed: {' / '.join(detail[-5:]) or f'exit {result.returncode}'}")
    return result.stdout


def _pg_dump(url, target, pg_bin_dir):
    pg_dump = _tool("pg_dump", _server_major(url), pg_bin_dir)
    _run([pg_dump, "--format=custom", "--no-owner", "--no-privileges", "--file", target],
         _pg_env(url), "pg_dump")


def _pg_restore(url, backup_path, pg_bin_dir):
    pg_restore = _tool("pg_restore", _server_major(url), pg_bin_dir)
    env = _pg_env(url)
    listing = subprocess.run([pg_restore, "--list", backup_path], env=env, capture_output=True, text=True)
    if listing.returncode != 0:
        raise BackupError(f"{backup_path} is not a pg_dump custom-format backup.")
    if f" {SCHEMA_TABLE} " not in listing.stdout:
        raise BackupError(f"{backup_path} is a PostgreSQL backup, but not one of this app "
                          f"(it has no {SCHEMA_TABLE} table).")
    # One transaction: on any error nothing is dropped or changed.
    _run([pg_restore, "--clean", "--if-exists", "--no-owner", "--no-privileges",
          "--single-transaction", "--exit-on-error", "--dbname", env["PGDATABASE"], backup_path],
         env, "pg_restore")
