"""Importing loads from CSV: messy input read right or refused by row and column, all or nothing."""
import io
import os

import pytest

from webapp.models import DIRECT
from webapp.models import FACTORING
from webapp.models import QUEUED
from webapp.models import AuditLog
from webapp.models import Company
from webapp.models import Customer
from webapp.models import Load
from webapp.models import LoadLine
from webapp.models import StoredFile
from webapp.models import Subsidiary
from webapp.services.loads import importing as load_import

DATA = os.path.join(os.path.dirname(__file__), "data")
HEADER = ["Load Number", "Invoice Number", "Subsidiary", "Customer", "Linehaul", "Fuel Surcharge",
          "Pickup Date", "Delivery Date"]


def row(load="IMP-1", invoice="INV-IMP-1", sub="Demo Freight LLC", customer="Summit Freight Brokerage",
        linehaul="1000.00", fuel="150.00", pickup="11/22/2026", delivery="11/24/2026"):
    return [load, invoice, sub, customer, linehaul, fuel, pickup, delivery]


def csv_bytes(*rows, header=HEADER, sep=",", eol="\n", encoding="utf-8", bom=False):
    """A CSV file as Excel or a portal might write it."""
    def cell(value):
        return f'"{value}"' if sep in value or '"' in value else value
    text = eol.join(sep.join(cell(v) for v in r) for r in (header, *rows)) + eol
    data = text.encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def _demo():
    return Company.get(Company.name == "Demo Trucking")


def _state():
    """What an import could have changed."""
    return (Load.select().count(), LoadLine.select().count(), AuditLog.select().count(),
            StoredFile.select().count())


ACCEPTED = [
    ("utf8-bom", csv_bytes(row(), bom=True), [("IMP-1", 1150_00)]),
    ("windows-1252", csv_bytes(row(customer="Hernández & Söhne Imports"), encoding="cp1252"),
     [("IMP-1", 1150_00)]),
    ("crlf", csv_bytes(row(), row(load="IMP-2", invoice="INV-IMP-2"), eol="\r\n"),
     [("IMP-1", 1150_00), ("IMP-2", 1150_00)]),
    ("semicolons", csv_bytes(row(linehaul="$1,234.56", fuel="$0.44"), sep=";"), [("IMP-1", 1235_00)]),
    ("tabs", csv_bytes(row(), sep="\t"), [("IMP-1", 1150_00)]),
    ("money-formats", csv_bytes(row(linehaul="$1,234.56", fuel=" 12.5 "),
                                row(load="IMP-2", invoice="INV-IMP-2", linehaul="2,000", fuel="")),
     [("IMP-1", 1247_06), ("IMP-2", 2000_00)]),
    ("iso-and-us-dates", csv_bytes(row(pickup="2026-11-22", delivery="11/24/2026"),
                                   row(load="IMP-2", invoice="INV-IMP-2", pickup="11/22/26",
                                       delivery="2026-11-24 00:00:00")),
     [("IMP-1", 1150_00), ("IMP-2", 1150_00)]),
    ("blank-trailing-rows", csv_bytes(row()) + b",,,,,,,\n\n  \n", [("IMP-1", 1150_00)]),
    ("header-spellings", csv_bytes(row(), header=["load_number", "INVOICE NUMBER", "subsidiary",
                                                  "Customer_Name", "LINEHAUL", "fuel", "pickup-date",
                                                  "Delivery  Date"]), [("IMP-1", 1150_00)]),
    ("customer-by-mc", csv_bytes(["IMP-1", "Demo Freight LLC", "mc 482913", "900"],
                                 header=["Load Number", "Subsidiary", "Customer MC", "Linehaul"]),
     [("IMP-1", 900_00)]),
    ("no-invoice-number", csv_bytes(row(invoice=""), row(load="IMP-2", invoice="")),
     [("IMP-1", 1150_00), ("IMP-2", 1150_00)]),
]


@pytest.mark.parametrize("data, expected", [pytest.param(d, e, id=i) for i, d, e in ACCEPTED])
def test_messy_but_valid_files_import(dbconn, data, expected):
    demo = _demo()
    preview = load_import.parse(data, demo, filename="loads.csv")
    assert preview.errors == []
    assert [(r.values["load_number"], r.total_cents) for r in preview.rows] == expected
    assert load_import.commit(preview, demo, None) == len(expected)
    for number, total in expected:
        load = Load.get((Load.company == demo) & (Load.load_number == number))
        assert load.total_cents == total and load.billing_status == QUEUED
        assert sum(x.amount_cents for x in load.lines) == total


def test_extra_columns_are_ignored_and_named_in_a_warning(dbconn):
    data = csv_bytes(row() + ["Sam", "T-12"], header=HEADER + ["Driver", "Truck"])
    preview = load_import.parse(data, _demo())
    assert preview.ok
    assert preview.warnings == ["Ignored column(s) that the import does not use: Driver, Truck."]


def test_invoicing_method_blank_takes_the_customers_default(dbconn):
    header = HEADER + ["Invoicing Method"]
    data = csv_bytes(row(customer="Midwest Grain Cooperative") + [""],
                     row(load="IMP-2", invoice="INV-IMP-2", customer="Midwest Grain Cooperative") + ["Factoring"],
                     row(load="IMP-3", invoice="INV-IMP-3") + ["DIRECT"], header=header)
    preview = load_import.parse(data, _demo())
    assert [r.values["invoicing_method"] for r in preview.rows] == [DIRECT, FACTORING, DIRECT]


REFUSED = [
    ("negative-amount", csv_bytes(row(fuel="(12.50)")), 2, "Fuel Surcharge", "'(12.50)' is negative"),
    ("negative-with-minus", csv_bytes(row(linehaul="-100")), 2, "Linehaul", "is negative"),
    ("duplicated-row", csv_bytes(row(), row()), 3, "Load Number", "load IMP-1 is also on row 2"),
    ("invoice-twice", csv_bytes(row(), row(load="IMP-2")), 3, "Invoice Number",
     "invoice INV-IMP-1 is also on row 2"),
    ("existing-load", csv_bytes(row(), row(load="DT-1001", invoice="INV-NEW")), 3, "Load Number",
     "load DT-1001 already exists"),
    ("existing-invoice", csv_bytes(row(invoice="INV-DT-5001")), 2, "Invoice Number",
     "invoice INV-DT-5001 is already used by another load"),
    ("unknown-subsidiary", csv_bytes(row(sub="Nope Hauling LLC")), 2, "Subsidiary",
     "no subsidiary named 'Nope Hauling LLC'"),
    ("other-tenants-subsidiary", csv_bytes(row(sub="Other Carrier Transport")), 2, "Subsidiary",
     "no subsidiary named 'Other Carrier Transport'"),
    ("unknown-customer", csv_bytes(row(customer="Acme Brokers")), 2, "Customer",
     "no customer named 'Acme Brokers'"),
    ("other-tenants-customer", csv_bytes(row(customer="Prairie Wind Brokers")), 2, "Customer",
     "no customer named 'Prairie Wind Brokers'"),
    ("unknown-mc", csv_bytes(["IMP-1", "Demo Freight LLC", "MC-000001", "900"],
                             header=["Load Number", "Subsidiary", "Customer MC", "Linehaul"]),
     2, "Customer MC", "no customer with MC number 'MC-000001'"),
    ("mc-of-another-customer", csv_bytes(row() + ["MC-771204"], header=HEADER + ["Customer MC"]),
     2, "Customer MC", "is not the MC number of Summit Freight Brokerage"),
    ("missing-column", csv_bytes(row()[:4], header=HEADER[:4]), 1, "Linehaul",
     "The file has no Linehaul column"),
    ("missing-columns", csv_bytes(["IMP-1", "1"], header=["Load Number", "Linehaul"]), 1,
     "Subsidiary, Customer (or Customer MC)", "The file has no Subsidiary, Customer (or Customer MC) columns"),
    ("bad-date", csv_bytes(row(), row(load="IMP-2", invoice="INV-2", pickup="13/45/2026")), 3,
     "Pickup Date", "'13/45/2026' is not a date"),
    ("bad-amount", csv_bytes(row(linehaul="12.x")), 2, "Linehaul", "'12.x' is not an amount"),
    ("three-decimals", csv_bytes(row(fuel="1.005")), 2, "Fuel Surcharge", "more than two decimals"),
    ("zero-linehaul", csv_bytes(row(linehaul="0.00")), 2, "Linehaul", "empty or zero"),
    ("empty-load-number", csv_bytes(row(load="")), 2, "Load Number", "the load number is empty"),
    ("empty-customer", csv_bytes(row(customer="")), 2, "Customer", "the customer is empty"),
    ("bad-state", csv_bytes(["IMP-1", "Demo Freight LLC", "Summit Freight Brokerage", "900", "Texas"],
                            header=["Load Number", "Subsidiary", "Customer", "Linehaul", "Pickup State"]),
     2, "Pickup State", "'Texas' is not a two-letter state code"),
    ("bad-method", csv_bytes(row() + ["barter"], header=HEADER + ["Invoicing Method"]), 2,
     "Invoicing Method", "'barter' is not an invoicing method"),
    ("delivery-before-pickup", csv_bytes(row(pickup="11/24/2026", delivery="11/20/2026")), 2,
     "Delivery Date", "is before the pickup date"),
    ("pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", 1, "File", "a PDF document"),
    ("xlsx", b"PK\x03\x04\x14\x00\x06\x00\x08\x00" + b"\x00" * 64, 1, "File", "Excel workbook"),
    ("empty", b"", 1, "File", "The file is empty"),
    ("only-blank-lines", b"\r\n\r\n  \r\n", 1, "File", "The file is empty"),
    ("header-only", csv_bytes(), 1, "File", "no loads below them"),
]


@pytest.mark.parametrize("data, row_number, column, message",
                         [pytest.param(d, r, c, m, id=i) for i, d, r, c, m in REFUSED])
def test_bad_files_are_refused_by_row_and_column_and_change_nothing(
        client, auth, dbconn, data, row_number, column, message):
    before = _state()
    preview = load_import.parse(data, _demo(), filename="loads.csv")
    assert not preview.ok
    assert any(e.row == row_number and e.column == column and message in e.message
               for e in preview.errors), [str(e) for e in preview.errors]
    with pytest.raises(load_import.ImportRefused):
        load_import.commit(preview, _demo(), None)

    auth.login("dispatch")
    response = client.post("/loads/import", data={"file": (io.BytesIO(data), "loads.csv")},
                           content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "cannot be imported" in html and "Nothing was saved" in html
    assert f'<td class="num">{row_number}</td><td class="nowrap">{column}</td>' in html
    assert message.replace("'", "&#39;") in html
    assert "Import " not in html.split("import-errors")[1]  # no commit button
    assert _state() == before


def test_one_bad_row_refuses_the_whole_file(dbconn):
    data = csv_bytes(row(), row(load="IMP-2", invoice="INV-IMP-2", linehaul="oops"),
                     row(load="IMP-3", invoice="INV-IMP-3"))
    preview = load_import.parse(data, _demo())
    assert [str(e) for e in preview.errors] == ["Row 3, Linehaul: 'oops' is not an amount"]
    with pytest.raises(load_import.ImportRefused):
        load_import.commit(preview, _demo(), None)
    assert not Load.select().where(Load.load_number.startswith("IMP-")).exists()


def test_too_many_rows_or_bytes_are_refused(dbconn):
    data = csv_bytes(*[row(load=f"IMP-{n}", invoice=f"INV-{n}") for n in range(6)])
    assert "more than 5 rows" in load_import.parse(data, _demo(), max_rows=5).errors[0].message
    refused = load_import.parse(data, _demo(), max_bytes=100).errors[0]
    assert (refused.row, refused.column) == (1, "File") and "the limit is" in refused.message


def test_huge_upload_gets_a_message_and_changes_nothing(app, client, auth, dbconn):
    app.config["MAX_CONTENT_LENGTH"] = 2048
    before = _state()
    auth.login("admin")
    data = csv_bytes(*[row(load=f"IMP-{n}", invoice=f"INV-{n}") for n in range(100)])
    response = client.post("/loads/import", data={"file": (io.BytesIO(data), "big.csv")},
                           content_type="multipart/form-data", headers={"HX-Request": "true"})
    assert response.status_code == 413
    assert "too large" in response.get_data(as_text=True)
    assert _state() == before


def test_conflict_found_at_commit_rolls_back_every_row(dbconn, monkeypatch):
    demo = _demo()
    data = csv_bytes(row(), row(load="IMP-2", invoice="INV-IMP-2"), row(load="IMP-3", invoice="INV-IMP-3"))
    preview = load_import.parse(data, demo)
    assert preview.ok
    # Someone creates IMP-3 between the preview and the commit; chunks of one row make
    # the first two rows written before the clash.
    Load.create(company=demo, subsidiary=Subsidiary.get(Subsidiary.name == "Demo Freight LLC"),
                customer=Customer.get(Customer.name == "Summit Freight Brokerage"),
                load_number="IMP-3", total_cents=100)
    monkeypatch.setattr(load_import, "CHUNK", 1)
    before = _state()
    with pytest.raises(load_import.ImportRefused, match="created by someone else"):
        load_import.commit(preview, demo, None)
    assert _state() == before
    assert not Load.select().where(Load.load_number.in_(["IMP-1", "IMP-2"])).exists()


def test_commit_refuses_a_preview_of_another_company(dbconn):
    preview = load_import.parse(csv_bytes(row()), _demo())
    other = Company.get(Company.name == "Other Carrier Co")
    with pytest.raises(load_import.ImportRefused, match="another company"):
        load_import.commit(preview, other, None)


# --- the pages --------------------------------------------------------------------------

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


def test_commit_revalidates_the_stored_file(client, auth, dbconn):
    demo = _demo()
    auth.login("admin")
    _upload(client, os.path.join(DATA, "loads_good.csv"))
    stored = StoredFile.select().order_by(StoredFile.id.desc()).get()
    Load.create(company=demo, subsidiary=Subsidiary.get(Subsidiary.name == "Demo Freight LLC"),
                customer=Customer.get(Customer.name == "Summit Freight Brokerage"),
                load_number="IMP-2002", total_cents=100)
    response = client.post("/loads/import/commit", data={"upload_id": stored.id})
    assert response.status_code == 422
    assert "load IMP-2002 already exists" in response.get_data(as_text=True)
    assert Load.select().where(Load.load_number.startswith("IMP-")).count() == 1


def test_commit_of_another_tenants_stored_file_creates_nothing(client, auth, dbconn):
    auth.login("other")
    _upload(client, csv_bytes(["OC-9001", "Other Carrier Transport", "Prairie Wind Brokers", "900"],
                              header=["Load Number", "Subsidiary", "Customer", "Linehaul"]))
    stored = StoredFile.select().order_by(StoredFile.id.desc()).get()
    auth.logout()
    auth.login("admin")
    response = client.post("/loads/import/commit", data={"upload_id": stored.id}, follow_redirects=True)
    assert "already imported, or its preview expired" in response.get_data(as_text=True)
    assert not Load.select().where(Load.load_number == "OC-9001").exists()


def test_template_download_has_the_columns_and_imports_cleanly(client, auth, dbconn):
    auth.login("dispatch")
    response = client.get("/loads/import/template.csv")
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert text.splitlines()[0] == ",".join(name for name, _ in load_import.COLUMNS)
    preview = load_import.parse(response.data, _demo())
    assert preview.ok and preview.warnings == [] and len(preview.rows) == 1


# --- the command line -------------------------------------------------------------------

def test_cli_imports_a_file(runner, dbconn):
    result = runner.invoke(args=["import-loads", os.path.join(DATA, "loads_good.csv"),
                                 "--company", "Demo Trucking"])
    assert result.exit_code == 0, result.output
    assert "Imported 3 load(s) into Demo Trucking." in result.output
    assert Load.select().where(Load.load_number.startswith("IMP-")).count() == 3


def test_cli_lists_errors_and_imports_nothing(runner, dbconn):
    before = _state()
    result = runner.invoke(args=["import-loads", os.path.join(DATA, "loads_errors.csv"),
                                 "--company", "Demo Trucking"])
    assert result.exit_code != 0
    assert "row 3, Load Number: load DT-1001 already exists." in result.output
    assert "row 4, Subsidiary: no subsidiary named 'Demo Frieght LLC' in this company." in result.output
    assert "row 5, Invoice Date: '13/45/2026' is not a date" in result.output
    assert "row 5, Customer: no customer named 'Acme Brokers'" in result.output
    assert "row 5, Fuel Surcharge: '(12.50)' is negative" in result.output
    assert "row 6, Load Number: load IMP-3001 is also on row 2" in result.output
    assert "nothing was imported" in result.output
    assert _state() == before
