"""The production path: environment, cookies, proxies, the queue, /healthz, errors, logs, gunicorn.

Configuration from the environment, SECRET_KEY, cookies, proxy headers, the queue on
Redis/PostgreSQL with a real consumer, /healthz, error pages, structured logs with a request
id, and gunicorn serving the app with two workers."""
import importlib
import io
import os
import re
import runpy
import signal
import socket
import subprocess
import sys
import urllib.request

import pytest
from flask import Flask
from flask import current_app
from flask import url_for

import config
import webapp
from tests import backing_services
from tests.helpers import start_consumer
from webapp import create_app
from webapp.errors import MESSAGES
from webapp.models import db
from webapp.permissions import public

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _test_config(db_url, **extra):
    values = {"TESTING": True, "SECRET_KEY": "test-secret", "DATABASE_URL": db_url,
              "QUEUE_URL": "immediate", "WTF_CSRF_ENABLED": False}
    values.update(extra)
    return values


@pytest.fixture
def app_from_env(db_url):
    """make(ENV=value, ...): an app whose Config was read from that environment."""

    def make(**env):
        with pytest.MonkeyPatch.context() as mp:
            for name, value in env.items():
                mp.setenv(name, value)
            mp.setattr(webapp, "Config", importlib.reload(config).Config)
            app = create_app(_test_config(db_url))
        importlib.reload(config)  # back to the real environment
        return app

    yield make
    if not db.is_closed():
        db.close()


# --- configuration ------------------------------------------------------------------------

def test_secret_key_is_required_outside_debug_and_tests(monkeypatch, tmp_path):
    # An instance folder without the local key file that `make run` writes.
    monkeypatch.setattr(Flask, "auto_find_instance_path", lambda self: str(tmp_path / "instance"))
    settings = {"SECRET_KEY": None, "DEBUG": False, "TESTING": False, "QUEUE_URL": "immediate",
                "DATABASE_URL": "sqlite:///" + str(tmp_path / "x.db")}
    with pytest.raises(RuntimeError, match="SECRET_KEY is not set"):
        create_app(settings)
    app = create_app(dict(settings, SECRET_KEY="from-the-environment"))
    assert app.secret_key == "from-the-environment"


def test_configuration_comes_from_the_environment(app_from_env):
    app = app_from_env(MAX_UPLOAD_BYTES="2048", LOGIN_MAX_FAILURES="9", LOG_LEVEL="warning",
                       JOB_STALE_SECONDS="30", PG_BIN_DIR="/opt/pg/bin")
    assert app.config["MAX_CONTENT_LENGTH"] == 2048
    assert app.config["LOGIN_MAX_FAILURES"] == 9
    assert app.config["JOB_STALE_SECONDS"] == 30
    assert app.config["PG_BIN_DIR"] == "/opt/pg/bin"
    assert app.logger.level == 30  # WARNING


def test_session_cookie_is_secure_when_asked_httponly_and_lax_always(app_from_env):
    for secure in ("1", "0"):
        app = app_from_env(SESSION_COOKIE_SECURE=secure)
        assert app.config["REMEMBER_COOKIE_SECURE"] is (secure == "1")
        response = app.test_client().post(
            "/login", data={"email": "admin@demo.test", "password": "demo-password"})
        assert response.status_code == 302
        cookie = response.headers["Set-Cookie"]
        assert cookie.startswith("session=")
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
        assert ("; Secure" in cookie) is (secure == "1")


def _url_probe(app):
    @app.route("/_probe/url")
    @public
    def probe_url():
        from flask import request
        return f"{url_for('auth.login', _external=True)} {request.remote_addr}"
    return app


def test_proxy_headers_are_trusted_only_with_proxy_count(app_from_env):
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "desk.example.com",
                 "X-Forwarded-For": "203.0.113.9"}
    behind_proxy = _url_probe(app_from_env(PROXY_COUNT="1"))
    answer = behind_proxy.test_client().get("/_probe/url", headers=forwarded).get_data(as_text=True)
    assert answer == "https://desk.example.com/login 203.0.113.9"

    direct = _url_probe(app_from_env(PROXY_COUNT="0"))
    answer = direct.test_client().get("/_probe/url", headers=forwarded).get_data(as_text=True)
    assert answer == "http://localhost/login 127.0.0.1"  # a client cannot claim https


def test_an_unknown_queue_url_is_refused(db_url):
    with pytest.raises(ValueError, match="QUEUE_URL 'amqp://mq:5672' is not understood"):
        create_app(_test_config(db_url, QUEUE_URL="amqp://mq:5672"))


# --- the queue with a real consumer ----------------------------------------------------------

def _queue_urls():
    urls = [pytest.param("redis://127.0.0.1:6379/15", id="redis"), pytest.param("sqlite", id="sqlite")]
    if os.environ.get("TEST_DATABASE_URL"):
        urls.append(pytest.param("postgresql", id="postgresql"))
    return urls


@pytest.mark.parametrize("queue_url", _queue_urls())
def test_queue_round_trips_a_task_through_a_real_consumer(db_url, tmp_path, queue_url):
    if queue_url.startswith("redis"):
        backing_services.need("Redis", lambda: backing_services.ensure_redis(queue_url))
    elif queue_url == "sqlite":
        queue_url = "sqlite:///" + str(tmp_path / "queue.db")
    else:
        queue_url = db_url  # the queue's tables beside the app's, in PostgreSQL
    app = create_app(_test_config(db_url, QUEUE_URL=queue_url))
    huey = app.extensions["huey"]
    huey.flush()

    @huey.task()
    def shout(text):
        with app.app_context():
            return f"{text.upper()} via {current_app.config['QUEUE_URL'].split(':')[0]}"

    consumer = start_consumer(huey, workers=1)
    try:
        result = shout("batch ready")
        assert result.get(blocking=True, timeout=30) == f"BATCH READY via {queue_url.split(':')[0]}"
        assert huey.pending_count() == 0
    finally:
        consumer.stop(graceful=True)
        huey.flush()
        if not db.is_closed():
            db.close()


# --- /healthz, errors, logs --------------------------------------------------------------------

def _closed_port():
    with socket.socket() as s:  # a port where nothing listens
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_healthz_answers_503_when_the_database_is_down(tmp_path, kind):
    url = ("sqlite:///" + str(tmp_path / "no-such-dir" / "x.db") if kind == "sqlite"
           else f"postgresql://factor@127.0.0.1:{_closed_port()}/factor_desk")
    app = create_app(_test_config(url))
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["database"].startswith("error: ") and body["database"] != "error: "
    assert body["queue"] == "ok" and body["status"] == "degraded"
    assert response.headers["Cache-Control"] == "no-store"


def test_healthz_answers_503_when_the_queue_is_down(db_url):
    app = create_app(_test_config(db_url, QUEUE_URL=f"redis://127.0.0.1:{_closed_port()}/0"))
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "ok"
    assert response.get_json()["queue"].startswith("error: ")
    db.close()


@pytest.fixture
def prod_like_app(db_url):
    """TESTING off, DEBUG off: as in production."""
    app = create_app(_test_config(db_url, TESTING=False, DEBUG=False))

    @app.route("/_probe/crash")
    @public
    def crash():
        raise RuntimeError("secret detail of the crash")

    @app.route("/_probe/log")
    @public
    def log():
        current_app.logger.info("hello from a view")
        return "logged"

    stream = io.StringIO()
    app.logger.handlers[0].setStream(stream)
    app.log_output = stream
    yield app
    if not db.is_closed():
        db.close()


def test_a_crash_shows_the_friendly_page_never_a_traceback(prod_like_app):
    client = prod_like_app.test_client()
    response = client.get("/_probe/crash")
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert MESSAGES[500] in page
    assert "Traceback" not in page and "secret detail" not in page and "RuntimeError" not in page

    fragment = client.get("/_probe/crash", headers={"HX-Request": "true"})
    assert fragment.status_code == 500
    assert MESSAGES[500] in fragment.get_data(as_text=True)
    assert "<html" not in fragment.get_data(as_text=True)
    # The details are kept for the operator, in the log, with the request id.
    log = prod_like_app.log_output.getvalue()
    assert "Traceback" in log and "secret detail of the crash" in log
    assert f"request_id={response.headers['X-Request-Id']}" in log


def test_log_lines_carry_the_request_id_also_sent_back(prod_like_app):
    prod_like_app.config["PROXY_COUNT"] = 1  # the load balancer's id is trusted only behind one
    client = prod_like_app.test_client()
    response = client.get("/_probe/log", headers={"X-Request-Id": "lb-7f3a.42"})
    assert response.headers["X-Request-Id"] == "lb-7f3a.42"
    line = next(l for l in prod_like_app.log_output.getvalue().splitlines() if "hello from a view" in l)
    assert re.match(r'time=\S+ \S+ level=INFO logger=\S+ request_id=lb-7f3a\.42 msg="hello from a view"$',
                    line), line

    response = client.get("/_probe/log")  # no id from a proxy: one is made up
    made_up = response.headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{16}", made_up)
    assert f"request_id={made_up} " in prod_like_app.log_output.getvalue()


def test_a_request_id_that_could_forge_log_fields_is_replaced(prod_like_app):
    response = prod_like_app.test_client().get(
        "/_probe/log", headers={"X-Request-Id": 'x msg="forged" level=CRITICAL'})
    assert re.fullmatch(r"[0-9a-f]{16}", response.headers["X-Request-Id"])
    assert "forged" not in prod_like_app.log_output.getvalue()


# --- gunicorn ----------------------------------------------------------------------------------

def _gunicorn_settings(**env):
    with pytest.MonkeyPatch.context() as mp:
        for name in ("WEB_CONCURRENCY", "BIND", "HOST", "PORT", "GUNICORN_THREADS",
                     "GUNICORN_CONTROL_SOCKET"):
            mp.delenv(name, raising=False)
        for name, value in env.items():
            mp.setenv(name, value)
        return runpy.run_path(os.path.join(ROOT, "gunicorn.conf.py"))


def test_gunicorn_settings_come_from_the_environment():
    defaults = _gunicorn_settings()
    assert (defaults["workers"], defaults["bind"], defaults["worker_class"]) == (2, "127.0.0.1:8000", "sync")
    assert defaults["graceful_timeout"] > 0 and defaults["preload_app"] is False
    assert "request_id=%({x-request-id}o)s" in defaults["access_log_format"]
    assert defaults["control_socket_disable"] is True

    tuned = _gunicorn_settings(WEB_CONCURRENCY="5", PORT="9000", HOST="0.0.0.0", GUNICORN_THREADS="4")
    assert (tuned["workers"], tuned["bind"], tuned["worker_class"], tuned["threads"]) == (
        5, "0.0.0.0:9000", "gthread", 4)
    assert _gunicorn_settings(BIND="unix:/run/factor-desk.sock")["bind"] == "unix:/run/factor-desk.sock"


def test_gunicorn_serves_the_app_with_two_workers_and_logs_the_request_id(db_url, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, SECRET_KEY="gunicorn-test-secret", DATABASE_URL=db_url,
               QUEUE_URL="sqlite:///" + str(tmp_path / "queue.db"), BIND=f"127.0.0.1:{port}",
               WEB_CONCURRENCY="2", FLASK_DEBUG="0", PROXY_COUNT="1")  # as behind the load balancer
    log_path = tmp_path / "gunicorn.log"
    gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
    with open(log_path, "wb") as log:
        server = subprocess.Popen([gunicorn, "-c", "gunicorn.conf.py", "wsgi:app"], cwd=ROOT, env=env,
                                  stdout=log, stderr=subprocess.STDOUT)
    try:
        backing_services._wait_for("127.0.0.1", port, "gunicorn")
        request = urllib.request.Request(f"http://127.0.0.1:{port}/healthz",
                                         headers={"X-Request-Id": "probe-123"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
            assert response.headers["X-Request-Id"] == "probe-123"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/loads/", timeout=10) as response:
            assert response.url.endswith("/login?next=/loads/")  # the login wall, then the page
            assert ">Sign in</button>" in response.read().decode()
    finally:
        server.send_signal(signal.SIGTERM)  # graceful: workers finish, then exit
        server.wait(timeout=30)
    log_text = log_path.read_text()
    assert server.returncode == 0, log_text
    assert len(set(re.findall(r"Booting worker with pid: (\d+)", log_text))) == 2, log_text
    assert re.search(r"request_id=probe-123 .*path=\"/healthz\" status=200", log_text), log_text
