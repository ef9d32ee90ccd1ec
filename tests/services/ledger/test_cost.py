"""Reports > Cost and speed's days to fund and to pay (services/ledger/cost.py), read from the
histograms of the running counts, equal the median and 90th percentile of every invoice's
days counted one by one."""
import collections

from webapp.models import Customer
from webapp.models import DebtorDaysTally
from webapp.models import FundDaysTally
from webapp.models import PayDaysTally
from webapp.services.ledger import cost


def _expanded(rows):
    """{key: [days, repeated n times]} of (key, days, n) rows."""
    out = collections.defaultdict(list)
    for key, days, n in rows:
        out[key] += [days] * n
    return out


def _pay_days(company, customer, days_n):
    for days, n in days_n:
        PayDaysTally.create(company=company.id, customer=customer.id, days=days, n=n)
    DebtorDaysTally.create(company=company.id, customer=customer.id, n=sum(n for _, n in days_n),
                           days_total=sum(d * n for d, n in days_n))


def test_days_to_pay_from_the_histograms_equal_every_invoice_counted(world, dbconn):
    company = world.company
    PayDaysTally.delete().where(PayDaysTally.company == company.id).execute()
    DebtorDaysTally.delete().where(DebtorDaysTally.company == company.id).execute()
    first, second, third = Customer.select().where(Customer.company == company.id).order_by(Customer.id)[:3]
    _pay_days(company, first, [(30, 4), (31, 1), (45, 2), (90, 1), (12, 0)])
    _pay_days(company, second, [(20, 1), (21, 1)])
    _pay_days(company, third, [(60, 9), (61, 1)])
    # Another tenant's debtors count for it alone.
    other = Customer.select().where(Customer.company == world.other_company.id).first()
    _pay_days(world.other_company, other, [(1, 50)])

    paying = cost.paying_speed(company)

    each = _expanded((r.customer_id, r.days, r.n) for r in PayDaysTally.select()
                     .where(PayDaysTally.company == company.id))
    every = [d for days in each.values() for d in days]
    assert paying[0] == {"name": "All debtors", "count": len(every), "median": cost.median(every),
                         "p90": cost.percentile(every, 0.9), "all": True}
    names = {c.id: c.name for c in (first, second, third)}
    expected = sorted(({"name": names[c], "count": len(days), "median": cost.median(days),
                        "p90": cost.percentile(days, 0.9)} for c, days in each.items()),
                      key=lambda x: (-x["count"], x["name"]))
    assert paying[1:] == expected
    assert [x["count"] for x in paying[1:]] == [10, 8, 2]
    # The most paid debtors only: the one with the fewest invoices is left out.
    assert [x["name"] for x in cost.paying_speed(company, shown=2)[1:]] == [third.name, first.name]


def test_days_to_fund_from_the_histograms_equal_every_invoice_counted(world, dbconn):
    company = world.company
    FundDaysTally.delete().where(FundDaysTally.company == company.id).execute()
    rows = [(0, world.freight.id, 20000, 2, 3), (0, world.freight.id, 20007, 2, 1),
            (0, world.freight.id, 20007, 5, 1), (0, world.freight.id, 20014, 9, 0),
            (0, world.logistics.id, 20000, 1, 1), (0, world.logistics.id, 20014, 3, 2),
            (0, world.logistics.id, 20021, 3, 2), (0, world.logistics.id, 20021, 7, 1)]
    for factor_key, subsidiary, week_n, days, n in rows:
        FundDaysTally.create(company=company.id, factor_key=factor_key, subsidiary=subsidiary, week_n=week_n,
                             days=days, n=n)

    funding = cost.funding_speed(company)

    each = _expanded((subsidiary, days, n) for _, subsidiary, _, days, n in rows)
    names = {world.freight.id: f"No factor · {world.freight.name}",
             world.logistics.id: f"No factor · {world.logistics.name}"}
    assert funding == sorted(({"name": names[s], "count": len(days), "median": cost.median(days),
                               "p90": cost.percentile(days, 0.9)} for s, days in each.items()),
                             key=lambda x: x["name"])
    assert [x["count"] for x in funding] == [5, 6]
