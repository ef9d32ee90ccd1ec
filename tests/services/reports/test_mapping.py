"""The factor's own columns, mapped once (services/reports/mapping.py and its use by uploads)."""
import pytest

from tests.helpers import PURCHASE_DATE
from tests.helpers import csv_bytes
from tests.helpers import payment_csv
from tests.helpers import purchase_csv
from tests.helpers import reload
from tests.helpers import snapshot
from tests.workbook_files import report_rows
from tests.workbook_files import xlsx
from webapp.models import COMPLETED
from webapp.models import FINANCED
from webapp.models import AuditLog
from webapp.models import ReportMapping
from webapp.services import reports
from webapp.services.reports import mapping
from webapp.services.validation import Invalid

# A factor portal's purchase export: its own names, a title block, date cells, a totals row.
FACTOR_HEADER = ["Inv #", "Load Ref", "Funded", "Face Value", "Net Advance", "Discount", "Holdback", "Sched #"]
OUR_CHOICE = {"Invoice Number": "inv#", "Load Number": "loadref", "Purchase Date": "funded",
              "Invoice Amount": "facevalue", "Advance Amount": "netadvance", "Fee Amount": "discount",
              "Reserve Amount": "holdback", "Factor Reference": "sched#"}


def factor_body(loads):
    rows = []
    for i, load in enumerate(loads):
        fee = round(load.total_cents * 0.025)
        rows.append([load.invoice_number, load.load_number, PURCHASE_DATE, load.total_cents / 100,
                     (load.total_cents - fee) / 100, fee / 100, 0, f"S-{900 + i}"])
    return rows


def factor_workbook(loads, header=FACTOR_HEADER, order=None):
    body = factor_body(loads)
    if order:
        header = [header[i] for i in order]
        body = [[row[i] for i in order] for row in body]
    total = ["Total", "", "", sum(r[3] for r in factor_body(loads)), "", "", "", ""]
    return xlsx({"Funding": report_rows(header, body, totals=total if not order else None)})


@pytest.fixture
def batch(make_batch, world, dbconn):
    made = make_batch(count=3)
    return made.batch, made.loads, world.billing


def test_a_file_with_the_factors_names_shows_the_mapping_step_with_each_column_proposed(batch):
    b, loads, user = batch
    result = reports.preview(b, "purchase", factor_workbook(loads), user, "funding.xlsx")
    assert result.step is not None and not result.ok
    assert result.step.choice == {**{f: "" for f in result.step.fields}, **OUR_CHOICE}
    assert {"Invoice Number", "Purchase Date", "Advance Amount"} <= set(result.step.fields)
    funded = next(c for c in result.step.columns if c.key == "funded")
    assert funded.header == "Funded" and funded.samples[0] == "11/25/2026"
    assert result.upload.id  # the file is kept for the mapping step
    with pytest.raises(reports.ReportRefused, match="Map the file's columns"):
        reports.apply(result.upload, user)
    assert {x.billing_status for x in reload(loads)} == {"invoiced"}


def test_confirmed_mapping_is_saved_and_reads_the_file_then_the_next_file_needs_no_step(batch, make_batch):
    b, loads, user = batch
    result = reports.preview(b, "purchase", factor_workbook(loads), user, "funding.xlsx")
    mapped = reports.map_columns(result.upload, OUR_CHOICE, user)
    assert mapped.ok and mapped.step is None, [str(e) for e in mapped.errors]
    assert mapped.counts["finance"] == 3
    assert mapped.mapping["saved_by"] == user.display_name
    saved = ReportMapping.get()
    assert (saved.factor_id, saved.kind, saved.saved_by_id) == (b.factor_id, "purchase", user.id)
    assert AuditLog.get(AuditLog.action == "report_mapping.save").object_id == saved.id
    reports.apply(mapped.upload, user)
    fresh = reload(loads)
    assert {x.billing_status for x in fresh} == {FINANCED}
    fee = round(loads[0].total_cents * 0.025)
    assert (fresh[0].advance_cents, fresh[0].fee_cents, fresh[0].factor_reference) == (
        loads[0].total_cents - fee, fee, "S-900")

    # The next file with the same header, its columns in another order: no mapping step.
    payment = reports.preview(b, "payment", payment_csv(loads), user, "pay.csv")
    assert payment.mapping is None and payment.step is None  # our own template: no mapping
    second, more = make_batch(count=2)
    again = reports.preview(second, "purchase", factor_workbook(more, order=[2, 0, 1, 3, 4, 5, 6, 7]), user,
                            "funding2.xlsx")
    assert again.step is None and again.ok, [str(e) for e in again.errors]
    assert again.mapping["id"] == saved.id and again.mapping["saved_at"] == saved.saved_at
    reports.apply(again.upload, user)
    assert {x.billing_status for x in reload(more)} == {FINANCED}


def test_our_own_template_never_asks_for_a_mapping(batch):
    b, loads, user = batch
    result = reports.preview(b, "purchase", purchase_csv(loads), user, "Purchase_Report.csv")
    assert result.step is None and result.mapping is None and result.ok
    assert ReportMapping.select().count() == 0


def test_a_mapping_leaving_a_required_field_empty_is_refused_naming_it(batch):
    b, loads, user = batch
    result = reports.preview(b, "purchase", factor_workbook(loads), user, "funding.xlsx")
    before = snapshot()
    with pytest.raises(Invalid) as refused:
        reports.map_columns(result.upload, {**OUR_CHOICE, "Advance Amount": ""}, user)
    assert refused.value.errors["mapping"] == ["Advance Amount is required: choose the column that holds it."]
    with pytest.raises(Invalid) as refused:
        reports.map_columns(result.upload, {**OUR_CHOICE, "Invoice Number": "", "Load Number": ""}, user)
    assert "Invoice Number or Load Number" in refused.value.errors["mapping"][0]
    assert snapshot() == before and ReportMapping.select().count() == 0


def test_one_column_mapped_to_two_fields_is_refused_naming_both(batch):
    b, loads, user = batch
    result = reports.preview(b, "purchase", factor_workbook(loads), user, "funding.xlsx")
    before = snapshot()
    with pytest.raises(Invalid) as refused:
        reports.map_columns(result.upload, {**OUR_CHOICE, "Invoice Amount": "netadvance"}, user)
    assert refused.value.errors["mapping"] == [
        "Column 'netadvance' is chosen for Invoice Amount and Advance Amount: a column can hold one field; "
        "choose another column for one of them, or Not in this file."]
    with pytest.raises(Invalid, match="no column 'nosuch'"):
        reports.map_columns(result.upload, {**OUR_CHOICE, "Reason": "nosuch"}, user)
    assert snapshot() == before


def test_a_header_matching_two_saved_mappings_uses_neither_and_says_so(batch):
    b, loads, user = batch
    table = reports.preview(b, "purchase", factor_workbook(loads), user, "f.xlsx").parsed.table
    # Two mappings saved for narrower headers, both within this file's columns.
    for drop in ("holdback", "sched#"):
        keys = [k for k in table.keys if k and k != drop]
        ReportMapping.create(company=b.company_id, factor=b.factor_id, kind="purchase",
                             header_key=mapping.header_key(keys), headers=_json(sorted(keys)),
                             columns=_json({f: k for f, k in OUR_CHOICE.items() if k != drop}), saved_by=user)
    result = reports.preview(b, "purchase", factor_workbook(loads), user, "f2.xlsx")
    assert result.step is not None and result.mapping is None
    assert result.step.notice.startswith("This header matches 2 saved mappings (saved on ")
    assert "none was used" in result.step.notice


def _json(value):
    import json
    return json.dumps(value)


def test_changing_the_mapping_starts_from_the_one_saved(batch):
    b, loads, user = batch
    upload = reports.map_columns(reports.preview(b, "purchase", factor_workbook(loads), user, "f.xlsx").upload,
                                 OUR_CHOICE, user).upload
    step = reports.mapping_step(upload)
    assert {f: k for f, k in step.choice.items() if k} == OUR_CHOICE
    changed = reports.map_columns(upload, {**OUR_CHOICE, "Reserve Amount": ""}, user)
    assert changed.ok and ReportMapping.select().count() == 1
    assert "holdback" not in mapping.columns_of(ReportMapping.get()).values()


def test_a_payment_remittance_with_its_own_names_is_mapped_and_applied(make_batch, world, dbconn):
    b, loads = make_batch("financed", count=2)
    user = world.billing
    header = ["Invoice", "Check #", "Date Received", "Amount Received", "Paid In Full"]
    body = [[x.invoice_number, f"CHK-{i}", "12/20/2026", f"${x.total_cents / 100:,.2f}", "Y"]
            for i, x in enumerate(loads)]
    result = reports.preview(b, "payment", csv_bytes(header, body), user, "remit.csv")
    assert result.step is not None
    assert {f: k for f, k in result.step.choice.items() if k} == {
        "Invoice Number": "invoice", "Payment Date": "datereceived", "Amount Paid": "amountreceived",
        "Reference": "check#", "Final": "paidinfull"}
    applied = reports.apply(reports.map_columns(result.upload, result.step.choice, user).upload, user)
    assert applied.counts
    assert {x.billing_status for x in reload(loads)} == {COMPLETED}


# --- proposals, pure ------------------------------------------------------------------

class _Table:
    def __init__(self, headers, rows):
        from webapp.services.tables import normalize_header
        self.headers = headers
        self.keys = [normalize_header(h) for h in headers]
        self.rows = [(i + 2, dict(zip(self.keys, r))) for i, r in enumerate(rows)]
        self.letters = {}


def test_a_column_is_proposed_by_its_values_as_well_as_its_name():
    as_date = _Table(["Inv #", "Funded", "Advance"], [["A-1", "11/25/2026", "900.00"]])
    assert mapping.propose("purchase", as_date)["Purchase Date"] == "funded"
    as_money = _Table(["Inv #", "Funded", "Date"], [["A-1", "$1,234.50", "2026-11-25"]])
    proposed = mapping.propose("purchase", as_money)
    assert (proposed["Advance Amount"], proposed["Purchase Date"]) == ("funded", "date")
    text_under_date = _Table(["Inv #", "Date", "Advance"], [["A-1", "soon", "1.00"]])
    assert "Purchase Date" not in mapping.propose("purchase", text_under_date)


def test_the_header_key_ignores_order_and_spelling_of_spaces():
    assert mapping.header_key(["inv#", "funded"]) == mapping.header_key(["funded", "inv#", ""])
    assert mapping.header_key(["inv#", "funded"]) != mapping.header_key(["inv#", "fundeddate"])


def test_problems_name_each_field():
    keys = ["a", "b", "c"]
    assert mapping.problems("payment", {"Invoice Number": "a", "Payment Date": "b", "Amount Paid": "c"}, keys) == []
    assert mapping.problems("payment", {"Invoice Number": "a", "Payment Date": "b", "Amount Paid": ""}, keys) == [
        "Amount Paid is required: choose the column that holds it."]
