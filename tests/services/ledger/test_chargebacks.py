"""Chargebacks (services/ledger/chargebacks.py): a Financed load leaves the factor with a ledger
row and a history row; anything else is refused with the reason and changes nothing; the undo
puts everything back. SQLite and PostgreSQL."""
import datetime
import json

import pytest

from tests.helpers import snapshot
from webapp.models import CHARGED_BACK
from webapp.models import DIRECT
from webapp.models import FACTORING
from webapp.models import FINANCED
from webapp.models import AuditLog
from webapp.models import Chargeback
from webapp.models import Load
from webapp.services import ledger
from webapp.services.ledger import chargebacks
from webapp.services.ledger import invariants
from webapp.services.validation import Invalid

TODAY = datetime.date.today()


def test_a_chargeback_takes_the_load_from_the_factor(financed_batch, world, dbconn):
    batch, loads = financed_batch
    load = loads[0]
    made = ledger.record_chargeback(load, load.total_cents, TODAY, "Debtor did not pay in 90 days", world.billing)
    fresh = Load.get_by_id(load.id)
    assert (fresh.billing_status, fresh.invoicing_method) == (CHARGED_BACK, DIRECT)
    assert fresh.status_label == "Charged back"
    assert ledger.load_sums(load.id)["charged_back"] == load.total_cents
    event = AuditLog.get((AuditLog.object_id == load.id) & (AuditLog.action == "load.chargeback"))
    assert (event.actor_id, event.before, event.after) == (world.billing.id, FINANCED, CHARGED_BACK)
    assert json.loads(event.details)["reason"] == "Debtor did not pay in 90 days"
    assert made.created_by_id == world.billing.id and made.batch_id == batch.id
    assert invariants.problems() == []


def test_undo_puts_the_load_back_with_the_factor(financed_batch, world, dbconn):
    batch, loads = financed_batch
    load = loads[1]
    made = ledger.record_chargeback(load, 5000, TODAY, "Disputed", world.billing)
    ledger.undo_chargeback(made, world.admin, "Recorded on the wrong load")
    fresh = Load.get_by_id(load.id)
    assert (fresh.billing_status, fresh.invoicing_method) == (FINANCED, FACTORING)
    assert ledger.load_sums(load.id)["charged_back"] == 0
    assert Chargeback.get_by_id(made.id).undone_by_id == world.admin.id
    assert AuditLog.select().where(AuditLog.action == "load.chargeback_undo").count() == 1
    assert invariants.problems() == []
    with pytest.raises(Invalid, match="already undone"):
        ledger.undo_chargeback(made, world.admin, "twice")


@pytest.mark.parametrize("state", ["submitted", "completed"])
def test_a_load_that_is_not_financed_is_refused_with_the_reason(make_batch, world, dbconn, state):
    batch, loads = make_batch(state)
    before = snapshot()
    with pytest.raises(Invalid) as refused:
        ledger.record_chargeback(loads[0], 100, TODAY, "x", world.billing)
    label = "Invoiced" if state == "submitted" else "Completed"
    assert f"is {label}: only a Financed invoice" in refused.value.message
    assert snapshot() == before


@pytest.mark.parametrize("amount, day, field", [
    (0, TODAY, "amount"), (10 ** 9, TODAY, "amount"), (100, datetime.date(2020, 1, 1), "chargeback_date")])
def test_an_amount_or_date_that_cannot_be_is_refused(financed_batch, world, dbconn, amount, day, field):
    batch, loads = financed_batch
    before = snapshot()
    with pytest.raises(Invalid) as refused:
        ledger.record_chargeback(loads[0], amount, day, "x", world.billing)
    assert field in refused.value.errors
    assert snapshot() == before


@pytest.mark.parametrize("form, field", [
    ({"amount": "", "chargeback_date": "2026-11-30", "reason": "x"}, "amount"),
    ({"amount": "12,50.0x", "chargeback_date": "2026-11-30", "reason": "x"}, "amount"),
    ({"amount": "10", "chargeback_date": "31/31/2026", "reason": "x"}, "chargeback_date"),
    ({"amount": "10", "chargeback_date": "2099-01-01", "reason": "x"}, "chargeback_date"),
    ({"amount": "10", "chargeback_date": "2026-11-30", "reason": "  "}, "reason"),
])
def test_the_form_names_each_field_at_fault(form, field):
    with pytest.raises(Invalid) as refused:
        chargebacks.parse_form(form, today=datetime.date(2026, 12, 1))
    assert list(refused.value.errors) == [field]


def test_the_reserve_pays_what_it_can_of_the_chargeback(submitted_batch, world, dbconn):
    from tests.helpers import apply_report
    from tests.helpers import reload
    from tests.services.ledger.test_ledger import _with_reserve
    batch, loads = submitted_batch
    apply_report(batch, "purchase", _with_reserve(loads), world.billing)
    load = reload(loads)[0]
    made = ledger.record_chargeback(load, load.total_cents, TODAY, "Debtor insolvent", world.billing)
    assert made.reserve_applied_cents == load.reserve_cents
    assert ledger.load_sums(load.id)["reserve_balance"] == 0
    assert invariants.problems() == []
