"""flask backup / flask restore: SQLite always, PostgreSQL when TEST_DATABASE_URL is set."""
import os
import sqlite3

import pytest

from tests import backing_services
from tests.helpers import in_db
from webapp import create_app
from webapp.models import Company
from webapp.models import Load
from webapp.models import db
from webapp.ops import backup as service


@pytest.fixture
def sqlite_app(tmp_path):
    """An app on its own migrated SQLite file (whatever TEST_DATABASE_URL says)."""
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "QUEUE_URL": "immediate",
                      "DATABASE_URL": "sqlite:///" + str(tmp_path / "live.db")})
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    yield app
    if not db.is_closed():
        db.close()


def _company_names(app):
    with in_db(app):
        return sorted(c.name for c in Company.select())


def _add_company(app, name):
    with in_db(app):
        Company.create(name=name)


def _invoke(app, *args, **kwargs):
    return app.test_cli_runner().invoke(args=list(args), **kwargs)


def test_sqlite_backup_then_restore_brings_the_data_back(sqlite_app, tmp_path):
    _add_company(sqlite_app, "Kept Trucking")
    target = tmp_path / "backup.db"
    result = _invoke(sqlite_app, "backup", str(target))
    assert result.exit_code == 0, result.output
    assert "Backed up the database" in result.output
    assert not os.path.exists(str(target) + "-wal")  # one self-contained file

    _add_company(sqlite_app, "Added After Backup")
    with in_db(sqlite_app):
        Company.update(name="Renamed").where(Company.name == "Kept Trucking").execute()
    assert _company_names(sqlite_app) == ["Added After Backup", "Renamed"]

    result = _invoke(sqlite_app, "restore", "--yes", str(target))
    assert result.exit_code == 0, result.output
    assert _company_names(sqlite_app) == ["Kept Trucking"]


def test_sqlite_backup_leaves_out_uncommitted_writes(sqlite_app, tmp_path):
    _add_company(sqlite_app, "Committed Co")
    live = sqlite_app.config["DATABASE_URL"][len("sqlite:///"):]
    writer = sqlite3.connect(live, isolation_level=None)
    try:
        writer.execute("BEGIN")
        writer.execute("INSERT INTO company (name, created_at, require_two_factor, time_zone) "
                       "VALUES ('Uncommitted Co', '2026-01-01', 0, 'America/Chicago')")
        # The app keeps running: a backup taken mid-transaction is still consistent.
        service.backup(sqlite_app.config["DATABASE_URL"], str(tmp_path / "mid.db"))
        writer.execute("COMMIT")
    finally:
        writer.close()
    copy = sqlite3.connect(tmp_path / "mid.db")
    names = sorted(n for (n,) in copy.execute("SELECT name FROM company"))
    copy.close()
    assert names == ["Committed Co"]


def test_restore_refuses_a_file_that_is_not_a_backup_and_changes_nothing(sqlite_app, tmp_path):
    _add_company(sqlite_app, "Untouched Co")
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"Invoice Number,Load Number\nINV-1,L-1\n")
    result = _invoke(sqlite_app, "restore", "--yes", str(junk))
    assert result.exit_code != 0
    assert "is not a SQLite backup of this app" in result.output
    assert _company_names(sqlite_app) == ["Untouched Co"]

    foreign = tmp_path / "foreign.db"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE notes (body TEXT)")
    conn.close()
    result = _invoke(sqlite_app, "restore", "--yes", str(foreign))
    assert result.exit_code != 0
    assert "not one of this app" in result.output
    assert _company_names(sqlite_app) == ["Untouched Co"]


def test_restore_asks_first_and_no_changes_nothing(sqlite_app, tmp_path):
    target = tmp_path / "empty.db"
    assert _invoke(sqlite_app, "backup", str(target)).exit_code == 0
    _add_company(sqlite_app, "Still Here")
    result = _invoke(sqlite_app, "restore", str(target), input="n\n")
    assert result.exit_code != 0
    assert "Replace ALL data" in result.output
    assert _company_names(sqlite_app) == ["Still Here"]


def test_backup_to_a_directory_is_refused(sqlite_app, tmp_path):
    result = _invoke(sqlite_app, "backup", str(tmp_path))
    assert result.exit_code != 0


def test_postgres_credentials_go_to_the_environment_not_the_command_line():
    env = service._pg_env("postgresql://fd:s%40cret@db.internal:6543/factor?sslmode=require")
    assert (env["PGHOST"], env["PGPORT"], env["PGUSER"], env["PGPASSWORD"], env["PGDATABASE"],
            env["PGSSLMODE"]) == ("db.internal", "6543", "fd", "s@cret", "factor", "require")


pg_only = pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"),
                             reason="PostgreSQL backups run when TEST_DATABASE_URL is set")


@pg_only
def test_postgres_backup_then_restore_brings_the_data_back(app, tmp_path):
    url = app.config["DATABASE_URL"]
    assert url.startswith("postgres")
    backing_services.need("pg_dump", lambda: service._tool("pg_dump", service._server_major(url), ""))
    with in_db(app):
        loads_before = Load.select().count()
    target = tmp_path / "backup.dump"
    result = _invoke(app, "backup", str(target))
    assert result.exit_code == 0, result.output
    assert target.read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format

    with in_db(app):
        Company.update(name="Renamed Trucking").where(Company.name == "Demo Trucking").execute()
        Load.delete().where(Load.billing_status == "queued").execute()
        Company.create(name="Added After Backup")
    db.close()

    result = _invoke(app, "restore", "--yes", str(target))
    assert result.exit_code == 0, result.output
    assert _company_names(app) == ["Demo Trucking", "Other Carrier Co"]
    with in_db(app):
        assert Load.select().count() == loads_before


@pg_only
def test_postgres_restore_refuses_a_file_that_is_not_a_backup(app, tmp_path):
    junk = tmp_path / "junk.dump"
    junk.write_bytes(b"not a dump")
    result = _invoke(app, "restore", "--yes", str(junk))
    assert result.exit_code != 0
    assert "not a pg_dump custom-format backup" in result.output
    assert _company_names(app) == ["Demo Trucking", "Other Carrier Co"]
