"""Reports > Cost and speed: what factoring cost (fees as a share of face) per factor, subsidiary
and month, from the ledger's running totals; how fast the factor funds (batch submitted →
purchase date) and how fast debtors pay (invoice date → final payment), median and 90th
percentile; both from the running counts (services/tallies: fund_days_tally, pay_days_tally),
never from every invoice."""
import collections
import dataclasses
import datetime
import math

from peewee import JOIN
from peewee import fn

from webapp.models import LEDGER_FEE
from webapp.models import LEDGER_FEE_ADJUSTMENT
from webapp.models import LEDGER_PURCHASED
from webapp.models import Customer
from webapp.models import DebtorDaysTally
from webapp.models import Factor
from webapp.models import FundDaysTally
from webapp.models import LedgerTotal
from webapp.models import PayDaysTally
from webapp.models import Subsidiary
from webapp.models import db
from webapp.services.tallies.recount import EPOCH

DEBTORS_SHOWN = 50  # Days to pay lists the debtors with the most paid invoices


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


def monthly_cost(company, since=None):
    """[{month, factor, subsidiary, face, fees, share_bp}] newest month first, from the totals
    (from the month of SINCE on, when given)."""
    cond = LedgerTotal.month >= since.replace(day=1) if since else True
    rows = (LedgerTotal.select(LedgerTotal.month, LedgerTotal.factor_key, Factor.name.alias("factor"),
                               Subsidiary.name.alias("subsidiary"), LedgerTotal.kind,
                               fn.SUM(LedgerTotal.amount_cents).alias("cents"))
            .join(Subsidiary, on=(LedgerTotal.subsidiary == Subsidiary.id))
            .join_from(LedgerTotal, Factor, JOIN.LEFT_OUTER, on=(LedgerTotal.factor_key == Factor.id))
            .where((LedgerTotal.company == company.id) & cond
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


def _spread(rows, names):
    """[{name, count, median, p90}] of histogram ROWS (key..., days, n) per key: each key's
    days counted in Python (the rows are a few per key, read from an index alone), the
    median and the 90th percentile by the nearest rank, as percentile() counts them."""
    hist = collections.defaultdict(collections.Counter)
    for *key, days, n in rows:
        if n > 0:
            hist[tuple(key)][days] += int(n)
    out = [{"name": names(key), "count": sum(counts.values()), "median": histogram_percentile(counts, 0.5),
            "p90": histogram_percentile(counts, 0.9)} for key, counts in hist.items()]
    return sorted(out, key=lambda x: x["name"])


def funding_speed(company):
    """Days to fund (batch submitted → purchase date) per factor · subsidiary, from the running
    counts (fund_days_tally, summed over the weeks in the order of its index (company,
    factor_key, subsidiary, days, n): no sort, no table row read)."""
    factors = dict(Factor.select(Factor.id, Factor.name).where(Factor.company == company.id).tuples())
    subsidiaries = dict(Subsidiary.select(Subsidiary.id, Subsidiary.name).where(Subsidiary.company == company.id)
                        .tuples())
    group = (FundDaysTally.factor_key, FundDaysTally.subsidiary, FundDaysTally.days)
    rows = (FundDaysTally.select(*group, fn.SUM(FundDaysTally.n))
            .where((FundDaysTally.company == company.id) & (FundDaysTally.n > 0))
            .group_by(*group).tuples())
    return _spread(rows, lambda key: f"{factors.get(key[0], 'No factor')} · {subsidiaries.get(key[1], '')}")


def paying_speed(company, shown=DEBTORS_SHOWN):
    """Days to pay (invoice date → final payment): all debtors together, then the SHOWN debtors
    with the most paid invoices, from the running counts (pay_days_tally, debtor_days_tally;
    both histograms read from pay_days_tally's indexes alone)."""
    top = [c for (c,) in DebtorDaysTally.select(DebtorDaysTally.customer)
           .where((DebtorDaysTally.company == company.id) & (DebtorDaysTally.n > 0))
           .order_by(DebtorDaysTally.n.desc(), DebtorDaysTally.customer).limit(shown).tuples()]
    if not top:
        return []
    debtors = dict(Customer.select(Customer.id, Customer.name).where(Customer.id.in_(top)).tuples())
    every = collections.Counter()
    for days, n in (PayDaysTally.select(PayDaysTally.days, fn.SUM(PayDaysTally.n))
                    .where(PayDaysTally.company == company.id).group_by(PayDaysTally.days).tuples()):
        every[days] += int(n or 0)
    overall = {"name": "All debtors", "count": sum(every.values()), "median": histogram_percentile(every, 0.5),
               "p90": histogram_percentile(every, 0.9), "all": True}
    # Some 40 rows per debtor, plain integers: read off the cursor (peewee's row objects would
    # cost more than the query).
    rows = db.execute(PayDaysTally.select(PayDaysTally.customer, PayDaysTally.days, PayDaysTally.n)
                      .where((PayDaysTally.company == company.id) & (PayDaysTally.n > 0)
                             & PayDaysTally.customer.in_(top))).fetchall()
    each = _spread(rows, lambda key: debtors.get(key[0], ""))
    return [overall] + sorted(each, key=lambda x: (-x["count"], x["name"]))


def funding_by_week(company, first_week, weeks):
    """[(week start, median days to fund, invoices)] for WEEKS weeks from the Monday FIRST_WEEK,
    by the week of the purchase."""
    first = (first_week - EPOCH).days
    hist = collections.defaultdict(collections.Counter)
    for week_n, days, n in (FundDaysTally.select(FundDaysTally.week_n, FundDaysTally.days, fn.SUM(FundDaysTally.n))
                            .where((FundDaysTally.company == company.id) & (FundDaysTally.week_n >= first)
                                   & (FundDaysTally.week_n < first + 7 * weeks))
                            .group_by(FundDaysTally.week_n, FundDaysTally.days).tuples()):
        hist[week_n][days] += int(n)
    out = []
    for k in range(weeks):
        counts = hist.get(first + 7 * k, collections.Counter())
        out.append((first_week + datetime.timedelta(weeks=k), histogram_percentile(counts, 0.5),
                    sum(counts.values())))
    return out


def histogram_percentile(counts, share):
    """percentile() of the values COUNTS holds ({value: how many})."""
    total = sum(counts.values())
    if not total:
        return None
    rank, seen = max(1, math.ceil(share * total)), 0
    for value in sorted(counts):
        seen += counts[value]
        if seen >= rank:
            return value


def typical_days_to_pay(company):
    """{debtor id: mean days to pay} of the debtors with a Completed invoice (debtor_days_tally)."""
    return {customer: total // n for customer, n, total in
            DebtorDaysTally.select(DebtorDaysTally.customer, DebtorDaysTally.n, DebtorDaysTally.days_total)
            .where((DebtorDaysTally.company == company.id) & (DebtorDaysTally.n > 0)).tuples()}


@dataclasses.dataclass
class CostAndSpeed:
    months: list
    funding: list
    paying: list
    all_months: bool
    since: datetime.date


def cost_and_speed(company, args=None, today=None):
    """Reports > Cost and speed in one call: the fees of the last 12 months (every month with
    ?months=all)."""
    args = args or {}
    today = today or datetime.date.today()
    all_months = args.get("months") == "all"
    months_back = today.year * 12 + today.month - 1 - 11      # this month and the 11 before it
    since = None if all_months else datetime.date(months_back // 12, months_back % 12 + 1, 1)
    return CostAndSpeed(monthly_cost(company, since), funding_speed(company), paying_speed(company), all_months, since)
