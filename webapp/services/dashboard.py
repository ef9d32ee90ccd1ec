"""The home page: where the company's money with the factor stands today, in one read model.

Money at each stage, the reserve balance, fees this month and this year and short pays (from
the ledger's running totals), invoices nearing their recourse deadline, batches that need
action, and four charts (money by stage, aging by bucket, days to fund over the last 12 weeks,
cash expected by week for the next 8). Every figure carries the address of the list behind it.
"""
import collections
import dataclasses
import datetime

from peewee import JOIN
from peewee import fn

from webapp.models import BATCH_FAILED
from webapp.models import BATCH_READY
from webapp.models import BILLING_STATUSES
from webapp.models import CHARGED_BACK
from webapp.models import COMPLETED
from webapp.models import FACTORING
from webapp.models import FINANCED
from webapp.models import INVOICED
from webapp.models import LEDGER_CHARGEBACK
from webapp.models import LEDGER_COLLECTED
from webapp.models import LEDGER_FEE
from webapp.models import LEDGER_RESERVE_CHARGED
from webapp.models import LEDGER_RESERVE_HELD
from webapp.models import LEDGER_RESERVE_RELEASED
from webapp.models import LEDGER_SHORT_PAY
from webapp.models import QUEUED
from webapp.models import Batch
from webapp.models import BatchTally
from webapp.models import Customer
from webapp.models import Factor
from webapp.models import LedgerBalance
from webapp.models import LedgerTotal
from webapp.models import Load
from webapp.models import OpenTally
from webapp.services import batches
from webapp.services import tallies
from webapp.services.charts import bar_chart
from webapp.services.ledger import aging as aging_service
from webapp.services.ledger import cost as cost_service
from webapp.services.money import format_money
from webapp.services.tallies.recount import EPOCH

WEEKS_BACK = 12
WEEKS_AHEAD = 8


def status_summary(company):
    """[(status, label, count, total cents)] of the company's factoring loads, in workflow order
    (a charged-back load counts whatever its invoicing method: it left the factor), from the
    running counts."""
    counts = collections.Counter()
    totals = collections.Counter()
    for (status, method), t in tallies.by_status(company.id).items():
        if method == FACTORING or status == CHARGED_BACK:
            counts[status] += t.count
            totals[status] += t.total_cents
    return [(key, label, counts[key], totals[key]) for key, label in BILLING_STATUSES.items()]


@dataclasses.dataclass
class Figure:
    """One number of the dashboard and the list behind it: (endpoint, query args) for url_for."""

    key: str
    label: str
    cents: int
    count: int = None
    note: str = ""
    endpoint: str = ""
    args: dict = dataclasses.field(default_factory=dict)


def _sums(company, kinds, since=None):
    """{kind: cents} of the ledger's running totals: from the month of SINCE on (ledger_total),
    or since it began (ledger_balance: a row per subsidiary, factor and kind, however long the
    history)."""
    model = LedgerBalance if since is None else LedgerTotal
    cond = (model.company == company.id) & model.kind.in_(kinds)
    if since is not None:
        cond &= LedgerTotal.month >= since.replace(day=1)
    out = collections.Counter()
    for kind, cents in model.select(model.kind, fn.SUM(model.amount_cents)).where(cond).group_by(model.kind).tuples():
        out[kind] = int(cents or 0)
    return out


def _statement(kind, start=None, end=None):
    args = {"kind": kind}
    if start:
        args["date_from"] = start.isoformat()
    if end:
        args["date_to"] = end.isoformat()
    return args


def batches_needing_action(company, limit=10):
    """Batches that failed, then ready batches with loads still waiting for a Purchase or Payment
    Report (the first LIMIT, by number: the waiting ones read from batch_tally, never from the
    loads), each with its one status line (services/batches: batch_states)."""
    def found(query, cond):
        return list(query.join_from(Batch, Factor, JOIN.LEFT_OUTER, on=(Batch.factor == Factor.id))
                    .where((Batch.company == company.id) & cond).order_by(Batch.number).limit(limit))

    # The failed ones by batch (company, status, number); the waiting ones from batch_tally's few
    # rows per waiting batch (the open pipeline), joined to their batches: never every ready batch.
    chosen = found(Batch.select(Batch, Factor), Batch.status == BATCH_FAILED)
    if len(chosen) < limit:
        waiting = (Batch.select(Batch, Factor).distinct()
                   .join(BatchTally, on=(BatchTally.batch_key == Batch.id)))
        chosen += found(waiting, (Batch.status == BATCH_READY) & (BatchTally.company == company.id)
                        & BatchTally.billing_status.in_((INVOICED, FINANCED)) & (BatchTally.n > 0))[:limit - len(chosen)]
    states = batches.batch_states(chosen)
    out = []
    for b in chosen:
        state = states[b.id]
        what = state.line + (f". {state.hint}" if state.hint else "")
        out.append({"id": b.id, "number": b.number, "what": what})
    return out


def completed_since(company, day):
    """How many of the company's invoices were paid in full on or after DAY (their last payment's
    date, load.paid_on: an index range of this month's, never every Completed load)."""
    return (Load.select(Load.id).where((Load.company == company.id) & (Load.billing_status == COMPLETED)
                                       & (Load.paid_on >= day)).count())


def _monday(day):
    return day - datetime.timedelta(days=day.weekday())


def days_to_fund_by_week(company, today):
    """[(week start, median days, invoices)] for the last WEEKS_BACK weeks (by purchase date)."""
    first = _monday(today) - datetime.timedelta(weeks=WEEKS_BACK - 1)
    return cost_service.funding_by_week(company, first, WEEKS_BACK)


def cash_by_week(company, today, owed):
    """[(week start, cents)] the debtors are expected to pay the factor in each of the next
    WEEKS_AHEAD weeks: each open invoice on its invoice date plus its debtor's mean days to pay
    (its terms when the debtor has no history); one already late counts this week.

    Only recent invoices can still be on time (dated on or after this Monday less the longest
    days to pay or terms of any debtor): those are read from the running totals by debtor and
    day; every other open invoice is late, and this week gets OWED["total"] less the on-time."""
    first = _monday(today)
    first_n = (first - EPOCH).days
    typical = cost_service.typical_days_to_pay(company)
    terms = dict(Customer.select(Customer.id, Customer.payment_terms_days)
                 .where(Customer.company == company.id).tuples())
    longest = max(list(typical.values()) + [t or 0 for t in terms.values()] + [0])
    weeks = collections.Counter()
    on_time = 0
    for customer, day_n, cents in (OpenTally.select(OpenTally.customer, OpenTally.day_n, OpenTally.open_cents)
                                   .where((OpenTally.company == company.id) & (OpenTally.day_n >= first_n - longest))
                                   .tuples()):
        expected = day_n + typical.get(customer, terms.get(customer) or 0)
        if expected >= first_n:
            on_time += cents
            weeks[(expected - first_n) // 7] += cents
    weeks[0] += owed["total"] - on_time
    return [(first + datetime.timedelta(weeks=n), weeks[n]) for n in range(WEEKS_AHEAD)]


@dataclasses.dataclass
class Home:
    stages: list
    figures: list
    nearing: list
    batches: list
    charts: list
    today: datetime.date


def home(company, today=None):
    """Everything the home page shows, for the company in view."""
    today = today or datetime.date.today()
    summary = {key: (n, total) for key, _label, n, total in status_summary(company)}
    month_start, year_start = today.replace(day=1), today.replace(month=1, day=1)
    year = _sums(company, (LEDGER_FEE, LEDGER_SHORT_PAY, LEDGER_COLLECTED), year_start)
    month = _sums(company, (LEDGER_FEE, LEDGER_COLLECTED), month_start)
    ever = _sums(company, (LEDGER_RESERVE_HELD, LEDGER_RESERVE_RELEASED, LEDGER_RESERVE_CHARGED, LEDGER_CHARGEBACK))
    owed = aging_service.summary(company, today)
    stages = [
        Figure("queued", "Queued, ready to factor", summary[QUEUED][1], summary[QUEUED][0],
               endpoint="loads.index", args={"status": QUEUED, "method": FACTORING}),
        Figure("invoiced", "Invoiced, waiting to be funded", summary[INVOICED][1], summary[INVOICED][0],
               endpoint="loads.index", args={"status": INVOICED, "method": FACTORING}),
        Figure("financed", "Financed, waiting for the debtor", owed["total"], owed["count"],
               note="still owed to the factor", endpoint="money_reports.aging"),
        Figure("completed", "Completed this month", month[LEDGER_COLLECTED], completed_since(company, month_start),
               note="collected", endpoint="money_reports.reserve",
               args=_statement(LEDGER_COLLECTED, month_start, today)),
        Figure("charged_back", "Charged back", ever[LEDGER_CHARGEBACK], summary[CHARGED_BACK][0],
               endpoint="loads.index", args={"status": CHARGED_BACK}),
    ]
    reserve = ever[LEDGER_RESERVE_HELD] - ever[LEDGER_RESERVE_RELEASED] - ever[LEDGER_RESERVE_CHARGED]
    figures = [
        Figure("reserve", "Reserve balance", reserve, endpoint="money_reports.reserve"),
        Figure("fees_month", "Fees this month", month[LEDGER_FEE], endpoint="money_reports.reserve",
               args=_statement(LEDGER_FEE, month_start, today)),
        Figure("fees_year", "Fees this year", year[LEDGER_FEE], endpoint="money_reports.reserve",
               args=_statement(LEDGER_FEE, year_start, today)),
        Figure("short_pays", "Short pays this year", year[LEDGER_SHORT_PAY], endpoint="money_reports.reserve",
               args=_statement(LEDGER_SHORT_PAY, year_start, today)),
    ]
    aging = owed
    funding = days_to_fund_by_week(company, today)
    cash = cash_by_week(company, today, owed)
    charts = [
        bar_chart("chart-stages", "Money by stage",
                  "The invoices' money at each stage with the factor: "
                  + "; ".join(f"{f.label} {format_money(f.cents)}" for f in stages) + ".",
                  [(short, f.cents, format_money(f.cents), f) for short, f in zip(
                      ("Queued", "Invoiced", "Financed", "Completed", "Charged back"), stages)],
                  link=("loads.index", {}), link_text="All loads"),
        bar_chart("chart-aging", "Aging by bucket",
                  "What the debtors still owe on Financed invoices, by days since the invoice date: "
                  + "; ".join(f"{label} {format_money(aging[key])}" for key, label, _a, _b in aging_service.BUCKETS)
                  + ".",
                  [(label, aging[key], format_money(aging[key]), Figure(key, label, aging[key],
                                                                      endpoint="money_reports.aging"))
                   for key, label, _a, _b in aging_service.BUCKETS],
                  link=("money_reports.aging", {}), link_text="Reports > Aging"),
        bar_chart("chart-funding", "Days to fund, last 12 weeks",
                  "The median days from a batch's submission to the factor's purchase, week by week "
                  "(weeks with no purchase are empty): "
                  + "; ".join(f"week of {w.strftime('%b %d')} {d if d is not None else 'none'}" for w, d, _n in funding)
                  + ".",
                  [(w.strftime("%b %d"), d or 0, f"{d} days ({n})" if d is not None else "",
                    Figure("funding", "Days to fund", 0, endpoint="money_reports.cost")) for w, d, n in funding],
                  value_heading="Median days (invoices)", link=("money_reports.cost", {}),
                  link_text="Reports > Cost and speed"),
        bar_chart("chart-cash", "Cash expected, next 8 weeks",
                  "What the debtors are expected to pay the factor each week, from the due dates and each "
                  "debtor's days to pay so far: "
                  + "; ".join(f"week of {w.strftime('%b %d')} {format_money(c)}" for w, c in cash) + ".",
                  [(w.strftime("%b %d"), c, format_money(c), Figure("cash", "Cash expected", c,
                                                                    endpoint="money_reports.aging"))
                   for w, c in cash],
                  link=("money_reports.aging", {"basis": "due"}), link_text="Open invoices by due date"),
    ]
    return Home(stages, figures, aging_service.nearing_recourse(company, today), batches_needing_action(company),
                charts, today)
