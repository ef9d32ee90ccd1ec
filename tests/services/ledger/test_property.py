"""A property test of the ledger: random sequences of purchase reports, payment reports,
chargebacks and their undos; after every step every invariant holds (services/ledger/
invariants.py): money is never created, lost or counted twice; and the running counts
(services/tallies) equal a full recount. SQLite and PostgreSQL.

The undo of an applied report is services/reports/reversal.py's: the step `undo_report`
runs when that module is there."""
import datetime
import importlib

from hypothesis import HealthCheck
from hypothesis import event
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from tests import helpers
from tests.helpers import apply_report
from tests.helpers import csv_bytes
from webapp.models import CHARGED_BACK
from webapp.models import COMPLETED
from webapp.models import FINANCED
from webapp.models import INVOICED
from webapp.models import UPLOAD_APPLIED
from webapp.models import Batch
from webapp.models import Chargeback
from webapp.models import Company
from webapp.models import Load
from webapp.models import ReportUpload
from webapp.models import db
from webapp.services import ledger
from webapp.services.ledger import invariants
from webapp.services.money import format_cents
from webapp.services.reports.parsing import PAYMENT_COLUMNS
from webapp.services.reports.parsing import PURCHASE_COLUMNS
from webapp.services.tallies import recount

STEPS = ("submit", "purchase", "payment", "payment", "chargeback", "chargeback", "undo_chargeback", "undo_report")


# Loads bought through a report of these steps (the demo data also has loads set Financed by hand).
_reported = Load.batch.is_null(False) & Load.purchase_amount_cents.is_null(False)


def _reversal():
    try:
        return importlib.import_module("webapp.services.reports.reversal")
    except ImportError:
        return None


def _submit(data, world):
    for subsidiary in (world.freight, world.logistics):
        ids = world.eligible(data.draw(st.integers(1, 3)), subsidiary)
        if ids:
            helpers.submit_batch(Company.get_by_id(subsidiary.company_id), subsidiary, ids, world.billing)
            return


def _purchase(data, world):
    batches = [b for b in Batch.select().order_by(Batch.id)
               if Load.select().where((Load.batch == b.id) & (Load.billing_status == INVOICED)).exists()]
    if not batches:
        return
    batch = data.draw(st.sampled_from(batches))
    rows = []
    for i, load in enumerate(Load.select().where((Load.batch == batch.id) & (Load.billing_status == INVOICED))
                             .order_by(Load.id)):
        status = data.draw(st.sampled_from(("purchased", "purchased", "purchased", "rejected", "held")))
        fee = load.total_cents * data.draw(st.integers(0, 500)) // 10000
        reserve = load.total_cents * data.draw(st.integers(0, 1000)) // 10000
        rows.append([load.invoice_number, load.load_number, "2026-11-25", format_cents(load.total_cents),
                     format_cents(load.total_cents - fee - reserve), format_cents(fee), format_cents(reserve),
                     status, "" if status == "purchased" else "Paperwork", f"F-{load.id}"])
    apply_report(batch, "purchase", csv_bytes(PURCHASE_COLUMNS, rows), world.billing)


def _payment(data, world, counter):
    loads = list(Load.select().where(Load.billing_status.in_((FINANCED, COMPLETED)) & _reported).order_by(Load.id))
    if not loads:
        return
    batch_id = data.draw(st.sampled_from(sorted({x.batch_id for x in loads})))
    mine = [x for x in loads if x.batch_id == batch_id]
    picked = data.draw(st.lists(st.sampled_from(mine), min_size=1, max_size=len(mine), unique_by=lambda x: x.id))
    rows = []
    for load in picked:
        counter[0] += 1
        face = load.purchase_amount_cents or load.total_cents
        amount = max(1, face + data.draw(st.integers(-face // 2, 5000)))
        released = data.draw(st.integers(0, load.reserve_cents or 0))
        adjustment = data.draw(st.integers(0, 300))
        rows.append([load.invoice_number, load.load_number, "2026-12-20", format_cents(amount),
                     f"ACH-{counter[0]}", "ACH", format_cents(released), format_cents(adjustment),
                     data.draw(st.sampled_from(("yes", "no"))), ""])
    apply_report(Batch.get_by_id(batch_id), "payment", csv_bytes(PAYMENT_COLUMNS, rows), world.billing)


def _chargeback(data, world):
    loads = list(Load.select().where((Load.billing_status == FINANCED) & _reported).order_by(Load.id))
    if loads:
        load = data.draw(st.sampled_from(loads))
        amount = data.draw(st.integers(1, load.purchase_amount_cents))
        ledger.record_chargeback(load, amount, datetime.date.today(), "Not paid", world.billing)


def _undo_chargeback(data, world):
    open_ones = list(Chargeback.select().where(Chargeback.undone_at.is_null()).order_by(Chargeback.id))
    if open_ones:
        ledger.undo_chargeback(data.draw(st.sampled_from(open_ones)), world.admin, "Wrong load")


def _undo_report(data, world):
    """The undo of an applied report (the lead's services/reports/reversal.py), when it exists;
    an undo it refuses (a load changed since, e.g. charged back) must change nothing, which the
    invariants after the step check too."""
    reversal = _reversal()
    if reversal is None:
        return
    applied = list(ReportUpload.select().where(ReportUpload.status == UPLOAD_APPLIED).order_by(ReportUpload.id))
    if applied:
        upload = data.draw(st.sampled_from(applied))
        try:
            with db.atomic():
                reversal.reverse(upload, world.billing, "Applied by mistake")
        except reversal.ReversalRefused:
            pass


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                               HealthCheck.too_slow])
@given(data=st.data())
def test_every_invariant_holds_after_every_step(world, in_app, data):
    # Every example starts from the same database: its steps run in a transaction rolled back after.
    with db.atomic() as transaction:
        _run(data, world)
        transaction.rollback()


def _run(data, world):
    counter = [0]
    steps = data.draw(st.lists(st.sampled_from(STEPS), min_size=3, max_size=8))
    for step in ["submit", "purchase"] + steps:
        if step == "submit":
            _submit(data, world)
        elif step == "purchase":
            _purchase(data, world)
        elif step == "payment":
            _payment(data, world, counter)
        elif step == "chargeback":
            _chargeback(data, world)
        elif step == "undo_chargeback":
            _undo_chargeback(data, world)
        else:
            _undo_report(data, world)
        assert invariants.problems() == [], step
        assert recount.differences() == [], step   # the running counts move with every step
        event(step)
    assert Load.select().where(Load.billing_status == CHARGED_BACK).count() == \
        Chargeback.select().where(Chargeback.undone_at.is_null()).count()
