"""Factoring Upload in Chromium, with the real queue consumer generating the batch file."""
import io
import re
import zipfile

from playwright.sync_api import expect

from tests.browser.conftest import sign_in


def _open_factoring_upload(page):
    page.get_by_text("Accounting", exact=True).click()
    page.get_by_role("link", name="Factoring Upload").click()
    expect(page.get_by_role("heading", name="Factoring Upload")).to_be_visible()
    page.wait_for_load_state("load")  # the picker sends its form once the page's script runs


def _tick_three(page):
    boxes = page.locator("input[name=load_id]")
    cents = 0
    numbers = []
    for n in range(3):
        box = boxes.nth(n)
        box.check()
        cents += int(box.get_attribute("data-cents"))
        numbers.append(page.locator(f"label[for={box.get_attribute('id')}]").inner_text())
    return numbers, f"${cents // 100:,}.{cents % 100:02d}"


def test_billing_submits_three_loads_sees_progress_and_result_and_downloads_the_zip(page, live_server):
    problems = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    sign_in(page, "billing@demo.test")
    _open_factoring_upload(page)
    summary = page.locator("[data-selection-summary]")
    expect(summary).to_have_text("No loads selected")
    expect(page.get_by_role("button", name="Submit Batch")).to_be_disabled()
    numbers, total = _tick_three(page)
    expect(summary).to_have_text(f"3 loads selected · {total}")

    live_server.stop_worker()  # hold the job so the progress is seen before it finishes
    page.get_by_role("button", name="Submit Batch").click()
    progress = page.get_by_test_id("batch-line").first
    expect(progress).to_contain_text("Batch #1")
    expect(progress).to_contain_text("Waiting for the worker to start")
    expect(progress.locator("progress")).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="Batch #1 submitted: 3 loads")).to_be_visible()
    for number in numbers:  # reserved: gone from the list
        expect(page.locator("label", has_text=re.compile(f"^{number}$"))).to_have_count(0)

    live_server.start_worker()
    expect(progress).to_have_attribute("data-state", "ready", timeout=30_000)
    expect(progress).to_contain_text("Download the batch file and send it to Capital Depot")

    with page.expect_download() as download_info:
        progress.get_by_role("link", name="Download batch #1").click()
    download = download_info.value
    assert download.suggested_filename == "capital-depot_demo-freight-llc_batch-0001.zip"
    with open(download.path(), "rb") as fh:
        names = zipfile.ZipFile(io.BytesIO(fh.read())).namelist()
    assert names[:2] == ["schedule.csv", "schedule.pdf"]
    assert len(names) == 5 and all(n.startswith("invoice_") and n.endswith(".pdf") for n in names[2:])

    progress.get_by_role("link", name="Open batch #1").click()
    expect(page.get_by_role("heading", name=re.compile("Batch #1"))).to_be_visible()
    rows = page.get_by_test_id("batch-load")
    expect(rows).to_have_count(3)
    for number in numbers:
        expect(rows.filter(has_text=number)).to_contain_text("Invoiced")
    page.get_by_text("File details").click()  # folded: the fingerprint is not for every day
    expect(page.get_by_test_id("batch-sha256")).to_have_text(re.compile(r"^[0-9a-f]{64}$"))
    assert not [p for p in problems if "Content Security Policy" in p], problems


def test_leaving_the_page_mid_submission_disrupts_nothing(page, live_server):
    sign_in(page, "billing@demo.test")
    _open_factoring_upload(page)
    numbers, _ = _tick_three(page)
    live_server.stop_worker()
    page.get_by_role("button", name="Submit Batch").click()
    expect(page.get_by_test_id("batch-line").first).to_contain_text("Batch #1")

    page.get_by_role("link", name="Loads", exact=True).click()  # leave right away
    page.wait_for_url(re.compile(r"/loads/"))
    live_server.start_worker()

    page.get_by_text("Reports", exact=True).click()
    page.get_by_role("link", name="Factoring", exact=True).click()
    row = page.get_by_test_id("batch-row").first
    expect(row).to_contain_text("#1")
    expect(row.get_by_role("link", name="Download")).to_be_visible(timeout=30_000)

    _open_factoring_upload(page)
    progress = page.get_by_test_id("batch-line").first
    expect(progress).to_have_attribute("data-state", "ready", timeout=30_000)
    progress.get_by_role("link", name="Open batch #1").click()
    rows = page.get_by_test_id("batch-load")
    expect(rows).to_have_count(3)
    for number in numbers:
        expect(rows.filter(has_text=number)).to_contain_text("Invoiced")


def test_dispatch_sees_the_list_but_no_submit_batch(page):
    sign_in(page, "dispatch@demo.test")
    _open_factoring_upload(page)
    expect(page.locator("input[name=load_id]")).to_have_count(0)
    expect(page.get_by_role("button", name="Submit Batch")).to_have_count(0)
    expect(page.get_by_text("needs the Billing permission")).to_be_visible()


def test_subsidiary_without_noa_disables_submit_batch_and_links_to_company_profile(page):
    sign_in(page, "billing@demo.test")
    _open_factoring_upload(page)
    page.get_by_label("Subsidiary").select_option(label="Demo Logistics Inc")
    notice = page.get_by_test_id("no-noa")
    expect(notice).to_contain_text("Demo Logistics Inc has no Notice of Assignment")
    page.locator("input[name=load_id]").first.check()
    expect(page.get_by_role("button", name="Submit Batch")).to_be_disabled()
    notice.get_by_role("link", name=re.compile("Company Profile")).click()
    page.wait_for_url(re.compile(r"/management/company-profile/\?subsidiary_id=\d+"))
