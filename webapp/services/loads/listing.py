"""The Loads list: its filters, sorts and pages, in a fixed, small number of queries."""
import dataclasses

from peewee import JOIN
from peewee import Case
from peewee import fn

from webapp.models import BILLING_STATUSES
from webapp.models import INVOICING_METHODS
from webapp.models import Batch
from webapp.models import Customer
from webapp.models import Load
from webapp.models import Subsidiary

# Kinds of document kept with a load, in the order they are merged behind the invoice.
from webapp.services.paging import Page
from webapp.services.paging import PageRequest
from webapp.services.paging import Sort
from webapp.services.validation import db_id
from webapp.services.validation import search_text

CHUNK = 500
# A search by a fragment of a number keeps up to this many matching ids.
SEARCH_IDS = 2000


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
            return db_id(args.get(name))
        status = args.get("status", "")
        method = args.get("method", "")
        return cls(
            subsidiary_id=as_int("subsidiary"),
            status=status if status in BILLING_STATUSES else "",
            customer_id=as_int("customer"),
            method=method if method in INVOICING_METHODS else "",
            q=search_text(args.get("q")),
        )

    @property
    def active(self):
        return bool(self.subsidiary_id or self.status or self.customer_id or self.method or self.q)


@dataclasses.dataclass
class LoadList:
    """What the Loads list shows: one page, the filters and the order it was asked in."""

    page: Page
    filters: Filters
    sort: str
    desc: bool


def list_from_args(company, args):
    """The Loads list as ARGS (the query string) asks for it: filters, sort and page."""
    filters = Filters.from_args(args)
    sort = Sort.from_args(args, SORT_COLUMNS, "load")
    return LoadList(list_page(company, filters, sort.key, sort.desc, PageRequest.from_args(args)),
                    filters, sort.key, sort.desc)


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


def list_page(company, filters, sort, desc, request):
    """One page of the loads list, in a fixed, small number of queries whatever its size."""
    terms = _conditions(company, filters)
    if sort == "customer":
        return _page_by_customer(terms, desc, request)
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
        ids = Load.select(Load.id).where(*terms).order_by(*order).paginate(number, request.per_page)
        return list(_joined([Load.id.in_(ids)]).order_by(*order))

    return Page(total, request, fetch)


def _page_by_customer(terms, desc, request):
    """Sorted by customer name without sorting every load: count the loads per customer
    (an index scan), walk the customers in name order to the ones the page covers, and
    fetch the page from their loads only."""
    counts = dict(Load.select(Load.customer, fn.COUNT(Load.id)).where(*terms)
                  .group_by(Load.customer).tuples())
    total = sum(counts.values())

    def fetch(number):
        names = (Customer.select(Customer.id).where(Customer.id.in_(list(counts)))
                 .order_by(Customer.name.desc() if desc else Customer.name.asc(), Customer.id))
        start, end = (number - 1) * request.per_page, number * request.per_page
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
                 .order_by(rank, Load.id.desc()).limit(request.per_page).offset(skip))
        return list(query)

    return Page(total, request, fetch)


def choices(company):
    """Subsidiaries and customers of COMPANY for drop-downs, by name."""
    subsidiaries = list(Subsidiary.select(Subsidiary.id, Subsidiary.name)
                        .where(Subsidiary.company == company).order_by(Subsidiary.name))
    customers = list(Customer.select(Customer.id, Customer.name, Customer.invoicing_method)
                     .where(Customer.company == company).order_by(Customer.name))
    return subsidiaries, customers
