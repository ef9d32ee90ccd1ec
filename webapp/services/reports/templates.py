"""CSV files of the report area: the two templates (blank and pre-filled per batch)
and "Download rows with errors". Text cells are protected against formula injection.
"""
from peewee import fn

from webapp.models import FINANCED
from webapp.models import INVOICED
from webapp.models import REPORT_PURCHASE
from webapp.models import Load
from webapp.services.money import format_cents
from webapp.services.reports.checking import in_batch
from webapp.services.reports.parsing import COLUMNS
from webapp.services.reports.parsing import IGNORED_KEYS
from webapp.services.tables import normalize_header
from webapp.services.tables import write_csv


def blank_template(kind):
    """Purchase_Report.csv or Payments_Report.csv: the headers only."""
    return write_csv(COLUMNS[kind], [])


def prefilled_template(batch, kind):
    """The template with the batch's invoices, so staff type only what the factor reports.

    Purchase: the invoices still Invoiced with their amounts. Payment: the Financed
    invoices with Amount Paid left empty (a clerk who fills in only the dates must not
    record full payments) and the balance still owed in a Balance Due column beside it,
    which uploads never read (parsing ignores it by its header).
    """
    columns = list(COLUMNS[kind])
    rows = []
    if kind == REPORT_PURCHASE:
        for invoice, load_number, total in purchase_template_rows(batch):
            rows.append([invoice or "", load_number, "", format_cents(total)] + [""] * (len(columns) - 4))
    else:
        balance_at = columns.index("Amount Paid") + 1
        columns[balance_at:balance_at] = INFORMATION_ONLY
        for invoice, load_number, balance in payment_template_rows(batch):
            row = [invoice or "", load_number] + [""] * (len(columns) - 2)
            row[balance_at] = format_cents(max(0, balance))
            rows.append(row)
    return write_csv(columns, rows)


# The pre-filled Payment Report's column for the clerk to read; uploads ignore it by its header.
INFORMATION_ONLY = ["Balance Due"]
assert {normalize_header(c) for c in INFORMATION_ONLY} <= IGNORED_KEYS


def errors_csv(preview):
    """The rows at fault as they were uploaded, plus Row and Error columns.

    Errors that concern the whole file (such as missing invoices) come first,
    on rows of their own with only the Error cell filled.
    """
    if preview is None:
        return write_csv(["Row", "Error"], [])
    parsed = preview.parsed
    headers = [h for h in parsed.headers if h] or list(COLUMNS[preview.kind])
    by_row = {}
    for error in preview.errors:
        by_row.setdefault(error.row, []).append(error)
    rows = []
    for error in by_row.get(None, ()):
        rows.append([""] * (len(headers) + 1) + [error.message])
    for number in sorted(n for n in by_row if n is not None):
        cells = parsed.cells(number)
        messages = "; ".join(f"{e.column}: {e.message}" if e.column else e.message for e in by_row[number])
        rows.append([number] + [cells.get(h, "") for h in headers] + [messages])
    return write_csv(["Row"] + headers + ["Error"], rows)


def purchase_template_rows(batch):
    """Rows of the pre-filled Purchase Report: the batch's loads still Invoiced."""
    query = (Load.select(Load.invoice_number, Load.load_number, Load.total_cents)
             .where(in_batch(batch)
                    & (Load.billing_status == INVOICED))
             .order_by(Load.invoice_number, Load.load_number).tuples())
    return list(query)


def payment_template_rows(batch):
    """Rows of the pre-filled Payment Report: the batch's Financed loads and what each still owes."""
    query = (Load.select(Load.invoice_number, Load.load_number,
                         fn.COALESCE(Load.purchase_amount_cents, Load.total_cents) - Load.paid_cents)
             .where(in_batch(batch)
                    & (Load.billing_status == FINANCED))
             .order_by(Load.invoice_number, Load.load_number).tuples())
    return list(query)
