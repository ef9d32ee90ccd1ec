"""Which loads can go to the factor: the Factoring Upload list, its filters and the reasons
a load cannot go as it stands."""
import collections
import datetime
from dataclasses import dataclass

from peewee import SQL
from peewee import Case
from peewee import NodeList
from peewee import fn

from webapp.database import is_postgres
from webapp.models import FACTORING
from webapp.models import QUEUED
from webapp.models import Customer
from webapp.models import Load
from webapp.models import LoadDocument
from webapp.models import LoadLine
from webapp.services.batches.formats import assignment_on
from webapp.services.batches.reading import active_batches
from webapp.services.customers import choices as customer_choices
from webapp.services.local_time import parse_date_input
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
        # Dates filter the subsidiary's few thousand candidates; on the index (company,
        # delivery_date) SQLite would read every load of the company in the range instead.
        delivered = unindexed(Load.delivery_date)
        if self.date_from:
            query = query.where(delivered >= _sql_date(self.date_from))
        if self.date_to:
            query = query.where(delivered <= _sql_date(self.date_to))
        text = (self.q or "").strip()
        if text:
            query = query.where(Load.load_number.contains(text) | Load.invoice_number.contains(text))
        return query

    @property
    def active(self):
        return bool(self.customer_id or self.date_from or self.date_to or (self.q or "").strip())


def _sql_date(day):
    """DAY as compared with an unindexed() date column: ISO text on SQLite (where the column
    holds text and the unary + hides the field's own conversion), the date on PostgreSQL."""
    return day if is_postgres() else day.isoformat()


def _candidates(company, subsidiary):
    """Queued factoring loads of the subsidiary in no live batch, with their customers."""
    return (Load.select(Load, Customer)
            .join(Customer, on=(Load.customer == Customer.id))
            .where((Load.company == company) & (Load.subsidiary == subsidiary)
                   & (Load.billing_status == QUEUED) & (Load.invoicing_method == FACTORING)
                   & Load.batch.is_null()))


# The documents a factor may require, and the kinds of document that count as each.
PAPERWORK = (
    ("requires_rate_confirmation", ("rate_confirmation",), "rate confirmation"),
    ("requires_proof_of_delivery", ("pod", "bol"), "proof of delivery (or signed BOL)"),
)


class Reason(str):
    """Why a load cannot go to the factor (the text), and which form fixes it: FIX is
    "customer" (the customer's record), "load" (the load's edit form) or "documents" (the
    load's documents)."""

    def __new__(cls, text, fix):
        reason = super().__new__(cls, text)
        reason.fix = fix
        return reason


def _required_paperwork(factor):
    """[(document kinds that count, name)] that FACTOR wants behind each invoice."""
    if factor is None:
        return []
    return [(kinds, name) for flag, kinds, name in PAPERWORK if getattr(factor, flag, False)]


def _has_document(kinds):
    return fn.EXISTS(LoadDocument.select(SQL("1")).where(
        (LoadDocument.load == Load.id) & LoadDocument.kind.in_(kinds)))


def _problem_condition(factor=None):
    """SQL twin of load_problems(): true when the load cannot go to the factor as it stands.

    One rule is left to load_problems() alone, which Submit Batch applies: line items
    that do not add up to the total. Loads are saved with their total computed from
    their lines, so only a hand-edited database breaks it, and checking it here would
    cost a subquery per load on every page view.
    """
    condition = ((fn.TRIM(fn.COALESCE(Customer.mc_number, "")) == "")
                 | (Load.total_cents <= 0)
                 | Load.invoice_number.is_null() | (fn.TRIM(Load.invoice_number) == "")
                 | Load.invoice_date.is_null())
    for kinds, _ in _required_paperwork(factor):
        condition = condition | ~_has_document(kinds)
    return condition


def load_problems(loads, factor=None):
    """{load id: [Reason]} for LOADS (with .customer loaded); loads that can go have none.

    The reasons are the "reason incomplete" users know, each with the form that fixes it;
    FACTOR's required documents (rate confirmation, proof of delivery) are checked when it
    is given. _problem_condition() is the same rule in SQL, for the lists (but for the
    line-items check, see there).
    """
    loads = list(loads)
    sums = {}
    kinds_of = {}
    paperwork = _required_paperwork(factor)
    for chunk in chunks([load.id for load in loads]):
        sums.update(LoadLine.select(LoadLine.load, fn.SUM(LoadLine.amount_cents))
                    .where(LoadLine.load.in_(chunk)).group_by(LoadLine.load).tuples())
        if paperwork:
            for load_id, kind in (LoadDocument.select(LoadDocument.load, LoadDocument.kind)
                                  .where(LoadDocument.load.in_(chunk)).tuples()):
                kinds_of.setdefault(load_id, set()).add(kind)
    out = {}
    for load in loads:
        reasons = []
        if not (load.customer.mc_number or "").strip():
            reasons.append(Reason(f"The customer {load.customer.name} has no MC number.", "customer"))
        if (load.total_cents or 0) <= 0:
            reasons.append(Reason("The total is not above zero.", "load"))
        if not (load.invoice_number or "").strip():
            reasons.append(Reason("It has no invoice number.", "load"))
        if load.invoice_date is None:
            reasons.append(Reason("It has no invoice date.", "load"))
        line_sum = sums.get(load.id)
        if line_sum is not None and line_sum != load.total_cents:
            reasons.append(Reason(f"Its line items add up to {format_money(line_sum)}, "
                                  f"not the total {format_money(load.total_cents or 0)}.", "load"))
        missing = [name for kinds, name in paperwork if not kinds_of.get(load.id, set()) & set(kinds)]
        if missing:
            reasons.append(Reason(f"{factor.name} requires the {' and the '.join(missing)}; "
                                  f"it has {'neither' if len(missing) > 1 else 'none'}.", "documents"))
        out[load.id] = reasons
    return out


def _factor_of(subsidiary):
    assignment = assignment_on(subsidiary)
    return assignment.factor if assignment else None


def eligible_loads(company, subsidiary, load_filter=None, factor=False):
    """Loads that can go to the factor now (unordered query of Load with Customer), with the
    documents the subsidiary's current FACTOR requires (looked up unless given)."""
    factor = _factor_of(subsidiary) if factor is False else factor
    query = _candidates(company, subsidiary).where(~_problem_condition(factor))
    return (load_filter or LoadFilter()).apply(query)


def incomplete_loads(company, subsidiary, load_filter=None, factor=False):
    """Queued factoring loads that cannot go as they stand (query, by load number)."""
    factor = _factor_of(subsidiary) if factor is False else factor
    query = _candidates(company, subsidiary).where(_problem_condition(factor))
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
    """A filter date typed as 11/16/2026 or 2026-11-16; one that cannot be read is named in ERRORS."""
    try:
        return parse_date_input(args.get(name))
    except ValueError as exc:
        errors.append(f"{exc}; that filter was ignored.")
        return None


def load_filter_from_args(args, errors):
    """The list filters from the query string ARGS; a filter that cannot be read is named in ERRORS."""
    return LoadFilter(customer_id=db_id(args.get("customer_id")), date_from=_date(args, "date_from", errors),
                      date_to=_date(args, "date_to", errors), q=search_text(args.get("q"), 100))


# What a row of Factoring Upload's list shows: plain rows (EligibleRow), not model objects.
ELIGIBLE_COLUMNS = {
    "id": Load.id, "load_number": Load.load_number, "invoice_number": Load.invoice_number,
    "customer_name": Customer.name, "customer_mc": Customer.mc_number,
    "delivery_date": Load.delivery_date, "total_cents": Load.total_cents,
}
EligibleRow = collections.namedtuple("EligibleRow", ELIGIBLE_COLUMNS)


def _counts(company, subsidiary, load_filter, factor):
    """(loads that can go, their total cents, loads that cannot) among the subsidiary's
    candidates that LOAD_FILTER lets through, in one pass over them.

    The running totals (services/tallies) count the subsidiary's Queued factoring loads, but
    not which of them are in a live batch or incomplete; finding the incomplete ones reads
    every candidate anyway, so one aggregate does both, and the list of incomplete loads is
    read only when there are some.
    """
    problem = _problem_condition(factor)
    bad = Case(None, [(problem, 1)], 0)
    good_cents = Case(None, [(problem, 0)], Load.total_cents)
    row = (load_filter.apply(_candidates(company, subsidiary))
           .select(fn.COUNT(Load.id), fn.COALESCE(fn.SUM(good_cents), 0), fn.COALESCE(fn.SUM(bad), 0))
           .order_by().tuples().first())
    candidates, cents, incomplete = row if row else (0, 0, 0)
    return int(candidates) - int(incomplete), int(cents), int(incomplete)


def workspace(company, subsidiary, args):
    """What Factoring Upload's working area shows for SUBSIDIARY and the query string ARGS: the
    notices, the batches in progress, the loads that can go (a page of EligibleRows) and those
    that cannot."""
    errors = []
    load_filter = load_filter_from_args(args, errors)
    sorts = _sorts()
    sort = Sort.from_args(args, sorts, "load")
    factor = _factor_of(subsidiary)
    match_count, match_total, incomplete_count = _counts(company, subsidiary, load_filter, factor)
    request = PageRequest.from_args(args)
    rows = (eligible_loads(company, subsidiary, load_filter, factor)
            .select(*ELIGIBLE_COLUMNS.values()).order_by(*sort.order(sorts)).tuples())

    def fetch(number, limit):
        return [EligibleRow._make(row) for row in rows.offset((number - 1) * request.per_page).limit(limit)]

    page = Page(match_count, request, fetch)
    incomplete = (list(incomplete_loads(company, subsidiary, load_filter, factor).limit(INCOMPLETE_SHOWN))
                  if incomplete_count else [])
    return {
        "subsidiary": subsidiary, "load_filter": load_filter, "filter_errors": errors,
        "noa": bool(notice_of_assignment(subsidiary)),
        "factor": factor,
        "customers": customer_choices(company.id),
        "active": active_batches(company, subsidiary),
        "sort": sort.key, "desc": sort.desc, "match_count": match_count, "match_total": match_total,
        "page": page, "incomplete": incomplete, "incomplete_count": incomplete_count,
        "reasons": load_problems(incomplete, factor),
    }
