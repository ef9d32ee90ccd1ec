"""Workbooks in (services/workbooks.py): XLSX, XLSM, XLS and ODS read as CSV is, and bad
workbooks refused with a clear message, changing nothing."""
import datetime
import io
import zipfile

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from tests import workbook_files as wb
from tests.helpers import LOADS_HEADER
from tests.helpers import load_row
from tests.helpers import purchase_rows
from tests.helpers import snapshot
from webapp.models import ReportUpload
from webapp.services import reports
from webapp.services import workbooks
from webapp.services.loads import importing as load_import
from webapp.services.reports.parsing import PURCHASE_COLUMNS
from webapp.services.reports.parsing import expected_keys
from webapp.services.reports.parsing import parse_report
from webapp.services.tables import FileFormatError

HEADER = ["Invoice Number", "Load Number", "Purchase Date", "Invoice Amount", "Advance Amount", "Fee Amount"]
DAY = datetime.date(2025, 11, 25)


def funding(body, **kw):
    return wb.report_rows(HEADER, body, **kw)


def read(data, **kw):
    return workbooks.read_upload(data, expected=expected_keys("purchase"), **kw)


# --- read right ------------------------------------------------------------------------

@pytest.mark.parametrize("build", [wb.xlsx, wb.xls, wb.ods], ids=["xlsx", "xls", "ods"])
def test_title_block_totals_notes_dates_and_exact_numbers(build):
    body = [["INV-1", "L-1", DAY, 1475, 1327.5, 44.25], ["INV-2", "L-2", 45986, "1,475.00", 0.1 + 0.2, 0.07]]
    table = read(build({"Funding": funding(body, totals=["Total", None, None, 2950, 1327.8, 44.32])}))
    assert table.sheet == "Funding" and table.headers == HEADER
    assert [n for n, _ in table.rows] == [7, 8]  # as the spreadsheet numbers its rows
    first, second = (cells for _, cells in table.rows)
    assert first["purchasedate"] == "2025-11-25" and first["advanceamount"] == "1327.5"
    assert second["advanceamount"] == "0.3" and second["invoiceamount"] == "1,475.00"
    assert table.ignored == ["Rows 1–5: title", "Row 9: blank", "Row 10: totals", "Row 11: notes"]
    parsed = parse_report("purchase", build({"Funding": funding(body)}))
    assert [(r.purchase_date, r.advance_cents, r.invoice_amount_cents) for r in parsed.rows] == [
        (DAY, 132750, 147500), (DAY, 30, 147500)]  # 45986 in a date column is 2025-11-25
    assert not parsed.errors


def test_a_row_whose_only_cells_are_the_sums_is_a_totals_row():
    body = [["INV-1", "L-1", DAY, 100, 90, 3], ["INV-2", "L-2", DAY, 200, 180, 6]]
    table = read(wb.xlsx({"S": funding(body, totals=[None, None, None, 300, 270, 9], notes=())}))
    assert len(table.rows) == 2 and table.ignored[-1] == "Row 10: totals"


def test_a_formula_uses_its_saved_value():
    cells = ('<row r="1"><c r="A1" t="inlineStr"><is><t>Invoice Number</t></is></c><c r="B1" t="inlineStr"><is>'
             '<t>Advance Amount</t></is></c></row><row r="2"><c r="A2" t="inlineStr"><is><t>INV-1</t></is></c>'
             '<c r="B2"><f>1000+327.5</f><v>1327.5</v></c></row>')
    assert read(wb.raw_xlsx(cells)).rows == [(2, {"invoicenumber": "INV-1", "advanceamount": "1327.5"})]


def test_a_formula_without_a_saved_value_names_sheet_cell_row_and_column():
    data = wb.xlsx({"Funding": funding([["INV-1", "L-1", DAY, 1475, "=D7*0.9", 44.25]])})
    with pytest.raises(FileFormatError) as refused:
        read(data)
    assert str(refused.value) == ("Sheet 'Funding', cell E7 (row 7, Advance Amount): formula has no saved value — "
                                  "open the file in Excel, save it, and upload it again.")


def test_an_ods_formula_without_a_saved_value_names_sheet_cell_row_and_column():
    data = wb.ods({"Funding": funding([["INV-1", "L-1", DAY, 1475, "=[.D7]*0.9", 44.25]])})
    with pytest.raises(FileFormatError) as refused:
        read(data)
    assert str(refused.value).startswith("Sheet 'Funding', cell E7 (row 7, Advance Amount): formula has no saved value")


def test_several_sheets_propose_the_first_non_empty_one_with_the_columns_and_read_the_one_asked():
    data = wb.xlsx({"Empty": [], "Summary": [["Batch 12"], ["Total", 2950]],
                    "Funding": funding([["INV-1", "L-1", DAY, 1475, 1327.5, 44.25]]),
                    "Older": funding([["INV-9", "L-9", DAY, 10, 9, 1]])})
    table = read(data)
    assert table.sheet == "Funding" and table.sheets == ["Summary", "Funding", "Older"]
    assert read(data, sheet="Older").rows[0][1]["invoicenumber"] == "INV-9"
    with pytest.raises(FileFormatError, match="no sheet named 'Nope'"):
        read(data, sheet="Nope")


def test_xlsm_is_read_as_data():
    data = wb.xlsx({"S": funding([["INV-1", "L-1", DAY, 1475, 1327.5, 44.25]])}, macro=True)
    assert workbooks.kind_of(data) == workbooks.XLSM
    assert read(data).rows[0][1]["advanceamount"] == "1327.5"


def test_the_content_decides_and_the_note_says_what_it_is():
    data = wb.xlsx({"S": funding([["INV-1", "L-1", DAY, 1475, 1327.5, 44.25]])})
    table = read(data, filename="Purchase_Report.csv")
    assert table.rows and table.notes == [
        "The file is named .csv but is an Excel workbook (.xlsx); it was read as such."]
    csv = read(b"Invoice Number,Advance Amount\r\nINV-1,1327.50\r\n", filename="report.xlsx")
    assert csv.rows == [(2, {"invoicenumber": "INV-1", "advanceamount": "1327.50"})]
    assert csv.notes == ["The file is named .xlsx but is a CSV file; it was read as such."]


@pytest.mark.parametrize("value, text", [(1327.5, "1327.5"), (0.1 + 0.2, "0.3"), (45986.0, "45986"),
                                         (1e-7, "0.0000001"), (True, "yes"), (-0.0, "0"), (-12.0, "-12"),
                                         (1e15, "1000000000000000"), (123456789012345.0, "123456789012345"),
                                         (DAY, "2025-11-25"), (datetime.datetime(2025, 11, 25, 9, 30), "2025-11-25"),
                                         ("  INV-1 ", "INV-1"), (None, "")])
def test_cell_text_is_the_exact_decimal(value, text):
    assert workbooks.cell_text(value) == text


_EDGE_FLOATS = st.sampled_from([0.0, -0.0, 1.0, -1.0, 0.1 + 0.2, 1e15, -1e15, 1e16, 99999999999999.0,
                                123456789012345.0, 1234567890.12345, -1.2345678901234, 1e-7, 1327.5,
                                float("inf"), float("nan")])
_MODERATE = st.floats(-1e9, 1e9) | st.integers(-10**6, 10**6).map(lambda cents: cents / 100)   # no exponent
_FLOATS = st.floats(allow_nan=True, allow_infinity=True) | _EDGE_FLOATS | _MODERATE
_CELLS = (_FLOATS | st.text(" \tAb1-.0") | st.dates() | st.datetimes() | st.booleans()
          | st.integers(-10**18, 10**18))


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_a_column_converted_at_once_is_the_text_of_each_cell(data):
    """The data between a sheet's title block and its totals is converted column by column;
    each cell's text is the one cell_text gives it alone (floats, text, dates, mixed columns)."""
    width = data.draw(st.integers(1, 5))
    # a column holds one type of value (as a report's data does) or any mix of them
    kinds = [data.draw(st.sampled_from([_FLOATS, _MODERATE, st.dates(), st.text(" x1"), _CELLS])) for _ in range(width)]
    rows = data.draw(st.lists(st.tuples(*kinds).map(list), min_size=1, max_size=12))
    expected = [[workbooks.cell_text(value) for value in row] for row in rows]
    assert workbooks._column_texts(rows) == expected


@pytest.mark.parametrize("column", [[-0.0, 1.5], [2.0, -0.0, 0.25], [1e15, 2.5], [0.1 + 0.2, 3.0],
                                    [1e-7, 4.0], [float("nan"), 1.0], [-12.0, -1.25]])
def test_the_edge_floats_of_a_column_read_as_alone(column):
    assert workbooks._column_texts([[v] for v in column]) == [[workbooks.cell_text(v)] for v in column]


def test_a_long_sheet_reads_as_its_cells_say():
    """Past the title block the columns are read at once: blanks, whole and cut decimals, dates."""
    body = [[f"INV-{n}", f"L-{n}", DAY + datetime.timedelta(days=n % 3), 1000 + n, (1000 + n) * 0.9,
             "" if n % 7 else 12.5] for n in range(120)]
    table = read(wb.xlsx({"Funding": funding(body, totals=["Total", "", "", sum(r[3] for r in body)])}))
    assert len(table.rows) == 120
    number, first = table.rows[0]
    assert first == {"invoicenumber": "INV-0", "loadnumber": "L-0", "purchasedate": "2025-11-25",
                     "invoiceamount": "1000", "advanceamount": "900", "feeamount": "12.5"}
    last, blank = table.rows[-1][1], table.rows[-2][1]
    assert last["invoiceamount"] == "1119" and last["advanceamount"] == "1007.1" and last["feeamount"] == "12.5"
    assert blank["purchasedate"] == "2025-11-26" and "feeamount" not in blank
    assert "totals" in " ".join(table.ignored)


# --- bad workbooks: a clear message, nothing stored ----------------------------------------

def _plain():
    return wb.xlsx({"S": [HEADER, ["INV-1", "L-1", DAY, 1475, 1327.5, 44.25]]})


BAD = {
    "password": (lambda: wb.protected(_plain()), "password-protected"),
    "zip-bomb": (lambda: wb.zip_bomb(), "unpacks to 200 MB; a workbook may unpack to at most 100 MB"),
    "zip-bomb-lying": (lambda: wb.zip_bomb(lie=True), "claims a size it exceeds when unpacked"),
    "100k-columns": (lambda: wb.raw_xlsx('<row r="1"><c r="A1"><v>1</v></c><c r="EWLB1"><v>1</v></c></row>'),
                     "cells out to column EWLB (103,742 columns); a sheet may have at most 500"),
    "million-empty-rows": (lambda: wb.raw_xlsx('<row r="1"><c r="A1"><v>1</v></c></row><row r="1000000">'
                                               '<c r="A1000000"><v>1</v></c></row>', dimension="A1:A1000000"),
                           "cells down to row 1,000,000; a sheet may have at most"),
    "corners": (lambda: wb.raw_xlsx('<row r="1"><c r="A1"><v>1</v></c></row><row r="1048576"><c r="XFD1048576">'
                                    '<v>1</v></c></row>'), "16,384 columns"),
    "long-header": (lambda: wb.xlsx({"S": [["Invoice Number", "x" * 300], ["INV-1", "1"]]}),
                    "is 300 characters long; a header may have at most 200"),
    "zip-not-workbook": (lambda: _zip_of("notes.txt"), "a ZIP archive, not a spreadsheet"),
    "all-empty": (lambda: wb.xlsx({"A": [], "B": []}), "Every sheet of this workbook is empty"),
}


def _zip_of(name):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr(name, "hello")
    return out.getvalue()


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_workbook_is_refused_with_a_message_and_changes_nothing(submitted_batch, world, dbconn, case):
    batch, loads = submitted_batch
    build, fragment = BAD[case]
    data = build()
    with pytest.raises(FileFormatError) as refused:
        read(data)
    assert fragment in str(refused.value)
    before = snapshot()
    with pytest.raises(reports.ReportRefused) as refused:
        reports.preview(batch, "purchase", data, world.billing, f"{case}.xlsx")
    assert fragment in refused.value.message
    preview, stored = load_import.store_preview(world.company, f"{case}.xlsx", data)
    assert stored is None and any(fragment in e.message for e in preview.errors)
    assert snapshot() == before


def test_a_workbook_over_the_size_limit_is_refused_before_it_is_read(submitted_batch, world, dbconn):
    batch, _ = submitted_batch
    data = _plain() + b"\0" * (10 * 1024 * 1024)
    before = snapshot()
    with pytest.raises(reports.ReportRefused, match="the limit is 10 MB"):
        reports.preview(batch, "purchase", data, world.billing, "big.xlsx")
    assert snapshot() == before


# --- through the services, end to end -------------------------------------------------------

def test_purchase_report_xlsx_with_a_title_block_applies(submitted_batch, world, dbconn):
    batch, loads = submitted_batch
    rows = purchase_rows(loads)
    for row in rows:
        row[2] = datetime.date.fromisoformat(row[2])
        row[3], row[4], row[5] = (float(v.replace(",", "")) for v in row[3:6])
    data = wb.xlsx({"Cover": [["Capital Depot"]], "Funding": wb.report_rows(PURCHASE_COLUMNS, rows)})
    result = reports.preview(batch, "purchase", data, world.billing, "Funding.xlsx")
    assert result.ok, [str(e) for e in result.errors]
    assert result.parsed.sheet == "Funding" and result.parsed.sheets == ["Cover", "Funding"]
    reports.apply(ReportUpload.get_by_id(result.upload.id), world.billing)
    assert {x.billing_status for x in type(loads[0]).select().where(
        type(loads[0]).id.in_([x.id for x in loads]))} == {"financed"}


def test_the_sheet_chosen_is_kept_for_the_confirmation(submitted_batch, world, dbconn):
    batch, loads = submitted_batch
    data = wb.xlsx({"Other": [["Invoice Number", "Purchase Date", "Advance Amount"], ["NOPE-1", DAY, 10]],
                    "Funding": [PURCHASE_COLUMNS] + purchase_rows(loads)})
    first = reports.preview(batch, "purchase", data, world.billing, "r.xlsx")
    assert first.parsed.sheet == "Other" and not first.ok
    chosen = reports.choose_sheet(ReportUpload.get_by_id(first.upload.id), "Funding")
    assert chosen.ok and chosen.parsed.sheet == "Funding"
    upload = ReportUpload.get_by_id(first.upload.id)
    assert reports.review(upload).parsed.sheet == "Funding"
    assert reports.apply(upload, world.billing).counts


def test_load_import_from_xlsx(world, dbconn):
    data = wb.xlsx({"Loads": [["Loads to import"], [], LOADS_HEADER, load_row(), load_row("IMP-2", "INV-IMP-2")]})
    preview, stored = load_import.store_preview(world.company, "loads.xlsx", data)
    assert preview.ok and stored is not None, [str(e) for e in preview.errors]
    assert preview.ignored_rows == ["Rows 1–2: title"] and [r.row for r in preview.rows] == [4, 5]
    count, _ = load_import.commit_stored(stored, world.company, world.billing, preview.sheet)
    assert count == 2


# --- XLS: each sheet measured from its records before it is read ---------------------------

def _xls_with_far_cells(last_row, last_column=2, fill=400):
    import xlwt
    book = xlwt.Workbook()
    sheet = book.add_sheet("Funding")
    for r in range(fill):                       # enough cells for the workbook to leave the mini stream
        sheet.write(r, 0, f"INV-{r}")
        sheet.write(r, 1, r)
    sheet.write(last_row, last_column, "far away")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_an_xls_sheet_is_measured_from_its_records():
    from webapp.services import workbooks
    scans = workbooks._xls_scans(_xls_with_far_cells(999, 7))
    assert [(s.name, s.first_row, s.rows, s.columns) for s in scans] == [("Funding", 1, 1000, 8)]


def test_an_xls_with_a_cell_far_below_the_data_is_refused_before_it_is_read(monkeypatch):
    from webapp.services import workbooks
    loaded = []
    monkeypatch.setattr(workbooks, "_load", lambda *args: loaded.append(args))
    with pytest.raises(FileFormatError, match=r"Sheet 'Funding' has cells down to row 65,000; a sheet may have "
                                              r"at most 50,100 rows"):
        workbooks.read_workbook(_xls_with_far_cells(64_999), workbooks.XLS, max_rows=50_000)
    assert loaded == []   # never loaded by calamine


def test_a_damaged_xls_container_is_refused_plainly():
    from webapp.services import workbooks
    data = bytearray(_xls_with_far_cells(10))
    data[48:52] = (10_000_000).to_bytes(4, "little")   # the directory's first sector is outside the file
    with pytest.raises(FileFormatError, match="damaged"):
        workbooks._xls_scans(bytes(data))
