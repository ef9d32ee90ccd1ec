"""The Loads list: its filters, sorts and pages, in a fixed, small number of queries."""
import collections
import dataclasses
import functools

from peewee import JOIN
from peewee import Case
from peewee import fn

from webapp.database import is_postgres
from webapp.models import BILLING_STATUSES
from webapp.models import INVOICING_METHODS
from webapp.models import Batch
from webapp.models import Customer
from webapp.models import Load
from webapp.models import Subsidiary
from webapp.models import db
from webapp.services.customers import Choice
from webapp.services.customers import choices as customer_choices
from webapp.services.paging import Page
from webapp.services.paging import PageRequest
from webapp.services.paging import Sort
from webapp.services.sql import Around
from webapp.services.sql import plain_rows
from webapp.services.sql import select as sql_select
from webapp.services.tallies import bounded_count
from webapp.services.tallies import load_totals
from webapp.services.validation import db_id
from webapp.services.validation import search_text

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


# What a row of the list shows: plain rows (LoadRow), not model objects, which cost as much to
# build as the rest of the page.
ROW_COLUMNS = {
    "id": Load.id, "load_number": Load.load_number, "invoice_number": Load.invoice_number,
    "delivery_city": Load.delivery_city, "delivery_state": Load.delivery_state,
    "delivery_date": Load.delivery_date, "total_cents": Load.total_cents,
    "invoicing_method": Load.invoicing_method, "billing_status": Load.billing_status,
    "factor_hold": Load.factor_hold, "status_reason": Load.status_reason, "batch_id": Load.batch,
    "subsidiary_name": Subsidiary.name, "customer_name": Customer.name, "batch_number": Batch.number,
}
LoadRow = collections.namedtuple("LoadRow", ROW_COLUMNS)


def _rows_query(ids, order):
    return (Load
            .select(*ROW_COLUMNS.values())
            .join_from(Load, Subsidiary)
            .join_from(Load, Customer)
            .join_from(Load, Batch, JOIN.LEFT_OUTER)
            .where(Load.id.in_(ids))
            .order_by(*order))


def _ordered_by(field, desc):
    """The order of a list sorted by FIELD, the id breaking ties the same way."""
    return [field.desc(), Load.id.desc()] if desc else [field.asc(), Load.id.asc()]


# The rows query of each sort but the customer's (paged apart), by sort key and direction, its
# SQL made once: building it cost more than running it.
_AROUND = {(key, desc): Around(lambda ids, field=field, desc=desc: _rows_query(ids, _ordered_by(field, desc)))
           for key, field in SORT_COLUMNS.items() if key != "customer" for desc in (False, True)}


def _rows(ids, order):
    """The LoadRows of the loads whose ids the subquery IDS selects, in ORDER, in one query with
    their subsidiary's and customer's names and batch number."""
    return [LoadRow._make(row) for row in plain_rows(_rows_query(ids, order))]


def _total(company, filters, terms):
    """How many loads match: the running totals when the filters are only subsidiary, status and
    method (no row counted); a bounded count ("10,000+") for a customer or a search."""
    if filters.customer_id or filters.q:
        return bounded_count(Load.select(Load.id).where(*terms))
    return load_totals(company.id, subsidiary_id=filters.subsidiary_id, status=filters.status or None,
                       method=filters.method or None).count


def list_page(company, filters, sort, desc, request):
    """One page of the loads list, in a fixed, small number of queries whatever its size."""
    terms = _conditions(company, filters)
    if sort == "customer":
        fetch = _by_customer(company, terms, desc, request.per_page)
        return Page(_total(company, filters, terms), request, fetch)
    if sort not in SORT_COLUMNS:
        sort = "load"
    field = SORT_COLUMNS[sort]
    if sort == "status":
        # Queued, Invoiced, Financed, Completed is the reverse of the alphabet.
        desc = not desc
    # The id breaks ties in the same direction, so that one index (company, column),
    # which ends with the row id, serves the whole order either way.
    order = _ordered_by(field, desc)

    def fetch(number, limit):
        # Page through ids alone (an index walk, however deep the page), then join 1 page.
        offset = (number - 1) * request.per_page
        if filters.q:  # the search's terms hold the ids it found: built anew
            ids = _ids_query(terms, order, offset, limit)
        else:
            ids = _ids_sql(type(db.obj), company.id, filters.subsidiary_id, filters.status, filters.customer_id,
                           filters.method, sort, desc, offset, limit)
        return [LoadRow._make(row) for row in _AROUND[sort, desc].rows(ids)]

    return Page(_total(company, filters, terms), request, fetch)


@functools.lru_cache(maxsize=1024)
def _ids_sql(kind, company_id, subsidiary_id, status, customer_id, method, sort, desc, offset, limit):
    """(SQL, params) of a page's ids without a search, made once for the same list, page and kind
    of database (KIND): peewee's building of it cost more than running it."""
    terms = _conditions(company_id, Filters(subsidiary_id, status, customer_id, method))
    text, params = _ids_query(terms, _ordered_by(SORT_COLUMNS[sort], desc), offset, limit)
    return text, tuple(params)


def _ids_query(terms, order, offset, limit):
    """(SQL, params) of the ids of one page of the loads that TERMS select, in ORDER."""
    return Load.select(Load.id).where(*terms).order_by(*order).offset(offset).limit(limit).sql()


def _by_customer(company, terms, desc, per_page):
    """The fetch of a page sorted by customer name, without sorting every load: walk the
    company's customers in name order, each one's loads counted as the walk reaches it (one
    index range of load (company, customer) each), stop at the last customer the page covers,
    and sort the loads of those few customers only."""
    def fetch(number, limit):
        start = (number - 1) * per_page
        end = start + limit
        loads_of = Load.select(fn.COUNT(Load.id)).where(*terms, Load.customer == Customer.id)
        # A customer's name is unique in its company: the name alone orders them, so that the
        # index (company, name) serves the walk and a LIMIT stops it.
        walk = (Customer.select(Customer.id, loads_of)
                .where(Customer.company == company)
                .order_by(Customer.name.desc() if desc else Customer.name.asc())
                .tuples())
        seen, chosen, skip = 0, [], 0
        for customer_id, n in _read_as_needed(walk):
            if n and seen + n > start:
                if not chosen:
                    skip = start - seen
                chosen.append(customer_id)
            seen += n
            if seen >= end:
                break
        if not chosen:
            return []
        rank = Case(Load.customer, [(cid, i) for i, cid in enumerate(chosen)])
        order = [rank, Load.id.desc()]
        # Sort the chosen customers' load ids alone, then join the page's rows.
        ids = (Load.select(Load.id).where(*terms, Load.customer.in_(chosen))
               .order_by(*order).limit(limit).offset(skip))
        return _rows(ids, order)

    return fetch


def _read_as_needed(query):
    """The rows of QUERY, each computed only when the walk reaches it: SQLite's cursor is read
    lazily; PostgreSQL's driver reads a whole result at once (it would count every customer's
    loads), so there the rows are read 8 at first, then four times as many each time."""
    if not is_postgres():
        yield from query.iterator()
        return
    offset, size = 0, 8
    while True:
        chunk = list(query.offset(offset).limit(size))
        yield from chunk
        if len(chunk) < size:
            return
        offset, size = offset + size, size * 4


def choices(company):
    """Subsidiaries and customers of COMPANY for drop-downs, by name (Choice rows: a subsidiary's
    id and name, a customer's with its invoicing method, which the load form reads)."""
    subsidiaries = sql_select('SELECT id, name FROM subsidiary WHERE company_id = {p} ORDER BY name',
                              (company.id,))
    return [Choice(*row) for row in subsidiaries], customer_choices(company.id)
