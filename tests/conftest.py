"""The shared fixtures: a fresh seeded database per test, app, client, sign-in, the demo world, batches.

The demo world is its two tenants, their subsidiaries and a user of each role; the batches are
one in each state (submitted, financed, completed, failed), all made through the real services.

SQLite by default: the schema and demo data are built once per session into a
template file, and every test gets its own copy. With TEST_DATABASE_URL set to a
PostgreSQL URL, the template is a database, and the tests run on one copy of it put back to
the template's rows before each test (backing_services.PgRunDatabase); the databases are
named fd_test_*_<pid>, so that two runs on one server do not collide, and dropped at the end.
What would slow every test down is done once per session (hashing and checking a password,
compiling a template), and an app's URL builders are compiled only when used.
The helpers these fixtures are built on (World, make_batch, snapshot, ...) are in
tests/helpers.py.
"""
import os
import shutil

import flask
import jinja2
import pytest
from werkzeug.routing import Rule

from tests import backing_services
from tests import helpers
from tests.helpers import DEMO_USERS
from tests.helpers import PASSWORD
from tests.mail_server import smtp_server  # noqa: F401  (the fixture, shared by every test)
from webapp import create_app
from webapp.models import db


def pytest_configure(config):
    """REQUIRE_POSTGRES=1 (CI): the run must really be on PostgreSQL, or fail at once."""
    if os.environ.get("REQUIRE_POSTGRES") != "1":
        return
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not url.startswith("postgres"):
        raise pytest.UsageError("REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is not a PostgreSQL URL "
                                f"({url or 'unset'}): the PostgreSQL run would silently use SQLite.")
    try:
        backing_services.pg_server_available(url)
    except Exception as exc:
        raise pytest.UsageError(f"REQUIRE_POSTGRES=1 but PostgreSQL at {url} is not reachable: "
                                f"{type(exc).__name__}: {exc}") from None


# scrypt is slow on purpose (a third of a second a call here): hash each password once for the
# whole session, and check each (hash, password) pair once. Both are pure functions of their
# inputs, so a test sees the same answers, only sooner.
_HASHES = {}
_CHECKS = {}


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hash():
    from webapp.services import auth

    real, real_check = auth.hash_password, auth.check_password_hash

    def cached(password):
        if password not in _HASHES:
            _HASHES[password] = real(password)
        return _HASHES[password]

    def cached_check(pwhash, password):
        if (pwhash, password) not in _CHECKS:
            _CHECKS[pwhash, password] = real_check(pwhash, password)
        return _CHECKS[pwhash, password]

    auth.hash_password = cached
    auth.check_password_hash = cached_check
    import webapp.ops.demo as demo
    import webapp.services.users as users
    demo.hash_password = cached
    users.hash_password = cached
    yield
    auth.hash_password, auth.check_password_hash = real, real_check


class _TemplateCodeCache(jinja2.BytecodeCache):
    """Compiled templates kept in memory for the session, by name and source checksum."""

    def __init__(self):
        self._code = {}

    def load_bytecode(self, bucket):
        if bucket.key in self._code:
            bucket.bytecode_from_string(self._code[bucket.key])

    def dump_bytecode(self, bucket):
        self._code[bucket.key] = bucket.bytecode_to_string()


@pytest.fixture(autouse=True, scope="session")
def _templates_compiled_once():
    """Every test makes its own app, and each app's Jinja compiled every template it rendered
    anew (a tenth of a second a page, a third of some tests' time): the apps of the session
    share one cache of compiled templates instead. A template edited meanwhile has another
    checksum and is compiled again."""
    saved = flask.Flask.jinja_options
    flask.Flask.jinja_options = {**saved, "bytecode_cache": _TemplateCodeCache()}
    yield
    flask.Flask.jinja_options = saved


@pytest.fixture(autouse=True, scope="session")
def _routes_compiled_when_used():
    """Making an app compiled a URL builder for each of its ninety routes, twice over (most of
    create_app's time), though a test builds the URLs of few: each builder is compiled the
    first time it builds a URL instead, the same code as Werkzeug's, only later."""
    real = Rule._compile_builder

    def compiled_when_used(rule, append_unknown=True):
        compiled = []

        def build(self, **values):
            if not compiled:
                compiled.append(real(self, append_unknown))
            return compiled[0](self, **values)
        return build

    Rule._compile_builder = compiled_when_used
    yield
    Rule._compile_builder = real


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
        backing_services.ensure_postgres(pg_url)
        backing_services.drop_pg_databases(pg_url)  # what runs that died left behind
        template_url = backing_services.recreate_pg_database(pg_url,
                                                             backing_services.pg_name("fd_test_template"))
    else:
        template_url = "sqlite:///" + str(tmp_path_factory.mktemp("template") / "template.db")
    template_app = create_app(_base_config(template_url, None))
    database.migrate()
    with template_app.app_context(), database.connection():
        # Tests start from loads that were never batched; the demo's past batches
        # (seed-demo) are covered in tests/cli/test_setup_commands.py.
        demo.seed(history=False)
        helpers.enrol_demo_two_factor()
    # Every connection closed (the pool keeps them open otherwise): the last one to close
    # writes the WAL back into the file, which each test then copies.
    database.release(db.obj)
    run = None
    if pg_url:
        run = backing_services.PgRunDatabase(pg_url, backing_services.pg_name("fd_test_run"),
                                             template=template_url.rsplit("/", 1)[1])
    yield run, template_url
    if pg_url:
        if not db.is_closed():
            db.close()
        run.close()
        backing_services.drop_pg_databases(pg_url, [backing_services.pg_name(base) for base in
                                                    ("fd_test_run", "fd_test_cli", "fd_test_template")])


@pytest.fixture
def db_url(_template, tmp_path):
    """A database as the template made it, for one test: on SQLite a copy of the template file;
    on PostgreSQL the run's database put back to the template's rows (PgRunDatabase)."""
    pg_run, template_url = _template
    if not db.is_closed():
        db.close()
    if pg_run:
        return pg_run.fresh()
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
    """Sign in and out through the real login form (and, for the demo users with two-factor
    sign-in, the code form, with their next unused recovery code)."""

    def __init__(self, client):
        self._client = client
        self._codes_used = {}

    def login(self, who="admin", password=PASSWORD):
        email = DEMO_USERS.get(who, who)
        who = next((short for short, known in DEMO_USERS.items() if known == email), who)
        response = self._client.post("/login", data={"email": email, "password": password})
        if who in helpers.TWO_FACTOR_SECRETS and response.headers.get("Location", "").endswith("/login/code"):
            used = self._codes_used.get(who, 0)
            self._codes_used[who] = used + 1
            response = self._client.post("/login/code", data={"code": helpers.recovery_codes(who)[used]})
        return response

    def logout(self):
        return self._client.post("/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def in_app(app, dbconn):
    """An app context and an open connection for the whole test: service tests whose code reads
    the app's config or starts a job on its queue."""
    with app.app_context():
        yield


@pytest.fixture
def world(app):
    """The demo world (tests.helpers.World): Demo Trucking and Other Carrier Co, their
    subsidiaries, a user of each role (world.admin, .billing, .dispatch, .partner, .support,
    .other) and the loads that can go to the factor (world.eligible(n))."""
    with helpers.in_db(app):
        return helpers.World()


@pytest.fixture
def make_batch(app, world):
    """make_batch(state="submitted", count=3, subsidiary=None): a batch in one of
    tests.helpers.BATCH_STATES built through the real services; returns Made(batch, loads)."""
    def make(state="submitted", count=3, subsidiary=None):
        with helpers.in_db(app):
            return helpers.make_batch(world, state, count, subsidiary)
    return make


@pytest.fixture
def submitted_batch(make_batch):
    """Three loads of Demo Freight LLC submitted: the batch file is ready, the loads Invoiced."""
    return make_batch("submitted")


@pytest.fixture
def financed_batch(make_batch):
    """A submitted batch of three loads whose Purchase Report bought them all: Financed."""
    return make_batch("financed")


@pytest.fixture
def completed_batch(make_batch):
    """A financed batch of three loads whose Payment Report paid them in full: Completed."""
    return make_batch("completed")


@pytest.fixture
def failed_batch(make_batch):
    """Two loads whose batch job could not render an invoice: the batch failed, the loads
    stay Queued and reserved (Retry or Cancel)."""
    return make_batch("failed", count=2)
