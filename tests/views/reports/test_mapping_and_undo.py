"""The mapping step and undo through the upload routes (webapp/reports/uploads.py): htmx and
no-JS, the Billing gate, another tenant's upload, refusals that change nothing."""
import io
import re

import pytest

from tests.helpers import in_db
from tests.helpers import purchase_csv
from tests.helpers import reload
from tests.helpers import snapshot
from tests.services.reports.test_mapping import OUR_CHOICE
from tests.services.reports.test_mapping import factor_workbook
from webapp.models import FINANCED
from webapp.models import INVOICED
from webapp.models import UPLOAD_REVERSED
from webapp.models import ReportMapping
from webapp.models import ReportUpload
from webapp.services.reports.parsing import PURCHASE_COLUMNS

HX = {"HX-Request": "true"}


def post_file(client, url, data, name, headers=None):
    return client.post(url, data={"file": (io.BytesIO(data), name)}, headers=headers or {},
                       content_type="multipart/form-data")


def mapping_form(choice):
    return {f"field-{i}": choice.get(field, "") for i, field in enumerate(PURCHASE_COLUMNS)}


def latest_upload(app):
    with in_db(app):
        return ReportUpload.select().order_by(ReportUpload.id.desc()).get()


def test_the_mapping_step_then_the_preview_then_confirm(client, auth, submitted_batch, app):
    batch, loads = submitted_batch
    auth.login("billing")
    response = post_file(client, f"/reports/factoring/batches/{batch.id}/purchase-report",
                         factor_workbook(loads), "funding.xlsx", HX)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and 'data-testid="report-mapping"' in page
    assert "which column holds what?" in page
    assert re.search(r'<option value="netadvance" selected>E: Net Advance — e\.g\. ', page)
    upload = latest_upload(app)

    refused = client.post(f"/reports/factoring/uploads/{upload.id}/mapping",
                          data=mapping_form({**OUR_CHOICE, "Purchase Date": ""}), headers=HX)
    assert refused.status_code == 422
    assert "Purchase Date is required: choose the column that holds it." in refused.get_data(as_text=True)
    with in_db(app):
        assert ReportMapping.select().count() == 0

    mapped = client.post(f"/reports/factoring/uploads/{upload.id}/mapping", data=mapping_form(OUR_CHOICE),
                         headers=HX)
    body = mapped.get_data(as_text=True)
    assert mapped.status_code == 200 and 'data-testid="mapping-used"' in body
    assert "Read with the mapping saved on" in body and "Change the mapping" in body
    assert client.post(f"/reports/factoring/uploads/{upload.id}/confirm", headers=HX).status_code == 200
    with in_db(app):
        assert {x.billing_status for x in reload(loads)} == {FINANCED}

    # Change the mapping: once applied, the upload no longer waits, the step is refused plainly.
    gone = client.get(f"/reports/factoring/uploads/{upload.id}/mapping", headers=HX)
    assert gone.status_code == 409 and "no longer waiting for confirmation" in gone.get_data(as_text=True)


def test_without_javascript_the_mapping_posts_and_comes_back_to_the_upload(client, auth, submitted_batch, app):
    batch, loads = submitted_batch
    auth.login("billing")
    response = post_file(client, f"/reports/factoring/batches/{batch.id}/purchase-report",
                         factor_workbook(loads), "funding.xlsx")
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "which column holds what?" in page and "<html" in page
    upload = latest_upload(app)
    mapped = client.post(f"/reports/factoring/uploads/{upload.id}/mapping", data=mapping_form(OUR_CHOICE))
    assert mapped.status_code == 303 and mapped.headers["Location"].endswith(f"/uploads/{upload.id}")
    assert "Read with the mapping saved on" in client.get(mapped.headers["Location"]).get_data(as_text=True)


def test_mapping_and_undo_need_billing_and_the_tenant(client, auth, submitted_batch, app, make_batch, world):
    batch, loads = submitted_batch
    auth.login("billing")
    post_file(client, f"/reports/factoring/batches/{batch.id}/purchase-report", factor_workbook(loads),
              "funding.xlsx", HX)
    upload = latest_upload(app)
    auth.logout()
    auth.login("dispatch")
    before = snapshot_in(app)
    assert client.post(f"/reports/factoring/uploads/{upload.id}/mapping", data=mapping_form(OUR_CHOICE),
                       headers=HX).status_code == 403
    assert client.post(f"/reports/factoring/uploads/{upload.id}/reverse", data={"reason": "x"},
                       headers=HX).status_code == 403
    auth.logout()
    auth.login("other")
    assert client.post(f"/reports/factoring/uploads/{upload.id}/mapping", data=mapping_form(OUR_CHOICE),
                       headers=HX).status_code == 404
    assert client.post(f"/reports/factoring/uploads/{upload.id}/reverse", data={"reason": "x"},
                       headers=HX).status_code == 404
    assert snapshot_in(app) == before


def snapshot_in(app):
    with in_db(app):
        return snapshot()


def test_undo_from_the_details_puts_the_batch_back_and_the_history_says_why(client, auth, submitted_batch, app):
    batch, loads = submitted_batch
    auth.login("billing")
    post_file(client, f"/reports/factoring/batches/{batch.id}/purchase-report", purchase_csv(loads), "p.csv", HX)
    upload = latest_upload(app)
    client.post(f"/reports/factoring/uploads/{upload.id}/confirm", headers=HX)
    details = client.get(f"/reports/factoring/uploads/{upload.id}").get_data(as_text=True)
    assert "Reverse this report" in details

    empty = client.post(f"/reports/factoring/uploads/{upload.id}/reverse", data={"reason": " "}, headers=HX)
    assert empty.status_code == 422 and "Say why the report is reversed" in empty.get_data(as_text=True)

    done = client.post(f"/reports/factoring/uploads/{upload.id}/reverse",
                       data={"reason": "Uploaded on the wrong batch"}, headers=HX)
    body = done.get_data(as_text=True)
    assert done.status_code == 200 and 'data-testid="reversed"' in body and "Uploaded on the wrong batch" in body
    assert 'hx-swap-oob' in body  # the batch page's regions are redrawn with it
    with in_db(app):
        assert ReportUpload.get_by_id(upload.id).status == UPLOAD_REVERSED
        assert {x.billing_status for x in reload(loads)} == {INVOICED}
    history = client.get(f"/loads/{loads[0].id}").get_data(as_text=True)
    assert "Reversed by Blair Billing: Uploaded on the wrong batch" in history
    assert f'/reports/factoring/uploads/{upload.id}"' in history

    again = client.post(f"/reports/factoring/uploads/{upload.id}/reverse", data={"reason": "again"}, headers=HX)
    assert again.status_code == 409 and "already reversed" in again.get_data(as_text=True)


def test_undo_without_javascript_redirects_with_the_message(client, auth, financed_batch, app):
    batch, loads = financed_batch
    auth.login("billing")
    with in_db(app):
        upload = ReportUpload.get((ReportUpload.batch == batch.id) & (ReportUpload.kind == "purchase"))
    response = client.post(f"/reports/factoring/uploads/{upload.id}/reverse", data={"reason": "wrong file"})
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Purchase Report reversed: 3 loads put back." in page


@pytest.mark.parametrize("field", ["field-0", "field-4"])
def test_hostile_mapping_values_change_nothing(client, auth, submitted_batch, app, field):
    batch, loads = submitted_batch
    auth.login("billing")
    post_file(client, f"/reports/factoring/batches/{batch.id}/purchase-report", factor_workbook(loads),
              "funding.xlsx", HX)
    upload = latest_upload(app)
    before = snapshot_in(app)
    form = {**mapping_form(OUR_CHOICE), field: "<script>alert(1)</script>" * 50}
    response = client.post(f"/reports/factoring/uploads/{upload.id}/mapping", data=form, headers=HX)
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "the file has no column" in text and "<script>alert(1)" not in text
    assert snapshot_in(app) == before
