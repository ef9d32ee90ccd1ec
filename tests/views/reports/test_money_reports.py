"""Reports > Reserve, > Aging and > Cost and speed (webapp/reports/money.py): what the ledger
says, scoped to the company in view, filters that work and bad filters named."""
import datetime

from tests.helpers import apply_report
from tests.helpers import csv_bytes
from tests.helpers import payment_rows
from tests.helpers import reload
from tests.services.ledger.test_ledger import _with_reserve
from webapp.models import Factor
from webapp.services import ledger
from webapp.services.ledger import aging as aging_service
from webapp.services.ledger import reserve as reserve_service
from webapp.services.money import format_cents
from webapp.services.money import format_money
from webapp.services.reports.parsing import PAYMENT_COLUMNS


def _reserve_world(batch, loads, world):
    apply_report(batch, "purchase", _with_reserve(loads), world.billing)
    loads = reload(loads)
    rows = payment_rows(loads[:1])
    rows[0][6] = format_cents(loads[0].reserve_cents)
    apply_report(batch, "payment", csv_bytes(PAYMENT_COLUMNS, rows), world.billing)
    return reload(loads)


def test_the_reserve_page_shows_balances_and_a_running_statement(client, auth, submitted_batch, world, dbconn):
    batch, loads = submitted_batch
    loads = _reserve_world(batch, loads, world)
    held = sum(x.reserve_cents for x in loads)
    balance = held - loads[0].reserve_cents
    view = reserve_service.reserve_account(world.company, {})
    assert view.total == {"held": held, "released": loads[0].reserve_cents, "charged": 0, "balance": balance}
    assert [r["balance"] for r in view.rows if r["balance"] is not None][-1] == balance
    auth.login("dispatch")
    html = client.get("/reports/reserve").get_data(as_text=True)
    assert format_money(balance) in html and "Reserve released" in html
    only = client.get("/reports/reserve?kind=reserve_released").get_data(as_text=True)
    assert "1 row, amounting to" in only
    bad = client.get("/reports/reserve?date_from=31/31/2026")
    assert bad.status_code == 200 and "is not a date" in bad.get_data(as_text=True)


def test_the_reserve_page_of_another_tenant_shows_nothing_of_ours(client, auth, submitted_batch, world, dbconn):
    batch, loads = submitted_batch
    _reserve_world(batch, loads, world)
    auth.login("other")
    assert "No reserve held yet." in client.get("/reports/reserve").get_data(as_text=True)


def test_aging_buckets_and_recourse_deadlines(client, auth, financed_batch, world, dbconn):
    batch, loads = financed_batch
    Factor.update(recourse_days=30).where(Factor.id == batch.factor_id).execute()
    today = loads[0].invoice_date + datetime.timedelta(days=45)
    view = aging_service.aging(world.company, {}, today=today)
    assert view.totals["count"] == 3 and view.totals["31-60"] == sum(x.total_cents for x in loads)
    assert all(i.recourse_deadline == i.invoice_date + datetime.timedelta(days=30) for i in view.invoices.items)
    assert {i.load_id for i in view.nearing.invoices} == {x.id for x in loads}  # all past the deadline
    assert view.nearing.count == 3 and view.nearing.cents == view.totals["total"]
    ledger.record_chargeback(loads[0], loads[0].total_cents, datetime.date.today(), "Not paid", world.billing)
    after = aging_service.aging(world.company, {}, today=today)
    assert after.totals["count"] == 2
    auth.login("admin")
    html = client.get("/reports/aging?basis=due").get_data(as_text=True)
    assert "Days past due" in html and loads[1].invoice_number in html and loads[0].invoice_number not in html


def test_cost_and_speed(client, auth, completed_batch, world, dbconn):
    batch, loads = completed_batch
    auth.login("admin")
    html = client.get("/reports/cost").get_data(as_text=True)
    fees = sum(round(x.total_cents * 0.03) for x in loads)
    assert format_money(fees) in html and "3.00 %" in html
    assert "Days to fund" in html and "Days to pay" in html


def test_aging_by_debtor_shows_the_largest_then_the_others_together():
    groups = [{"id": i, "name": f"D{i}", "count": 1, "total": 1000 - i, "0-30": 1000 - i, "31-60": 0, "61-90": 0,
               "90+": 0} for i in range(aging_service.DEBTORS_SHOWN + 12)]
    shown = aging_service._largest(groups)
    assert len(shown) == aging_service.DEBTORS_SHOWN + 1 and shown[-1]["name"] == "12 other debtors"
    assert sum(g["total"] for g in shown) == sum(g["total"] for g in groups)
    assert sum(g["count"] for g in shown) == len(groups)
    assert aging_service._largest(groups[:3]) == groups[:3]


def test_cost_shows_the_last_12_months_and_every_month_on_asking(client, auth, completed_batch, world, dbconn):
    from webapp.models import LEDGER_FEE
    from webapp.models import LedgerTotal
    old = (datetime.date.today().replace(day=1) - datetime.timedelta(days=800)).replace(day=1)
    LedgerTotal.create(company=world.company.id, subsidiary=world.freight.id, factor_key=0, kind=LEDGER_FEE,
                       month=old, amount_cents=12_34, entries=1)
    auth.login("admin")
    label = old.strftime("%B %Y")
    recent = client.get("/reports/cost").get_data(as_text=True)
    assert label not in recent and "The last 12 months" in recent
    every = client.get("/reports/cost?months=all").get_data(as_text=True)
    assert label in every and "Every month." in every


def test_cost_the_last_12_months_are_this_month_and_the_11_before(world, dbconn):
    from webapp.services.ledger import cost
    for today, first in ((datetime.date(2026, 12, 2), datetime.date(2026, 1, 1)),
                         (datetime.date(2026, 1, 31), datetime.date(2025, 2, 1))):
        assert cost.cost_and_speed(world.company, {}, today=today).since == first
    assert cost.cost_and_speed(world.company, {"months": "all"}).since is None


def test_aging_by_debtor_and_by_subsidiary_add_up_to_the_same_on_both_bases(financed_batch, world, dbconn):
    batch, loads = financed_batch
    today = loads[0].invoice_date + datetime.timedelta(days=50)
    for basis in ("invoice", "due"):
        view = aging_service.aging(world.company, {"basis": basis}, today=today)
        assert aging_service.totals_of(view.by_debtor) == aging_service.totals_of(view.by_subsidiary) == view.totals
        assert view.totals["count"] == len(loads) and view.totals == aging_service.summary(world.company, today,
                                                                                           basis)


def test_aging_the_largest_debtors_from_their_own_totals_equal_the_full_grouping(make_batch, world, dbconn):
    first = make_batch("financed", count=4)
    today = first.loads[0].invoice_date + datetime.timedelta(days=40)
    full = aging_service._groups(world.company, today, "invoice", "debtor")
    assert len(full) >= 3
    totals = aging_service.summary(world.company, today)
    for shown in (1, 2):
        quick = aging_service._largest_debtors(world.company, today, totals, shown=shown)
        assert quick == aging_service._largest(full, shown=shown)
        assert aging_service.totals_of(quick) == totals
