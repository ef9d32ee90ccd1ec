"""The batch page tells one truth (webapp/reports/views.py batch_regions): every action answers
htmx with every region of the page redrawn out of band from one read model; Mark as sent."""
import io
import re

import pytest

from tests.helpers import in_db
from tests.helpers import purchase_csv
from webapp.models import BATCH_CANCELLED
from webapp.models import BATCH_READY
from webapp.models import AuditLog
from webapp.models import Batch
from webapp.models import Load
from webapp.models import ReportUpload

REGIONS = ("batch-head", "batch-state", "batch-facts", "batch-email", "batch-money", "report-forms", "report-upload-list",
           "batch-loads")


def hx(batch, query=""):
    """The headers htmx sends from the batch page (its address, with QUERY)."""
    return {"HX-Request": "true",
            "HX-Current-URL": f"http://localhost/reports/factoring/batches/{batch.id}{query}"}


def oob_ids(html):
    return set(re.findall(r'id="([a-z-]+)"[^>]*hx-swap-oob="true"', html))


def badge(html):
    return re.search(r'data-testid="batch-state-badge">([^<]+)<', html).group(1)


def test_retry_answers_with_the_notice_and_every_region(client, auth, failed_batch, app):
    batch = failed_batch.batch
    auth.login("billing")
    response = client.post(f"/reports/factoring/batches/{batch.id}/retry", headers=hx(batch))
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert html.lstrip().startswith('<div class="flash flash-success" role="status"')
    assert f"Batch #{batch.number} is being generated again." in html
    assert oob_ids(html) == set(REGIONS)
    # the immediate queue ran the job again: every region says so, none says Failed
    assert badge(html) == "Ready to send"
    assert 'data-state="ready"' in html and "Failed" not in html
    assert html.count(">Invoiced</span>") == 2 and "Download batch file" in html
    with in_db(app):
        assert Batch.get_by_id(batch.id).status == BATCH_READY


def test_cancel_answers_with_every_region_cancelled(client, auth, failed_batch, app):
    batch = failed_batch.batch
    auth.login("billing")
    html = client.post(f"/reports/factoring/batches/{batch.id}/cancel", headers=hx(batch)).get_data(as_text=True)
    assert "its 2 loads are back on Factoring Upload" in html
    assert oob_ids(html) == set(REGIONS)
    assert badge(html) == "Cancelled" and 'data-state="cancelled"' in html
    assert html.count("Left the batch: Batch cancelled") == 2
    assert "Retry</button>" not in html and "Cancel batch</button>" not in html
    with in_db(app):
        assert Batch.get_by_id(batch.id).status == BATCH_CANCELLED


def test_a_refused_action_says_why_in_place_and_changes_nothing(client, auth, submitted_batch, app):
    batch = submitted_batch.batch
    auth.login("billing")
    html = client.post(f"/reports/factoring/batches/{batch.id}/cancel", headers=hx(batch)).get_data(as_text=True)
    assert html.lstrip().startswith('<div class="flash flash-error" role="alert"')
    assert "only a failed or waiting batch can be cancelled" in html
    assert badge(html) == "Ready to send"
    with in_db(app):
        assert Batch.get_by_id(batch.id).status == BATCH_READY


def test_without_javascript_actions_still_redirect_with_the_message(client, auth, failed_batch):
    batch = failed_batch.batch
    auth.login("billing")
    response = client.post(f"/reports/factoring/batches/{batch.id}/cancel")
    assert response.status_code == 303
    assert "its 2 loads are back" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_mark_as_sent_moves_the_batch_to_sent_everywhere_on_the_page(client, auth, submitted_batch, app):
    batch = submitted_batch.batch
    auth.login("billing")
    page = client.get(f"/reports/factoring/batches/{batch.id}").get_data(as_text=True)
    assert "Mark as sent to Capital Depot</button>" in page and badge(page) == "Ready to send"
    html = client.post(f"/reports/factoring/batches/{batch.id}/sent", headers=hx(batch)).get_data(as_text=True)
    assert f"Batch #{batch.number} is marked as sent." in html
    assert oob_ids(html) == set(REGIONS)
    assert badge(html) == "Sent" and "Sent to Capital Depot" in html and "Mark as sent" not in html
    assert "Blair Billing" in re.search(r'data-testid="batch-sent">(.*?)</dd>', html).group(1)
    with in_db(app):
        assert Batch.get_by_id(batch.id).sent_at is not None
        assert AuditLog.select().where(AuditLog.action == "batch.sent", AuditLog.object_id == batch.id).count() == 1
    # twice: said plainly, nothing changes
    again = client.post(f"/reports/factoring/batches/{batch.id}/sent", headers=hx(batch)).get_data(as_text=True)
    assert "was already marked as sent" in again
    with in_db(app):
        assert AuditLog.select().where(AuditLog.action == "batch.sent").count() == 1


def test_mark_as_sent_from_factoring_upload_answers_with_its_line(client, auth, submitted_batch, app):
    batch = submitted_batch.batch
    auth.login("billing")
    html = client.post(f"/reports/factoring/batches/{batch.id}/sent?line=1",
                       headers={"HX-Request": "true"}).get_data(as_text=True)
    assert html.lstrip().startswith(f'<li class="batch-line tone-wait" id="batch-line-{batch.id}"')
    assert "Marked as sent to Capital Depot" in html and ">Sent</span>" in html
    with in_db(app):
        subsidiary_id = batch.subsidiary_id
    page = client.get(f"/accounting/factoring-upload/?subsidiary_id={subsidiary_id}").get_data(as_text=True)
    assert f'id="batch-line-{batch.id}"' not in page  # it no longer needs action


def test_mark_as_sent_needs_billing_and_a_ready_batch(client, auth, submitted_batch, failed_batch, app):
    auth.login("dispatch")
    assert client.post(f"/reports/factoring/batches/{submitted_batch.batch.id}/sent").status_code == 403
    auth.logout()
    auth.login("billing")
    html = client.post(f"/reports/factoring/batches/{failed_batch.batch.id}/sent",
                       headers=hx(failed_batch.batch)).get_data(as_text=True)
    assert "has no file to send yet (Failed)" in html
    with in_db(app):
        assert Batch.select().where(Batch.sent_at.is_null(False)).count() == 0


def test_confirm_on_the_batch_page_redraws_every_region_from_the_same_read_model(client, auth, submitted_batch, app):
    batch, loads = submitted_batch
    auth.login("billing")
    # the clerk had sorted the loads by amount: the redrawn table keeps that order
    response = client.post(f"/reports/factoring/batches/{batch.id}/purchase-report",
                           data={"file": (io.BytesIO(purchase_csv(loads)), "Purchase_Report.csv")},
                           headers=hx(batch, "?sort=amount&dir=desc"), content_type="multipart/form-data")
    assert response.status_code == 200
    with in_db(app):
        upload_id = ReportUpload.select().order_by(ReportUpload.id.desc()).first().id
    html = client.post(f"/reports/factoring/uploads/{upload_id}/confirm",
                       headers=hx(batch, "?sort=amount&dir=desc")).get_data(as_text=True)
    assert html.lstrip().startswith('<div class="report-result"')
    assert oob_ids(html) == set(REGIONS) | {"batch-notice"}  # an earlier action's notice emptied
    assert badge(html) == "Funded" and "Funded</strong>" in html  # header badge and state line
    loads_table = html[html.index('id="batch-loads"'):]
    assert loads_table.count(">Financed</span>") == 3 and ">Invoiced</span>" not in loads_table
    assert "3 Financed, 0 Completed" in html  # money
    assert "Purchase_Report.csv</a>" in html  # applied reports
    with in_db(app):
        by_amount = [x.load_number for x in Load.select().where(Load.batch == batch.id)
                     .order_by(Load.total_cents.desc())]
    shown = re.findall(r'data-testid="batch-load">\s*<td class="nowrap"><a href="[^"]+">([^<]+)</a>', loads_table)
    assert shown == by_amount
    assert 'aria-sort="descending"' in loads_table


def test_confirm_on_the_upload_page_redraws_only_what_that_page_has(client, auth, submitted_batch, app):
    batch, loads = submitted_batch
    auth.login("billing")
    response = client.post(f"/reports/factoring/batches/{batch.id}/purchase-report",
                           data={"file": (io.BytesIO(purchase_csv(loads)), "Purchase_Report.csv")},
                           content_type="multipart/form-data")
    location = response.headers["Location"]
    html = client.post(location + "/confirm", headers={"HX-Request": "true",
                                                       "HX-Current-URL": "http://localhost" + location}
                       ).get_data(as_text=True)
    assert oob_ids(html) == {"batch-money", "report-forms", "report-upload-list"}


@pytest.mark.parametrize("was, redraws_head", [("generating", False), ("waiting", True)])
def test_the_state_line_asks_every_second_and_redraws_the_head_only_when_the_state_changes(
        client, auth, app, world, was, redraws_head):
    from webapp.services import batches
    with in_db(app):
        batch = batches.create_batch(world.company, world.freight, world.eligible(12), world.billing)
        Batch.update(status="running", progress_done=4).where(Batch.id == batch.id).execute()
    auth.login("billing")
    html = client.get(f"/reports/factoring/batches/{batch.id}/progress?view=page&was={was}",
                      headers=hx(batch)).get_data(as_text=True)
    assert html.lstrip().startswith('<section id="batch-state"')
    assert "Generating invoice 5 of 12" in html and 'value="4"' in html
    assert 'hx-trigger="every 1s"' in html and "was=generating" in html
    assert ('id="batch-head" class="batch-head" hx-swap-oob="true"' in html) == redraws_head
    assert 'id="batch-loads"' not in html  # the loads wait for the end of the job
