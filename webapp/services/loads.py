"""Loads: the list's filters, create and edit with line items, history, documents.

Plain functions: they take the company (and the acting user) as arguments and
never look at the request. Money is integer cents.
"""
import dataclasses
import datetime
import hashlib
import io
import json
import math
import re

from peewee import JOIN
from peewee import Case
from peewee import IntegrityError
from peewee import fn

from webapp.listing import Page
from webapp.models import BILLING_STATUSES
from webapp.models import INVOICING_METHODS
from webapp.models import LINE_KINDS
from webapp.models import QUEUED
from webapp.models import AuditLog
from webapp.models import Batch
from webapp.models import Customer
from webapp.models import Load
from webapp.models import LoadDocument
from webapp.models import LoadLine
from webapp.models import Payment
from webapp.models import ReportUpload
from webapp.models import StoredFile
from webapp.models import Subsidiary
from webapp.models import User
from webapp.models import db
from webapp.models import utcnow
from webapp.services import audit
from webapp.services.parsing import parse_date
from webapp.services.parsing import parse_money

# Kinds of document kept with a load, in the order they are merged behind the invoice.
DOCUMENT_KINDS = {
    "rate_confirmation": "Rate confirmation",
    "bol": "Signed BOL",
    "pod": "Proof of delivery",
    "other": "Other",
}

# Longest text accepted per field (the columns are 255 characters).
MAX_LENGTHS = {
    "load_number": 64, "invoice_number": 64, "customer_reference": 100,
    "pickup_city": 100, "delivery_city": 100, "description": 200,
}

FIELD_LABELS = {
    "subsidiary": "Subsidiary", "customer": "Customer", "load_number": "Load number",
    "invoice_number": "Invoice number", "invoice_date": "Invoice date",
    "customer_reference": "Customer reference / PO", "pickup_city": "Pickup city",
    "pickup_state": "Pickup state", "pickup_date": "Pickup date",
    "delivery_city": "Delivery city", "delivery_state": "Delivery state",
    "delivery_date": "Delivery date", "invoicing_method": "Invoicing method",
    "lines": "Line items", "total_cents": "Total",
}

# Lookups of many ids are split so that SQLite's variable limit is never reached.
CHUNK = 500
# A search by a fragment of a number keeps up to this many matching ids.
SEARCH_IDS = 2000


class LoadError(ValueError):
    """The load cannot be saved; ERRORS maps a form field to what is wrong with it."""

    def __init__(self, errors):
        self.errors = errors
        super().__init__("; ".join(f"{FIELD_LABELS.get(k, k)}: {v}" for k, v in errors.items()))


class LoadLocked(ValueError):
    """The load is past Queued (or reserved by a batch): it can no longer be edited."""


# --- small validators shared with the CSV import ----------------------------------

_STATE_RE = re.compile(r"^[A-Z]{2}$")


def clean_text(value, field):
    """Trimmed text, refused when longer than the field allows."""
    text = (value or "").strip()
    limit = MAX_LENGTHS.get(field, 255)
    if len(text) > limit:
        raise ValueError(f"is longer than {limit} characters")
    return text


def clean_state(value):
    """A two-letter state or province code, upper-cased; blank stays blank."""
    text = (value or "").strip().upper()
    if text and not _STATE_RE.match(text):
        raise ValueError(f"'{value.strip()}' is not a two-letter state code (like TX)")
    return text


def clean_date(value):
    """A date from 2026-11-25, 11/25/2026 or 11/25/26; blank gives None."""
    if not (value or "").strip():
        return None
    return parse_date(value)


def clean_method(value, customer):
    """factoring or direct; blank takes the customer's default."""
    text = (value or "").strip().lower()
    if not text:
        return customer.invoicing_method if customer is not None else None
    for key, label in INVOICING_METHODS.items():
        if text in (key, label.lower()):
            return key
    raise ValueError(f"'{value.strip()}' is not an invoicing method (use factoring or direct)")


def clean_amount(value):
    """A positive amount in cents; blank or zero gives None (no line)."""
    if not (value or "").strip():
        return None
    cents = parse_money(value)
    if cents < 0:
        raise ValueError(f"'{value.strip()}' is negative: line amounts must be positive")
    return cents or None


# --- the list -----------------------------------------------------------------------

@dataclasses.dataclass
class Filters:
    """What the loads list is narrowed to; every value optional."""

    subsidiary_id: int = None
    status: str = ""
    customer_id: int = None
    method: str = ""
    q: str = ""

    @classmethod
    def from_args(cls, args):
        """Read the filters from a query-string mapping, dropping values that mean nothing."""
        def as_int(name):
            try:
                return int(args.get(name) or 0) or None
            except ValueError:
                return None
        status = args.get("status", "")
        method = args.get("method", "")
        return cls(
            subsidiary_id=as_int("subsidiary"),
            status=status if status in BILLING_STATUSES else "",
            customer_id=as_int("customer"),
            method=method if method in INVOICING_METHODS else "",
            q=(args.get("q") or "").strip()[:64],
        )

    @property
    def active(self):
        return bool(self.subsidiary_id or self.status or self.customer_id or self.method or self.q)


# Sort keys of the list. Each is served by an index of load (company, column), except
# the customer's name, which is paged by customer (see _page_by_customer).
SORT_COLUMNS = {
    "load": Load.load_number,
    "invoice": Load.invoice_number,
    "customer": Customer.name,
    "delivery": Load.delivery_date,
    "total": Load.total_cents,
    "status": Load.billing_status,
}


class LoadPage(Page):
    """A page of the list, from a total counted without joins and a fetch of one page."""

    def __init__(self, total, page, per_page, fetch):
        self.total = total
        self.per_page = per_page
        self.pages = max(1, math.ceil(total / per_page))
        self.page = min(max(1, page), self.pages)
        self.items = fetch(self.page)


def _conditions(company, filters):
    """WHERE terms on the load table alone (no join), for the count and the page."""
    terms = [Load.company == company]
    if filters.subsidiary_id:
        terms.append(Load.subsidiary == filters.subsidiary_id)
    if filters.status:
        terms.append(Load.billing_status == filters.status)
    if filters.customer_id:
        terms.append(Load.customer == filters.customer_id)
    if filters.method:
        terms.append(Load.invoicing_method == filters.method)
    if filters.q:
        terms.append(_search_term(company, filters.q))
    return terms


def _search_term(company, text):
    """A whole load or invoice number finds that load through the indexes; a fragment of
    one (any part, any case) finds every load whose number contains it."""
    exact = sorted({text, text.upper()})
    ids = [i for (i,) in Load.select(Load.id).where(
        (Load.company == company)
        & (Load.load_number.in_(exact) | Load.invoice_number.in_(exact))).tuples()]
    if ids:
        return Load.id.in_(ids)
    # A fragment means reading every number. One column at a time, each read from its
    # own index (company, number) alone, which is far cheaper than reading the rows.
    found = set()
    for field in (Load.load_number, Load.invoice_number):
        found.update(i for (i,) in Load.select(Load.id).where(
            (Load.company == company) & field.contains(text)).limit(SEARCH_IDS + 1).tuples())
    if len(found) <= SEARCH_IDS:
        return Load.id.in_(sorted(found))
    return Load.load_number.contains(text) | Load.invoice_number.contains(text)


def _joined(terms):
    """The list's rows: loads with their subsidiary, customer and batch, in one query."""
    return (Load
            .select(Load, Subsidiary.id, Subsidiary.name, Customer.id, Customer.name,
                    Batch.id, Batch.number)
            .join_from(Load, Subsidiary)
            .join_from(Load, Customer)
            .join_from(Load, Batch, JOIN.LEFT_OUTER)
            .where(*terms))


def list_page(company, filters, sort, desc, page, per_page):
    """One page of the loads list, in a fixed, small number of queries whatever its size."""
    terms = _conditions(company, filters)
    if sort == "customer":
        return _page_by_customer(terms, desc, page, per_page)
    field = SORT_COLUMNS.get(sort, Load.load_number)
    if sort == "status":
        # Queued, Invoiced, Financed, Completed is the reverse of the alphabet.
        desc = not desc
    # The id breaks ties in the same direction, so that one index (company, column),
    # which ends with the row id, serves the whole order either way.
    order = [field.desc(), Load.id.desc()] if desc else [field.asc(), Load.id.asc()]
    total = Load.select(Load.id).where(*terms).count()

    def fetch(number):
        # Page through ids alone (an index walk, however deep the page), then join 1 page.
        ids = Load.select(Load.id).where(*terms).order_by(*order).paginate(number, per_page)
        return list(_joined([Load.id.in_(ids)]).order_by(*order))

    return LoadPage(total, page, per_page, fetch)


def _page_by_customer(terms, desc, page, per_page):
    """Sorted by customer name without sorting every load: count the loads per customer
    (an index scan), walk the customers in name order to the ones the page covers, and
    fetch the page from their loads only."""
    counts = dict(Load.select(Load.customer, fn.COUNT(Load.id)).where(*terms)
                  .group_by(Load.customer).tuples())
    total = sum(counts.values())

    def fetch(number):
        names = (Customer.select(Customer.id).where(Customer.id.in_(list(counts)))
                 .order_by(Customer.name.desc() if desc else Customer.name.asc(), Customer.id))
        start, end = (number - 1) * per_page, number * per_page
        seen, chosen, skip = 0, [], 0
        for (customer_id,) in (names.tuples() if counts else []):
            n = counts[customer_id]
            if seen + n > start and seen < end:
                if not chosen:
                    skip = start - seen
                chosen.append(customer_id)
            seen += n
            if seen >= end:
                break
        if not chosen:
            return []
        rank = Case(Load.customer, [(cid, i) for i, cid in enumerate(chosen)])
        query = (_joined(terms + [Load.customer.in_(chosen)])
                 .order_by(rank, Load.id.desc()).limit(per_page).offset(skip))
        return list(query)

    return LoadPage(total, page, per_page, fetch)


def choices(company):
    """Subsidiaries and customers of COMPANY for drop-downs, by name."""
    subsidiaries = list(Subsidiary.select(Subsidiary.id, Subsidiary.name)
                        .where(Subsidiary.company == company).order_by(Subsidiary.name))
    customers = list(Customer.select(Customer.id, Customer.name, Customer.invoicing_method)
                     .where(Customer.company == company).order_by(Customer.name))
    return subsidiaries, customers


# --- create and edit ----------------------------------------------------------------

def blank_form(load=None, lines=None):
    """The form's values as text: empty for a new load, else the load's own."""
    if load is None:
        return {}
    return {
        "subsidiary_id": str(load.subsidiary_id), "customer_id": str(load.customer_id),
        "load_number": load.load_number, "invoice_number": load.invoice_number or "",
        "invoice_date": _iso(load.invoice_date), "customer_reference": load.customer_reference,
        "pickup_city": load.pickup_city, "pickup_state": load.pickup_state,
        "pickup_date": _iso(load.pickup_date), "delivery_city": load.delivery_city,
        "delivery_state": load.delivery_state, "delivery_date": _iso(load.delivery_date),
        "invoicing_method": load.invoicing_method,
    }


def form_lines(lines):
    """LoadLine rows as the (kind, description, amount text) triples the form shows."""
    return [(line.kind, line.description, _amount_text(line.amount_cents)) for line in lines]


def _iso(value):
    return value.isoformat() if value else ""


def _amount_text(cents):
    return f"{cents // 100}.{cents % 100:02d}"


def _clean(company, form, lines, load=None):
    """Validate the form's text. Returns (values for Load, line dicts) or raises LoadError."""
    errors = {}
    values = {}

    def take(field, fn_, *args):
        try:
            values[field] = fn_(form.get(field), *args)
        except ValueError as exc:
            errors[field] = str(exc)

    subsidiary = _own(Subsidiary, company, form.get("subsidiary_id"))
    if subsidiary is None:
        errors["subsidiary"] = "Choose the subsidiary that bills this load."
    customer = _own(Customer, company, form.get("customer_id"))
    if customer is None:
        errors["customer"] = "Choose the customer who owes the invoice."

    take("load_number", clean_text, "load_number")
    take("invoice_number", clean_text, "invoice_number")
    take("customer_reference", clean_text, "customer_reference")
    take("pickup_city", clean_text, "pickup_city")
    take("delivery_city", clean_text, "delivery_city")
    for field in ("pickup_state", "delivery_state"):
        take(field, clean_state)
    for field in ("invoice_date", "pickup_date", "delivery_date"):
        take(field, clean_date)
    take("invoicing_method", clean_method, customer)

    if "load_number" in values and not values["load_number"]:
        errors["load_number"] = "Enter the load number."
    values["invoice_number"] = values.get("invoice_number") or None
    pickup, delivery = values.get("pickup_date"), values.get("delivery_date")
    if pickup and delivery and delivery < pickup:
        errors["delivery_date"] = "The delivery date is before the pickup date."

    own_id = load.id if load is not None else 0
    number = values.get("load_number")
    if number and Load.select(Load.id).where(
            (Load.company == company) & (Load.load_number == number) & (Load.id != own_id)).exists():
        errors["load_number"] = f"Load {number} already exists."
    invoice = values.get("invoice_number")
    if invoice and Load.select(Load.id).where(
            (Load.company == company) & (Load.invoice_number == invoice) & (Load.id != own_id)).exists():
        errors["invoice_number"] = f"Invoice {invoice} is already used by another load."

    clean_lines = []
    line_errors = []
    for n, (kind, description, amount) in enumerate(lines, start=1):
        if not (description or "").strip() and not (amount or "").strip():
            continue
        if kind not in LINE_KINDS:
            line_errors.append(f"line {n}: choose linehaul, fuel surcharge or accessorial")
            continue
        try:
            cents = clean_amount(amount)
            text = clean_text(description, "description")
        except ValueError as exc:
            line_errors.append(f"line {n}: {exc}")
            continue
        if cents is None:
            line_errors.append(f"line {n}: enter an amount above zero")
            continue
        clean_lines.append({"kind": kind, "description": text or LINE_KINDS[kind],
                            "amount_cents": cents})
    if line_errors:
        errors["lines"] = "Check " + "; ".join(line_errors) + "."
    elif not clean_lines:
        errors["lines"] = "Enter at least one line item (the linehaul) with its amount."

    if errors:
        raise LoadError(errors)
    values.update(subsidiary=subsidiary, customer=customer,
                  total_cents=sum(line["amount_cents"] for line in clean_lines))
    return values, clean_lines


def _own(model, company, raw_id):
    """A row of COMPANY by the id typed in a form, or None."""
    try:
        row_id = int(raw_id or 0)
    except (TypeError, ValueError):
        return None
    return model.get_or_none((model.id == row_id) & (model.company == company))


def _insert_lines(load_id, lines):
    LoadLine.insert_many([dict(line, load=load_id, position=n) for n, line in enumerate(lines)]).execute()


def create_load(company, actor, form, lines):
    """Create a Queued load from the form's text and its line items; returns the Load."""
    values, clean_lines = _clean(company, form, lines)
    try:
        with db.atomic():
            load = Load.create(company=company, billing_status=QUEUED, **values)
            _insert_lines(load.id, clean_lines)
            audit.record("create", "load", load.id, actor=actor, company=company,
                         after=QUEUED, details={"source": "form"})
    except IntegrityError:
        raise LoadError({"load_number": "A load with this load or invoice number was just created. "
                                        "Check the numbers and save again."})
    return load


def ensure_editable(load):
    """Raise LoadLocked unless the load is Queued and outside any batch."""
    if load.billing_status != QUEUED:
        raise LoadLocked(f"Load {load.load_number} is {load.status_label}: only Queued loads can be "
                         "edited, so that the invoice the factor holds stays the same.")
    if load.batch_id:
        raise LoadLocked(f"Load {load.load_number} is in a batch being submitted to the factor; "
                         "it cannot be edited now.")


def _snapshot(load, lines):
    return {
        "subsidiary": load.subsidiary.name, "customer": load.customer.name,
        "load_number": load.load_number, "invoice_number": load.invoice_number or "",
        "invoice_date": _iso(load.invoice_date), "customer_reference": load.customer_reference,
        "pickup_city": load.pickup_city, "pickup_state": load.pickup_state,
        "pickup_date": _iso(load.pickup_date), "delivery_city": load.delivery_city,
        "delivery_state": load.delivery_state, "delivery_date": _iso(load.delivery_date),
        "invoicing_method": load.invoicing_method, "total_cents": load.total_cents,
        "lines": [f"{line['kind']}: {line['description']} {_amount_text(line['amount_cents'])}"
                  for line in lines],
    }


def update_load(load, actor, form, lines):
    """Save the form over a Queued load; audited with what changed. Returns the fresh Load."""
    ensure_editable(load)
    values, clean_lines = _clean(load.company_id, form, lines, load=load)
    old_lines = [{"kind": x.kind, "description": x.description, "amount_cents": x.amount_cents}
                 for x in load.lines.order_by(LoadLine.position, LoadLine.id)]
    before = _snapshot(load, old_lines)
    try:
        with db.atomic():
            changed = (Load.update(updated_at=utcnow(), **values)
                       .where((Load.id == load.id) & (Load.billing_status == QUEUED)
                              & Load.batch.is_null())
                       .execute())
            if not changed:
                raise LoadLocked(f"Load {load.load_number} was moved on by someone else "
                                 "(submitted or changed) while you edited it; nothing was saved.")
            LoadLine.delete().where(LoadLine.load == load.id).execute()
            _insert_lines(load.id, clean_lines)
            fresh = Load.get_by_id(load.id)
            after = _snapshot(fresh, clean_lines)
            diff = {k for k in before if before[k] != after[k]}
            if diff:
                audit.record("update", "load", load.id, actor=actor, company=load.company_id,
                             before={k: before[k] for k in sorted(diff)},
                             after={k: after[k] for k in sorted(diff)})
    except IntegrityError:
        raise LoadError({"load_number": "Another load took this load or invoice number meanwhile."})
    return fresh


# --- the load page ------------------------------------------------------------------

def lines_of(load):
    """The load's line items in order."""
    return list(load.lines.order_by(LoadLine.position, LoadLine.id))


def payments_of(load):
    """Payments applied to the load, oldest first."""
    return list(Payment.select().where(Payment.load == load.id)
                .order_by(Payment.payment_date, Payment.id))


def documents_of(load):
    """The load's documents with their file names and sizes (not their bytes)."""
    return list(LoadDocument
                .select(LoadDocument, StoredFile.id, StoredFile.filename, StoredFile.size,
                        User.id, User.name, User.email)
                .join_from(LoadDocument, StoredFile)
                .join_from(LoadDocument, User, JOIN.LEFT_OUTER)
                .where(LoadDocument.load == load.id)
                .order_by(LoadDocument.created_at, LoadDocument.id))


@dataclasses.dataclass
class HistoryEntry:
    """One line of a load's history, ready to show."""

    when: datetime.datetime
    who: str
    what: str
    from_status: str = ""
    to_status: str = ""
    cause: str = ""
    batch_id: int = None
    changes: list = dataclasses.field(default_factory=list)


def _loads_json(text):
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _show(value):
    if isinstance(value, list):
        return "; ".join(str(v) for v in value) or "none"
    return str(value) if value not in ("", None) else "blank"


def history(load):
    """The load's status history and edits, newest first (one query, actors joined)."""
    rows = (audit.history("load", load.id)
            .select_extend(User.id, User.name, User.email, Batch.id, Batch.number,
                           ReportUpload.id, ReportUpload.kind, ReportUpload.filename)
            .join_from(AuditLog, User, JOIN.LEFT_OUTER)
            .join_from(AuditLog, Batch, JOIN.LEFT_OUTER)
            .join_from(AuditLog, ReportUpload, JOIN.LEFT_OUTER))
    entries = []
    for row in rows:
        actor = row.actor.display_name if row.actor_id and row.actor else ""
        details = _loads_json(row.details)
        entry = HistoryEntry(when=row.created_at, who=actor or "System", what=row.action)
        if row.batch_id and row.batch:
            entry.batch_id = row.batch.id
        if row.before in BILLING_STATUSES or row.after in BILLING_STATUSES:
            entry.from_status = row.before if row.before in BILLING_STATUSES else ""
            entry.to_status = row.after if row.after in BILLING_STATUSES else ""
        if row.action == "create":
            entry.what = "Created"
            if isinstance(details, dict) and details.get("source") == "import":
                entry.cause = f"Import of {details.get('file') or 'a CSV file'}"
                if row.row_number:
                    entry.cause += f", row {row.row_number}"
            else:
                entry.cause = "Entered by hand"
        elif row.action == "update":
            entry.what = "Edited"
            before, after = _loads_json(row.before) or {}, _loads_json(row.after) or {}
            if isinstance(before, dict) and isinstance(after, dict):
                entry.changes = [(FIELD_LABELS.get(k, k.replace("_", " ").capitalize()),
                                  _money_or(k, before.get(k)), _money_or(k, after.get(k)))
                                 for k in sorted(set(before) | set(after))]
        elif row.action in ("document_add", "document_remove"):
            entry.what = "Document added" if row.action == "document_add" else "Document removed"
            if isinstance(details, dict):
                entry.cause = (f"{DOCUMENT_KINDS.get(details.get('kind'), 'Document')}: "
                               f"{details.get('file', '')}")
        else:
            if row.action == "factor_hold":
                entry.what = "Held by the factor"
            else:
                entry.what = "Status changed" if entry.to_status else row.action.replace("_", " ").capitalize()
            entry.cause = _status_cause(row, details)
        entries.append(entry)
    return entries


def _money_or(key, value):
    if key == "total_cents" and isinstance(value, int):
        return f"${value // 100:,}.{value % 100:02d}"
    return _show(value)


def _status_cause(row, details):
    """What moved the status: the report and its row, the batch, else a person by hand."""
    parts = []
    if row.upload_id and row.upload:
        label = "Purchase Report" if row.upload.kind == "purchase" else "Payment Report"
        text = f"{label} {row.upload.filename}".strip()
        if row.row_number:
            text += f", row {row.row_number}"
        parts.append(text)
    elif row.batch_id and row.batch:
        parts.append(f"Batch {row.batch.number}")
    if isinstance(details, dict):
        reason = details.get("reason") or details.get("message")
        if reason:
            parts.append(str(reason))
    elif isinstance(details, str) and details:
        parts.append(details)
    if not (row.upload_id or row.batch_id):
        parts.insert(0, "Set by hand" if row.actor_id else "Set by the system")
    return " · ".join(parts)


# --- documents ----------------------------------------------------------------------

class DocumentError(ValueError):
    """The uploaded document is refused; the message says why."""


def check_pdf(data, filename, max_bytes):
    """Refuse what is not a readable, unencrypted PDF of at most MAX_BYTES."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    name = filename or "The file"
    if not data:
        raise DocumentError(f"{name} is empty.")
    if max_bytes and len(data) > max_bytes:
        raise DocumentError(f"{name} is {len(data) / 1048576:.1f} MB; the limit is "
                            f"{max_bytes // 1048576} MB.")
    if b"%PDF-" not in data[:1024]:
        raise DocumentError(f"{name} is not a PDF. Upload the rate confirmation or signed "
                            "BOL / proof of delivery as a PDF file.")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise DocumentError(f"{name} is password-protected; upload an unprotected copy so it "
                                "can be merged behind the invoice.")
        if len(reader.pages) < 1:
            raise DocumentError(f"{name} has no pages.")
    except DocumentError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError,
            AssertionError, RecursionError, OSError):
        raise DocumentError(f"{name} looks like a PDF but cannot be opened; it may be damaged. "
                            "Save or scan it again and upload the new file.")


def add_document(load, actor, kind, filename, data, max_bytes):
    """Keep a PDF with the load; returns the LoadDocument."""
    if kind not in DOCUMENT_KINDS:
        raise DocumentError("Choose what the document is (rate confirmation, BOL, proof of delivery).")
    filename = (re.sub(r"[\x00-\x1f/\\]+", "_", (filename or "").strip()) or "document.pdf")[-120:]
    check_pdf(data, filename, max_bytes)
    with db.atomic():
        stored = StoredFile.create(company=load.company_id, filename=filename,
                                   content_type="application/pdf", size=len(data),
                                   sha256=hashlib.sha256(data).hexdigest(), data=data)
        document = LoadDocument.create(load=load.id, kind=kind, file=stored, uploaded_by=actor)
        audit.record("document_add", "load", load.id, actor=actor, company=load.company_id,
                     details={"kind": kind, "file": filename, "document": document.id})
    return document


def document_of(load, document_id):
    """One document of LOAD with its bytes, or None."""
    return (LoadDocument.select(LoadDocument, StoredFile)
            .join(StoredFile)
            .where((LoadDocument.load == load.id) & (LoadDocument.id == document_id))
            .first())


def remove_document(load, actor, document_id):
    """Delete one document (and its stored bytes) of LOAD; False when it was not there."""
    document = (LoadDocument.select(LoadDocument, StoredFile.id, StoredFile.filename)
                .join(StoredFile)
                .where((LoadDocument.load == load.id) & (LoadDocument.id == document_id))
                .first())
    if document is None:
        return False
    with db.atomic():
        LoadDocument.delete().where(LoadDocument.id == document.id).execute()
        StoredFile.delete().where(StoredFile.id == document.file.id).execute()
        audit.record("document_remove", "load", load.id, actor=actor, company=load.company_id,
                     details={"kind": document.kind, "file": document.file.filename})
    return True


def documents_for_merge(load_ids):
    """{load_id: [pdf bytes, ...]} for the batch file: rate confirmation, BOL, POD, other."""
    order = {kind: n for n, kind in enumerate(DOCUMENT_KINDS)}
    found = {}
    ids = list(load_ids)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        rows = (LoadDocument.select(LoadDocument.id, LoadDocument.load, LoadDocument.kind,
                                    StoredFile.data)
                .join(StoredFile)
                .where(LoadDocument.load.in_(chunk))
                .tuples())
        for doc_id, load_id, kind, data in rows:
            found.setdefault(load_id, []).append((order.get(kind, len(order)), doc_id, bytes(data)))
    return {load_id: [data for _, _, data in sorted(docs)] for load_id, docs in found.items()}
