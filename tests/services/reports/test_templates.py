"""The report templates (services/reports/templates.py): pre-filled with the batch's invoices."""
from tests.helpers import apply_report
from tests.helpers import payment_csv
from tests.helpers import purchase_csv
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
    assert lines[0] == ",".join(PAYMENT_COLUMNS)
    assert lines[1].startswith(f"{loads[0].invoice_number},{loads[0].load_number},,"
                               f"{format_cents(loads[0].total_cents - 1000)},")
    assert len(lines) == 5
