"""The whole loop with the keyboard alone, in Chromium: sign in, the skip link, the menu, the
subsidiary picker that never reloads on an arrow key, ticking loads, Submit Batch reached
before the rows, the sticky bar that never covers the focused element, and focus on the
result after Submit Batch, after a preview appears and after Confirm."""
import csv
import datetime
import io
import re
import zipfile

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

from tests.browser.axe import assert_accessible
from webapp.services.money import format_cents
from webapp.services.money import parse_money
from webapp.services.reports.parsing import PAYMENT_COLUMNS
from webapp.services.reports.parsing import PURCHASE_COLUMNS

ACTIVE = """() => { const el = document.activeElement; return el ? {tag: el.tagName, id: el.id,
  name: el.getAttribute('name'), text: (el.innerText || el.value || '').trim().slice(0, 80),
  label: el.getAttribute('aria-label') || '', type: el.type || ''} : null; }"""


def _active(page):
    return page.evaluate(ACTIVE)


def tab_to(page, matches, limit=80, key="Tab"):
    """Press Tab (or KEY) until MATCHES(the focused element's description) is true."""
    for _ in range(limit):
        page.keyboard.press(key)
        active = _active(page)
        if active and matches(active):
            return active
    raise AssertionError(f"never reached with {key} in {limit} presses; last: {_active(page)}")


def _named(text):
    return lambda a: a["text"] == text or a["label"] == text


def _focused_inside(page, selector):
    return page.evaluate("(s) => !!document.activeElement.closest(s)", selector)


def _not_covered_by_the_bar(page):
    """The focused element lies wholly above the sticky selection bar (or is inside it)."""
    return page.evaluate("""() => {
        const el = document.activeElement, bar = document.querySelector('.selection-bar');
        if (!bar || bar.contains(el)) return true;
        const r = el.getBoundingClientRect(), b = bar.getBoundingClientRect();
        return r.bottom <= b.top + 1 || r.top >= b.bottom - 1;
    }""")


def _schedule(path):
    with open(path, "rb") as fh:
        data = zipfile.ZipFile(io.BytesIO(fh.read())).read("schedule.csv").decode("utf-8-sig")
    return [row for row in csv.DictReader(io.StringIO(data)) if row["Invoice Number"] != "Total"]


def _write(path, headers, rows):
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(headers)
        writer.writerows(rows)
    return str(path)


def _choose_file_with_the_keyboard(page, field_id, path, tries=3):
    """Tab to the file field and open the system's file dialog with Space, as a person would.
    Chromium drops a file dialog asked for while the page is still busy (a download just
    finished, a region redrawn): the person presses Space again, and so does this."""
    tab_to(page, lambda a: a["id"] == field_id)
    for attempt in range(tries):
        assert _active(page)["id"] == field_id
        try:
            with page.expect_file_chooser(timeout=5_000) as chooser:
                page.keyboard.press("Space")
        except PlaywrightTimeoutError:
            if attempt == tries - 1:
                raise
            continue
        chooser.value.set_files(path)
        return


def test_the_whole_loop_with_the_keyboard_alone(page, live_server, tmp_path):
    # Sign in.
    page.goto("/login")
    tab_to(page, lambda a: a["name"] == "email")
    page.keyboard.type("billing@demo.test")
    page.keyboard.press("Tab")
    page.keyboard.type("demo-password")
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/login" not in url)

    # The skip link comes first and lands on the page's content.
    page.keyboard.press("Tab")
    assert _active(page)["text"] == "Skip to main content"
    expect(page.get_by_role("link", name="Skip to main content")).to_be_in_viewport()
    page.keyboard.press("Enter")
    assert _active(page)["id"] == "main"

    # The menu: Accounting > Factoring Upload.
    page.keyboard.press("Shift+Tab")
    tab_to(page, _named("Accounting"), key="Shift+Tab")
    page.keyboard.press("Enter")
    tab_to(page, _named("Factoring Upload"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Factoring Upload")).to_be_visible()

    # The subsidiary picker: an arrow key changes the choice, never the page, never the focus.
    address = page.url
    tab_to(page, lambda a: a["id"] == "subsidiary_id")
    page.keyboard.press("ArrowDown")
    assert page.url == address and _active(page)["id"] == "subsidiary_id"
    page.keyboard.press("ArrowUp")
    assert page.url == address and _active(page)["id"] == "subsidiary_id"

    # Submit Batch is reached before the rows: the skip link after the list's heading.
    skip = tab_to(page, lambda a: a["text"] == "Skip the rows to Submit Batch" or a["name"] == "load_id")
    assert skip["name"] != "load_id", "a row came before the way to Submit Batch"
    expect(page.get_by_role("link", name="Skip the rows to Submit Batch")).to_be_visible()

    # Tick three loads with Space; the sticky bar never covers the focused box.
    tab_to(page, lambda a: a["name"] == "load_id")
    for n in range(3):
        if n:
            page.keyboard.press("Tab")
            if _active(page)["name"] != "load_id":
                tab_to(page, lambda a: a["name"] == "load_id", limit=5)
        page.keyboard.press("Space")
        assert _not_covered_by_the_bar(page)
    expect(page.locator("[data-selection-summary]")).to_contain_text("3 loads selected")
    for _ in range(12):  # further down the list, the focus still shows above the bar
        tab_to(page, lambda a: a["name"] == "load_id", limit=5)
        assert _not_covered_by_the_bar(page), _active(page)

    # Back up to the skip link, and Enter lands on Submit Batch.
    tab_to(page, lambda a: a["text"] == "Skip the rows to Submit Batch", limit=200, key="Shift+Tab")
    page.keyboard.press("Enter")
    assert _active(page)["text"] == "Submit Batch"
    page.keyboard.press("Enter")

    # Focus moves to the result of Submit Batch.
    expect(page.get_by_role("status").filter(has_text="submitted")).to_be_visible()
    page.wait_for_function("() => !!document.activeElement.closest('[role=status], #factoring-workspace')")
    assert "submitted" in _active(page)["text"] or _focused_inside(page, "#factoring-workspace")

    # The batch page, by its link.
    expect(page.get_by_role("link", name="Open batch #1")).to_be_visible(timeout=30_000)
    tab_to(page, _named("Open batch #1"), limit=200)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=re.compile("Batch #1"))).to_be_visible()
    expect(page.get_by_test_id("download-batch").first).to_be_visible(timeout=30_000)
    tab_to(page, lambda a: a["text"] == "Download batch file")
    with page.expect_download() as download:
        page.keyboard.press("Enter")
    schedule = _schedule(download.value.path())
    assert len(schedule) == 3

    # Purchase Report: choose the file, upload, and focus moves to the preview.
    today = datetime.date.today().strftime("%m/%d/%Y")
    rows = []
    for i, item in enumerate(schedule):
        amount = parse_money(item["Amount"])
        fee = round(amount * 0.025)
        rows.append([item["Invoice Number"], item["Load Number"], today, format_cents(amount),
                     format_cents(amount - fee), format_cents(fee), "0.00", "purchased", "", f"CD-{i}"])
    _choose_file_with_the_keyboard(page, "purchase-report-file",
                                   _write(tmp_path / "Purchase_Report.csv", PURCHASE_COLUMNS, rows))
    page.keyboard.press("Tab")
    assert _active(page)["text"] == "Upload Purchase Report"
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("report-preview")).to_contain_text("No errors.")
    page.wait_for_function("() => !!document.activeElement.closest('#report-preview')")
    assert_accessible(page, "the batch page with a preview, reached by keyboard")

    # Confirm, and focus moves to the result.
    tab_to(page, _named("Confirm"))
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("report-result")).to_contain_text("Purchase Report applied")
    page.wait_for_function("() => !!document.activeElement.closest('[data-testid=report-result], [role=status]')")

    # Payment Report the same way: every load paid in full.
    paid = [[item["Invoice Number"], item["Load Number"], today, item["Amount"].replace("$", ""),
             f"ACH-{i}", "ACH", "0.00", "0.00", "yes", ""] for i, item in enumerate(schedule)]
    page.goto(page.url.split("#")[0])
    _choose_file_with_the_keyboard(page, "payment-report-file",
                                   _write(tmp_path / "Payments_Report.csv", PAYMENT_COLUMNS, paid))
    page.keyboard.press("Tab")
    assert _active(page)["text"] == "Upload Payment Report"
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("report-preview")).to_contain_text("No errors.")
    page.wait_for_function("() => !!document.activeElement.closest('#report-preview')")
    tab_to(page, _named("Confirm"))
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("report-result")).to_contain_text("Payment Report applied")
    page.wait_for_function("() => !!document.activeElement.closest('[data-testid=report-result], [role=status]')")
    for item in schedule:
        expect(page.get_by_test_id("batch-load").filter(has_text=item["Load Number"])).to_contain_text("Completed")
