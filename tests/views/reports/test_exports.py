"""Exports (services/exports, webapp/reports/exports.py): every list as CSV and XLSX with the
filters on screen; XLSX cells typed (money numbers in a currency format, dates as dates) whose
sums equal the page's totals; CSV formula-safe; another tenant's batch not found."""
import csv
import datetime
import io

import openpyxl

from tests.helpers import apply_report
from tests.helpers import csv_bytes
from tests.helpers import payment_rows
from webapp.models import Customer
from webapp.services import exports
from webapp.services.exports import sources
from webapp.services.ledger import aging
from webapp.services.ledger import reserve
from webapp.services.reports.parsing import PAYMENT_COLUMNS


def _sheet(response):
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    return list(book.active.iter_rows(values_only=True)), book.active


def test_the_loads_export_keeps_the_filters_and_types_its_cells(client, auth, financed_batch, world, dbconn):
    batch, loads = financed_batch
    auth.login("admin")
    rows, sheet = _sheet(client.get("/reports/exports/loads.xlsx?status=financed"))
    assert rows[0][0] == "Load Number" and len(rows) == 1 + 3
    assert sum(r[6] for r in rows[1:]) * 100 == sum(x.total_cents for x in loads)
    assert isinstance(rows[1][2], datetime.datetime) and sheet.cell(2, 7).number_format.startswith("$")
    text = client.get("/reports/exports/loads.csv?status=financed").get_data(as_text=True)
    lines = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert len(lines) == 4 and {line[8] for line in lines[1:]} == {"Financed"}


def test_csv_is_formula_safe(client, auth, world, dbconn):
    Customer.update(name="=HYPERLINK(1)").where(Customer.name == "Summit Freight Brokerage").execute()
    auth.login("admin")
    text = client.get("/reports/exports/loads.csv").get_data(as_text=True)
    assert "'=HYPERLINK(1)" in text and "\n=HYPERLINK" not in text and ",=HYPERLINK" not in text


def test_reserve_and_aging_exports_sum_to_the_pages_totals(client, auth, completed_batch, make_batch, world, dbconn):
    open_batch, open_loads = make_batch("financed")
    auth.login("admin")
    rows, _ = _sheet(client.get("/reports/exports/aging.xlsx"))
    assert round(sum(r[8] for r in rows[1:]) * 100) == aging.aging(world.company).totals["total"]
    rows, _ = _sheet(client.get("/reports/exports/reserve.xlsx?kind=fee"))
    view = reserve.reserve_account(world.company, {"kind": "fee"})
    assert round(sum(r[6] for r in rows[1:]) * 100) == view.sum_cents and len(rows) - 1 == view.count


def test_batches_payments_and_a_batchs_loads(client, auth, completed_batch, make_batch, world, dbconn):
    batch, loads = completed_batch
    auth.login("admin")
    rows, _ = _sheet(client.get(f"/reports/exports/batches/{batch.id}/loads.xlsx"))
    assert {r[0] for r in rows[1:]} == {x.load_number for x in loads}
    rows, _ = _sheet(client.get("/reports/exports/payments.xlsx"))
    assert round(sum(r[4] for r in rows[1:]) * 100) == sum(x.paid_cents for x in loads)
    rows, _ = _sheet(client.get("/reports/exports/batches.xlsx"))
    assert batch.number in [r[0] for r in rows[1:]]
    other, _ = make_batch("submitted", subsidiary=world.other_sub)
    assert client.get(f"/reports/exports/batches/{other.id}/loads.csv").status_code == 404
    assert client.get("/reports/exports/nothing.csv").status_code == 404
    assert client.get("/reports/exports/loads.pdf").status_code == 404


def test_a_big_export_streams_in_chunks(world, dbconn):
    columns = [("N", "int"), ("Amount", "money"), ("Day", "date"), ("Note", "text")]
    rows = ((n, n * 101, datetime.date(2026, 1, 1), "=1+1" if n == 3 else "x") for n in range(10_000))
    chunks = list(exports.csv_chunks(columns, rows, chunk_rows=1000))
    assert len(chunks) == 11  # the header, then ten chunks of a thousand rows
    assert "'=1+1" in "".join(chunks)


def test_the_xlsx_of_a_list_is_written_row_by_row(world, dbconn, tmp_path):
    table = sources.loads(world.company, {})
    written = exports.write_xlsx(table.columns, table.rows, str(tmp_path / "loads.xlsx"))
    book = openpyxl.load_workbook(tmp_path / "loads.xlsx", read_only=True)
    assert written == book.active.max_row - 1 > 0


def test_payment_export_filters_by_date(client, auth, financed_batch, world, dbconn):
    batch, loads = financed_batch
    apply_report(batch, "payment", csv_bytes(PAYMENT_COLUMNS, payment_rows(loads[:1], date=datetime.date(2026, 11, 30))),
                 world.billing)
    auth.login("admin")
    rows, _ = _sheet(client.get("/reports/exports/payments.xlsx?date_from=2026-12-01"))
    assert len(rows) == 1
    rows, _ = _sheet(client.get("/reports/exports/payments.xlsx?date_to=2026-11-30"))
    assert len(rows) == 2
