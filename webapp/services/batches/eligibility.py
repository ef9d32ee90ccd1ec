"""Which loads can go to the factor: the Factoring Upload list, its filters and the reasons
a load cannot go as it stands."""
import datetime
from dataclasses import dataclass

from peewee import SQL
from peewee import NodeList
from peewee import fn

from webapp.database import is_postgres
from webapp.models import FACTORING
from webapp.models import QUEUED
from webapp.models import Customer
from webapp.models import Load
from webapp.models import LoadLine
from webapp.services.batches.formats import assignment_on
from webapp.services.batches.reading import active_batches
from webapp.services.money import format_money
from webapp.services.paging import Page
from webapp.services.paging import PageRequest
from webapp.services.paging import Sort
from webapp.services.sql import chunks
from webapp.services.subsidiaries import notice_of_assignment
from webapp.services.validation import db_id
from webapp.services.validation import search_text

# --- what can go to the factor ---------------------------------------------

@dataclass
class LoadFilter:
    """The Factoring Upload filters: customer, delivery date range, load/invoice number text."""

    customer_id: int = None
    date_from: datetime.date = None
    date_to: datetime.date = None
    q: str = ""

    def apply(self, query):
        if self.customer_id:
            query = query.where(Load.customer == self.customer_id)
        if self.date_from:
            query = query.where(Load.delivery_date >= self.date_from)
        if self.date_to:
            query = query.where(Load.delivery_date <= self.date_to)
        text = (self.q or "").strip()
        if text:
            query = query.where(Load.load_number.contains(text) | Load.invoice_number.contains(text))
        return query

    @property
    def active(self):
        return bool(self.customer_id or self.date_from or self.date_to or (self.q or "").strip())


def _candidates(company, subsidiary):
    """Queued factoring loads of the subsidiary in no live batch, with their customers."""
    return (Load.select(Load, Customer)
            .join(Customer, on=(Load.customer == Customer.id))
            .where((Load.company == company) & (Load.subsidiary == subsidiary)
                   & (Load.billing_status == QUEUED) & (Load.invoicing_method == FACTORING)
                   & Load.batch.is_null()))


def _problem_condition():
    """SQL twin of load_problems(): true when the load cannot go to the factor as it stands.

    One rule is left to load_problems() alone, which Submit Batch applies: line items
    that do not add up to the total. Loads are saved with their total computed from
    their lines, so only a hand-edited database breaks it, and checking it here would
    cost a subquery per load on every page view.
    """
    return ((fn.TRIM(fn.COALESCE(Customer.mc_number, "")) == "")
            | (Load.total_cents <= 0)
            | Load.invoice_number.is_null() | (fn.TRIM(Load.invoice_number) == "")
            | Load.invoice_date.is_null())


def load_problems(loads):
    """{load id: [reasons]} for LOADS (with .customer loaded); loads that can go have none.

    The reasons are the "reason incomplete" users know; _problem_condition() is the
    same rule in SQL, for the lists (but for the line-items check, see there).
    """
    loads = list(loads)
    sums = {}
    for chunk in chunks([load.id for load in loads]):
        sums.update(LoadLine.select(LoadLine.load, fn.SUM(LoadLine.amount_cents))
                    .where(LoadLine.load.in_(chunk)).group_by(LoadLine.load).tuples())
    out = {}
    for load in loads:
        reasons = []
        if not (load.customer.mc_number or "").strip():
            reasons.append(f"The customer {load.customer.name} has no MC number.")
        if (load.total_cents or 0) <= 0:
            reasons.append("The total is not above zero.")
        if not (load.invoice_number or "").strip():
            reasons.append("It has no invoice number.")
        if load.invoice_date is None:
            reasons.append("It has no invoice date.")
        line_sum = sums.get(load.id)
        if line_sum is not None and line_sum != load.total_cents:
            reasons.append(f"Its line items add up to {format_money(line_sum)}, "
                           f"not the total {format_money(load.total_cents or 0)}.")
        out[load.id] = reasons
    return out


def eligible_loads(company, subsidiary, load_filter=None):
    """Loads that can go to the factor now (unordered query of Load with Customer)."""
    query = _candidates(company, subsidiary).where(~_problem_condition())
    return (load_filter or LoadFilter()).apply(query)


def incomplete_loads(company, subsidiary, load_filter=None):
    """Queued factoring loads that cannot go as they stand (query, by load number)."""
    query = _candidates(company, subsidiary).where(_problem_condition())
    return (load_filter or LoadFilter()).apply(query).order_by(Load.load_number, Load.id)


def unindexed(field):
    """FIELD as an ORDER BY term that SQLite cannot serve from an index (unary +).

    The Factoring Upload list filters on (company, subsidiary, status, method); with
    an index on (company, total_cents) at hand SQLite would rather walk all of the
    company's loads in amount order than sort the few thousand that match. PostgreSQL
    plans from statistics and gets the field unchanged.
    """
    if is_postgres():
        return field
    return NodeList((SQL("+"), field), glue="")


def totals(query):
    """(count, total cents) of a load query, in one aggregate query."""
    row = (query.select(fn.COUNT(Load.id), fn.COALESCE(fn.SUM(Load.total_cents), 0))
           .order_by().tuples().first())
    return (row[0], row[1]) if row else (0, 0)



# --- the Factoring Upload page --------------------------------------------------------

INCOMPLETE_SHOWN = 50


def _sorts():
    """The list's sort keys. Load number is unique in the company and served by the list's
    index; the other keys sort the matching loads (see unindexed), load number last."""
    u = unindexed
    return {
        "load": Load.load_number,
        "invoice": u(Load.invoice_number),
        "customer": (Customer.name, u(Load.load_number)),
        "mc": (Customer.mc_number, u(Load.load_number)),
        "delivery": (u(Load.delivery_date), u(Load.load_number)),
        "amount": (u(Load.total_cents), u(Load.load_number)),
    }


def _date(args, name, errors):
    value = (args.get(name) or "").strip()
    if not value:
        return None
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        errors.append(f"'{value}' is not a date (use 2026-11-25); that filter was ignored.")
        return None


def load_filter_from_args(args, errors):
    """The list filters from the query string ARGS; a filter that cannot be read is named in ERRORS."""
    return LoadFilter(customer_id=db_id(args.get("customer_id")), date_from=_date(args, "date_from", errors),
                      date_to=_date(args, "date_to", errors), q=search_text(args.get("q"), 100))


def workspace(company, subsidiary, args):
    """What Factoring Upload's working area shows for SUBSIDIARY and the query string ARGS: the
    notices, the batches in progress, the loads that can go (a page) and those that cannot."""
    errors = []
    load_filter = load_filter_from_args(args, errors)
    sorts = _sorts()
    sort = Sort.from_args(args, sorts, "load")
    query = eligible_loads(company, subsidiary, load_filter)
    match_count, match_total = totals(query)
    page = Page.of_query(query.order_by(*sort.order(sorts)), PageRequest.from_args(args),
                         total=match_count)
    incomplete_query = incomplete_loads(company, subsidiary, load_filter)
    incomplete = list(incomplete_query.limit(INCOMPLETE_SHOWN))
    return {
        "subsidiary": subsidiary, "load_filter": load_filter, "filter_errors": errors,
        "noa": bool(notice_of_assignment(subsidiary)),
        "factor": assignment.factor if (assignment := assignment_on(subsidiary)) else None,
        "customers": list(Customer.select(Customer.id, Customer.name)
                          .where(Customer.company == company).order_by(Customer.name)),
        "active": active_batches(company, subsidiary),
        "sort": sort.key, "desc": sort.desc, "match_count": match_count, "match_total": match_total,
        "page": page, "incomplete": incomplete,
        "incomplete_count": (len(incomplete) if len(incomplete) < INCOMPLETE_SHOWN else incomplete_query.count()),
        "reasons": load_problems(incomplete),
    }
