"""The report templates (services/reports/templates.py): pre-filled with the batch's invoices."""
import csv
import io

import pytest

from tests.helpers import apply_report
from tests.helpers import payment_csv
from tests.helpers import purchase_csv
from tests.helpers import reload
from tests.helpers import snapshot
from webapp.services import reports
from webapp.services.money import format_cents
from webapp.services.reports import templates as report_files
from webapp.services.reports.parsing import PAYMENT_COLUMNS
from webapp.services.reports.parsing import PURCHASE_COLUMNS


def test_prefilled_templates_list_the_batch_invoices(make_batch, world, dbconn):
    batch, loads = make_batch(count=4)
    user = world.billing
    text = report_files.prefilled_template(batch, "purchase")
    lines = text.strip().split("\r\n")
    assert lines[0] == ",".join(PURCHASE_COLUMNS)
    assert lines[1].startswith(f"{loads[0].invoice_number},{loads[0].load_number},,{format_cents(loads[0].total_cents)},")
    assert len(lines) == 5
    apply_report(batch, "purchase", purchase_csv(loads), user)
    apply_report(batch, "payment", payment_csv(loads[:1], amounts=[1000], final="no"), user)
    lines = report_files.prefilled_template(batch, "payment").strip().split("\r\n")
    header = list(PAYMENT_COLUMNS)
    header.insert(header.index("Amount Paid") + 1, "Balance Due")
    assert lines[0] == ",".join(header)
    # Amount Paid empty, the balance still owed beside it in Balance Due.
    assert lines[1].startswith(f"{loads[0].invoice_number},{loads[0].load_number},,,"
                               f"{format_cents(loads[0].total_cents - 1000)},")
    assert len(lines) == 5


def test_the_prefilled_payment_report_records_nothing_until_amount_paid_is_filled(make_batch, world, dbconn):
    """Uploads ignore Balance Due: with only the dates filled in, every row asks for Amount Paid and
    nothing changes; with Amount Paid filled in, the balance column is left unread."""
    batch, loads = make_batch("financed", count=2)
    text = report_files.prefilled_template(batch, "payment")
    table = list(csv.reader(io.StringIO(text)))
    header = table[0]
    for row in table[1:]:
        row[header.index("Payment Date")] = "2026-11-30"
    before = snapshot(previews=False)
    result = reports.preview(batch, "payment", _csv(table), world.billing, "Payments_Report_batch.csv")
    assert [(e.row, e.column, e.message) for e in result.errors] == [
        (2, "Amount Paid", "Amount Paid is required."), (3, "Amount Paid", "Amount Paid is required.")]
    assert "Balance Due" not in result.parsed.ignored_columns
    with pytest.raises(reports.ReportRefused):
        reports.apply(result.upload, world.billing)
    assert snapshot(previews=False) == before
    for row in table[1:]:
        row[header.index("Amount Paid")] = "100.00"  # less than the balance: a short pay, not the balance
    applied = apply_report(batch, "payment", _csv(table), world.billing, "filled.csv")
    assert [o.data.amount_cents for o in applied.outcomes] == [10000, 10000]
    assert {x.paid_cents for x in reload(loads)} == {10000}


def _csv(table):
    out = io.StringIO()
    csv.writer(out).writerows(table)
    return out.getvalue().encode()
