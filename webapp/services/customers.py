"""Customers (debtors): the brokers and shippers who owe the invoices."""
import collections

from peewee import fn

from webapp.models import INVOICING_METHODS
from webapp.models import Customer
from webapp.services.paging import Page
from webapp.services.paging import PageRequest
from webapp.services.paging import Sort
from webapp.services.records import create_record
from webapp.services.records import update_record
from webapp.services.sql import select as sql_select
from webapp.services.validation import Checker
from webapp.services.validation import Invalid
from webapp.services.validation import search_text

# Form fields in order: (name, label).
CUSTOMER_FIELDS = (
    ("name", "Name"),
    ("mc_number", "MC number"),
    ("address_line1", "Address"),
    ("city", "City"),
    ("state", "State"),
    ("postal_code", "ZIP"),
    ("payment_terms_days", "Payment terms (days)"),
    ("invoicing_method", "Default invoicing method"),
)


def clean_customer(data, company, exclude_id=None):
    """Checked and normalised customer fields, or raise Invalid naming every problem."""
    check = Checker(data)
    check.text("name", "name", required=True, max_length=200)
    check.mc_number()
    check.text("address_line1", "address", max_length=200)
    check.text("city", "city", max_length=100)
    check.state()
    check.postal_code()
    check.integer("payment_terms_days", "payment terms", minimum=0, maximum=365, default=30)
    check.choice("invoicing_method", "default invoicing method", INVOICING_METHODS)
    if "name" not in check.errors and _name_taken(company, check.values["name"], exclude_id):
        check.error("name", _taken_message(check.values["name"]))
    return check.done()


SORT_COLUMNS = {
    "name": Customer.name,
    "mc": Customer.mc_number,
    "city": (Customer.state, Customer.city),
    "terms": Customer.payment_terms_days,
    "method": Customer.invoicing_method,
}


def list_from_args(company, args):
    """The Customers list as the query string ARGS asks for it: ?q= (name or MC), sort and page."""
    q = search_text(args.get("q"), 100)
    sort = Sort.from_args(args, SORT_COLUMNS, "name")
    query = search(Customer.select().where(Customer.company == company), q)
    page = Page.of_query(query.order_by(*sort.order(SORT_COLUMNS), Customer.id.desc()), PageRequest.from_args(args))
    return {"page": page, "q": q, "sort": sort.key, "desc": sort.desc}


Choice = collections.namedtuple("Choice", "id name invoicing_method", defaults=(None,))


def choices(company_id):
    """The company's customers for a drop-down, by name (Choice rows: plain rows, the form needs
    each one's invoicing method)."""
    return [Choice(*row) for row in sql_select(
        "SELECT id, name, invoicing_method FROM customer WHERE company_id = {p} ORDER BY name", (company_id,))]


def search(query, text):
    """Narrow a Customer QUERY to names or MC numbers containing TEXT (case-insensitive)."""
    text = search_text(text, 100)
    if not text:
        return query
    where = Customer.name.contains(text) | Customer.mc_number.contains(text)
    digits = "".join(ch for ch in text if ch.isdigit())
    if digits and digits != text:
        where |= Customer.mc_number.contains(digits)  # "mc 4829" finds MC-482913
    return query.where(where)


def _name_taken(company, name, exclude_id=None):
    query = Customer.select().where(
        (Customer.company == company) & (fn.LOWER(Customer.name) == name.lower()))
    if exclude_id is not None:
        query = query.where(Customer.id != exclude_id)
    return query.exists()


def _taken_message(name):
    return (f"A customer named {name} already exists. Use a different name "
            "or edit the existing customer.")


def _taken(name):
    return Invalid({"name": _taken_message(name)})


def create_customer(company, data, *, actor):
    """Add a customer to COMPANY; the name is unique in the company."""
    values = clean_customer(data, company)
    return create_record(Customer, "customer", company, values, actor=actor, taken=_taken)


def update_customer(customer, data, *, actor):
    """Change a customer; audited with the fields that changed."""
    values = clean_customer(data, customer.company_id, exclude_id=customer.id)
    return update_record(customer, "customer", values, actor=actor, taken=_taken)