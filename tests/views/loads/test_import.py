"""Import from CSV (webapp/loads): refused files by row and column, preview then import, the template."""
import io
import os

import pytest

from tests.helpers import DATA
from tests.helpers import LOADS_HEADER
from tests.helpers import load_row
from tests.helpers import loads_csv
from tests.helpers import snapshot
from webapp.models import DIRECT
from webapp.models import Load
from webapp.models import StoredFile
from webapp.services.loads import importing as load_import

REFUSED = [
    ("negative-amount", loads_csv(load_row(fuel="(12.50)")), 2, "Fuel Surcharge", "'(12.50)' is negative"),
    ("negative-with-minus", loads_csv(load_row(linehaul="-100")), 2, "Linehaul", "is negative"),
    ("duplicated-row", loads_csv(load_row(), load_row()), 3, "Load Number", "load IMP-1 is also on row 2"),
    ("invoice-twice", loads_csv(load_row(), load_row(load="IMP-2")), 3, "Invoice Number",
     "invoice INV-IMP-1 is also on row 2"),
    ("existing-load", loads_csv(load_row(), load_row(load="DT-1001", invoice="INV-NEW")), 3, "Load Number",
     "load DT-1001 already exists"),
    ("existing-invoice", loads_csv(load_row(invoice="INV-DT-5001")), 2, "Invoice Number",
     "invoice INV-DT-5001 is already used by another load"),
    ("unknown-subsidiary", loads_csv(load_row(sub="Nope Hauling LLC")), 2, "Subsidiary",
     "no subsidiary named 'Nope Hauling LLC'"),
    ("other-tenants-subsidiary", loads_csv(load_row(sub="Other Carrier Transport")), 2, "Subsidiary",
     "no subsidiary named 'Other Carrier Transport'"),
    ("unknown-customer", loads_csv(load_row(customer="Acme Brokers")), 2, "Customer",
     "no customer named 'Acme Brokers'"),
    ("other-tenants-customer", loads_csv(load_row(customer="Prairie Wind Brokers")), 2, "Customer",
     "no customer named 'Prairie Wind Brokers'"),
    ("unknown-mc", loads_csv(["IMP-1", "Demo Freight LLC", "MC-000001", "900"],
                             header=["Load Number", "Subsidiary", "Customer MC", "Linehaul"]),
     2, "Customer MC", "no customer with MC number 'MC-000001'"),
    ("mc-of-another-customer", loads_csv(load_row() + ["MC-771204"], header=LOADS_HEADER + ["Customer MC"]),
     2, "Customer MC", "is not the MC number of Summit Freight Brokerage"),
    ("missing-column", loads_csv(load_row()[:4], header=LOADS_HEADER[:4]), 1, "Linehaul",
     "The file has no Linehaul column"),
    ("missing-columns", loads_csv(["IMP-1", "1"], header=["Load Number", "Linehaul"]), 1,
     "Subsidiary, Customer (or Customer MC)", "The file has no Subsidiary, Customer (or Customer MC) columns"),
    ("bad-date", loads_csv(load_row(), load_row(load="IMP-2", invoice="INV-2", pickup="13/45/2026")), 3,
     "Pickup Date", "'13/45/2026' is not a date"),
    ("bad-amount", loads_csv(load_row(linehaul="12.x")), 2, "Linehaul", "'12.x' is not an amount"),
    ("three-decimals", loads_csv(load_row(fuel="1.005")), 2, "Fuel Surcharge", "more than two decimals"),
    ("zero-linehaul", loads_csv(load_row(linehaul="0.00")), 2, "Linehaul", "empty or zero"),
    ("empty-load-number", loads_csv(load_row(load="")), 2, "Load Number", "the load number is empty"),
    ("empty-customer", loads_csv(load_row(customer="")), 2, "Customer", "the customer is empty"),
    ("bad-state", loads_csv(["IMP-1", "Demo Freight LLC", "Summit Freight Brokerage", "900", "Texas"],
                            header=["Load Number", "Subsidiary", "Customer", "Linehaul", "Pickup State"]),
     2, "Pickup State", "'Texas' is not a two-letter state code"),
    ("bad-method", loads_csv(load_row() + ["barter"], header=LOADS_HEADER + ["Invoicing Method"]), 2,
     "Invoicing Method", "'barter' is not an invoicing method"),
    ("delivery-before-pickup", loads_csv(load_row(pickup="11/24/2026", delivery="11/20/2026")), 2,
     "Delivery Date", "is before the pickup date"),
    ("pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", 1, "File", "a PDF document"),
    ("damaged-xlsx", b"PK\x03\x04\x14\x00\x06\x00\x08\x00" + b"\x00" * 64, 1, "File", "is damaged"),
    ("empty", b"", 1, "File", "The file is empty"),
    ("only-blank-lines", b"\r\n\r\n  \r\n", 1, "File", "The file is empty"),
    ("header-only", loads_csv(), 1, "File", "no loads below them"),
]


@pytest.mark.parametrize("data, row_number, column, message",
                         [pytest.param(d, r, c, m, id=i) for i, d, r, c, m in REFUSED])
def test_bad_files_are_refused_by_row_and_column_and_change_nothing(
        client, auth, world, dbconn, data, row_number, column, message):
    before = snapshot()
    preview = load_import.parse(data, world.company, filename="loads.csv")
    assert not preview.ok
    assert any(e.row == row_number and e.column == column and message in e.message
               for e in preview.errors), [str(e) for e in preview.errors]
    with pytest.raises(load_import.ImportRefused):
        load_import.commit(preview, world.company, None)

    auth.login("dispatch")
    response = client.post("/loads/import", data={"file": (io.BytesIO(data), "loads.csv")},
                           content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "cannot be imported" in html and "Nothing was saved" in html
    assert f'<td class="num">{row_number}</td><td class="nowrap">{column}</td>' in html
    assert message.replace("'", "&#39;") in html
    assert "Import " not in html.split("import-errors")[1]  # no commit button
    assert snapshot() == before


def test_huge_upload_gets_a_message_and_changes_nothing(app, client, auth, dbconn):
    app.config["MAX_CONTENT_LENGTH"] = 2048
    before = snapshot()
    auth.login("admin")
    data = loads_csv(*[load_row(load=f"IMP-{n}", invoice=f"INV-{n}") for n in range(100)])
    response = client.post("/loads/import", data={"file": (io.BytesIO(data), "big.csv")},
                           content_type="multipart/form-data", headers={"HX-Request": "true"})
    assert response.status_code == 413
    assert "too large" in response.get_data(as_text=True)
    assert snapshot() == before


def _upload(client, path_or_bytes, name="loads_good.csv", htmx=False):
    data = path_or_bytes
    if isinstance(path_or_bytes, str):
        with open(path_or_bytes, "rb") as fh:
            data = fh.read()
    return client.post("/loads/import", data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data",
                       headers={"HX-Request": "true"} if htmx else {})


def test_upload_preview_then_import_all(client, auth, dbconn):
    auth.login("dispatch")
    before_files = StoredFile.select().count()
    response = _upload(client, os.path.join(DATA, "loads_good.csv"), htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert "3 loads ready to import, total $8,602.50" in html
    assert "IMP-2001" in html and "Midwest Grain Cooperative" in html
    assert ">Import 3 loads</button>" in html
    assert not Load.select().where(Load.load_number.startswith("IMP-")).exists()
    stored = StoredFile.select().order_by(StoredFile.id.desc()).get()
    assert StoredFile.select().count() == before_files + 1
    assert f'name="upload_id" value="{stored.id}"' in html

    response = client.post("/loads/import/commit", data={"upload_id": stored.id})
    assert response.status_code == 303 and response.headers["Location"].startswith("/loads/")
    created = {l.load_number: l for l in Load.select().where(Load.load_number.startswith("IMP-"))}
    assert sorted(created) == ["IMP-2001", "IMP-2002", "IMP-2003"]
    assert created["IMP-2001"].total_cents == 2967_50
    assert created["IMP-2003"].customer.name == "Midwest Grain Cooperative"
    assert created["IMP-2003"].invoicing_method == DIRECT and created["IMP-2003"].invoice_number is None
    assert StoredFile.select().count() == before_files  # the preview copy is gone
    listing = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Imported 3 loads from loads_good.csv" in listing and "IMP-2003" in listing
    page = client.get(f"/loads/{created['IMP-2002'].id}").get_data(as_text=True)
    assert "Import of loads_good.csv, row 3" in page

    again = client.post("/loads/import/commit", data={"upload_id": stored.id}, follow_redirects=True)
    assert "already imported" in again.get_data(as_text=True)
    assert Load.select().where(Load.load_number.startswith("IMP-")).count() == 3


def test_import_page_without_javascript_renders_the_preview_in_the_page(client, auth):
    auth.login("admin")
    assert 'hx-post="/loads/import"' in client.get("/loads/import").get_data(as_text=True)
    html = _upload(client, os.path.join(DATA, "loads_errors.csv"), "loads_errors.csv").get_data(as_text=True)
    assert "<html" in html and "Import loads" in html
    assert "loads_errors.csv cannot be imported" in html
    assert "Ignored column(s) that the import does not use: Driver." in html


def test_commit_revalidates_the_stored_file(client, auth, world, dbconn):
    demo = world.company
    auth.login("admin")
    _upload(client, os.path.join(DATA, "loads_good.csv"))
    stored = StoredFile.select().order_by(StoredFile.id.desc()).get()
    Load.create(company=demo, subsidiary=world.freight,
                customer=world.customer("Summit Freight Brokerage"),
                load_number="IMP-2002", total_cents=100)
    response = client.post("/loads/import/commit", data={"upload_id": stored.id})
    assert response.status_code == 422
    assert "load IMP-2002 already exists" in response.get_data(as_text=True)
    assert Load.select().where(Load.load_number.startswith("IMP-")).count() == 1


def test_commit_of_another_tenants_stored_file_creates_nothing(client, auth, dbconn):
    auth.login("other")
    _upload(client, loads_csv(["OC-9001", "Other Carrier Transport", "Prairie Wind Brokers", "900"],
                              header=["Load Number", "Subsidiary", "Customer", "Linehaul"]))
    stored = StoredFile.select().order_by(StoredFile.id.desc()).get()
    auth.logout()
    auth.login("admin")
    response = client.post("/loads/import/commit", data={"upload_id": stored.id}, follow_redirects=True)
    assert "already imported, or its preview expired" in response.get_data(as_text=True)
    assert not Load.select().where(Load.load_number == "OC-9001").exists()


def test_template_download_has_the_columns_and_imports_cleanly(client, auth, world, dbconn):
    auth.login("dispatch")
    response = client.get("/loads/import/template.csv")
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert text.splitlines()[0] == ",".join(name for name, _ in load_import.COLUMNS)
    preview = load_import.parse(response.data, world.company)
    assert preview.ok and preview.warnings == [] and len(preview.rows) == 1
