"""Reports > Aging: Financed invoices not yet paid in full, by days outstanding, with each
invoice's recourse deadline; and the invoices nearing it (the dashboard).

The balance of an invoice is what the factor bought it for less what has been paid on it (the
ledger's purchased − collected: the ledger's invariants hold the two equal). The sums by
bucket, debtor and subsidiary come from the running totals (open_tally: one row per
subsidiary, debtor, factor and day), never from every invoice; the invoices are read a page at
a time. Days are counted from the invoice date (or, with basis "due", past the due date:
invoice date plus the customer's terms). The recourse deadline is the invoice date plus the
factor's recourse days; a non-recourse factor has none.
"""
import dataclasses
import datetime

from peewee import JOIN
from peewee import Case
from peewee import fn

from webapp.models import FINANCED
from webapp.models import Batch
from webapp.models import Customer
from webapp.models import Factor
from webapp.models import Load
from webapp.models import OpenDayTally
from webapp.models import OpenDebtorTally
from webapp.models import OpenTally
from webapp.models import Subsidiary
from webapp.services.paging import Page
from webapp.services.paging import PageRequest
from webapp.services.tallies.recount import EPOCH

BUCKETS = (("0-30", "0–30 days", 0, 30), ("31-60", "31–60 days", 31, 60), ("61-90", "61–90 days", 61, 90),
           ("90+", "Over 90 days", 91, None))
BASES = {"invoice": "Days since the invoice date", "due": "Days past due"}
NEAR_DAYS = 15  # an invoice this close to its recourse deadline is listed on the dashboard
NEAR_SHOWN = 10  # the dashboard lists the soonest; Reports > Aging has them all
CHUNK = 1000
DEBTORS_SHOWN = 50  # the largest balances by name; the rest summed in one "other debtors" row


def bucket_of(days):
    """The bucket key of DAYS outstanding (negative days, not yet due, count as 0–30)."""
    for key, _label, low, high in BUCKETS:
        if high is None or days <= high:
            return key
    return BUCKETS[-1][0]


@dataclasses.dataclass
class OpenInvoice:
    load_id: int
    load_number: str
    invoice_number: str
    invoice_date: datetime.date
    due_date: datetime.date
    customer_id: int
    customer: str
    subsidiary_id: int
    subsidiary: str
    factor: str
    balance: int
    days: int
    bucket: str
    recourse_deadline: datetime.date = None
    days_to_recourse: int = None


def _date(value):
    if isinstance(value, str):
        return datetime.date.fromisoformat(value[:10])
    if isinstance(value, datetime.datetime):
        return value.date()
    return value


def _day_n(day):
    return (day - EPOCH).days


# --- the sums, from the running totals ----------------------------------------------------------

def _bucket_index(age):
    """The position in BUCKETS of a row AGE days outstanding (a SQL expression): one CASE a row."""
    whens = [(age > BUCKETS[i - 1][3], i) for i in range(len(BUCKETS) - 1, 0, -1)]
    return Case(None, whens, 0)


def _largest_debtors(company, today, totals, shown=DEBTORS_SHOWN):
    """By debtor on the invoice date without reading every debtor's days: the SHOWN largest
    balances from open_debtor_tally (a row per debtor), their buckets from open_tally (their rows
    only, through a covering index), and the others' sums as TOTALS less theirs."""
    top = [c for (c,) in OpenDebtorTally.select(OpenDebtorTally.customer)
           .where((OpenDebtorTally.company == company.id) & (OpenDebtorTally.n > 0))
           .order_by(OpenDebtorTally.open_cents.desc(), OpenDebtorTally.customer).limit(shown + 1).tuples()]
    if len(top) <= shown:
        return _groups(company, today, "invoice", "debtor")
    top = top[:shown]
    groups = _groups(company, today, "invoice", "debtor", among=top)
    debtors = (OpenDebtorTally.select(fn.COUNT(OpenDebtorTally.id))
               .where((OpenDebtorTally.company == company.id) & (OpenDebtorTally.n > 0)).scalar())
    return groups + [_other_debtors(debtors - len(groups),
                                    {k: totals[k] - sum(g[k] for g in groups) for k in _SUMMED})]


def _groups(company, today, basis, by, among=None):
    """[{id, name, count, total, one sum per bucket}] of the open balances by debtor ("debtor")
    or by subsidiary, largest first: one aggregate by (debtor or subsidiary, bucket) over
    open_tally, read from a covering index (the terms of each debtor joined in for "due"), or
    by subsidiary on the invoice date over open_day_tally's fewer rows."""
    # By subsidiary on the invoice date, the per-day totals without the debtor are enough.
    table = OpenDayTally if (by != "debtor" and basis != "due") else OpenTally
    age = _day_n(today) - table.day_n
    if basis == "due":
        age = age - Customer.payment_terms_days
    key = OpenTally.customer if by == "debtor" else table.subsidiary
    query = table.select(key, _bucket_index(age), fn.SUM(table.n), fn.SUM(table.open_cents))
    if basis == "due":
        query = query.join(Customer, on=(OpenTally.customer == Customer.id))
    cond = (table.company == company.id) & (table.n > 0)
    if among is not None:
        cond &= key.in_(among)
    rows = query.where(cond).group_by(key, _bucket_index(age)).tuples()
    model = Customer if by == "debtor" else Subsidiary
    named = model.company == company.id if among is None else model.id.in_(among)
    names = dict(model.select(model.id, model.name).where(named).tuples())
    groups = {}
    for group_id, bucket, n, cents in rows:
        g = groups.setdefault(group_id, {"id": group_id, "name": names.get(group_id, ""), "count": 0, "total": 0,
                                         **{b[0]: 0 for b in BUCKETS}})
        g[BUCKETS[int(bucket)][0]] += int(cents)
        g["total"] += int(cents)
        g["count"] += int(n)
    return sorted(groups.values(), key=lambda g: (-g["total"], g["name"]))


def totals_of(groups):
    """The buckets, balance and count summed over GROUPS (by debtor, or by subsidiary)."""
    totals = {b[0]: sum(g[b[0]] for g in groups) for b in BUCKETS}
    totals["total"] = sum(g["total"] for g in groups)
    totals["count"] = sum(g["count"] for g in groups)
    return totals


def summary(company, today=None, basis="invoice"):
    """{bucket: cents, "total": cents, "count": invoices} of the company's open invoices; by
    the invoice date from the running totals per day (open_day_tally: a row per factor and
    day), past the due date from open_tally (the terms are the debtor's)."""
    today = today or datetime.date.today()
    if basis == "due":
        return totals_of(_groups(company, today, basis, "subsidiary"))
    totals = {b[0]: 0 for b in BUCKETS}
    totals.update(total=0, count=0)
    today_n = _day_n(today)
    for day_n, n, cents in (OpenDayTally.select(OpenDayTally.day_n, fn.SUM(OpenDayTally.n),
                                                fn.SUM(OpenDayTally.open_cents))
                            .where((OpenDayTally.company == company.id) & (OpenDayTally.n > 0))
                            .group_by(OpenDayTally.day_n).tuples()):
        n, cents = int(n), int(cents)
        totals[bucket_of(today_n - day_n)] += cents
        totals["total"] += cents
        totals["count"] += n
    return totals


# --- the invoices ---------------------------------------------------------------------------------

def _open(company):
    """Financed invoices of COMPANY with a balance: the very rows open_tally sums."""
    return ((Load.company == company.id) & (Load.billing_status == FINANCED)
            & (Load.purchase_amount_cents > Load.paid_cents))


def _invoice_rows(cond):
    return (Load.select(Load.id, Load.load_number, Load.invoice_number, Load.invoice_date, Load.purchase_date,
                        Load.purchase_amount_cents, Load.paid_cents, Customer.id, Customer.name,
                        Customer.payment_terms_days, Subsidiary.id, Subsidiary.name, Factor.name,
                        Factor.recourse_days)
            .join_from(Load, Customer, on=(Load.customer == Customer.id))
            .join_from(Load, Subsidiary, on=(Load.subsidiary == Subsidiary.id))
            .join_from(Load, Batch, JOIN.LEFT_OUTER, on=(Load.batch == Batch.id))
            .join_from(Batch, Factor, JOIN.LEFT_OUTER, on=(Batch.factor == Factor.id))
            .where(cond))


def _invoice(row, today, basis):
    (load_id, load_number, invoice_number, invoice_date, purchase_date, bought, paid, customer_id, customer,
     terms, subsidiary_id, subsidiary, factor, recourse_days) = row
    start = _date(invoice_date) or _date(purchase_date) or today
    due = start + datetime.timedelta(days=terms or 0)
    days = (today - (due if basis == "due" else start)).days
    item = OpenInvoice(load_id, load_number, invoice_number or "", start, due, customer_id, customer, subsidiary_id,
                       subsidiary, factor or "", bought - paid, days, bucket_of(days))
    if recourse_days:
        item.recourse_deadline = start + datetime.timedelta(days=recourse_days)
        item.days_to_recourse = (item.recourse_deadline - today).days
    return item


def open_invoices(company, today=None, basis="invoice"):
    """Every open invoice of COMPANY, oldest first, read CHUNK at a time (an export of them
    all; the page shows one page: invoice_page)."""
    today = today or datetime.date.today()
    last = None
    while True:
        cond = _open(company)
        if last is not None:
            cond &= (Load.invoice_date > last[0]) | ((Load.invoice_date == last[0]) & (Load.id > last[1]))
        rows = list(_invoice_rows(cond).order_by(Load.invoice_date, Load.id).limit(CHUNK).tuples())
        for row in rows:
            yield _invoice(row, today, basis)
        if len(rows) < CHUNK:
            return
        last = (rows[-1][3], rows[-1][0])


def invoice_page(company, today, basis, request, total):
    """One page of the open invoices, oldest first (the index of load by company, status and
    invoice date walks to it); TOTAL, their count, comes from the running totals."""
    def fetch(number, limit):
        rows = (_invoice_rows(_open(company)).order_by(Load.invoice_date, Load.id)
                .offset((number - 1) * request.per_page).limit(limit).tuples())
        return [_invoice(row, today, basis) for row in rows]

    return Page(total, request, fetch)


@dataclasses.dataclass
class Nearing:
    invoices: list   # the soonest, at most NEAR_SHOWN
    count: int       # how many there are in all
    cents: int       # their balance


def nearing_recourse(company, today=None, days=NEAR_DAYS, limit=NEAR_SHOWN):
    """Invoices past their recourse deadline or within DAYS of it, soonest first: for each
    recourse factor, its invoices dated on or before today + DAYS − its recourse days (counted
    from the running totals, the first LIMIT read oldest first through the index)."""
    today = today or datetime.date.today()
    found, count, cents = [], 0, 0
    factors = (Factor.select(Factor.id, Factor.recourse_days)
               .where((Factor.company == company.id) & (Factor.recourse_days > 0)).tuples())
    for factor_id, recourse_days in factors:
        cutoff = today + datetime.timedelta(days=days - recourse_days)
        n, total = (OpenDayTally.select(fn.COALESCE(fn.SUM(OpenDayTally.n), 0),
                                        fn.COALESCE(fn.SUM(OpenDayTally.open_cents), 0))
                    .where((OpenDayTally.company == company.id) & (OpenDayTally.factor_key == factor_id)
                           & (OpenDayTally.day_n <= _day_n(cutoff))).scalar(as_tuple=True))
        if not n:
            continue
        count, cents = count + int(n), cents + int(total)
        rows = (_invoice_rows(_open(company) & (Batch.factor == factor_id) & (Load.invoice_date <= cutoff))
                .order_by(Load.invoice_date, Load.id).limit(limit).tuples())
        found += [_invoice(row, today, "invoice") for row in rows]
    found.sort(key=lambda i: (i.days_to_recourse, i.load_number))
    return Nearing(found[:limit], count, cents)


def _largest(groups, shown=DEBTORS_SHOWN):
    """The first SHOWN groups (the largest), then the rest summed in one row named for them."""
    if len(groups) <= shown:
        return groups
    rest = groups[shown:]
    return groups[:shown] + [_other_debtors(len(rest), {k: sum(g[k] for g in rest) for k in _SUMMED})]


_SUMMED = ["count", "total"] + [b[0] for b in BUCKETS]


def _other_debtors(how_many, sums):
    """The one row standing for the debtors not shown: how many, and their SUMS."""
    return {"id": None, "name": f"{how_many:,} other debtors", "other": True, **sums}


@dataclasses.dataclass
class Aging:
    basis: str
    today: datetime.date
    buckets: tuple
    totals: dict
    by_debtor: list
    by_subsidiary: list
    invoices: Page
    nearing: Nearing


def aging(company, args=None, today=None):
    """Reports > Aging in one call (?basis=invoice|due; ?page= and ?per_page= of the invoices)."""
    args = args or {}
    basis = args.get("basis") if args.get("basis") in BASES else "invoice"
    today = today or datetime.date.today()
    by_subsidiary = _groups(company, today, basis, "subsidiary")
    totals = totals_of(by_subsidiary)
    by_debtor = (_largest_debtors(company, today, totals) if basis == "invoice"
                 else _largest(_groups(company, today, basis, "debtor")))
    return Aging(basis, today, BUCKETS, totals, by_debtor, by_subsidiary,
                 invoice_page(company, today, basis, PageRequest.from_args(args), totals["count"]),
                 nearing_recourse(company, today))
