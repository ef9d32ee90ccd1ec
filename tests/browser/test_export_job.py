"""A big export as a clerk sees it: the Loads list's export link starts a job, its page counts the rows as
the real worker writes them (htmx, no reload), then offers the file, which downloads whole; a
failed export says why and Try again makes it. axe-core on the page in each state.

The worker is held part-way (a gate after its second progress write) so the count is seen."""
import csv
import io
import threading

import pytest
from playwright.sync_api import expect

from tests.browser.axe import assert_accessible
from tests.browser.conftest import sign_in
from webapp.database import connection
from webapp.models import Company
from webapp.models import Load
from webapp.services.exports import job as export_job


@pytest.fixture
def live_server(live_server):
    """The live server with a bound of 2 rows: every demo list is big."""
    live_server.app.config["EXPORT_JOB_ROWS"] = 2
    return live_server


class Gate:
    """Holds the worker after it has written ROWS rows of progress, until opened (or 60 s)."""

    def __init__(self, rows):
        self.rows = rows
        self.reached, self.opened = threading.Event(), threading.Event()

    def wrap(self, real):
        def beat(job_id, token, **changes):
            real(job_id, token, **changes)
            if changes.get("rows_done") == self.rows:
                self.reached.set()
                self.opened.wait(60)
        return beat


@pytest.fixture
def gate(monkeypatch):
    held = Gate(rows=20)
    monkeypatch.setattr(export_job, "CHUNK_ROWS", 10)
    monkeypatch.setattr(export_job, "_beat", held.wrap(export_job._beat))
    yield held
    held.opened.set()


def _loads(app):
    with app.app_context(), connection():
        return Load.select().where(Load.company == Company.get(Company.name == "Demo Trucking").id).count()


def test_a_big_export_counts_its_rows_then_downloads(page, live_server, gate, tmp_path):
    total = _loads(live_server.app)
    sign_in(page, "billing@demo.test")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Loads").click()
    page.locator("p.downloads").get_by_role("link", name="CSV").click()  # the Loads list's own link
    state = page.get_by_test_id("export-state")
    assert gate.reached.wait(60)
    page.evaluate("window.__sameDocument = 'no reload'")
    expect(page.get_by_test_id("export-line")).to_have_text(f"Preparing loads.csv: 20 of {total} rows")
    expect(state).to_have_attribute("data-state", "running")
    assert_accessible(page, "an export being made")

    gate.opened.set()
    expect(state).to_have_attribute("data-state", "ready", timeout=30_000)
    expect(page.get_by_test_id("export-line")).to_have_text(f"loads.csv is ready: {total} rows.")
    assert page.evaluate("window.__sameDocument") == "no reload"
    assert_accessible(page, "an export ready")
    with page.expect_download() as download:
        page.get_by_test_id("export-download").click()
    saved = tmp_path / "loads.csv"
    download.value.save_as(saved)
    assert download.value.suggested_filename == "loads.csv"
    rows = list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8-sig"))))
    assert rows[0][0] == "Load Number" and len(rows) - 1 == total

    page.get_by_role("link", name="Your exports").first.click()
    expect(page.get_by_test_id("exports-table")).to_contain_text("loads.csv")
    assert_accessible(page, "Your exports")


def test_a_failed_export_says_why_and_try_again_makes_it(page, live_server, monkeypatch):
    monkeypatch.setattr(export_job, "XLSX_MAX_ROWS", 1)
    sign_in(page, "billing@demo.test")
    page.goto("/reports/exports/loads.xlsx")
    state = page.get_by_test_id("export-state")
    expect(state).to_have_attribute("data-state", "failed", timeout=30_000)
    expect(page.get_by_test_id("export-hint")).to_contain_text("do not fit in one Excel worksheet")
    assert_accessible(page, "a failed export")

    monkeypatch.setattr(export_job, "XLSX_MAX_ROWS", 1_048_575)
    page.get_by_role("button", name="Try again").click()
    expect(state).to_have_attribute("data-state", "ready", timeout=30_000)
    expect(page.get_by_test_id("export-download")).to_have_text("Download loads.xlsx")
