"""Hardening: bounded file parsing, safe files out, ids in range, no query string in url_for,
signed-in pages never cached, and the smaller findings of the review (one test each)."""
import io

import pytest

from tests.helpers import PASSWORD
from tests.helpers import csv_bytes
from tests.helpers import pdf_bytes
from tests.helpers import snapshot
from webapp.models import Batch
from webapp.models import Load
from webapp.models import LoadDocument
from webapp.models import StoredFile
from webapp.services.money import parse_money
from webapp.services.reports import templates as report_templates
from webapp.services.reports.parsing import PAYMENT_COLUMNS
from webapp.services.reports.parsing import parse_report
from webapp.services.tables import MAX_COLUMNS
from webapp.services.tables import FileFormatError
from webapp.services.tables import parse_date
from webapp.services.tables import read_table
from webapp.services.tables import write_csv
from webapp.services.validation import db_id

HUGE_ID = 2 ** 63  # one past the database's largest integer


# --- 2. header parsing is linear and bounded ---------------------------------------------

def test_a_header_of_200000_columns_is_refused_with_the_limit_named():
    data = ",".join(f"c{i}" for i in range(200_000)).encode() + b"\r\n1\r\n"
    with pytest.raises(FileFormatError, match=f"200,000 columns; a file may have at most {MAX_COLUMNS}"):
        read_table(data)


def test_200000_copies_of_one_header_name_are_refused_before_any_work_per_column():
    data = ",".join(["Invoice Number"] * 200_000).encode() + b"\r\n"
    with pytest.raises(FileFormatError, match="at most 500"):
        read_table(data)


def test_a_header_cell_longer_than_the_limit_is_refused_naming_its_column():
    data = b"Invoice Number," + b"x" * 5000 + b"\r\nINV-1,2\r\n"
    with pytest.raises(FileFormatError, match="header of column B is 5,000 characters long"):
        read_table(data)


def test_load_import_and_report_uploads_refuse_a_wide_header_with_the_message(client, auth, world):
    auth.login("billing")
    wide = ",".join(f"c{i}" for i in range(60_000)).encode() + b"\r\n"
    page = client.post("/loads/import", data={"file": (io.BytesIO(wide), "loads.csv")},
                       content_type="multipart/form-data")
    assert page.status_code == 422
    assert b"60,000 columns; a file may have at most 500" in page.data
    parsed = parse_report("purchase", wide)
    assert "60,000 columns" in parsed.file_error.message


# --- 7. files out and back in --------------------------------------------------------------

def test_headers_of_every_csv_out_are_formula_safe():
    text = write_csv(["=HYPERLINK(\"http://x\")", "Amount"], [["-INV5", "-12.50"]])
    first, second = text.split("\r\n")[:2]
    assert first.startswith("\"'=HYPERLINK(") and second == "'-INV5,-12.50"


def test_headers_equal_once_normalised_are_refused_naming_both_columns():
    data = b"Invoice Number,Amount Paid,invoice_number\r\nINV-1,10,INV-2\r\n"
    with pytest.raises(FileFormatError) as refused:
        read_table(data)
    message = str(refused.value)
    assert "Columns A ('Invoice Number') and C ('invoice_number') have the same header" in message


def test_the_protective_quote_comes_off_on_the_way_in():
    table = read_table(write_csv(["Invoice Number", "Notes"], [["=INV4", "-INV5"], ["'Twas", "+1 call"]]).encode())
    assert [cells for _, cells in table.rows] == [
        {"invoicenumber": "=INV4", "notes": "-INV5"}, {"invoicenumber": "'Twas", "notes": "+1 call"}]


def test_the_prefilled_payment_template_comes_back_in_with_formula_like_invoice_numbers(make_batch, in_app):
    made = make_batch("financed", count=2)
    Load.update(invoice_number="=INV4").where(Load.id == made.loads[0].id).execute()
    Load.update(invoice_number="-INV5").where(Load.id == made.loads[1].id).execute()
    text = report_templates.prefilled_template(Batch.get_by_id(made.batch.id), "payment")
    assert "'=INV4" in text and "'-INV5" in text
    table = read_table(text.encode())
    assert {cells["invoicenumber"] for _, cells in table.rows} == {"=INV4", "-INV5"}


def test_download_rows_with_errors_has_a_formula_safe_header(client, auth, world, make_batch):
    made = make_batch("financed", count=1)
    auth.login("billing")
    headers = list(PAYMENT_COLUMNS) + ["=HYPERLINK(\"http://evil\")"]
    data = csv_bytes(headers, [["NO-SUCH-INVOICE", "", "2026-12-20", "10.00", "", "", "", "", "", "", "x"]])
    page = client.post(f"/reports/factoring/batches/{made.batch.id}/payment-report",
                       data={"file": (io.BytesIO(data), "p.csv")}, content_type="multipart/form-data")
    assert page.status_code in (302, 303)
    upload_id = int(page.headers["Location"].rstrip("/").rsplit("/", 1)[-1])
    errors = client.get(f"/reports/factoring/uploads/{upload_id}/errors.csv").data.decode("utf-8-sig")
    header = errors.split("\r\n")[0]
    assert "'=HYPERLINK(" in header


# --- 5. ids, the query string, next --------------------------------------------------------

@pytest.mark.parametrize("path", [
    f"/loads/{HUGE_ID}", f"/reports/factoring/batches/{HUGE_ID}", f"/customers/{HUGE_ID}/edit",
    f"/reports/factoring/uploads/{10 ** 30}",
    f"/loads/?customer={HUGE_ID}&subsidiary={10 ** 40}", f"/reports/factoring/?subsidiary_id={HUGE_ID}",
    f"/accounting/factoring-upload/?subsidiary_id={HUGE_ID}&customer_id={HUGE_ID}",
    f"/management/company-profile/?subsidiary_id={HUGE_ID}",
])
def test_an_id_past_the_database_range_is_404_or_ignored_never_500(client, auth, path):
    auth.login("billing")
    response = client.get(path)
    assert response.status_code in (200, 404), (path, response.status_code)


def test_an_id_past_the_range_in_a_form_is_a_field_error(client, auth, world):
    auth.login("billing")
    page = client.post("/loads/new", data={"subsidiary_id": str(HUGE_ID), "customer_id": str(10 ** 25),
                                           "load_number": "X-1", "line_kind": "linehaul",
                                           "line_description": "", "line_amount": "100"})
    assert page.status_code == 422
    assert b"Choose the subsidiary that bills this load." in page.data


def test_a_submit_with_an_id_past_the_range_changes_nothing(client, auth, world):
    auth.login("billing")
    before = snapshot()
    page = client.post(f"/accounting/factoring-upload/submit?subsidiary_id={world.freight.id}",
                       data={"load_id": [str(HUGE_ID)]})
    assert page.status_code in (200, 303)
    assert snapshot() == before


def test_db_id_takes_only_ascii_whole_numbers_in_range():
    assert db_id("42") == 42 and db_id(2 ** 63 - 1) == 2 ** 63 - 1
    assert [db_id(v) for v in ("0", "-1", str(2 ** 63), "١٢", "1e3", "", None, "9" * 40)] == [None] * 8


@pytest.mark.parametrize("key", ["_external", "_scheme", "_method", "_anchor"])
def test_the_query_string_never_reaches_url_for(client, auth, world, key):
    auth.login("billing")
    page = client.get(f"/accounting/factoring-upload/?subsidiary_id={world.freight.id}&{key}=https")
    assert page.status_code == 200
    assert b'action="http' not in page.data
    assert b'action="/accounting/factoring-upload/submit?' in page.data


def test_next_with_a_line_break_is_refused(client):
    response = client.post("/login?next=/loads/%0D%0ASet-Cookie:x=1", data={"email": "billing@demo.test",
                                                                             "password": PASSWORD})
    assert response.status_code in (302, 303)
    assert response.headers["Location"] == "/"


# --- 8. caching ------------------------------------------------------------------------------

def test_signed_in_pages_and_downloads_are_never_stored(client, auth, world, make_batch):
    made = make_batch("financed", count=1)
    auth.login("billing")
    upload = client.post(f"/reports/factoring/batches/{made.batch.id}/payment-report",
                         data={"file": (io.BytesIO(csv_bytes(PAYMENT_COLUMNS, [])), "p.csv")},
                         content_type="multipart/form-data")
    paths = ["/", "/loads/", f"/reports/factoring/batches/{made.batch.id}",
             f"/reports/factoring/batches/{made.batch.id}/download",
             f"/reports/factoring/batches/{made.batch.id}/Payments_Report.csv",
             "/reports/factoring/templates/Purchase_Report.csv"]
    if upload.status_code in (302, 303):
        upload_id = upload.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
        paths += [f"/reports/factoring/uploads/{upload_id}/file", f"/reports/factoring/uploads/{upload_id}/errors.csv"]
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"] == "no-store", path


def test_static_files_may_still_be_cached(client):
    response = client.get("/static/css/app.css")
    assert response.status_code == 200
    assert response.headers.get("Cache-Control") != "no-store"


# --- 9. the smaller findings -------------------------------------------------------------------

@pytest.mark.parametrize("text", ["١٢٣", "１２３", "$١٢.٠٠", "12.٥٠"])
def test_money_refuses_digits_that_are_not_ascii(text):
    with pytest.raises(ValueError):
        parse_money(text)


@pytest.mark.parametrize("text", ["٢٠٢٦-١١-٢٥", "１１/２５/２０２６", "2026-1１-25"])
def test_dates_refuse_digits_that_are_not_ascii(text):
    with pytest.raises(ValueError):
        parse_date(text)


def test_a_search_for_nul_does_not_match_every_load(client, auth, world):
    auth.login("billing")
    everything = client.get("/loads/?per_page=25").data
    nul = client.get("/loads/?q=%00&per_page=25").data
    nul_in_number = client.get("/loads/?q=DT-10%0001&per_page=25").data
    assert nul.count(b'href="/loads/') == everything.count(b'href="/loads/')  # the NUL is dropped: no filter
    assert b"DT-1001" in nul_in_number and b"DT-1002" not in nul_in_number


def test_the_csp_names_base_uri_and_form_action_and_no_werkzeug_version(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "base-uri 'none'" in csp and "form-action 'self'" in csp and "object-src 'none'" in csp
    assert "Werkzeug" not in response.headers.get("Server", "")


def test_hsts_is_sent_when_the_cookie_is_secure(app):
    app.config["SESSION_COOKIE_SECURE"] = True
    response = app.test_client().get("/login")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    app.config["SESSION_COOKIE_SECURE"] = False
    assert "Strict-Transport-Security" not in app.test_client().get("/login").headers


def test_a_client_request_id_is_not_trusted_without_a_proxy(app):
    client = app.test_client()
    assert client.get("/login", headers={"X-Request-Id": "forged-id"}).headers["X-Request-Id"] != "forged-id"
    app.config["PROXY_COUNT"] = 1
    assert client.get("/login", headers={"X-Request-Id": "proxy-id"}).headers["X-Request-Id"] == "proxy-id"


def test_creating_a_user_with_another_tenants_email_says_nothing_of_that_tenant(client, auth):
    auth.login("admin")
    page = client.post("/users/new", data={"email": "other@demo.test", "name": "Someone", "role": "user",
                                            "password": "long-enough-password"})
    assert page.status_code == 400
    assert b"already exists" not in page.data
    assert b"cannot be used for a new user here" in page.data


def test_an_upload_refused_for_a_wide_header_stores_nothing(client, auth, world, make_batch):
    made = make_batch("submitted", count=1)
    auth.login("billing")
    state = snapshot()
    wide = ",".join(f"c{i}" for i in range(1000)).encode() + b"\r\nx\r\n"
    page = client.post(f"/reports/factoring/batches/{made.batch.id}/purchase-report",
                       data={"file": (io.BytesIO(wide), "wide.csv")}, content_type="multipart/form-data")
    assert page.status_code == 422 and b"at most 500" in page.data
    assert snapshot() == state


def test_a_document_name_cannot_spoof_its_display_with_bidi_controls(client, auth, world):
    auth.login("billing")
    load = Load.get(Load.load_number == "DT-1001")
    response = client.post(f"/loads/{load.id}/documents",
                           data={"kind": "pod", "file": (io.BytesIO(pdf_bytes()), "invoice\u202efdp.exe.pdf")},
                           content_type="multipart/form-data")
    assert response.status_code in (200, 303)
    stored = (StoredFile.select(StoredFile.filename).join(LoadDocument, on=(LoadDocument.file == StoredFile.id))
              .where(LoadDocument.load == load.id).order_by(StoredFile.id.desc()).first())
    assert stored.filename == "invoicefdp.exe.pdf"
