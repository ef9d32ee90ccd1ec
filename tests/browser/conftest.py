"""Browser tests: the real app served on 127.0.0.1 with a real queue consumer,
driven by Playwright in Debian's Chromium (never a downloaded browser).

Without /usr/bin/chromium these tests are skipped, unless REQUIRE_BROWSER=1
(as in CI), where a missing browser fails the run.
"""
import os
import shutil
import threading

import pytest
from werkzeug.serving import make_server

from tests.helpers import start_consumer
from webapp import create_app
from webapp.models import db

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run"]
ARTIFACTS = os.path.join(os.path.dirname(__file__), "..", "..", "test-artifacts")


def pytest_collection_modifyitems(config, items):
    if os.path.exists(CHROMIUM):
        return
    if os.environ.get("REQUIRE_BROWSER") == "1":
        raise pytest.UsageError(f"REQUIRE_BROWSER=1 but no Chromium at {CHROMIUM}")
    skip = pytest.mark.skip(reason="Chromium is not installed (apt-get install chromium)")
    for item in items:
        if "tests/browser" in str(item.fspath).replace("\\", "/"):
            item.add_marker(skip)


class LiveServer:
    """The app in a thread (web) plus a Huey consumer (worker threads)."""

    def __init__(self, app):
        self.app = app
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self.consumer = None

    def start(self, with_worker=True):
        self._thread.start()
        if with_worker:
            self.start_worker()

    def stop_worker(self):
        if self.consumer is not None:
            self.consumer.stop(graceful=True)
            self.consumer = None

    def start_worker(self):
        if self.consumer is None:
            self.consumer = start_consumer(self.app.extensions["huey"])

    def stop(self):
        self.stop_worker()
        self._server.shutdown()
        self._thread.join(timeout=10)


@pytest.fixture
def live_server(db_url, tmp_path):
    """The app on a fresh seeded database, served on 127.0.0.1 with a real queue consumer."""
    app = create_app({
        "TESTING": True,
        "SECRET_KEY": "browser-test-secret",
        "DATABASE_URL": db_url,
        "QUEUE_URL": "sqlite:///" + str(tmp_path / "queue.db"),
        "WTF_CSRF_ENABLED": True,
    })
    server = LiveServer(app)
    server.start()
    yield server
    server.stop()
    if not db.is_closed():
        db.close()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server, request):
    """A fresh browser context on the live server; a screenshot is kept when a test fails."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1366, "height": 900},
                                  accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        os.makedirs(ARTIFACTS, exist_ok=True)
        page.screenshot(path=os.path.join(ARTIFACTS, f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, "rep_" + report.when, report)


def sign_in(page, email, password="demo-password"):
    """Sign in through the login form as a person would."""
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login" not in url)
