"""Reports > Factoring (webapp/reports/views.py): the list, the batch page, Download, Retry and Cancel."""
import hashlib
import io
import re
import zipfile

import pytest

from tests.helpers import count_queries
from tests.helpers import in_db
from tests.helpers import submit_batch
from webapp.models import BATCH_CANCELLED
from webapp.models import BATCH_FAILED
from webapp.models import BATCH_READY
from webapp.models import FINANCED
from webapp.models import Batch
from webapp.models import BatchLoad
from webapp.models import Load
from webapp.services import batches
from webapp.services.money import format_money

HX = {"HX-Request": "true"}


@pytest.fixture
def ready_batch(submitted_batch):
    """The submitted batch of three loads, and their ids."""
    return submitted_batch.batch, [load.id for load in submitted_batch.loads]


@pytest.fixture
def failed(failed_batch):
    """The failed batch of two loads (its job could not render an invoice)."""
    batch = failed_batch.batch
    assert batch.status == BATCH_FAILED
    return batch


def test_list_shows_number_date_submitter_count_total_state_and_download(client, auth, ready_batch, app):
    batch, ids = ready_batch
    with in_db(app):
        Load.update(billing_status=FINANCED).where(Load.id == ids[0]).execute()
    auth.login("dispatch")
    page = client.get("/reports/factoring/").get_data(as_text=True)
    assert f">#{batch.number}</a>" in page
    assert "Blair Billing" in page
    assert format_money(batch.total_cents) in page
    assert ">Partly funded</span>" in page and "1 of 3 funded" in page
    assert f'href="/reports/factoring/batches/{batch.id}/download"' in page
    assert "File ready" not in page and "Factoring state" not in page  # one state per batch


def test_list_filters_by_subsidiary(client, auth, ready_batch, app, world):
    with in_db(app):
        logistics, freight = world.logistics.id, world.freight.id
    auth.login("billing")
    assert ">#1</a>" in client.get(f"/reports/factoring/?subsidiary_id={freight}").get_data(as_text=True)
    assert ">#1</a>" not in client.get(f"/reports/factoring/?subsidiary_id={logistics}").get_data(as_text=True)


def test_another_tenant_sees_neither_the_batch_nor_its_file(client, auth, ready_batch):
    batch, _ = ready_batch
    auth.login("other")
    assert f">#{batch.number}</a>" not in client.get("/reports/factoring/").get_data(as_text=True)
    for suffix in ("", "/download", "/progress", "/row"):
        assert client.get(f"/reports/factoring/batches/{batch.id}{suffix}", headers=HX).status_code == 404
    assert client.post(f"/reports/factoring/batches/{batch.id}/cancel").status_code == 404


def test_batch_page_shows_loads_file_hash_size_and_who_submitted(client, auth, ready_batch, app):
    batch, ids = ready_batch
    auth.login("billing")
    page = client.get(f"/reports/factoring/batches/{batch.id}").get_data(as_text=True)
    assert f"Batch #{batch.number}" in page
    assert batch.file_sha256 in page
    assert batch.file_name in page
    assert "Blair Billing" in page
    with in_db(app):
        size = batches.file_size(batch)
        numbers = [Load.get_by_id(i).load_number for i in ids]
    assert f"{size:,} bytes" in page
    assert all(n in page for n in numbers)
    assert page.count('data-testid="batch-load"') == 3
    assert page.count(">Invoiced</span>") == 3
    assert "Retry</button>" not in page and "Cancel batch</button>" not in page


def test_download_returns_the_same_stored_bytes_every_time(client, auth, ready_batch):
    batch, ids = ready_batch
    auth.login("dispatch")  # any signed-in user of the company may download
    url = f"/reports/factoring/batches/{batch.id}/download"
    first, second = client.get(url), client.get(url)
    assert first.status_code == 200
    assert first.data == second.data
    assert hashlib.sha256(first.data).hexdigest() == batch.file_sha256
    assert first.headers["Content-Type"] == "application/zip"
    assert first.headers["Content-Disposition"] == \
        "attachment; filename=capital-depot_demo-freight-llc_batch-0001.zip"
    names = zipfile.ZipFile(io.BytesIO(first.data)).namelist()
    assert "schedule.csv" in names and "schedule.pdf" in names and len(names) == 2 + len(ids)


def test_download_of_a_batch_without_file_says_so(client, auth, failed):
    auth.login("billing")
    response = client.get(f"/reports/factoring/batches/{failed.id}/download")
    assert response.status_code == 404
    assert "is not ready" in response.get_data(as_text=True)


def test_failed_batch_page_shows_the_reason_and_retry_and_cancel_for_billing(client, auth, failed):
    auth.login("billing")
    page = client.get(f"/reports/factoring/batches/{failed.id}").get_data(as_text=True)
    assert "Could not render the invoice for load" in page and "boom" in page
    assert "Retry</button>" in page and "Cancel batch</button>" in page
    auth.logout()
    auth.login("dispatch")
    page = client.get(f"/reports/factoring/batches/{failed.id}").get_data(as_text=True)
    assert "Retry</button>" not in page and "Cancel batch</button>" not in page


def test_retry_and_cancel_need_billing(client, auth, failed, app):
    auth.login("dispatch")
    assert client.post(f"/reports/factoring/batches/{failed.id}/retry").status_code == 403
    assert client.post(f"/reports/factoring/batches/{failed.id}/cancel").status_code == 403
    with in_db(app):
        assert Batch.get_by_id(failed.id).status == BATCH_FAILED


def test_retry_runs_the_job_again(client, auth, failed, app):
    auth.login("billing")
    response = client.post(f"/reports/factoring/batches/{failed.id}/retry")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/reports/factoring/batches/{failed.id}")
    with in_db(app):
        assert Batch.get_by_id(failed.id).status == BATCH_READY


def test_cancel_releases_the_loads(client, auth, failed, app):
    auth.login("billing")
    response = client.post(f"/reports/factoring/batches/{failed.id}/cancel")
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "its 2 loads are back on Factoring Upload" in page
    with in_db(app):
        assert Batch.get_by_id(failed.id).status == BATCH_CANCELLED
        assert Load.select().where(Load.batch == failed.id).count() == 0


def test_row_polls_while_running_and_stops_when_ready(client, auth, app, world):
    with in_db(app):
        batch = batches.create_batch(world.company, world.freight, world.eligible(2), world.billing)
        Batch.update(status="running", progress_done=1).where(Batch.id == batch.id).execute()
    auth.login("billing")
    row = client.get(f"/reports/factoring/batches/{batch.id}/row", headers=HX).get_data(as_text=True)
    assert row.lstrip().startswith(f'<tr id="batch-row-{batch.id}"')
    assert 'hx-trigger="every 1s"' in row and "<progress" in row
    page = client.get("/reports/factoring/").get_data(as_text=True)
    assert ">Generating</span>" in page and "Generating invoice 2 of 2" in page
    with in_db(app):
        Batch.update(status="pending").where(Batch.id == batch.id).execute()
        batches.run_batch(batch.id)
    row = client.get(f"/reports/factoring/batches/{batch.id}/row", headers=HX).get_data(as_text=True)
    assert "hx-trigger" not in row and "Download</a>" in row


def test_batch_page_progress_redraws_every_region_out_of_band_when_the_job_ends(client, auth, ready_batch):
    batch, _ = ready_batch
    auth.login("billing")
    page_url = f"http://localhost/reports/factoring/batches/{batch.id}"
    response = client.get(f"/reports/factoring/batches/{batch.id}/progress?view=page&was=generating",
                          headers={**HX, "HX-Current-URL": page_url})
    html = response.get_data(as_text=True)
    assert "HX-Refresh" not in response.headers  # no reload: the regions come in this answer
    assert html.lstrip().startswith('<section id="batch-state"') and 'data-state="ready"' in html
    for region in ("batch-head", "batch-facts", "batch-email", "batch-money", "report-forms", "report-upload-list", "batch-loads"):
        assert f'id="{region}"' in html, region
    assert html.count('hx-swap-oob="true"') == 8  # with the notice of an earlier action emptied
    assert html.count(">Invoiced</span>") == 3


def test_the_list_runs_a_bounded_number_of_queries_whatever_the_number_of_batches(client, auth, app, world):
    auth.login("billing")
    with in_db(app):
        ids = world.eligible(6)
        submit_batch(world.company, world.freight, ids[:1], world.billing)
    client.get("/reports/factoring/")
    with count_queries() as one:
        client.get("/reports/factoring/")
    with in_db(app):
        for i in range(1, 6):
            submit_batch(world.company, world.freight, ids[i:i + 1], world.billing)
    with count_queries() as six:
        client.get("/reports/factoring/")
    assert one.count == six.count


@pytest.mark.parametrize("key", ["load", "invoice", "customer", "amount", "status"])
@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_batch_page_lists_live_loads_first_in_the_order_asked(client, auth, make_batch, app, key, direction):
    made = make_batch("submitted", count=4)
    batch = made.batch
    with in_db(app):
        gone = BatchLoad.select().where(BatchLoad.batch == batch.id).order_by(BatchLoad.id).first()
        BatchLoad.update(live=False, removed_reason="Rejected by the factor").where(BatchLoad.id == gone.id).execute()
        rows = list(BatchLoad.select().where(BatchLoad.batch == batch.id))
        sort_key = {
            "load": lambda bl: (bl.load.load_number,),
            "invoice": lambda bl: (bl.invoice_number,),
            "customer": lambda bl: (bl.load.customer.name, bl.load.load_number),
            "amount": lambda bl: (bl.amount_cents,),
            "status": lambda bl: (bl.load.billing_status, bl.load.load_number),
        }[key]
        rows.sort(key=lambda bl: -bl.id)
        rows.sort(key=sort_key, reverse=(direction == "desc"))
        rows.sort(key=lambda bl: not bl.live)
        expected = [bl.load.load_number for bl in rows]
    auth.login("billing")
    page = client.get(f"/reports/factoring/batches/{batch.id}?sort={key}&dir={direction}").get_data(as_text=True)
    shown = re.findall(r'data-testid="batch-load">\s*<td class="nowrap"><a href="/loads/\d+">([^<]+)</a>', page)
    assert shown == expected and len(shown) == 4
    assert page.count('<tr class="removed"') == 1 and "Left the batch: Rejected by the factor" in page
