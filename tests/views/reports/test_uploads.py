"""Report uploads (webapp/reports/uploads.py): templates, Billing gate, tenancy, htmx and no-JS, downloads."""
import csv
import io

import pytest

from tests.helpers import csv_bytes
from tests.helpers import in_db
from tests.helpers import purchase_csv
from tests.helpers import purchase_rows
from tests.helpers import reload
from tests.helpers import snapshot
from webapp.models import FINANCED
from webapp.models import ReportUpload
from webapp.services import reports as report_apply
from webapp.services.reports.parsing import PAYMENT_COLUMNS
from webapp.services.reports.parsing import PURCHASE_COLUMNS

HX = {"HX-Request": "true"}


@pytest.fixture
def other_batch(make_batch, world):
    """A submitted batch of two loads of the other tenant, Other Carrier Co."""
    return make_batch(count=2, subsidiary=world.other_sub)


def post_file(client, url, data, name="report.csv", headers=None):
    return client.post(url, data={"file": (io.BytesIO(data), name)}, headers=headers or {},
                       content_type="multipart/form-data")


def upload_url(batch, kind="purchase"):
    return f"/reports/factoring/batches/{batch.id}/{kind}-report"


# --- templates --------------------------------------------------------------------------

@pytest.mark.parametrize("path, columns", [
    ("/reports/factoring/templates/Purchase_Report.csv", PURCHASE_COLUMNS),
    ("/reports/factoring/templates/Payments_Report.csv", PAYMENT_COLUMNS),
])
def test_blank_templates_have_the_headers_only(client, auth, path, columns):
    assert client.get(path).status_code == 302  # sign in first
    auth.login("dispatch")
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.get_data(as_text=True).lstrip("\ufeff") == ",".join(columns) + "\r\n"


def test_prefilled_template_is_scoped_to_the_tenant(client, auth, submitted_batch, other_batch):
    auth.login("billing")
    b, loads = submitted_batch
    response = client.get(f"/reports/factoring/batches/{b.id}/Purchase_Report.csv")
    assert response.status_code == 200
    assert f"Purchase_Report_batch_{b.number}.csv" in response.headers["Content-Disposition"]
    body = response.get_data(as_text=True)
    assert all(x.invoice_number in body for x in loads)
    ob, _ = other_batch
    assert client.get(f"/reports/factoring/batches/{ob.id}/Purchase_Report.csv").status_code == 404
    assert client.get(f"/reports/factoring/batches/{ob.id}/Payments_Report.csv").status_code == 404


# --- permissions and scoping ----------------------------------------------------------------

def test_upload_needs_the_billing_permission(client, auth, submitted_batch, app):
    b, loads = submitted_batch
    auth.login("dispatch")
    with in_db(app):
        before = snapshot()
    assert post_file(client, upload_url(b), purchase_csv(loads)).status_code == 403
    assert post_file(client, upload_url(b, "payment"), purchase_csv(loads)).status_code == 403
    with in_db(app):
        assert ReportUpload.select().count() == 0
        assert snapshot() == before


def test_confirm_needs_the_billing_permission(client, auth, submitted_batch, app):
    b, loads = submitted_batch
    auth.login("billing")
    response = post_file(client, upload_url(b), purchase_csv(loads))
    upload_path = response.headers["Location"]
    auth.logout()
    auth.login("dispatch")
    page = client.get(upload_path).get_data(as_text=True)
    assert "Only a user with the Billing permission can confirm" in page
    assert ">Confirm</button>" not in page
    assert "Upload Purchase Report" not in page
    assert client.post(upload_path + "/confirm").status_code == 403
    with in_db(app):
        assert {x.billing_status for x in reload(loads)} == {"invoiced"}


def test_another_tenants_batch_and_upload_answer_404(client, auth, other_batch, app, world):
    ob, loads = other_batch
    with in_db(app):
        theirs = report_apply.preview(ob, "purchase", purchase_csv(loads), world.other).upload
    auth.login("billing")
    assert post_file(client, upload_url(ob), purchase_csv(loads)).status_code == 404
    for suffix in ("", "/errors.csv", "/file"):
        assert client.get(f"/reports/factoring/uploads/{theirs.id}{suffix}").status_code == 404
    assert client.post(f"/reports/factoring/uploads/{theirs.id}/confirm").status_code == 404
    with in_db(app):
        assert ReportUpload.get_by_id(theirs.id).status == "preview"


# --- the flow ------------------------------------------------------------------------------

def test_htmx_upload_previews_in_place_and_confirm_shows_the_result(client, auth, submitted_batch, app):
    b, loads = submitted_batch
    auth.login("billing")
    response = post_file(client, upload_url(b), purchase_csv(loads), "Purchase_Report.csv", HX)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<html" not in html and 'data-testid="report-preview"' in html
    assert "No errors." in html and ">Confirm</button>" in html
    with in_db(app):
        upload_id = ReportUpload.select().order_by(ReportUpload.id.desc()).first().id
    response = client.post(f"/reports/factoring/uploads/{upload_id}/confirm", headers=HX)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Purchase Report applied" in html and "3 financed" in html
    assert 'id="batch-money" data-testid="batch-money" hx-swap-oob="true"' in html
    assert 'id="report-upload-list" hx-swap-oob="true"' in html
    with in_db(app):
        assert {x.billing_status for x in reload(loads)} == {FINANCED}


def test_without_javascript_upload_and_confirm_redirect_to_full_pages(client, auth, submitted_batch, app):
    b, loads = submitted_batch
    auth.login("billing")
    response = post_file(client, upload_url(b), purchase_csv(loads))
    assert response.status_code == 303
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<html" in html and "Purchase Report: preview" in html and 'name="csrf_token"' in html
    response = client.post(response.headers["Location"] + "/confirm")
    assert response.status_code == 303
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Purchase Report applied: 3 financed." in html
    assert "Applied reports" in html and "report.csv" in html


def test_refused_file_gets_its_message_in_place(client, auth, submitted_batch, app):
    b, loads = submitted_batch
    auth.login("billing")
    response = post_file(client, upload_url(b), b"%PDF-1.4 not a csv", "report.pdf", HX)
    assert response.status_code == 422
    assert "This file is a PDF document" in response.get_data(as_text=True)
    response = post_file(client, upload_url(b), b"%PDF-1.4 not a csv", "report.pdf")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "<html" in html and "Purchase Report not accepted." in html and "Nothing was changed." in html


def test_no_file_chosen(client, auth, submitted_batch):
    b, _ = submitted_batch
    auth.login("billing")
    response = client.post(upload_url(b), data={}, headers=HX)
    assert response.status_code == 422
    assert "Choose the Purchase Report file" in response.get_data(as_text=True)


def test_oversized_upload_gets_413_with_the_limit(client, auth, submitted_batch, app):
    b, _ = submitted_batch
    auth.login("billing")
    big = b"Invoice Number,Purchase Date,Advance Amount\r\n" + b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    response = post_file(client, upload_url(b), big, "big.csv", HX)
    assert response.status_code == 413
    assert "That file is too large: the limit is 10 MB." in response.get_data(as_text=True)
    with in_db(app):
        assert ReportUpload.select().count() == 0


def test_preview_with_errors_blocks_confirm_and_offers_the_errors_csv(client, auth, submitted_batch, app):
    b, loads = submitted_batch
    auth.login("billing")
    rows = purchase_rows(loads)
    rows[1][4] = "=1+2"  # a formula where an amount should be
    rows[2][8], rows[2][7] = "@SUM(A1)", "held"
    rows[0][4] = "abc"
    response = post_file(client, upload_url(b), csv_bytes(PURCHASE_COLUMNS, rows), "bad.csv", HX)
    html = response.get_data(as_text=True)
    assert "nothing can be applied" in html and ">Confirm</button>" not in html
    assert "Download rows with errors" in html
    with in_db(app):
        upload_id = ReportUpload.select().order_by(ReportUpload.id.desc()).first().id
        before = snapshot()
    response = client.post(f"/reports/factoring/uploads/{upload_id}/confirm", headers=HX)
    assert response.status_code == 422
    assert "nothing was applied" in response.get_data(as_text=True)
    with in_db(app):
        assert snapshot() == before
    response = client.get(f"/reports/factoring/uploads/{upload_id}/errors.csv")
    assert response.status_code == 200 and "bad_errors.csv" in response.headers["Content-Disposition"]
    table = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert table[0] == ["Row"] + PURCHASE_COLUMNS + ["Error"]
    assert [r[0] for r in table[1:]] == ["2", "3"]
    assert table[1][-1] == "Advance Amount: 'abc' is not an amount."
    assert table[2][5] == "'=1+2"  # formula-safe
    assert "'=1+2' is not an amount" in table[2][-1]


def test_original_file_is_downloadable_byte_for_byte(client, auth, submitted_batch, app):
    b, loads = submitted_batch
    auth.login("billing")
    data = purchase_csv(loads)
    location = post_file(client, upload_url(b), data, "Purchase Report (Nov).csv").headers["Location"]
    client.post(location + "/confirm")
    auth.logout()
    auth.login("dispatch")  # any signed-in user of the company may read it
    response = client.get(location + "/file")
    assert response.status_code == 200
    assert response.data == data
    assert "Purchase Report (Nov).csv" in response.headers["Content-Disposition"]


def test_the_same_file_again_through_the_page_says_when_and_who(client, auth, submitted_batch, app):
    b, loads = submitted_batch
    auth.login("billing")
    location = post_file(client, upload_url(b), purchase_csv(loads)).headers["Location"]
    client.post(location + "/confirm")
    response = post_file(client, upload_url(b), purchase_csv(loads), "again.csv", HX)
    assert response.status_code == 409
    assert "already applied on" in response.get_data(as_text=True)
    assert "by Blair Billing" in response.get_data(as_text=True)
    response = client.post(location + "/confirm", headers=HX)
    assert response.status_code == 409 and "already applied on" in response.get_data(as_text=True)
