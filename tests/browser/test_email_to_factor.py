"""Email to Capital Depot in Chromium: the batch page's button, the form with the factor's
address and cover message, the send through the real queue worker to a real SMTP server on
127.0.0.1 (the attachment byte for byte the Download), the send listed as delivered, and a
second send that asks first; axe-core finds no violation on the pages on the way."""
import re

import pytest
from playwright.sync_api import expect

from tests.browser.axe import assert_accessible
from tests.browser.conftest import sign_in
from tests.helpers import World
from tests.helpers import in_db
from tests.mail_server import SmtpServer
from tests.mail_server import use_mail_url
from webapp.models import Batch
from webapp.services import batches


@pytest.fixture
def smtp(live_server):
    server = SmtpServer().start()
    use_mail_url(live_server.app, server.url)
    yield server
    server.stop()
    use_mail_url(live_server.app, "")


@pytest.fixture
def ready_batch(live_server):
    """A ready batch of three Demo Freight LLC loads, its job run here and now."""
    with in_db(live_server.app):
        world = World()
        ids = world.eligible(3, world.freight)
        batch = batches.create_batch(world.company, world.freight, ids, world.billing)
        batches.run_batch(batch.id, stale_seconds=120)
        return Batch.get_by_id(batch.id)


def test_billing_emails_the_batch_to_capital_depot(page, live_server, smtp, ready_batch):
    sign_in(page, "billing@demo.test")
    page.goto(f"/reports/factoring/batches/{ready_batch.id}")
    expect(page.get_by_text("Not emailed from here yet")).to_be_visible()
    download = page.request.get(f"/reports/factoring/batches/{ready_batch.id}/download").body()

    page.get_by_role("link", name="Email to Capital Depot").click()
    expect(page.get_by_role("heading", name="Email to Capital Depot")).to_be_visible()
    expect(page.get_by_label("To")).to_have_value("batches@capitaldepot.example")
    expect(page.get_by_label("Subject")).to_have_value(re.compile(rf"^Batch #{ready_batch.number} of Demo Freight LLC"))
    expect(page.get_by_label("Cover message")).to_have_value(re.compile("Hello Capital Depot,"))
    assert_accessible(page, "the Email to Capital Depot form")

    page.get_by_label("Subject").fill(f"Demo Freight LLC batch #{ready_batch.number}")
    page.get_by_role("button", name="Send to Capital Depot").click()
    expect(page.get_by_role("heading", name=re.compile(f"Batch #{ready_batch.number}"))).to_be_visible()
    # The notice says the file is on its way; once the worker has delivered it the page is
    # redrawn and says Sent instead (a quick worker can get there before this line looks).
    expect(page.get_by_text(re.compile("is on its way to batches@capitaldepot.example|Sent to Capital Depot"))
           .first).to_be_visible()
    sends = page.locator("#batch-sends")
    expect(sends.get_by_test_id("send-status")).to_have_text("Delivered", timeout=30_000)
    expect(sends).to_contain_text("batches@capitaldepot.example")
    expect(sends).to_contain_text("Blair Billing")
    expect(page.get_by_test_id("batch-sent")).to_contain_text("by Blair Billing")  # the page reloaded: Sent
    assert_accessible(page, "the batch page with its send delivered")

    [received] = smtp.messages
    assert received["Subject"] == f"Demo Freight LLC batch #{ready_batch.number}"
    [attachment] = list(received.iter_attachments())
    assert attachment.get_content() == download

    page.get_by_role("link", name="Email to Capital Depot").click()
    expect(page.get_by_text("This batch was emailed before")).to_be_visible()
    page.get_by_role("button", name="Send again to Capital Depot").click()
    expect(page.get_by_text(re.compile("already emailed"))).to_be_visible()
    assert_accessible(page, "the form asking before sending again")
    page.get_by_label("Send it again").check()
    page.get_by_role("button", name="Send again to Capital Depot").click()
    expect(page.locator("#batch-sends").get_by_test_id("send-status")).to_have_text(["Delivered", "Delivered"],
                                                                                   timeout=30_000)
    assert len(smtp.messages) == 2


def test_support_reads_the_mail_log(page, live_server, smtp, ready_batch):
    from tests.helpers import recovery_codes
    sign_in(page, "billing@demo.test")
    page.goto(f"/reports/factoring/batches/{ready_batch.id}/email")
    page.get_by_role("button", name="Send to Capital Depot").click()
    expect(page.locator("#batch-sends").get_by_test_id("send-status")).to_have_text("Delivered", timeout=30_000)
    page.context.clear_cookies()

    page.goto("/login")
    page.get_by_label("Email").fill("support@demo.test")
    page.get_by_label("Password").fill("demo-password")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Code").fill(recovery_codes("support")[0])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login" not in url)
    page.get_by_text("Management", exact=True).click()
    page.get_by_role("link", name="Mail log").click()
    expect(page.get_by_role("heading", name="Mail log")).to_be_visible()
    row = page.locator("tr", has_text="batches@capitaldepot.example")
    expect(row).to_contain_text("Demo Trucking")
    expect(row).to_contain_text("Sent")
    assert_accessible(page, "the mail log")
