"""The home page's read model (services/dashboard.py): each figure equals the ledger and the
list it links to; the charts' numbers are the figures'."""
import datetime

from webapp.services import dashboard
from webapp.services import ledger
from webapp.services.ledger import aging
from webapp.services.ledger import invariants


def test_the_figures_agree_with_the_ledger_and_the_lists(financed_batch, world, dbconn):
    batch, loads = financed_batch
    ledger.record_chargeback(loads[0], 1234_56, datetime.date.today(), "Not paid", world.billing)
    home = dashboard.home(world.company)
    stages = {f.key: f for f in home.stages}
    assert stages["charged_back"].cents == 1234_56 and stages["charged_back"].count == 1
    owed = aging.aging(world.company).totals
    assert stages["financed"].cents == owed["total"] == sum(x.total_cents for x in loads[1:])
    assert stages["financed"].count == owed["count"] == 2
    chart = {c.id: c for c in home.charts}
    assert [b.value for b in chart["chart-stages"].bars] == [f.cents for f in home.stages]
    assert sum(b.value for b in chart["chart-aging"].bars) == owed["total"]
    assert len(chart["chart-funding"].bars) == 12 and len(chart["chart-cash"].bars) == 8
    assert sum(b.value for b in chart["chart-cash"].bars) <= owed["total"]
    assert any(b["number"] == batch.number for b in home.batches)
    assert invariants.problems() == []


def test_the_home_page_of_each_role_renders(client, auth, financed_batch, dbconn):
    for who in ("admin", "dispatch", "partner", "support", "other"):
        auth.login(who)
        html = client.get("/").get_data(as_text=True)
        assert "Money by stage" in html and "<svg" in html, who
        auth.logout()


def test_completed_this_month_counts_the_invoices_paid_in_full_this_month(completed_batch, world, dbconn):
    batch, loads = completed_batch
    paid_on = {x.paid_on for x in loads}
    assert len(paid_on) == 1
    day = paid_on.pop()
    completed = {f.key: f for f in dashboard.home(world.company, today=day).stages}["completed"]
    assert completed.label == "Completed this month" and completed.count == len(loads)
    later = day.replace(day=28) + datetime.timedelta(days=10)
    assert {f.key: f for f in dashboard.home(world.company, today=later).stages}["completed"].count == 0
