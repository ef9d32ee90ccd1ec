"""Create and edit a load with its line items; only a Queued load outside any batch changes."""

from peewee import IntegrityError

from webapp.models import LINE_KINDS
from webapp.models import QUEUED
from webapp.models import Customer
from webapp.models import Load
from webapp.models import LoadLine
from webapp.models import Subsidiary
from webapp.models import db
from webapp.models import utcnow
from webapp.services import audit
from webapp.services.loads.fields import FIELD_LABELS
from webapp.services.loads.fields import clean_amount
from webapp.services.loads.fields import clean_date
from webapp.services.loads.fields import clean_method
from webapp.services.loads.fields import clean_state
from webapp.services.loads.fields import clean_text
from webapp.services.local_time import format_date

# Kinds of document kept with a load, in the order they are merged behind the invoice.
from webapp.services.money import format_cents
from webapp.services.validation import Checker
from webapp.services.validation import Invalid
from webapp.services.validation import db_id


class LoadLocked(ValueError):
    """The load is past Queued (or reserved by a batch): it can no longer be edited."""


def blank_form(load=None, lines=None):
    """The form's values as text: empty for a new load, else the load's own."""
    if load is None:
        return {}
    return {
        "subsidiary_id": str(load.subsidiary_id), "customer_id": str(load.customer_id),
        "load_number": load.load_number, "invoice_number": load.invoice_number or "",
        "invoice_date": format_date(load.invoice_date), "customer_reference": load.customer_reference,
        "pickup_city": load.pickup_city, "pickup_state": load.pickup_state,
        "pickup_date": format_date(load.pickup_date), "delivery_city": load.delivery_city,
        "delivery_state": load.delivery_state, "delivery_date": format_date(load.delivery_date),
        "invoicing_method": load.invoicing_method,
    }


def form_lines(lines):
    """LoadLine rows as the (kind, description, amount text) triples the form shows."""
    return [(line.kind, line.description, format_cents(line.amount_cents)) for line in lines]


def _iso(value):
    return value.isoformat() if value else ""


def _clean(company, form, lines, load=None):
    """Validate the form's text. Returns (values for Load, line dicts) or raises Invalid."""
    check = Checker(form)
    values, errors = check.values, check.errors
    take = check.field

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

    check.done(FIELD_LABELS)
    values.update(subsidiary=subsidiary, customer=customer,
                  total_cents=sum(line["amount_cents"] for line in clean_lines))
    return values, clean_lines


def _own(model, company, raw_id):
    """A row of COMPANY by the id typed in a form, or None."""
    row_id = db_id(raw_id)
    if row_id is None:
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
            audit.record(audit.LOAD_CREATE, "load", load.id, actor=actor, company=company,
                         after=QUEUED, details={"source": "form"})
    except IntegrityError:
        raise Invalid({"load_number": "A load with this load or invoice number was just created. "
                                      "Check the numbers and save again."}, FIELD_LABELS)
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
        "lines": [f"{line['kind']}: {line['description']} {format_cents(line['amount_cents'])}"
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
                audit.record(audit.LOAD_UPDATE, "load", load.id, actor=actor, company=load.company_id,
                             before={k: before[k] for k in sorted(diff)},
                             after={k: after[k] for k in sorted(diff)})
    except IntegrityError:
        raise Invalid({"load_number": "Another load took this load or invoice number meanwhile."}, FIELD_LABELS)
    return fresh
