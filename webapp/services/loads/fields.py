"""A load's fields: their labels and limits, and the checks shared by the form and the CSV import."""
import re

from webapp.models import INVOICING_METHODS

# Kinds of document kept with a load, in the order they are merged behind the invoice.
from webapp.services.money import parse_money
from webapp.services.tables import parse_date

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
