"""Fixtures: an app on a fresh database seeded with the demo data, a client, sign-in.

SQLite by default: the schema and demo data are built once per session into a
template file, and every test gets its own copy. With TEST_DATABASE_URL set to a
PostgreSQL URL, the same happens with a template database; the databases are named
fd_test_*_<pid>, so that two runs on one server do not collide, and dropped at the end.
"""
import os
import shutil
import uuid

import pytest

from tests import services
from webapp import create_app
from webapp.models import User
from webapp.models import db

PASSWORD = "demo-password"


def pytest_configure(config):
    """REQUIRE_POSTGRES=1 (CI): the run must really be on PostgreSQL, or fail at once."""
    if os.environ.get("REQUIRE_POSTGRES") != "1":
        return
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not url.startswith("postgres"):
        raise pytest.UsageError("REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is not a PostgreSQL URL "
                                f"({url or 'unset'}): the PostgreSQL run would silently use SQLite.")
    try:
        services.pg_server_available(url)
    except Exception as exc:
        raise pytest.UsageError(f"REQUIRE_POSTGRES=1 but PostgreSQL at {url} is not reachable: "
                                f"{type(exc).__name__}: {exc}") from None
DEMO_USERS = {
    "admin": "admin@demo.test",
    "billing": "billing@demo.test",
    "dispatch": "dispatch@demo.test",
    "partner": "partner@demo.test",
    "support": "support@demo.test",
    "other": "other@demo.test",
}

# scrypt is slow on purpose; hash the demo password once for the whole session.
_HASHES = {}


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hash():
    from webapp.services import auth

    real = auth.hash_password

    def cached(password):
        if password not in _HASHES:
            _HASHES[password] = real(password)
        return _HASHES[password]

    auth.hash_password = cached
    import webapp.ops.demo as demo
    import webapp.services.users as users
    demo.hash_password = cached
    users.hash_password = cached
    yield
    auth.hash_password = real


def _base_config(database_url, tmp_path):
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "DATABASE_URL": database_url,
        "QUEUE_URL": "immediate",
        "WTF_CSRF_ENABLED": False,
        "SERVER_NAME": None,
    }


@pytest.fixture(scope="session")
def _template(tmp_path_factory, _fast_password_hash):
    """Build the migrated, seeded template database once per test session."""
    from webapp import database
    from webapp.ops import demo

    pg_url = os.environ.get("TEST_DATABASE_URL")
    if pg_url:
        services.ensure_postgres(pg_url)
        services.drop_pg_databases(pg_url)  # what runs that died left behind
        template_url = services.recreate_pg_database(pg_url, services.pg_name("fd_test_template"))
    else:
        template_url = "sqlite:///" + str(tmp_path_factory.mktemp("template") / "template.db")
    template_app = create_app(_base_config(template_url, None))
    database.migrate()
    with template_app.app_context(), database.connection():
        # Tests start from loads that were never batched; the demo's past batches
        # (seed-demo) are covered in tests/test_cli.py.
        demo.seed(history=False)
    db.close()
    yield pg_url, template_url
    if pg_url:
        if not db.is_closed():
            db.close()
        services.drop_pg_databases(pg_url, [services.pg_name(base) for base in
                                            ("fd_test_run", "fd_test_cli", "fd_test_template")])


@pytest.fixture
def db_url(_template, tmp_path):
    """A fresh copy of the template database for one test."""
    pg_url, template_url = _template
    if not db.is_closed():
        db.close()
    if pg_url:
        return services.recreate_pg_database(pg_url, services.pg_name("fd_test_run"),
                                             template=services.pg_name("fd_test_template"))
    path = tmp_path / "test.db"
    shutil.copyfile(template_url[len("sqlite:///"):], path)
    return "sqlite:///" + str(path)


@pytest.fixture
def app(db_url, tmp_path):
    """The app on its own seeded database, tasks run immediately."""
    config = _base_config(db_url, tmp_path)
    app = create_app(config)
    app.instance_path = str(tmp_path / "instance")
    os.makedirs(app.instance_path, exist_ok=True)
    yield app
    if not db.is_closed():
        db.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def dbconn(app):
    """An open connection for service tests that run without a request."""
    db.connect(reuse_if_open=True)
    yield db
    if not db.is_closed():
        db.close()


class AuthActions:
    """Sign in and out through the real login form."""

    def __init__(self, client):
        self._client = client

    def login(self, who="admin", password=PASSWORD):
        email = DEMO_USERS.get(who, who)
        return self._client.post("/login", data={"email": email, "password": password})

    def logout(self):
        return self._client.post("/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def user(app):
    """Look up a demo user by short name: user("billing")."""
    def get(who):
        with app.app_context():
            from webapp.database import connection
            with connection():
                return User.get(User.email == DEMO_USERS.get(who, who))
    return get


def unique(prefix="x"):
    """A short unique string for names in tests."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"
