"""The rules of the Purchase and Payment Reports (services/reports: checking, uploads, writing, summary)."""
import datetime
import json

import pytest

from tests.helpers import PURCHASE_DATE
from tests.helpers import apply_report
from tests.helpers import csv_bytes
from tests.helpers import payment_csv
from tests.helpers import payment_rows
from tests.helpers import purchase_csv
from tests.helpers import purchase_rows
from tests.helpers import reload
from tests.helpers import snapshot
from webapp.models import COMPLETED
from webapp.models import FINANCED
from webapp.models import INVOICED
from webapp.models import QUEUED
from webapp.models import UPLOAD_APPLIED
from webapp.models import AuditLog
from webapp.models import BatchLoad
from webapp.models import Load
from webapp.models import Payment
from webapp.models import ReportUpload
from webapp.services import reports as report_apply
from webapp.services.money import format_cents
from webapp.services.reports import uploads as report_apply_module
from webapp.services.reports.parsing import PAYMENT_COLUMNS
from webapp.services.reports.parsing import PURCHASE_COLUMNS


@pytest.fixture
def setup(make_batch, world, dbconn):
    """A submitted batch of four loads, and the billing user."""
    batch, loads = make_batch(count=4)
    return batch, loads, world.billing


@pytest.fixture
def financed(make_batch, world, dbconn):
    """A batch of four loads that its Purchase Report financed, and the billing user."""
    batch, loads = make_batch("financed", count=4)
    return batch, loads, world.billing


# --- Purchase Report ----------------------------------------------------------------------

def test_purchased_rows_finance_the_loads_with_their_figures(setup):
    batch, loads, user = setup
    rows = purchase_rows(loads)
    load = loads[0]
    rows[0][4:7] = [format_cents(load.total_cents - 5000 - 10000), "50.00", "100.00"]
    apply_report(batch, "purchase", csv_bytes(PURCHASE_COLUMNS, rows), user)
    fresh = reload(loads)
    assert {x.billing_status for x in fresh} == {FINANCED}
    first = fresh[0]
    assert first.purchase_date == PURCHASE_DATE
    assert (first.advance_cents, first.fee_cents, first.reserve_cents) == (load.total_cents - 15000, 5000, 10000)
    assert first.purchase_amount_cents == load.total_cents
    assert first.factor_reference == "CD-1000"
    assert first.batch_id == batch.id


def test_rejected_row_leaves_the_batch_back_to_queued_with_its_reason(setup):
    batch, loads, user = setup
    rows = purchase_rows(loads)
    rows[1][7:9] = ["rejected", "No signed proof of delivery"]
    apply_report(batch, "purchase", csv_bytes(PURCHASE_COLUMNS, rows), user)
    rejected = reload(loads)[1]
    assert rejected.billing_status == QUEUED
    assert rejected.batch_id is None
    assert rejected.status_reason == "No signed proof of delivery"
    link = BatchLoad.get((BatchLoad.batch == batch.id) & (BatchLoad.load == rejected.id))
    assert (link.live, link.removed_reason) == (False, "No signed proof of delivery")
    assert report_apply.batch_exceptions(batch)["rejected"][0].load_id == rejected.id


def test_held_row_stays_invoiced_with_the_reason_until_a_later_report_buys_it(setup):
    batch, loads, user = setup
    rows = purchase_rows(loads)
    rows[2][7:9] = ["held", "Debtor over its credit limit"]
    apply_report(batch, "purchase", csv_bytes(PURCHASE_COLUMNS, rows), user, "first.csv")
    held = reload(loads)[2]
    assert (held.billing_status, held.factor_hold, held.status_reason) == (
        INVOICED, True, "Debtor over its credit limit")
    assert held.batch_id == batch.id
    # The next report lists the held one only (the others are no longer Invoiced).
    result = apply_report(batch, "purchase", csv_bytes(PURCHASE_COLUMNS, [purchase_rows(loads)[2]]), user, "second.csv")
    assert result.counts["finance"] == 1
    settled = reload(loads)[2]
    assert (settled.billing_status, settled.factor_hold, settled.status_reason) == (FINANCED, False, "")


def test_a_later_report_that_lists_financed_loads_again_leaves_them_alone(financed):
    batch, loads, user = financed
    rows = purchase_rows(loads)
    rows[0][4] = "1.00"  # would be wrong, but the load is Financed already: not touched
    rows[0][5] = rows[0][6] = ""
    result = report_apply.preview(batch, "purchase", csv_bytes(PURCHASE_COLUMNS, rows), user)
    assert result.ok and result.counts["skip"] == 4
    assert "Already Financed" in result.outcomes[0].notes[0]


def test_rejecting_a_financed_load_is_an_error(financed):
    batch, loads, user = financed
    rows = purchase_rows(loads)
    rows[0][7:9] = ["rejected", "changed our mind"]
    result = report_apply.preview(batch, "purchase", csv_bytes(PURCHASE_COLUMNS, rows), user)
    assert any(e.row == 2 and e.column == "Status" and "already Financed" in e.message for e in result.errors)


@pytest.mark.parametrize("off_by, accepted", [(0, True), (1, True), (-1, True), (2, False), (-2, False)])
def test_advance_fee_and_reserve_must_add_up_within_a_cent(setup, off_by, accepted):
    batch, loads, user = setup
    rows = purchase_rows(loads)
    total = loads[0].total_cents
    rows[0][4:7] = [format_cents(total - 3000 - 2000 + off_by), "30.00", "20.00"]
    result = report_apply.preview(batch, "purchase", csv_bytes(PURCHASE_COLUMNS, rows), user)
    assert result.ok is accepted
    if not accepted:
        assert result.errors[0].row == 2 and result.errors[0].column == "Advance Amount"


def test_sums_are_checked_against_the_reported_invoice_amount_and_a_difference_is_a_warning(setup):
    batch, loads, user = setup
    rows = purchase_rows(loads)
    reported = loads[0].total_cents - 2500
    rows[0][3:7] = [format_cents(reported), format_cents(reported - 1000), "10.00", "0.00"]
    result = report_apply.preview(batch, "purchase", csv_bytes(PURCHASE_COLUMNS, rows), user)
    assert result.ok
    assert result.warnings[0].row == 2 and result.warnings[0].column == "Invoice Amount"
    assert "differs from the load total" in result.warnings[0].message
    report_apply.apply(result.upload, user)
    first = reload(loads)[0]
    assert first.purchase_amount_cents == reported
    assert "differs from the load total" in first.amount_warning


def test_preview_lists_totals_and_missing_invoices(setup):
    batch, loads, user = setup
    result = report_apply.preview(batch, "purchase", purchase_csv(loads[:3]), user)
    fees = sum(round(x.total_cents * 0.03) for x in loads[:3])
    assert result.totals["fee"] == fees
    assert result.totals["advance"] == sum(x.total_cents for x in loads[:3]) - fees
    assert result.totals["reserve"] == 0
    assert [m.invoice_number for m in result.missing] == [loads[3].invoice_number]


def test_every_status_change_is_in_the_load_history_with_upload_and_row(setup):
    batch, loads, user = setup
    rows = purchase_rows(loads)
    rows[3][7:9] = ["rejected", "Duplicate invoice"]
    rows[2][7:9] = ["held", "Verification pending"]
    result = apply_report(batch, "purchase", csv_bytes(PURCHASE_COLUMNS, rows), user)
    history = {(a.object_id, a.action): a for a in AuditLog.select().where(AuditLog.upload == result.upload.id)}
    assert len(history) == 4
    for index, (action, before, after) in enumerate([("load.status", "invoiced", "financed"),
                                                     ("load.status", "invoiced", "financed"),
                                                     ("load.hold", "invoiced", "invoiced"),
                                                     ("load.status", "invoiced", "queued")]):
        entry = history[(loads[index].id, action)]
        assert (entry.before, entry.after, entry.row_number) == (before, after, index + 2)
        assert (entry.batch_id, entry.actor_id, entry.company_id) == (batch.id, user.id, batch.company_id)
    assert json.loads(history[(loads[3].id, "load.status")].details)["reason"] == "Duplicate invoice"
    assert json.loads(history[(loads[2].id, "load.hold")].details)["reason"] == "Verification pending"
    upload = ReportUpload.get_by_id(result.upload.id)
    assert upload.status == UPLOAD_APPLIED and upload.applied_at is not None and upload.row_count == 4


def test_apply_checks_again_and_refuses_what_changed_since_the_preview(setup):
    batch, loads, user = setup
    result = report_apply.preview(batch, "purchase", purchase_csv(loads), user)
    # Meanwhile the load leaves the batch (say, a rejection entered by someone else).
    Load.update(batch=None, billing_status=QUEUED).where(Load.id == loads[0].id).execute()
    BatchLoad.update(live=False).where(BatchLoad.load == loads[0].id).execute()
    before = snapshot()
    with pytest.raises(report_apply.ReportRefused) as refused:
        report_apply.apply(result.upload, user)
    assert "nothing was applied" in refused.value.message
    assert any(e.row == 2 and "not in any batch" in e.message for e in refused.value.preview.errors)
    assert snapshot() == before
    assert ReportUpload.get_by_id(result.upload.id).status == "preview"


def test_a_conditional_update_that_misses_rolls_everything_back(setup, monkeypatch):
    """Someone moves a load between the check and the write (PostgreSQL read committed):
    the status UPDATE touches fewer rows than planned and nothing at all is kept."""
    batch, loads, user = setup
    result = report_apply.preview(batch, "purchase", purchase_csv(loads), user)
    before = snapshot()
    real = report_apply.evaluate

    def evaluate_then_interfere(*args):
        checked = real(*args)
        Load.update(billing_status=FINANCED).where(Load.id == loads[3].id).execute()
        return checked
    monkeypatch.setattr(report_apply_module, "evaluate", evaluate_then_interfere)
    with pytest.raises(report_apply.ReportRefused, match="Someone else changed this batch"):
        report_apply.apply(result.upload, user)
    assert snapshot() == before
    assert ReportUpload.get_by_id(result.upload.id).status == "preview"


# --- Payment Report -----------------------------------------------------------------------

def test_final_payment_completes_the_load_and_is_linked_to_the_upload(financed):
    batch, loads, user = financed
    result = apply_report(batch, "payment", payment_csv(loads[:2]), user)
    fresh = reload(loads)
    assert [x.billing_status for x in fresh] == [COMPLETED, COMPLETED, FINANCED, FINANCED]
    payment = Payment.get(Payment.load == loads[0].id)
    assert (payment.upload_id, payment.row_number, payment.amount_cents) == (
        result.upload.id, 2, loads[0].total_cents)
    assert (payment.reference, payment.method, payment.final, payment.additional) == ("ACH-7000", "ACH", True, False)
    assert fresh[0].paid_cents == loads[0].total_cents
    history = AuditLog.get((AuditLog.object_id == loads[0].id) & (AuditLog.upload == result.upload.id))
    assert (history.before, history.after, history.row_number) == ("financed", "completed", 2)


def test_final_defaults_to_yes(financed):
    batch, loads, user = financed
    apply_report(batch, "payment", payment_csv(loads[:1], final=""), user)
    assert reload(loads)[0].billing_status == COMPLETED


def test_short_pay_is_computed_kept_and_listed(financed):
    batch, loads, user = financed
    short = loads[0].total_cents - 1250
    result = apply_report(batch, "payment", payment_csv(loads[:1], amounts=[short]), user)
    assert result.totals["short_pay"] == 1250
    assert any("Short pay" in w.message and "$12.50 short" in w.message for w in result.warnings)
    load = reload(loads)[0]
    assert (load.billing_status, load.paid_cents, load.short_pay_cents, load.overpay_cents) == (
        COMPLETED, short, 1250, 0)
    assert report_apply.batch_money(batch)["short_pays"] == 1250
    assert [x.id for x in report_apply.batch_exceptions(batch)["short"]] == [loads[0].id]


def test_overpay_is_computed_kept_and_listed(financed):
    batch, loads, user = financed
    apply_report(batch, "payment", payment_csv(loads[:1], amounts=[loads[0].total_cents + 500]), user)
    load = reload(loads)[0]
    assert (load.short_pay_cents, load.overpay_cents) == (0, 500)
    assert report_apply.batch_money(batch)["overpays"] == 500


def test_partial_then_final_payment(financed):
    batch, loads, user = financed
    total = loads[0].total_cents
    apply_report(batch, "payment", payment_csv(loads[:1], amounts=[100000], final="no"), user, "partial.csv")
    load = reload(loads)[0]
    assert (load.billing_status, load.paid_cents, load.short_pay_cents) == (FINANCED, 100000, 0)
    assert report_apply.batch_money(batch)["outstanding"] == sum(x.total_cents for x in loads) - 100000
    rows = payment_rows(loads[:1], amounts=[total - 100000], date=datetime.date(2026, 12, 28))
    apply_report(batch, "payment", csv_bytes(PAYMENT_COLUMNS, rows), user, "final.csv")
    load = reload(loads)[0]
    assert (load.billing_status, load.paid_cents, load.short_pay_cents) == (COMPLETED, total, 0)
    assert Payment.select().where(Payment.load == load.id).count() == 2


def test_partial_and_final_in_the_same_file(financed):
    batch, loads, user = financed
    rows = payment_rows(loads[:1], amounts=[50000], final="no")
    rows += payment_rows(loads[:1], amounts=[loads[0].total_cents - 50000], date=datetime.date(2026, 12, 21))
    result = apply_report(batch, "payment", csv_bytes(PAYMENT_COLUMNS, rows), user)
    assert [o.action for o in result.outcomes] == ["partial", "complete"]
    load = reload(loads)[0]
    assert (load.billing_status, load.paid_cents, load.short_pay_cents) == (COMPLETED, load.total_cents, 0)


def test_payment_after_completion_is_recorded_as_additional_and_flagged(financed):
    batch, loads, user = financed
    short = loads[0].total_cents - 2000
    apply_report(batch, "payment", payment_csv(loads[:1], amounts=[short]), user, "first.csv")
    rows = payment_rows(loads[:1], amounts=[2000], date=datetime.date(2027, 1, 5))
    result = apply_report(batch, "payment", csv_bytes(PAYMENT_COLUMNS, rows), user, "late.csv")
    assert result.outcomes[0].action == "additional"
    assert any("additional payment" in w.message for w in result.warnings)
    late = Payment.get((Payment.load == loads[0].id) & (Payment.amount_cents == 2000))
    assert late.additional is True
    load = reload(loads)[0]
    assert (load.billing_status, load.paid_cents, load.short_pay_cents) == (COMPLETED, load.total_cents, 0)
    assert report_apply.batch_money(batch)["n_additional"] == 1


def test_payment_row_already_recorded_is_skipped_and_reported(financed):
    batch, loads, user = financed
    apply_report(batch, "payment", payment_csv(loads[:2], final="no", amounts=[1000, 2000]), user, "one.csv")
    # A new export from the portal repeats the first payment and adds another one.
    rows = payment_rows(loads[:2], final="no", amounts=[1000, 2000])
    rows[1][3], rows[1][4] = "30.00", "ACH-NEW"
    result = apply_report(batch, "payment", csv_bytes(PAYMENT_COLUMNS, rows), user, "two.csv")
    assert [o.action for o in result.outcomes] == ["duplicate", "partial"]
    assert any(w.row == 2 and "already recorded" in w.message for w in result.warnings)
    assert Payment.select().where(Payment.load == loads[0].id).count() == 1
    assert reload(loads)[0].paid_cents == 1000
    assert reload(loads)[1].paid_cents == 5000


def test_payment_for_a_load_not_yet_financed_is_an_error(setup):
    batch, loads, user = setup
    before = snapshot(previews=False)
    result = report_apply.preview(batch, "payment", payment_csv(loads[:1]), user)
    assert any(e.row == 2 and e.column == "Invoice Number" and "Upload the Purchase Report first" in e.message
               for e in result.errors)
    assert snapshot(previews=False) == before


def test_payment_for_a_load_outside_the_batch_says_where_it_is(financed, make_batch):
    batch, loads, user = financed
    other_batch, other_loads = make_batch(count=1)
    result = report_apply.preview(batch, "payment", payment_csv(loads[:1] + other_loads), user)
    assert any(e.row == 3 and f"is in batch {other_batch.number}" in e.message for e in result.errors)


def test_payment_values_are_checked(financed):
    batch, loads, user = financed
    rows = payment_rows(loads[:3])
    rows[0][3] = "0.00"
    rows[1][5] = "Bitcoin"
    rows[2][8] = "perhaps"
    result = report_apply.preview(batch, "payment", csv_bytes(PAYMENT_COLUMNS, rows), user)
    found = {(e.row, e.column) for e in result.errors}
    assert found == {(2, "Amount Paid"), (3, "Payment Method"), (4, "Final")}


def test_batch_money_adds_up(financed):
    batch, loads, user = financed
    apply_report(batch, "payment", payment_csv(loads[:2], amounts=[loads[0].total_cents - 100, 5000]), user)
    money = report_apply.batch_money(batch)
    total = sum(x.total_cents for x in loads)
    fees = sum(round(x.total_cents * 0.03) for x in loads)
    assert money["invoiced"] == money["purchased"] == total
    assert (money["advanced"], money["fees"], money["reserve"]) == (total - fees, fees, 0)
    assert money["collected"] == loads[0].total_cents - 100 + 5000
    assert money["short_pays"] == 100 + loads[1].total_cents - 5000
    assert money["outstanding"] == loads[2].total_cents + loads[3].total_cents
    assert (money["n_completed"], money["n_financed"]) == (2, 2)


