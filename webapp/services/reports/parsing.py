"""Purchase and Payment Reports: file bytes (CSV or a workbook) to typed rows and errors. Pure,
no database.

The columns are those of the product's templates (Purchase_Report.csv and
Payments_Report.csv); header matching ignores case, spaces and underscores.
Every error names the spreadsheet row (the header is row 1) and the column as
written in the file, so the person who uploaded it can find the cell.
"""
import dataclasses
import datetime
import hashlib
import re

from webapp.models import PAYMENT_METHODS
from webapp.models import REPORT_PAYMENT
from webapp.models import REPORT_PURCHASE
from webapp.services.money import parse_money
from webapp.services.tables import CellError
from webapp.services.tables import FileFormatError
from webapp.services.tables import normalize_header
from webapp.services.tables import parse_date
from webapp.services.tables import parse_yes_no
from webapp.services.workbooks import read_upload

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 50_000

PURCHASED = "purchased"
REJECTED = "rejected"
HELD = "held"

PURCHASE_COLUMNS = [
    "Invoice Number", "Load Number", "Purchase Date", "Invoice Amount", "Advance Amount",
    "Fee Amount", "Reserve Amount", "Status", "Reason", "Factor Reference",
]
PAYMENT_COLUMNS = [
    "Invoice Number", "Load Number", "Payment Date", "Amount Paid", "Reference",
    "Payment Method", "Reserve Released", "Fee Adjustment", "Final", "Notes",
    # A remittance may name the invoice only by the factor's reference of its purchase.
    "Factor Reference",
    # "chargeback": the factor charged the invoice back (recourse); blank or "payment" otherwise.
    "Kind",
]
TEMPLATE_NAMES = {REPORT_PURCHASE: "Purchase_Report.csv", REPORT_PAYMENT: "Payments_Report.csv"}
COLUMNS = {REPORT_PURCHASE: PURCHASE_COLUMNS, REPORT_PAYMENT: PAYMENT_COLUMNS}

# Other spellings seen in factor portals' exports, by normalized header (the column mapping
# step proposes from a wider list: services/reports/mapping.py).
_ALIASES = {
    "invoice": "Invoice Number", "invoiceno": "Invoice Number", "invoice#": "Invoice Number",
    "invoicenum": "Invoice Number", "invoiceid": "Invoice Number",
    "load": "Load Number", "loadno": "Load Number", "load#": "Load Number", "loadnum": "Load Number",
    "loadid": "Load Number",
    "fundeddate": "Purchase Date", "purchasedon": "Purchase Date",
    "faceamount": "Invoice Amount", "advance": "Advance Amount", "fee": "Fee Amount",
    "reserve": "Reserve Amount", "factorref": "Factor Reference", "schedulenumber": "Factor Reference",
    "paymentamount": "Amount Paid", "amountreceived": "Amount Paid", "paidamount": "Amount Paid",
    "paiddate": "Payment Date", "checknumber": "Reference", "method": "Payment Method",
    "reference#": "Reference", "finalpayment": "Final",
    "transactiontype": "Kind", "entrytype": "Kind", "rowkind": "Kind",
}

_OWN = {normalize_header(c): c for kind in COLUMNS for c in COLUMNS[kind]}

_STATUS_WORDS = {
    "purchased": PURCHASED, "purchase": PURCHASED, "funded": PURCHASED, "approved": PURCHASED,
    "bought": PURCHASED,
    "rejected": REJECTED, "reject": REJECTED, "declined": REJECTED, "denied": REJECTED,
    "held": HELD, "hold": HELD, "onhold": HELD, "pending": HELD,
}
_KIND_WORDS = {"payment": "payment", "paid": "payment", "collection": "payment", "chargeback": "chargeback",
               "chargedback": "chargeback", "recourse": "chargeback", "cb": "chargeback"}
_METHOD_WORDS = {"ach": "ACH", "check": "Check", "cheque": "Check", "chk": "Check",
                 "wire": "Wire", "wiretransfer": "Wire"}
assert set(_METHOD_WORDS.values()) == set(PAYMENT_METHODS)

# Our fields a report cannot do without (besides the invoice or load it names).
REQUIRED = {REPORT_PURCHASE: ["Purchase Date", "Advance Amount"], REPORT_PAYMENT: ["Payment Date", "Amount Paid"]}
IDENTITY = ("Invoice Number", "Load Number")
# What may name a row's invoice, by report: a payment also by the factor's reference.
IDENTITIES = {REPORT_PURCHASE: IDENTITY, REPORT_PAYMENT: IDENTITY + ("Factor Reference",)}
# Columns our own templates write for the clerk and uploads never read (the pre-filled
# Payment Report's Balance Due).
IGNORED_KEYS = {"balancedue"}

# Columns only one of the two reports has: they tell which report a file is.
_SPECIFIC = {
    REPORT_PURCHASE: {"Purchase Date", "Invoice Amount", "Advance Amount", "Fee Amount",
                      "Reserve Amount", "Status"},
    REPORT_PAYMENT: {"Payment Date", "Amount Paid", "Payment Method", "Reserve Released",
                     "Fee Adjustment", "Final"},
}
# Headers of the batch schedule (the file sent to the factor), uploaded back by mistake.
_SCHEDULE_ONLY = {"invoicedate", "customer", "customername", "customermc", "customermcnumber",
                  "terms", "duedate"}


@dataclasses.dataclass(slots=True)
class ReportRow:
    """What every line of a report has: its spreadsheet row and the invoice or load it names."""

    row: int
    invoice_number: str = ""
    load_number: str = ""

    @property
    def ident(self):
        return self.invoice_number or self.load_number


@dataclasses.dataclass(slots=True)
class PurchaseRow(ReportRow):
    """One line of a Purchase Report, typed (None where blank or unreadable)."""

    purchase_date: datetime.date | None = None
    invoice_amount_cents: int | None = None
    advance_cents: int | None = None
    fee_cents: int | None = None
    reserve_cents: int | None = None
    status: str = PURCHASED
    reason: str = ""
    factor_reference: str = ""
    duplicate_of: int | None = None  # an identical earlier row of the same file
    ok: bool = True  # False when the row has a parse error


@dataclasses.dataclass(slots=True)
class PaymentRow(ReportRow):
    """One line of a Payment Report, typed."""

    payment_date: datetime.date | None = None
    amount_cents: int | None = None
    reference: str = ""
    method: str = ""
    reserve_released_cents: int = 0
    fee_adjustment_cents: int = 0
    final: bool = True
    notes: str = ""
    factor_reference: str = ""
    chargeback: bool = False  # Kind "chargeback": Amount Paid is the amount charged back
    duplicate_of: int | None = None
    ok: bool = True


@dataclasses.dataclass
class ParsedReport:
    """What a file says: typed rows, errors, and the raw cells for the errors CSV."""

    kind: str
    sha256: str
    headers: list = dataclasses.field(default_factory=list)  # as written in the file
    columns: dict = dataclasses.field(default_factory=dict)  # template column -> header as written
    ignored_columns: list = dataclasses.field(default_factory=list)
    rows: list = dataclasses.field(default_factory=list)
    errors: list = dataclasses.field(default_factory=list)
    raw: dict = dataclasses.field(default_factory=dict)  # row number -> {normalized header: cell}
    header_keys: dict = dataclasses.field(default_factory=dict)  # header as written -> normalized
    sheet: str | None = None  # the workbook's sheet read, and those it has that hold anything
    sheets: list = dataclasses.field(default_factory=list)
    ignored_rows: list = dataclasses.field(default_factory=list)  # 'Rows 1–4: title', 'Row 58: totals'
    notes: list = dataclasses.field(default_factory=list)
    table: object = None  # the file's table as read (headers, keys, rows), for the mapping step
    mapping: dict = None  # {our column: file key} the file was read with, when not our own names
    needs_mapping: bool = False  # our required fields are not among the file's headers
    saved_mapping: dict = None  # the saved mapping read with (services/reports/mapping.describe)
    mapping_notice: str = ""  # why no saved mapping was used (two of them match the header)

    def cells(self, number):
        """Row NUMBER's cells as uploaded, by header as written (for the errors CSV)."""
        raw = self.raw.get(number, {})
        return {header: raw.get(key, "") for header, key in self.header_keys.items()}

    @property
    def file_error(self):
        """The error that stops the whole file (not a row), if any."""
        return next((e for e in self.errors if e.row is None), None)

    def add(self, row, column, message):
        self.errors.append(CellError(row, self.columns.get(column, column), message))


def parse_report(kind, data, *, sheet=None, filename="", mapping=None, expected=(), max_bytes=MAX_BYTES,
                 max_rows=MAX_ROWS):
    """Parse a Purchase or Payment Report (bytes, by KIND) into its rows and CellErrors; of a
    workbook, SHEET (or the sheet proposed when None).

    MAPPING ({our column: the file's normalized header}) reads a file whose headers are the
    factor's own; without it our names and their usual spellings are looked for, and a file
    lacking a required one is marked needs_mapping. EXPECTED adds header names that help find
    the header row below a title block (those of the factor's saved mappings)."""
    return _parse(kind, data, max_bytes, max_rows, sheet, filename, mapping, expected)


def expected_keys(kind):
    """The normalized headers that name KIND's columns (to find the header row of a sheet)."""
    return {normalize_header(c) for c in COLUMNS[kind]} | {k for k, c in _ALIASES.items() if c in COLUMNS[kind]}


def known_key(key):
    """Our column that normalized header KEY names by our own words (or None)."""
    return _OWN.get(key) or _ALIASES.get(key)


def sha256_of(data):
    return hashlib.sha256(data or b"").hexdigest()


def read_report_table(kind, data, *, sheet=None, filename="", expected=(), max_bytes=MAX_BYTES,
                      max_rows=MAX_ROWS):
    """The file's table alone, its rows not read into report rows yet (parse_table does that,
    with a mapping or by our names): a ParsedReport holding the table, or the file's error.
    For a reader that chooses the mapping from the header first, and reads the rows once."""
    report = ParsedReport(kind=kind, sha256=sha256_of(data))
    if data and len(data) > max_bytes:
        report.add(None, None, f"The file is {len(data) / (1024 * 1024):.1f} MB; "
                               f"the limit is {max_bytes // (1024 * 1024)} MB.")
        return report
    try:
        table = read_upload(data or b"", expected=expected_keys(kind) | set(expected), max_rows=max_rows,
                            sheet=sheet, filename=filename)
    except FileFormatError as exc:
        report.sheets = getattr(exc, "sheets", [])
        report.sheet = getattr(exc, "sheet", None)
        report.add(None, None, str(exc))
        return report
    report.sheet, report.sheets = table.sheet, table.sheets
    report.ignored_rows, report.notes = table.ignored, table.notes
    report.table = table
    return report


def _parse(kind, data, max_bytes, max_rows, sheet, filename, mapping, expected):
    report = read_report_table(kind, data, sheet=sheet, filename=filename,
                               expected=set(expected) | set((mapping or {}).values()),
                               max_bytes=max_bytes, max_rows=max_rows)
    if report.table is not None:
        _rows(report, report.table, mapping)
        report.table.locate(report.errors)
    return report


def parse_table(kind, table, sha256, mapping=None):
    """The report of a TABLE already read (the same file read with another mapping)."""
    report = ParsedReport(kind=kind, sha256=sha256, sheet=table.sheet, sheets=table.sheets,
                          ignored_rows=table.ignored, notes=table.notes, table=table)
    _rows(report, table, mapping)
    table.locate(report.errors)
    return report


def _rows(report, table, mapping):
    kind = report.kind
    report.headers = table.headers
    if mapping is not None:
        if not _apply_mapping(report, table, mapping):
            return
    elif not _map_columns(report, table):
        return
    if not table.rows:
        report.add(None, None, f"The file has its headers but no rows. Fill one row per invoice "
                               f"under the headers of {TEMPLATE_NAMES[kind]}.")
        return
    report.header_keys = dict(zip(table.headers, table.keys))
    if mapping is not None:
        key_of = [(column, mapping.get(column) or "\0none") for column in COLUMNS[kind]]
    else:
        key_of = [(column, _key_for(column, table.keys) or "\0none") for column in COLUMNS[kind]]
    parse_row = _purchase_row if kind == REPORT_PURCHASE else _payment_row
    seen = {}
    for number, cells in table.rows:
        values = {column: cells.get(key, "") for column, key in key_of}
        report.raw[number] = cells
        row = parse_row(report, number, values)
        signature = tuple(values.values())  # same columns in the same order on every row
        if signature in seen:
            row.duplicate_of = seen[signature]
        else:
            seen[signature] = number
        report.rows.append(row)


def _apply_mapping(report, table, mapping):
    """Read the columns MAPPING names; a mapped column the file lacks is a file error."""
    present = dict(zip(table.keys, table.headers))
    missing = [f"{column} ('{key}')" for column, key in mapping.items() if key and key not in present]
    if missing:
        report.add(None, None, f"The file has no column for {', '.join(missing)} of the mapping it was read "
                               "with. Map its columns again.")
        report.needs_mapping = True
        return False
    report.mapping = dict(mapping)
    report.columns = {column: present[key] for column, key in mapping.items() if key}
    used = set(mapping.values())
    report.ignored_columns = [h for h, k in zip(table.headers, table.keys) if h and k not in used]
    return True


def _key_for(column, keys):
    """The normalized header in KEYS that stands for template COLUMN (or None)."""
    wanted = normalize_header(column)
    if wanted in keys:
        return wanted
    return next((k for k in keys if _ALIASES.get(k) == column), None)


def _map_columns(report, table):
    """Find the template's columns among the file's headers; refuse the wrong file."""
    kind = report.kind
    keys = set(table.keys)
    for column in COLUMNS[kind]:
        key = _key_for(column, table.keys)
        if key:
            report.columns[column] = table.headers[table.keys.index(key)]
    known = {normalize_header(c) for c in COLUMNS[kind]} | {
        k for k, c in _ALIASES.items() if c in COLUMNS[kind]} | IGNORED_KEYS
    report.ignored_columns = [h for h, k in zip(table.headers, table.keys) if h and k not in known]

    other = REPORT_PAYMENT if kind == REPORT_PURCHASE else REPORT_PURCHASE
    mine = _SPECIFIC[kind] & set(report.columns)
    theirs = {c for c in _SPECIFIC[other] if _key_for(c, table.keys)}
    if not mine and len(theirs) >= 2:
        if kind == REPORT_PURCHASE:
            report.add(None, None, "This is a Payment Report; upload it with Upload Payment Report.")
        else:
            report.add(None, None, "This is a Purchase Report; upload it with Upload Purchase Report.")
        return False
    if not mine and len(keys & _SCHEDULE_ONLY) >= 2:
        report.add(None, None, "This is the batch schedule sent to the factor (schedule.csv), not a "
                               f"{'Purchase' if kind == REPORT_PURCHASE else 'Payment'} Report. "
                               f"Fill {TEMPLATE_NAMES[kind]} with what the factor reported.")
        return False

    missing = [c for c in REQUIRED[kind] if c not in report.columns]
    if not any(c in report.columns for c in IDENTITIES[kind]):
        missing.insert(0, ", ".join(IDENTITIES[kind][:-1]) + " or " + IDENTITIES[kind][-1])
    if missing:
        # The factor's own names: the preview asks which column holds each of our fields.
        # (Only when the file has enough columns to hold an invoice and each required field.)
        report.needs_mapping = sum(1 for k in table.keys if k and k not in IGNORED_KEYS) > len(REQUIRED[kind])
        found = ", ".join(h for h in table.headers if h) or "none"
        report.add(None, None, f"Required column{'s' if len(missing) > 1 else ''} missing: "
                               f"{', '.join(missing)}. The headers found were: {found}. "
                               f"Use the {TEMPLATE_NAMES[kind]} template.")
        return False
    return True


# Shapes almost every cell has, read here without the general parsers (a report has
# tens of thousands of such cells and is read twice: at preview and again at apply).
_PLAIN_AMOUNT = re.compile(r"\d{1,12}(?:\.\d{1,2})?\Z", re.ASCII).match
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}\Z", re.ASCII).match


def _typed(report, row, column, text, parse, required):
    """A cell off the fast path: blank (an error when REQUIRED), else PARSE(TEXT); what cannot be
    read is recorded against the row and gives None."""
    if not text.strip():
        if required:
            report.add(row.row, column, f"{column} is required.")
            row.ok = False
        return None
    try:
        return parse(text)
    except ValueError as exc:
        report.add(row.row, column, _sentence(exc))
        row.ok = False
        return None


def _money(report, row, values, column, *, minimum=None, required=False):
    """Cents of VALUES[COLUMN], or None when blank; records an error when unreadable."""
    text = values.get(column, "")
    if _PLAIN_AMOUNT(text):
        whole, _, part = text.partition(".")
        cents = int(whole) * 100 + (int(part) * (10 if len(part) == 1 else 1) if part else 0)
        if minimum is None or cents >= minimum:
            return cents
    cents = _typed(report, row, column, text, parse_money, required)
    if cents is None:
        return None
    if minimum is not None and cents < minimum:
        report.add(row.row, column, f"{column} cannot be {'negative' if minimum == 0 else 'zero or negative'} "
                                    f"('{text.strip()}').")
        row.ok = False
        return None
    return cents


def _date(report, row, values, column, *, required=False):
    text = values.get(column, "")
    if _ISO_DAY(text):
        try:
            day = datetime.date.fromisoformat(text)
        except ValueError:
            day = None
        if day is not None and 1990 <= day.year <= 2100:
            return day
    return _typed(report, row, column, text, parse_date, required)


def _sentence(exc):
    text = str(exc)
    return text[0].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _no_identity(report, row):
    column = "Invoice Number" if "Invoice Number" in report.columns else "Load Number"
    report.add(row.row, column, "Invoice Number or Load Number is required.")
    row.ok = False


def _purchase_row(report, number, values):
    row = PurchaseRow(number, values["Invoice Number"], values["Load Number"])
    if not row.invoice_number and not row.load_number:
        _no_identity(report, row)
    status_text = values["Status"]
    if not status_text:
        status = PURCHASED
    else:
        status = _STATUS_WORDS.get(status_text.lower()) or _STATUS_WORDS.get(normalize_header(status_text))
        if status is None:
            report.add(number, "Status", f"'{status_text}' is not a status: use purchased, rejected or held.")
            row.ok = False
            status = PURCHASED
    row.status = status
    row.reason = values["Reason"]
    row.factor_reference = values["Factor Reference"]
    buying = status == PURCHASED
    row.purchase_date = _date(report, row, values, "Purchase Date", required=buying)
    row.invoice_amount_cents = _money(report, row, values, "Invoice Amount", minimum=1)
    row.advance_cents = _money(report, row, values, "Advance Amount", minimum=0, required=buying)
    row.fee_cents = _money(report, row, values, "Fee Amount", minimum=0)
    row.reserve_cents = _money(report, row, values, "Reserve Amount", minimum=0)
    if not buying and not row.reason:
        report.add(number, "Reason", f"Reason is required for a {status} invoice: say why the factor "
                                     f"{'rejected' if status == REJECTED else 'holds'} it.")
        row.ok = False
    return row


def _payment_row(report, number, values):
    row = PaymentRow(number, values["Invoice Number"], values["Load Number"])
    row.factor_reference = values["Factor Reference"]
    if not row.invoice_number and not row.load_number and not row.factor_reference:
        _no_identity(report, row)
    row.payment_date = _date(report, row, values, "Payment Date", required=True)
    row.amount_cents = _money(report, row, values, "Amount Paid", minimum=1, required=True)
    row.reference = values["Reference"]
    method_text = values["Payment Method"]
    if method_text:
        method = _METHOD_WORDS.get(method_text.lower()) or _METHOD_WORDS.get(normalize_header(method_text))
        if method is None:
            report.add(number, "Payment Method", f"'{method_text}' is not a payment method: use ACH, Check or Wire.")
            row.ok = False
        row.method = method or ""
    row.reserve_released_cents = _money(report, row, values, "Reserve Released", minimum=0) or 0
    row.fee_adjustment_cents = _money(report, row, values, "Fee Adjustment") or 0
    try:
        row.final = parse_yes_no(values["Final"], default=True)
    except ValueError:
        report.add(number, "Final", f"'{values['Final']}' is not yes or no "
                                    "(yes completes the load; no records a partial payment).")
        row.ok = False
    row.notes = values["Notes"]
    kind = values.get("Kind", "")
    if kind:
        word = _KIND_WORDS.get(normalize_header(kind))
        if word is None:
            report.add(number, "Kind", f"'{kind}' is not a kind of row: leave it blank for a payment, or "
                                       "write chargeback when the factor charged the invoice back.")
            row.ok = False
        row.chargeback = word == "chargeback"
    return row
