"""Reports > Reserve counts and sums its statement from the running totals (all-time ones with no
dates, monthly ones otherwise), reading only the rows of the months a date cuts through
(services/ledger/reserve.py sums): for any filters, dates and page start, the same figures as
adding up every ledger row."""
import collections
import datetime

from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from webapp.models import LEDGER_KINDS
from webapp.models import LedgerEntry
from webapp.models import LedgerTotal
from webapp.models import db
from webapp.services.ledger import reserve
from webapp.services.ledger.writing import month_of

DAYS = st.dates(datetime.date(2026, 8, 1), datetime.date(2027, 3, 31))


def _spread_over_months(company):
    """Move the demo's ledger rows onto dates across several months (the totals with them)."""
    rows = list(LedgerEntry.select().where(LedgerEntry.company == company.id).order_by(LedgerEntry.id))
    for i, row in enumerate(rows):
        day = datetime.date(2026, 9, 1) + datetime.timedelta(days=(i * 11) % 150)
        LedgerEntry.update(entry_date=day).where(LedgerEntry.id == row.id).execute()
    LedgerTotal.delete().execute()
    totals = collections.defaultdict(lambda: [0, 0])
    for e in LedgerEntry.select():
        key = (e.company_id, e.subsidiary_id, e.factor_id or 0, e.kind, month_of(e.entry_date))
        totals[key][0] += e.amount_cents
        totals[key][1] += 1
    for (company_id, sub, factor, kind, month), (cents, n) in totals.items():
        LedgerTotal.create(company=company_id, subsidiary=sub, factor_key=factor, kind=kind, month=month,
                           amount_cents=cents, entries=n)
    return rows


def _brute(company, filters, before=None):
    count, out = 0, collections.Counter()
    for e in LedgerEntry.select().where(filters.where(company)):
        if before is not None and (e.entry_date, e.id) >= before:
            continue
        count += 1
        out[e.kind] += e.amount_cents
    return count, out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                               HealthCheck.too_slow])
@given(data=st.data())
def test_the_statements_sums_equal_adding_up_every_row(financed_batch, world, in_app, data):
    with db.atomic() as transaction:
        rows = _spread_over_months(world.company)
        assert len({r.id for r in rows}) > 3
        start = data.draw(st.none() | DAYS)
        end = data.draw(st.none() | DAYS)
        kind = data.draw(st.sampled_from([""] + sorted(LEDGER_KINDS)))
        filters = reserve.Filters(date_from=start, date_to=end, kind=kind,
                                  subsidiary=data.draw(st.sampled_from([None, world.freight.id])))
        assert reserve.sums(world.company, filters) == _brute(world.company, filters)
        shown = list(LedgerEntry.select().where(filters.where(world.company))
                     .order_by(LedgerEntry.entry_date, LedgerEntry.id))
        if shown:
            first = data.draw(st.sampled_from(shown))
            before = (first.entry_date, first.id)
            got = reserve.sums(world.company, filters, before=before)
            assert got == _brute(world.company, filters, before)
        transaction.rollback()
