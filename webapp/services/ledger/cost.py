"""Reports > Cost and speed: what factoring cost (fees as a share of face) per factor, subsidiary
and month, from the ledger's running totals; how fast the factor funds (batch submitted →
purchase date) and how fast debtors pay (invoice date → final payment), median and 90th
percentile."""
import collections
import dataclasses
import datetime
import math

from peewee import JOIN
from peewee import fn

from webapp.models import COMPLETED
from webapp.models import LEDGER_FEE
from webapp.models import LEDGER_FEE_ADJUSTMENT
from webapp.models import LEDGER_PURCHASED
from webapp.models import Batch
from webapp.models import Customer
from webapp.models import Factor
from webapp.models import LedgerTotal
from webapp.models import Load
from webapp.models import Payment
from webapp.models import Subsidiary


def percentile(values, share):
    """The SHARE (0–1) percentile of VALUES by the nearest rank; None when there are none."""
    values = sorted(values)
    if not values:
        return None
    rank = max(1, math.ceil(share * len(values)))
    return values[rank - 1]


def median(values):
    """The middle value (the lower of the two middle ones for an even count); None when empty."""
    return percentile(values, 0.5)


def _date(value):
    if isinstance(value, str):
        return datetime.date.fromisoformat(value[:10])
    if isinstance(value, datetime.datetime):
        return value.date()
    return value


def monthly_cost(company):
    """[{month, factor, subsidiary, face, fees, share_bp}] newest month first, from the totals."""
    rows = (LedgerTotal.select(LedgerTotal.month, LedgerTotal.factor_key, Factor.name.alias("factor"),
                               Subsidiary.name.alias("subsidiary"), LedgerTotal.kind,
                               fn.SUM(LedgerTotal.amount_cents).alias("cents"))
            .join(Subsidiary, on=(LedgerTotal.subsidiary == Subsidiary.id))
            .join_from(LedgerTotal, Factor, JOIN.LEFT_OUTER, on=(LedgerTotal.factor_key == Factor.id))
            .where((LedgerTotal.company == company.id)
                   & LedgerTotal.kind.in_((LEDGER_PURCHASED, LEDGER_FEE, LEDGER_FEE_ADJUSTMENT)))
            .group_by(LedgerTotal.month, LedgerTotal.factor_key, Factor.name, Subsidiary.name, LedgerTotal.kind)
            .dicts())
    out = {}
    for r in rows:
        key = (_date(r["month"]), r["factor"] or "No factor", r["subsidiary"])
        item = out.setdefault(key, {"month": key[0], "factor": key[1], "subsidiary": key[2], "face": 0, "fees": 0})
        if r["kind"] == LEDGER_PURCHASED:
            item["face"] += int(r["cents"] or 0)
        else:
            item["fees"] += int(r["cents"] or 0)
    items = sorted(out.values(), key=lambda x: (-x["month"].toordinal(), x["factor"], x["subsidiary"]))
    for item in items:
        item["share_bp"] = round(item["fees"] * 10000 / item["face"]) if item["face"] else None
    return items


def days_to_fund(company, since=None):
    """[(factor, subsidiary, submitted date, purchase date, days)] of every purchased invoice."""
    cond = (Load.company == company.id) & Load.purchase_date.is_null(False) & Load.batch.is_null(False)
    if since:
        cond &= Load.purchase_date >= since
    rows = (Load.select(Factor.name, Subsidiary.name, Batch.created_at, Load.purchase_date)
            .join(Batch, on=(Load.batch == Batch.id))
            .join_from(Batch, Factor, JOIN.LEFT_OUTER, on=(Batch.factor == Factor.id))
            .join_from(Load, Subsidiary, on=(Load.subsidiary == Subsidiary.id))
            .where(cond).tuples())
    out = []
    for factor, subsidiary, submitted, purchased in rows:
        submitted, purchased = _date(submitted), _date(purchased)
        out.append((factor or "No factor", subsidiary, submitted, purchased, max(0, (purchased - submitted).days)))
    return out


def days_to_pay(company):
    """[(debtor, invoice date, final payment date, days)] of every Completed invoice."""
    last = (Payment.select(Payment.load, fn.MAX(Payment.payment_date).alias("paid_on"))
            .where(Payment.company == company.id).group_by(Payment.load).alias("last"))
    rows = (Load.select(Customer.name, Load.invoice_date, last.c.paid_on)
            .join(last, on=(last.c.load_id == Load.id))
            .join_from(Load, Customer, on=(Load.customer == Customer.id))
            .where((Load.company == company.id) & (Load.billing_status == COMPLETED) & Load.invoice_date.is_null(False))
            .tuples())
    return [(debtor, _date(invoiced), _date(paid), (_date(paid) - _date(invoiced)).days)
            for debtor, invoiced, paid in rows]


def _spread(groups):
    return [{"name": name, "count": len(days), "median": median(days), "p90": percentile(days, 0.9)}
            for name, days in sorted(groups.items())]


@dataclasses.dataclass
class CostAndSpeed:
    months: list
    funding: list
    paying: list


def cost_and_speed(company):
    """Reports > Cost and speed in one call."""
    funding = collections.defaultdict(list)
    for factor, subsidiary, _s, _p, days in days_to_fund(company):
        funding[f"{factor} · {subsidiary}"].append(days)
    paying = collections.defaultdict(list)
    for debtor, _i, _p, days in days_to_pay(company):
        paying[debtor].append(days)
    return CostAndSpeed(monthly_cost(company), _spread(funding), _spread(paying))
