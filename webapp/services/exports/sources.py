"""What each list exports: its columns, its rows and how to count them, with the filters the
screen shows (read from the same query string). Rows come from a database cursor as they are
read: on PostgreSQL a server-side cursor, so that neither the web process nor the worker ever
holds a big list whole."""
import collections
import dataclasses
import datetime
import uuid

from peewee import JOIN
from peewee import fn

from webapp.database import is_postgres
from webapp.models import BILLING_STATUSES
from webapp.models import INVOICING_METHODS
from webapp.models import LEDGER_KINDS
from webapp.models import Batch
from webapp.models import BatchLoad
from webapp.models import Customer
from webapp.models import Factor
from webapp.models import Load
from webapp.models import Payment
from webapp.models import Subsidiary
from webapp.models import db
from webapp.services.exports.writers import DATE
from webapp.services.exports.writers import INT
from webapp.services.exports.writers import MONEY
from webapp.services.exports.writers import TEXT
from webapp.services.ledger import aging as aging_service
from webapp.services.ledger import reserve as reserve_service
from webapp.services.loads.listing import Filters as LoadFilters
from webapp.services.loads.listing import _conditions
from webapp.services.tables import parse_date
from webapp.services.tallies import Count
from webapp.services.tallies import bounded_count
from webapp.services.validation import db_id

# Rows a PostgreSQL server-side cursor sends at a time.
FETCH_ROWS = 2000


@dataclasses.dataclass
class Table:
    name: str  # the file's name without its extension
    columns: list
    rows: object  # an iterable of tuples
    query: object = None  # the SELECT of the rows, to count them (None: `known` is the count)
    known: int = None

    def count(self, bound=None):
        """How many rows the table has: a Count exact up to BOUND (all of them with None)."""
        if self.query is None:
            return Count(self.known if bound is None else min(self.known, bound),
                         bound is not None and self.known > bound)
        if bound is None:
            return Count(self.query.order_by().count())
        return bounded_count(self.query, bound)


def _cursor(query, named=False):
    """Raw rows from the database, fetched as they are read (no model objects); with NAMED, as
    named tuples of the columns' names. The query runs when the first row is asked for."""
    if is_postgres():
        rows = _server_side(query)
    else:
        rows = db.execute(query)
    if not named:
        yield from rows
        return
    row_type = None
    for row in rows:
        if row_type is None:
            row_type = collections.namedtuple("Row", [column[0] for column in rows.description], rename=True)
        yield row_type(*row)


class _server_side:
    """The rows of a query through a named cursor, FETCH_ROWS at a time (psycopg2's plain cursor
    would fetch every row into memory at once). WITH HOLD: the connection is in autocommit, and
    such a cursor outlives the statement's own transaction (the server keeps the rows)."""

    def __init__(self, query):
        self.query = query
        self.description = None

    def __iter__(self):
        sql, params = self.query.sql()
        cursor = db.connection().cursor(name=f"export_{uuid.uuid4().hex}", withhold=True)
        cursor.itersize = FETCH_ROWS
        try:
            cursor.execute(sql, params)
            for row in cursor:
                self.description = cursor.description
                yield row
        finally:
            cursor.close()


LOAD_COLUMNS = [("Load Number", TEXT), ("Invoice Number", TEXT), ("Invoice Date", DATE), ("Subsidiary", TEXT),
                ("Customer", TEXT), ("Delivery Date", DATE), ("Total", MONEY), ("Invoicing Method", TEXT),
                ("Billing Status", TEXT), ("Batch", INT), ("Purchase Date", DATE), ("Purchased", MONEY),
                ("Advance", MONEY), ("Fee", MONEY), ("Reserve", MONEY), ("Paid", MONEY), ("Short Pay", MONEY),
                ("Overpay", MONEY)]


def _load_rows(query):
    for row in _cursor(query):
        row = list(row)
        row[7] = INVOICING_METHODS.get(row[7], row[7])
        row[8] = BILLING_STATUSES.get(row[8], row[8])
        yield tuple(row)


def _load_query(terms):
    return (Load.select(Load.load_number, Load.invoice_number, Load.invoice_date, Subsidiary.name, Customer.name,
                        Load.delivery_date, Load.total_cents, Load.invoicing_method, Load.billing_status,
                        Batch.number, Load.purchase_date, Load.purchase_amount_cents, Load.advance_cents,
                        Load.fee_cents, Load.reserve_cents, Load.paid_cents, Load.short_pay_cents, Load.overpay_cents)
            .join_from(Load, Subsidiary).join_from(Load, Customer).join_from(Load, Batch, JOIN.LEFT_OUTER)
            .where(*terms).order_by(Load.load_number, Load.id))


def loads(company, args):
    """The Loads list with its filters (subsidiary, status, customer, method, search)."""
    query = _load_query(_conditions(company, LoadFilters.from_args(args)))
    return Table("loads", LOAD_COLUMNS, _load_rows(query), query)


def batch_loads(company, args):
    """The live loads of the company's batch ?batch=ID (None when it has no such batch)."""
    batch = Batch.get_or_none((Batch.id == db_id(args.get("batch"))) & (Batch.company == company.id))
    if batch is None:
        return None
    query = _load_query([Load.batch == batch.id])
    return Table(f"batch-{batch.number}-loads", LOAD_COLUMNS, _load_rows(query), query)


def batches(company, args):
    """Reports > Factoring's batches (of one subsidiary when ?subsidiary_id= is given)."""
    cond = Batch.company == company.id
    subsidiary = db_id(args.get("subsidiary_id"))
    if subsidiary:
        cond &= Batch.subsidiary == subsidiary
    live = (BatchLoad.select(BatchLoad.batch, fn.COUNT(BatchLoad.id).alias("n")).where(BatchLoad.live)
            .group_by(BatchLoad.batch).alias("live"))
    query = (Batch.select(Batch.number, Subsidiary.name, Factor.name, Batch.status, Batch.created_at,
                          Batch.load_count, Batch.total_cents, fn.COALESCE(live.c.n, 0))
             .join_from(Batch, Subsidiary).join_from(Batch, Factor, JOIN.LEFT_OUTER)
             .join_from(Batch, live, JOIN.LEFT_OUTER, on=(live.c.batch_id == Batch.id))
             .where(cond).order_by(Batch.number))
    return Table("batches", [("Batch", INT), ("Subsidiary", TEXT), ("Factor", TEXT), ("Status", TEXT),
                             ("Submitted", DATE), ("Loads Submitted", INT), ("Total", MONEY),
                             ("Loads In Batch", INT)], _cursor(query), query)


def _dates(args):
    out = []
    for name in ("date_from", "date_to"):
        try:
            out.append(parse_date(args.get(name) or "") if (args.get(name) or "").strip() else None)
        except ValueError:
            out.append(None)
    return out


def payments(company, args):
    """Every payment applied (of one subsidiary, between two dates, when asked)."""
    cond = Payment.company == company.id
    subsidiary = db_id(args.get("subsidiary"))
    if subsidiary:
        cond &= Load.subsidiary == subsidiary
    start, end = _dates(args)
    if start:
        cond &= Payment.payment_date >= start
    if end:
        cond &= Payment.payment_date <= end
    query = (Payment.select(Payment.payment_date, Load.load_number, Load.invoice_number, Customer.name,
                            Payment.amount_cents, Payment.reference, Payment.method, Payment.reserve_released_cents,
                            Payment.fee_adjustment_cents, Payment.final, Payment.notes)
             .join(Load, on=(Payment.load == Load.id)).join_from(Load, Customer)
             .where(cond).order_by(Payment.payment_date, Payment.id))

    def rows():
        for row in _cursor(query):
            row = list(row)
            row[9] = "yes" if row[9] else "no"
            yield tuple(row)
    return Table("payments", [("Payment Date", DATE), ("Load Number", TEXT), ("Invoice Number", TEXT),
                              ("Customer", TEXT), ("Amount Paid", MONEY), ("Reference", TEXT),
                              ("Payment Method", TEXT), ("Reserve Released", MONEY), ("Fee Adjustment", MONEY),
                              ("Final", TEXT), ("Notes", TEXT)], rows(), query)


def reserve_statement(company, args):
    """The reserve statement with its filters, and the running reserve balance."""
    filters = reserve_service.Filters.from_args(args)
    query = reserve_service.statement_query(company, filters)

    def rows():
        balance = 0
        for r in _cursor(query, named=True):
            sign = reserve_service.RESERVE_SIGNS.get(r.kind)
            if sign:
                balance += sign * r.amount_cents
            yield (r.entry_date, LEDGER_KINDS.get(r.kind, r.kind), "yes" if r.reversal_of_id else "",
                   r.invoice_number or r.load_number or "", r.factor_name or "", r.subsidiary_name, r.amount_cents,
                   sign * r.amount_cents if sign else None, balance if sign else None)
    return Table("reserve-statement", [("Date", DATE), ("Kind", TEXT), ("Reversal", TEXT), ("Invoice", TEXT),
                                       ("Factor", TEXT), ("Subsidiary", TEXT), ("Amount", MONEY),
                                       ("Reserve", MONEY), ("Reserve Balance", MONEY)], rows(), query)


def aging(company, args):
    """Reports > Aging's open invoices, on the basis the screen shows."""
    basis = args.get("basis") if args.get("basis") in aging_service.BASES else "invoice"
    today = datetime.date.today()
    count = aging_service.summary(company, today, basis)["count"]
    rows = ((i.invoice_number or i.load_number, i.customer, i.subsidiary, i.factor, i.invoice_date, i.due_date,
             i.days, i.bucket, i.balance, i.recourse_deadline)
            for i in aging_service.open_invoices(company, today, basis))
    return Table(f"aging-{basis}", [("Invoice", TEXT), ("Debtor", TEXT), ("Subsidiary", TEXT), ("Factor", TEXT),
                                         ("Invoice Date", DATE), ("Due Date", DATE), ("Days", INT),
                                         ("Bucket", TEXT), ("Balance", MONEY), ("Recourse Deadline", DATE)], rows,
                 known=count)


# What an export names (its <what> in the address) -> the function that builds its Table from the
# company and the filters (None when the filters name nothing of the company's).
LISTS = {"loads": loads, "batches": batches, "payments": payments, "reserve": reserve_statement, "aging": aging,
         "batch-loads": batch_loads}
