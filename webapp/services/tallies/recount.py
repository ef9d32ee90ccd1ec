"""The running counts recounted from the loads themselves, and the counts as stored: the test
that they agree after every kind of change, and `flask check-tallies`, compare the two.

The recount is written apart from the triggers (migrations 0018 and 0022), from the loads, payments and
batches as Python reads them, so that a mistake in one is not the same mistake in the other.
"""
import collections
import datetime

from peewee import JOIN
from peewee import fn

from webapp.models import COMPLETED
from webapp.models import FINANCED
from webapp.models import Batch
from webapp.models import BatchMoneyTally
from webapp.models import BatchTally
from webapp.models import DebtorDaysTally
from webapp.models import FundDaysTally
from webapp.models import LedgerBalance
from webapp.models import LedgerEntry
from webapp.models import Load
from webapp.models import LoadTally
from webapp.models import OpenDayTally
from webapp.models import OpenDebtorTally
from webapp.models import OpenTally
from webapp.models import PayDaysTally
from webapp.models import Payment

EPOCH = datetime.date(1970, 1, 1)


def day_number(day):
    """Days since 1970-01-01 of DAY (a date or an ISO string), as the tallies count them."""
    return (as_date(day) - EPOCH).days


def as_date(value):
    if isinstance(value, str):
        return datetime.date.fromisoformat(value[:10])
    if isinstance(value, datetime.datetime):
        return value.date()
    return value


def monday_number(day_n):
    """The Monday on or before day DAY_N (1970-01-01 was a Thursday)."""
    return day_n - (day_n + 3) % 7


def recount(company_id=None):
    """{table: {key: sums}} of every tally, from the loads (one company, or all)."""
    where = (Load.company == company_id) if company_id else True
    latest = dict(Payment.select(Payment.load, fn.MAX(Payment.payment_date))
                  .join(Load, on=(Payment.load == Load.id)).where(where).group_by(Payment.load).tuples())
    out = {name: collections.Counter() for name in ("load_tally", "open_tally", "open_day_tally", "open_debtor_tally", "pay_days_tally",
                                                    "debtor_days_tally", "fund_days_tally", "batch_tally",
                                                    "ledger_balance")}
    sums = collections.defaultdict(lambda: collections.defaultdict(int))
    money = collections.defaultdict(lambda: [0] * 6)   # batch_money_tally: n and five sums
    rows = (Load.select(Load.id, Load.company, Load.subsidiary, Load.customer, Load.billing_status,
                        Load.invoicing_method, Load.total_cents, Load.invoice_date, Load.purchase_date,
                        Load.purchase_amount_cents, Load.paid_cents, Load.batch, Batch.factor, Batch.created_at,
                        Load.factor_hold, Load.short_pay_cents, Load.overpay_cents, Load.amount_warning)
            .join(Batch, JOIN.LEFT_OUTER, on=(Load.batch == Batch.id)).where(where).tuples())
    for (load_id, company, sub, customer, status, method, total, invoiced, purchased, bought, paid, batch,
         factor, submitted, held, short, over, warning) in rows:
        factor_key = factor or 0
        key = (company, sub, status, method)
        out["load_tally"][key] += 1
        sums["load_tally"][key] += total
        day = invoiced or purchased
        if status == FINANCED and bought is not None and bought > paid and day is not None:
            key = (company, sub, customer, factor_key, day_number(day))
            out["open_tally"][key] += 1
            sums["open_tally"][key] += bought - paid
            key = (company, sub, factor_key, day_number(day))
            out["open_day_tally"][key] += 1
            sums["open_day_tally"][key] += bought - paid
            out["open_debtor_tally"][(company, customer)] += 1
            sums["open_debtor_tally"][(company, customer)] += bought - paid
        paid_on = latest.get(load_id)
        if status == COMPLETED and invoiced is not None and paid_on is not None:
            days = day_number(paid_on) - day_number(invoiced)
            out["pay_days_tally"][(company, customer, days)] += 1
            out["debtor_days_tally"][(company, customer)] += 1
            sums["debtor_days_tally"][(company, customer)] += days
        if batch is not None:
            out["batch_tally"][(company, batch, status)] += 1
            face = bought if bought is not None else total
            row = money[(company, batch, status)]
            for i, value in enumerate((1, total, face - paid if status == FINANCED and face > paid else 0,
                                       int(paid > 0), int(bool(held)),
                                       int(bool(held) or short > 0 or over > 0 or bool(warning)))):
                row[i] += value
        if purchased is not None and batch is not None:
            days = max(0, day_number(purchased) - day_number(submitted))
            out["fund_days_tally"][(company, factor_key, sub, monday_number(day_number(purchased)), days)] += 1
    ledger_where = (LedgerEntry.company == company_id) if company_id else True
    for company, sub, factor, kind, n, cents in (
            LedgerEntry.select(LedgerEntry.company, LedgerEntry.subsidiary, fn.COALESCE(LedgerEntry.factor, 0),
                               LedgerEntry.kind, fn.COUNT(LedgerEntry.id), fn.SUM(LedgerEntry.amount_cents))
            .where(ledger_where)
            .group_by(LedgerEntry.company, LedgerEntry.subsidiary, fn.COALESCE(LedgerEntry.factor, 0),
                      LedgerEntry.kind).tuples()):
        out["ledger_balance"][(company, sub, factor, kind)] += n
        sums["ledger_balance"][(company, sub, factor, kind)] += int(cents)
    out = {name: {key: (n, sums[name][key]) if name in sums else (n,) for key, n in counts.items()}
           for name, counts in out.items()}
    out["batch_money_tally"] = {key: tuple(row) for key, row in money.items()}
    return out


def stored(company_id=None):
    """The same shape as recount(), read from the tally tables (rows at zero left out)."""
    def read(model, keys, values):
        query = model.select(*keys, *values).where(model.n != 0)
        if company_id:
            query = query.where(model.company == company_id)
        return {tuple(row[:len(keys)]): tuple(row[len(keys):]) for row in query.tuples()}

    return {
        "load_tally": read(LoadTally, [LoadTally.company, LoadTally.subsidiary, LoadTally.billing_status,
                                       LoadTally.invoicing_method], [LoadTally.n, LoadTally.total_cents]),
        "open_tally": read(OpenTally, [OpenTally.company, OpenTally.subsidiary, OpenTally.customer,
                                       OpenTally.factor_key, OpenTally.day_n], [OpenTally.n, OpenTally.open_cents]),
        "open_day_tally": read(OpenDayTally, [OpenDayTally.company, OpenDayTally.subsidiary, OpenDayTally.factor_key,
                                              OpenDayTally.day_n],
                               [OpenDayTally.n, OpenDayTally.open_cents]),
        "open_debtor_tally": read(OpenDebtorTally, [OpenDebtorTally.company, OpenDebtorTally.customer],
                                  [OpenDebtorTally.n, OpenDebtorTally.open_cents]),
        "pay_days_tally": read(PayDaysTally, [PayDaysTally.company, PayDaysTally.customer, PayDaysTally.days],
                               [PayDaysTally.n]),
        "debtor_days_tally": read(DebtorDaysTally, [DebtorDaysTally.company, DebtorDaysTally.customer],
                                  [DebtorDaysTally.n, DebtorDaysTally.days_total]),
        "batch_tally": read(BatchTally, [BatchTally.company, BatchTally.batch_key, BatchTally.billing_status],
                            [BatchTally.n]),
        "batch_money_tally": read(BatchMoneyTally, [BatchMoneyTally.company, BatchMoneyTally.batch_key,
                                                    BatchMoneyTally.billing_status],
                                  [BatchMoneyTally.n, BatchMoneyTally.total_cents, BatchMoneyTally.open_cents,
                                   BatchMoneyTally.paid_n, BatchMoneyTally.held_n, BatchMoneyTally.look_n]),
        "ledger_balance": read(LedgerBalance, [LedgerBalance.company, LedgerBalance.subsidiary,
                                               LedgerBalance.factor_key, LedgerBalance.kind],
                               [LedgerBalance.n, LedgerBalance.amount_cents]),
        "fund_days_tally": read(FundDaysTally, [FundDaysTally.company, FundDaysTally.factor_key,
                                                FundDaysTally.subsidiary, FundDaysTally.week_n, FundDaysTally.days],
                                [FundDaysTally.n]),
    }


def differences(company_id=None):
    """[(table, key, stored, recounted)] wherever the two disagree; empty when they agree."""
    want, have = recount(company_id), stored(company_id)
    out = []
    for table in want:
        for key in sorted(set(want[table]) | set(have[table]), key=repr):
            if want[table].get(key) != have[table].get(key):
                out.append((table, key, have[table].get(key), want[table].get(key)))
    return out
