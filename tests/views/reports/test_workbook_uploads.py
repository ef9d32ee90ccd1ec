"""Workbook reports through the views: the sheet question, the rows left out, the file picker."""
import io

from tests import workbook_files as wb
from tests.helpers import LOADS_HEADER
from tests.helpers import in_db
from tests.helpers import load_row
from tests.helpers import payment_rows
from tests.helpers import purchase_rows
from tests.helpers import reload
from tests.helpers import snapshot
from webapp.models import COMPLETED
from webapp.models import FINANCED
from webapp.models import Load
from webapp.models import ReportUpload
from webapp.models import StoredFile
from webapp.services.reports.parsing import PAYMENT_COLUMNS
from webapp.services.reports.parsing import PURCHASE_COLUMNS

HX = {"HX-Request": "true"}
ACCEPT = 'accept=".csv,.xlsx,.xlsm,.xls,.ods,'


def post_file(client, url, data, name):
    return client.post(url, data={"file": (io.BytesIO(data), name)}, headers=HX, content_type="multipart/form-data")


def test_purchase_then_payment_report_as_xlsx_with_a_title_block_and_a_sheet_question(client, auth, submitted_batch,
                                                                                      app):
    batch, loads = submitted_batch
    auth.login("billing")
    page = client.get(f"/reports/factoring/batches/{batch.id}").get_data(as_text=True)
    assert page.count(ACCEPT) == 2
    data = wb.xlsx({"Notes": [["Read me first"]], "Funding": wb.report_rows(PURCHASE_COLUMNS, purchase_rows(loads))})
    response = post_file(client, f"/reports/factoring/batches/{batch.id}/purchase-report", data, "Funding.xlsx")
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    assert 'data-testid="sheet-choice"' in html and '<option value="Funding" selected>' in html
    assert "Rows 1–5: title" in html and "notes" in html and ">Confirm</button>" in html
    with in_db(app):
        upload_id = ReportUpload.select().order_by(ReportUpload.id.desc()).first().id
    answer = client.post(f"/reports/factoring/uploads/{upload_id}/sheet", data={"sheet": "Notes"}, headers=HX)
    assert answer.status_code == 200 and '<option value="Notes" selected>' in answer.get_data(as_text=True)
    assert ">Confirm</button>" not in answer.get_data(as_text=True)
    answer = client.post(f"/reports/factoring/uploads/{upload_id}/sheet", data={"sheet": "Funding"}, headers=HX)
    assert ">Confirm</button>" in answer.get_data(as_text=True)
    response = client.post(f"/reports/factoring/uploads/{upload_id}/confirm", headers=HX)
    assert response.status_code == 200 and "3 financed" in response.get_data(as_text=True)
    with in_db(app):
        assert {x.billing_status for x in reload(loads)} == {FINANCED}
        fresh = reload(loads)
    payments = wb.xlsx({"Remittance": wb.report_rows(PAYMENT_COLUMNS, payment_rows(fresh))})
    response = post_file(client, f"/reports/factoring/batches/{batch.id}/payment-report", payments, "Remit.xlsx")
    assert response.status_code == 200 and ">Confirm</button>" in response.get_data(as_text=True)
    with in_db(app):
        upload_id = ReportUpload.select().order_by(ReportUpload.id.desc()).first().id
    assert client.post(f"/reports/factoring/uploads/{upload_id}/confirm", headers=HX).status_code == 200
    with in_db(app):
        assert {x.billing_status for x in reload(loads)} == {COMPLETED}


def test_a_protected_workbook_is_refused_and_changes_nothing(client, auth, submitted_batch, app):
    batch, _ = submitted_batch
    auth.login("billing")
    with in_db(app):
        before = snapshot()
    data = wb.protected(wb.xlsx({"S": [PURCHASE_COLUMNS]}))
    response = post_file(client, f"/reports/factoring/batches/{batch.id}/purchase-report", data, "r.xlsx")
    assert response.status_code == 422 and "password-protected" in response.get_data(as_text=True)
    with in_db(app):
        assert snapshot() == before


def test_load_import_from_a_workbook_asks_which_sheet_and_imports_it(client, auth, world, app):
    auth.login("dispatch")
    page = client.get("/loads/import").get_data(as_text=True)
    assert ACCEPT in page
    data = wb.xlsx({"Cover": [["Loads of week 48"]], "Loads": [["Loads to import"], [], LOADS_HEADER, load_row()]})
    response = post_file(client, "/loads/import", data, "loads.xlsx")
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    assert '<option value="Loads" selected>' in html and "Rows 1–2: title" in html
    assert 'name="sheet" value="Loads"' in html
    with in_db(app):
        upload_id = StoredFile.select().order_by(StoredFile.id.desc()).first().id
    other = client.post("/loads/import/sheet", data={"upload_id": upload_id, "sheet": "Cover"}, headers=HX)
    assert other.status_code == 422 and '<option value="Cover" selected>' in other.get_data(as_text=True)
    response = client.post("/loads/import/commit", data={"upload_id": upload_id, "sheet": "Loads"})
    assert response.status_code == 303
    with in_db(app):
        assert Load.select().where(Load.load_number == "IMP-1").count() == 1
