"""Import loads from a CSV file or a workbook: parse and validate everything, then commit all or nothing.

parse() never writes; commit() writes every load of a clean preview in one
transaction, in bulk. The columns are documented in docs/load-import.md.
"""
import dataclasses
import json
import re

from peewee import IntegrityError

from webapp.models import LINE_KINDS
from webapp.models import QUEUED
from webapp.models import AuditLog
from webapp.models import Customer
from webapp.models import Load
from webapp.models import LoadLine
from webapp.models import Subsidiary
from webapp.models import db
from webapp.models import utcnow
from webapp.services import audit
from webapp.services import previews
from webapp.services.loads import fields as load_rules
from webapp.services.tables import CellError
from webapp.services.tables import FileFormatError
from webapp.services.tables import normalize_header
from webapp.services.tables import write_csv
from webapp.services.workbooks import read_upload

MAX_ROWS = 10_000
MAX_BYTES = 10 * 1024 * 1024
CHUNK = 200
# Marks the StoredFile of a preview waiting to be imported (and nothing else).

# (column as documented, other spellings accepted). Matching ignores case, spaces,
# underscores, dashes and dots.
COLUMNS = [
    ("Load Number", ("Load No", "Load #", "Load")),
    ("Invoice Number", ("Invoice No", "Invoice #", "Invoice")),
    ("Invoice Date", ()),
    ("Subsidiary", ("Subsidiary Name",)),
    ("Customer", ("Customer Name", "Debtor", "Bill To")),
    ("Customer MC", ("Customer MC Number", "Debtor MC", "MC Number", "MC")),
    ("Customer Reference", ("PO", "PO Number", "Customer PO", "Reference")),
    ("Pickup City", ()),
    ("Pickup State", ()),
    ("Pickup Date", ()),
    ("Delivery City", ()),
    ("Delivery State", ()),
    ("Delivery Date", ()),
    ("Linehaul", ("Linehaul Amount", "Line Haul", "Rate")),
    ("Fuel Surcharge", ("Fuel", "FSC", "Fuel Surcharge Amount")),
    ("Accessorials", ("Accessorial", "Accessorial Amount", "Accessorials Amount")),
    ("Accessorial Description", ("Accessorials Description",)),
    ("Invoicing Method", ("Method",)),
]
REQUIRED = ("Load Number", "Subsidiary", "Linehaul")

EXAMPLE_ROW = [
    "L-20481", "INV-20481", "11/25/2026", "Demo Freight LLC", "Summit Freight Brokerage",
    "MC-482913", "PO-77120", "Dallas", "TX", "11/22/2026", "Memphis", "TN", "11/24/2026",
    "$2,450.00", "$367.50", "$150.00", "Detention (2 h)", "factoring",
]

_KEYS = {}
for _name, _aliases in COLUMNS:
    for _spelling in (_name,) + _aliases:
        _KEYS[normalize_header(_spelling)] = _name


@dataclasses.dataclass
class ImportRow:
    """One load as it will be created."""

    row: int
    values: dict
    lines: list
    subsidiary_name: str = ""
    customer_name: str = ""

    @property
    def total_cents(self):
        return sum(line["amount_cents"] for line in self.lines)


@dataclasses.dataclass
class Preview:
    """The outcome of parse(): rows to create, errors that stop the import, warnings."""

    company_id: int
    filename: str = ""
    rows: list = dataclasses.field(default_factory=list)
    errors: list = dataclasses.field(default_factory=list)
    warnings: list = dataclasses.field(default_factory=list)
    data_rows: int = 0
    sheet: str | None = None  # a workbook's sheet read, and those it has that hold anything
    sheets: list = dataclasses.field(default_factory=list)
    ignored_rows: list = dataclasses.field(default_factory=list)
    notes: list = dataclasses.field(default_factory=list)

    @property
    def ok(self):
        return bool(self.rows) and not self.errors

    @property
    def total_cents(self):
        return sum(r.total_cents for r in self.rows)

    def errors_by_row(self):
        """{row number: [CellError, ...]} for the preview table."""
        out = {}
        for issue in self.errors:
            out.setdefault(issue.row, []).append(issue)
        return out


class ImportRefused(ValueError):
    """commit() was given a preview that cannot be imported; nothing was written."""


def template_csv():
    """The downloadable template: the headers and one example row."""
    return write_csv([name for name, _ in COLUMNS], [EXAMPLE_ROW])


def _normal_mc(text):
    """'MC-482913', 'mc 482913', '482913' and '0482913' all compare equal."""
    digits = re.sub(r"\D", "", text or "")
    return digits.lstrip("0")


def parse(data, company, *, filename="", sheet=None, max_bytes=MAX_BYTES, max_rows=MAX_ROWS):
    """Read and validate a load file for COMPANY without writing anything (of a workbook, SHEET,
    or the sheet proposed when None); returns a Preview."""
    company_id = getattr(company, "id", company)
    preview = Preview(company_id=company_id, filename=filename)

    def file_error(message, column="File"):
        preview.errors.append(CellError(1, column, message))
        return preview

    if data is not None and max_bytes and len(data) > max_bytes:
        return file_error(f"The file is {len(data) / 1048576:.1f} MB; the limit is "
                          f"{max_bytes // 1048576} MB. Split it and import the parts.")
    try:
        table = read_upload(data or b"", expected=_KEYS, max_rows=max_rows, sheet=sheet, filename=filename)
    except FileFormatError as exc:
        preview.sheet, preview.sheets = getattr(exc, "sheet", None), getattr(exc, "sheets", [])
        return file_error(str(exc))
    preview.sheet, preview.sheets = table.sheet, table.sheets
    preview.ignored_rows, preview.notes = table.ignored, table.notes
    _check_table(preview, table, company_id, file_error)
    table.locate(preview.errors)
    return preview


def _check_table(preview, table, company_id, file_error):

    written = {}   # documented column -> the header as written in the file
    ignored = []
    for header, key in zip(table.headers, table.keys):
        name = _KEYS.get(key)
        if name is None:
            if header:
                ignored.append(header)
        elif name in written:
            preview.warnings.append(f"The column {header} appears twice; the first one is used.")
        else:
            written[name] = header
    if ignored:
        preview.warnings.append("Ignored column(s) that the import does not use: "
                                + ", ".join(ignored) + ".")
    missing = [name for name in REQUIRED if name not in written]
    if "Customer" not in written and "Customer MC" not in written:
        missing.append("Customer (or Customer MC)")
    if missing:
        return file_error(
            f"The file has no {', '.join(missing)} column{'s' if len(missing) > 1 else ''}. "
            "The first row must hold the column names; download the template to see them.",
            column=", ".join(missing))
    preview.data_rows = len(table.rows)
    if not table.rows:
        return file_error("The file has its column names but no loads below them.")

    keys = {name: normalize_header(header) for name, header in written.items()}
    subsidiaries, customers_by_name, customers_by_mc = _lookups(company_id)
    existing_loads, existing_invoices = _existing(company_id, table.rows, keys)

    seen_loads, seen_invoices = {}, {}
    for number, cells in table.rows:
        duplicate = _check_numbers(number, cells, keys, written, preview,
                                   seen_loads, seen_invoices, existing_loads, existing_invoices)
        row = _parse_row(number, cells, keys, written, preview, subsidiaries,
                         customers_by_name, customers_by_mc)
        if row is not None and not duplicate:
            preview.rows.append(row)
    preview.errors.sort(key=lambda issue: issue.row)


def _check_numbers(number, cells, keys, written, preview, seen_loads, seen_invoices,
                   existing_loads, existing_invoices):
    """Flag a load or invoice number used twice in the file or already taken; True if so."""
    bad = False
    for column, seen, existing, again, taken in (
            ("Load Number", seen_loads, existing_loads,
             "load {v} is also on row {row}; each load may appear once in the file.", "load {v} already exists."),
            ("Invoice Number", seen_invoices, existing_invoices,
             "invoice {v} is also on row {row}.", "invoice {v} is already used by another load.")):
        value = cells.get(keys[column], "") if column in keys else ""
        if not value:
            continue
        if value in seen:
            preview.errors.append(CellError(number, written[column], again.format(v=value, row=seen[value])))
            bad = True
        elif value in existing:
            preview.errors.append(CellError(number, written[column], taken.format(v=value)))
            bad = True
        seen.setdefault(value, number)
    return bad


def _lookups(company_id):
    """Subsidiaries by name and legal name; customers by name and by MC number."""
    subsidiaries = {}
    for sub in Subsidiary.select(Subsidiary.id, Subsidiary.name, Subsidiary.legal_name).where(
            Subsidiary.company == company_id):
        for name in (sub.legal_name, sub.name):
            if name:
                subsidiaries[name.strip().lower()] = sub
    by_name, by_mc = {}, {}
    for customer in Customer.select(Customer.id, Customer.name, Customer.mc_number,
                                    Customer.invoicing_method).where(Customer.company == company_id):
        by_name[customer.name.strip().lower()] = customer
        mc = _normal_mc(customer.mc_number)
        if mc:
            by_mc.setdefault(mc, []).append(customer)
    return subsidiaries, by_name, by_mc


def _existing(company_id, rows, keys):
    """Load and invoice numbers of the file that the company already has."""
    numbers = {cells.get(keys["Load Number"], "") for _, cells in rows} - {""}
    invoices = set()
    if "Invoice Number" in keys:
        invoices = {cells.get(keys["Invoice Number"], "") for _, cells in rows} - {""}
    loads, used = set(), set()
    for values, field, out in ((numbers, Load.load_number, loads),
                               (invoices, Load.invoice_number, used)):
        values = sorted(values)
        for start in range(0, len(values), 500):
            chunk = values[start:start + 500]
            out.update(v for (v,) in Load.select(field).where(
                (Load.company == company_id) & field.in_(chunk)).tuples())
    return loads, used


def _parse_row(number, cells, keys, written, preview, subsidiaries, by_name, by_mc):
    """One CSV row to an ImportRow, or None (its errors added to PREVIEW)."""
    issues = []

    def cell(name):
        return cells.get(keys[name], "") if name in keys else ""

    def check(name, fn, *args):
        try:
            return fn(cell(name), *args)
        except ValueError as exc:
            issues.append(CellError(number, written[name], str(exc)))
            return None

    values = {}
    values["load_number"] = check("Load Number", load_rules.clean_text, "load_number")
    if values["load_number"] == "":
        issues.append(CellError(number, written["Load Number"], "the load number is empty."))
    values["invoice_number"] = check("Invoice Number", load_rules.clean_text, "invoice_number") or None
    values["customer_reference"] = check("Customer Reference", load_rules.clean_text,
                                         "customer_reference") or ""
    for field, name in (("pickup_city", "Pickup City"), ("delivery_city", "Delivery City")):
        values[field] = check(name, load_rules.clean_text, field) or ""
    for field, name in (("pickup_state", "Pickup State"), ("delivery_state", "Delivery State")):
        values[field] = check(name, load_rules.clean_state) or ""
    for field, name in (("invoice_date", "Invoice Date"), ("pickup_date", "Pickup Date"),
                        ("delivery_date", "Delivery Date")):
        values[field] = check(name, load_rules.clean_date)
    if values["pickup_date"] and values["delivery_date"] and values["delivery_date"] < values["pickup_date"]:
        issues.append(CellError(number, written["Delivery Date"],
                            f"the delivery date {values['delivery_date']:%m/%d/%Y} is before the pickup "
                            f"date {values['pickup_date']:%m/%d/%Y}."))

    sub_text = cell("Subsidiary").strip()
    subsidiary = subsidiaries.get(sub_text.lower())
    if not sub_text:
        issues.append(CellError(number, written["Subsidiary"], "the subsidiary is empty."))
    elif subsidiary is None:
        issues.append(CellError(number, written["Subsidiary"],
                            f"no subsidiary named '{sub_text}' in this company."))

    customer = _customer(number, cell("Customer").strip(), cell("Customer MC").strip(),
                         written, by_name, by_mc, issues)
    if customer is not None:
        method = check("Invoicing Method", load_rules.clean_method, customer)
        values["invoicing_method"] = method

    lines = []
    linehaul = check("Linehaul", load_rules.clean_amount)
    if linehaul is None and not any(i.column == written["Linehaul"] for i in issues):
        issues.append(CellError(number, written["Linehaul"], "the linehaul amount is empty or zero."))
    elif linehaul:
        lines.append({"kind": "linehaul", "description": LINE_KINDS["linehaul"], "amount_cents": linehaul})
    fuel = check("Fuel Surcharge", load_rules.clean_amount)
    if fuel:
        lines.append({"kind": "fuel", "description": LINE_KINDS["fuel"], "amount_cents": fuel})
    accessorials = check("Accessorials", load_rules.clean_amount)
    description = check("Accessorial Description", load_rules.clean_text, "description") or ""
    if accessorials:
        lines.append({"kind": "accessorial", "description": description or "Accessorials",
                      "amount_cents": accessorials})
    elif description and "Accessorials" in written and not any(
            i.column == written["Accessorials"] for i in issues):
        issues.append(CellError(number, written["Accessorials"],
                            f"there is a description ('{description}') but no amount."))

    if issues:
        preview.errors.extend(issues)
        return None
    values.update(subsidiary=subsidiary.id, customer=customer.id,
                  total_cents=sum(line["amount_cents"] for line in lines))
    return ImportRow(row=number, values=values, lines=lines,
                     subsidiary_name=subsidiary.name, customer_name=customer.name)


def _customer(number, name, mc, written, by_name, by_mc, issues):
    """The customer named on the row (by name, else by MC number), or None with an issue."""
    if name:
        customer = by_name.get(name.lower())
        if customer is None:
            issues.append(CellError(number, written["Customer"], f"no customer named '{name}' in this company."))
            return None
        if mc and _normal_mc(mc) and _normal_mc(mc) != _normal_mc(customer.mc_number):
            issues.append(CellError(number, written["Customer MC"],
                                f"'{mc}' is not the MC number of {customer.name} "
                                f"({customer.mc_number or 'none on file'})."))
            return None
        return customer
    if mc:
        found = by_mc.get(_normal_mc(mc), [])
        if len(found) == 1:
            return found[0]
        message = (f"no customer with MC number '{mc}' in this company." if not found else
                   f"several customers have MC number '{mc}'; put the customer's name in the Customer column.")
        issues.append(CellError(number, written["Customer MC"], message))
        return None
    column = written.get("Customer") or written["Customer MC"]
    issues.append(CellError(number, column, "the customer is empty."))
    return None


# --- writing ------------------------------------------------------------------------

LOAD_FIELDS = [
    "load_number", "invoice_number", "invoice_date", "customer_reference", "pickup_city",
    "pickup_state", "pickup_date", "delivery_city", "delivery_state", "delivery_date",
    "invoicing_method", "subsidiary", "customer", "total_cents",
]


def commit(preview, company, actor):
    """Create every load of a clean PREVIEW in one transaction; returns how many."""
    company_id = getattr(company, "id", company)
    if preview.company_id != company_id:
        raise ImportRefused("This preview belongs to another company.")
    if preview.errors:
        raise ImportRefused(f"The file has {len(preview.errors)} error(s); nothing was imported.")
    if not preview.rows:
        raise ImportRefused("The file holds no loads to import.")
    actor_id = getattr(actor, "id", actor)
    now = utcnow()
    details = json.dumps({"source": "import", "file": preview.filename or "CSV file"}, sort_keys=True)
    fields = [getattr(Load, name) for name in LOAD_FIELDS] + [
        Load.company, Load.billing_status, Load.created_at, Load.updated_at]
    try:
        with db.atomic():
            for start in range(0, len(preview.rows), CHUNK):
                chunk = preview.rows[start:start + CHUNK]
                Load.insert_many(
                    [[r.values[name] for name in LOAD_FIELDS] + [company_id, QUEUED, now, now]
                     for r in chunk],
                    fields=fields).execute()
                ids = dict(Load.select(Load.load_number, Load.id).where(
                    (Load.company == company_id)
                    & Load.load_number.in_([r.values["load_number"] for r in chunk])).tuples())
                LoadLine.insert_many([
                    {"load": ids[r.values["load_number"]], "kind": line["kind"],
                     "description": line["description"], "amount_cents": line["amount_cents"],
                     "position": n}
                    for r in chunk for n, line in enumerate(r.lines)]).execute()
                AuditLog.insert_many([
                    {"company": company_id, "actor": actor_id, "action": audit.LOAD_CREATE,
                     "object_type": "load", "object_id": ids[r.values["load_number"]],
                     "before": "", "after": QUEUED, "details": details,
                     "row_number": r.row, "created_at": now}
                    for r in chunk]).execute()
    except IntegrityError:
        raise ImportRefused("Some of these loads were created by someone else while you looked at "
                            "the preview; nothing was imported. Upload the file again.")
    return len(preview.rows)


def store_preview(company, filename, data):
    """Parse an uploaded file; when it can be imported (or is a workbook of several sheets, one
    of which may be), keep its bytes for the commit step.

    Returns (preview, stored file or None). Previews older than two days are forgotten.
    """
    filename = previews.clean_filename(filename, "loads.csv")
    preview = parse(data, company, filename=filename)
    if not preview.ok and len(preview.sheets) < 2:
        return preview, None
    company_id = getattr(company, "id", company)
    with db.atomic():
        previews.forget(previews.stale(company_id, previews.LOAD_IMPORT))
        stored = previews.keep(company_id, filename, data, previews.LOAD_IMPORT)
    return preview, stored


def review_stored(stored, company, sheet=None):
    """The preview of a stored file again (of a workbook, on SHEET)."""
    if stored.content_type != previews.content_type(previews.LOAD_IMPORT):
        raise ImportRefused("That file is not a load import.")
    return parse(previews.data_of(stored.id), company, filename=stored.filename, sheet=sheet)


def commit_stored(stored, company, actor, sheet=None):
    """Re-read and re-validate a stored preview (of a workbook, on SHEET), then import it and
    drop the stored copy.

    Returns (count, preview): count is 0 when the file no longer passes (see preview.errors).
    """
    preview = review_stored(stored, company, sheet)
    if not preview.ok:
        return 0, preview
    with db.atomic():
        count = commit(preview, company, actor)
        previews.forget([stored.id])
    return count, preview


def find_preview(company, upload_id):
    """The stored preview UPLOAD_ID of COMPANY, or None (imported already, or expired)."""
    return previews.find(getattr(company, "id", company), upload_id, previews.LOAD_IMPORT)
