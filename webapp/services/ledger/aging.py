"""Reports > Aging: Financed invoices not yet paid in full, by days outstanding, with each
invoice's recourse deadline; and the invoices nearing it (the dashboard).

The balance of an invoice is the ledger's purchased − collected (less any chargeback). Days
are counted from the invoice date (or, with basis "due", past the due date: invoice date plus
the customer's terms). The recourse deadline is the invoice date (the purchase date when the
invoice has none) plus the factor's recourse days; a non-recourse factor has none.
"""
import dataclasses
import datetime

from peewee import JOIN
from peewee import Case
from peewee import fn

from webapp.models import FINANCED
from webapp.models import LEDGER_CHARGEBACK
from webapp.models import LEDGER_COLLECTED
from webapp.models import LEDGER_PURCHASED
from webapp.models import Batch
from webapp.models import Customer
from webapp.models import Factor
from webapp.models import LedgerEntry
from webapp.models import Load
from webapp.models import Subsidiary

BUCKETS = (("0-30", "0–30 days", 0, 30), ("31-60", "31–60 days", 31, 60), ("61-90", "61–90 days", 61, 90),
           ("90+", "Over 90 days", 91, None))
BASES = {"invoice": "Days since the invoice date", "due": "Days past due"}
NEAR_DAYS = 15  # an invoice this close to its recourse deadline is listed on the dashboard


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


def open_invoices(company, today=None, basis="invoice"):
    """Every Financed invoice of COMPANY with a balance, oldest first (one aggregate query)."""
    today = today or datetime.date.today()

    def kind_sum(kind):
        return fn.COALESCE(fn.SUM(Case(None, [(LedgerEntry.kind == kind, LedgerEntry.amount_cents)], 0)), 0)

    balance = kind_sum(LEDGER_PURCHASED) - kind_sum(LEDGER_COLLECTED) - kind_sum(LEDGER_CHARGEBACK)
    rows = (Load.select(Load.id, Load.load_number, Load.invoice_number, Load.invoice_date, Load.purchase_date,
                        Customer.id.alias("customer_id"), Customer.name.alias("customer"),
                        Customer.payment_terms_days.alias("terms"),
                        Subsidiary.id.alias("subsidiary_id"), Subsidiary.name.alias("subsidiary"),
                        Factor.name.alias("factor"), Factor.recourse_days.alias("recourse_days"),
                        balance.alias("balance"))
            .join(LedgerEntry, on=(LedgerEntry.load == Load.id))
            .join_from(Load, Customer, on=(Load.customer == Customer.id))
            .join_from(Load, Subsidiary, on=(Load.subsidiary == Subsidiary.id))
            .join_from(Load, Batch, JOIN.LEFT_OUTER, on=(Load.batch == Batch.id))
            .join_from(Batch, Factor, JOIN.LEFT_OUTER, on=(Batch.factor == Factor.id))
            .where((Load.company == company.id) & (Load.billing_status == FINANCED))
            .group_by(Load.id, Load.load_number, Load.invoice_number, Load.invoice_date, Load.purchase_date,
                      Customer.id, Customer.name, Customer.payment_terms_days, Subsidiary.id, Subsidiary.name,
                      Factor.name, Factor.recourse_days)
            .dicts())
    out = []
    for r in rows:
        if int(r["balance"] or 0) <= 0:
            continue
        start = _date(r["invoice_date"]) or _date(r["purchase_date"]) or today
        due = start + datetime.timedelta(days=r["terms"] or 0)
        days = (today - (due if basis == "due" else start)).days
        item = OpenInvoice(r["id"], r["load_number"], r["invoice_number"] or "", start, due, r["customer_id"],
                           r["customer"], r["subsidiary_id"], r["subsidiary"], r["factor"] or "", int(r["balance"]),
                           days, bucket_of(days))
        if r["recourse_days"]:
            item.recourse_deadline = start + datetime.timedelta(days=r["recourse_days"])
            item.days_to_recourse = (item.recourse_deadline - today).days
        out.append(item)
    out.sort(key=lambda x: (x.invoice_date, x.load_number))
    return out


def _grouped(invoices, key, name):
    groups = {}
    for inv in invoices:
        g = groups.setdefault(getattr(inv, key), {"id": getattr(inv, key), "name": getattr(inv, name),
                                                   "total": 0, "count": 0, **{b[0]: 0 for b in BUCKETS}})
        g[inv.bucket] += inv.balance
        g["total"] += inv.balance
        g["count"] += 1
    return sorted(groups.values(), key=lambda g: (-g["total"], g["name"]))


@dataclasses.dataclass
class Aging:
    basis: str
    today: datetime.date
    buckets: tuple
    totals: dict
    by_debtor: list
    by_subsidiary: list
    invoices: list
    nearing: list


def nearing_recourse(invoices, days=NEAR_DAYS):
    """Invoices past their recourse deadline or within DAYS of it, soonest first."""
    return sorted((i for i in invoices if i.days_to_recourse is not None and i.days_to_recourse <= days),
                  key=lambda i: (i.days_to_recourse, i.load_number))


def aging(company, args=None, today=None):
    """Reports > Aging in one call (basis from ?basis=invoice|due)."""
    args = args or {}
    basis = args.get("basis") if args.get("basis") in BASES else "invoice"
    today = today or datetime.date.today()
    invoices = open_invoices(company, today, basis)
    totals = {b[0]: 0 for b in BUCKETS}
    for inv in invoices:
        totals[inv.bucket] += inv.balance
    totals["total"] = sum(i.balance for i in invoices)
    totals["count"] = len(invoices)
    return Aging(basis, today, BUCKETS, totals, _grouped(invoices, "customer_id", "customer"),
                 _grouped(invoices, "subsidiary_id", "subsidiary"), invoices, nearing_recourse(invoices))
