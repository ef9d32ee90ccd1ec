"""Undo of an applied Purchase or Payment Report (services/reports/reversal.py)."""
import pytest

from tests.helpers import apply_report
from tests.helpers import csv_bytes
from tests.helpers import payment_csv
from tests.helpers import purchase_csv
from tests.helpers import purchase_rows
from tests.helpers import reload
from tests.helpers import snapshot
from webapp.models import FINANCED
from webapp.models import INVOICED
from webapp.models import QUEUED
from webapp.models import UPLOAD_REVERSED
from webapp.models import AuditLog
from webapp.models import BatchLoad
from webapp.models import Load
from webapp.models import Payment
from webapp.models import ReportUpload
from webapp.services import reports
from webapp.services.reports.parsing import PURCHASE_COLUMNS
from webapp.services.reports.writing import load_states
from webapp.services.validation import Invalid


@pytest.fixture
def submitted(make_batch, world, dbconn):
    made = make_batch(count=3)
    return made.batch, made.loads, world.billing


def _upload_of(result):
    return ReportUpload.get_by_id(result.upload.id)


def test_a_purchase_report_reversed_puts_every_load_back_as_it_was(submitted):
    batch, loads, user = submitted
    rows = purchase_rows(loads)
    rows[2][7:9] = ["rejected", "No POD"]
    before = load_states([x.id for x in loads])
    applied = apply_report(batch, "purchase", csv_bytes(PURCHASE_COLUMNS, rows), user)
    assert [x.billing_status for x in reload(loads)] == [FINANCED, FINANCED, QUEUED]

    assert reports.reverse(_upload_of(applied), user, "Applied to the wrong batch") == 3
    assert load_states([x.id for x in loads]) == before
    assert [x.billing_status for x in reload(loads)] == [INVOICED] * 3
    assert reload(loads)[2].batch_id == batch.id
    assert BatchLoad.get((BatchLoad.batch == batch.id) & (BatchLoad.load == loads[2].id)).live
    upload = _upload_of(applied)
    assert (upload.status, upload.reversed_by_id, upload.reverse_reason) == (
        UPLOAD_REVERSED, user.id, "Applied to the wrong batch")
    assert upload.file_id and reports.stored_bytes(upload)  # the file stays on record
    history = AuditLog.get((AuditLog.action == "load.reverse") & (AuditLog.object_id == loads[0].id))
    assert (history.before, history.after, history.upload_id, history.actor_id) == (
        FINANCED, INVOICED, upload.id, user.id)
    assert '"reason": "Applied to the wrong batch"' in history.details

    # The same file can then be applied again.
    again = apply_report(batch, "purchase", csv_bytes(PURCHASE_COLUMNS, rows), user)
    assert again.upload.id != upload.id
    assert [x.billing_status for x in reload(loads)] == [FINANCED, FINANCED, QUEUED]


def test_a_payment_report_reversed_takes_its_payments_away(make_batch, world, dbconn):
    batch, loads = make_batch("financed", count=2)
    user = world.billing
    before = load_states([x.id for x in loads])
    applied = apply_report(batch, "payment", payment_csv(loads, amounts=[loads[0].total_cents, 100]), user)
    assert Payment.select().where(Payment.upload == applied.upload.id).count() == 2
    reports.reverse(_upload_of(applied), user, "Payments belong to another client")
    assert load_states([x.id for x in loads]) == before
    assert Payment.select().where(Payment.upload == applied.upload.id).count() == 0
    assert {x.billing_status for x in reload(loads)} == {FINANCED}


def test_a_report_with_later_changes_is_refused_naming_them_until_those_are_reversed(make_batch, world, dbconn):
    batch, loads = make_batch("financed", count=2)
    user = world.billing
    purchase = ReportUpload.get((ReportUpload.batch == batch.id) & (ReportUpload.kind == "purchase"))
    payment = apply_report(batch, "payment", payment_csv(loads[:1]), user, name="pay.csv")
    before = snapshot()
    with pytest.raises(reports.ReversalRefused) as refused:
        reports.reverse(purchase, user, "wrong")
    message = refused.value.message
    assert message.startswith("This Purchase Report cannot be reversed: a load it changed has been changed since")
    assert loads[0].load_number in message and "Payment Report pay.csv" in message
    assert loads[1].load_number not in message
    assert message.endswith("Reverse the later change first.")
    assert snapshot() == before
    assert reports.reversal_refusal(purchase) == message

    reports.reverse(_upload_of(payment), user, "paid twice")
    assert reports.reversal_refusal(ReportUpload.get_by_id(purchase.id)) is None
    reports.reverse(ReportUpload.get_by_id(purchase.id), user, "wrong batch")
    assert {x.billing_status for x in reload(loads)} == {INVOICED}


def test_a_person_changing_a_rejected_load_blocks_the_reversal(submitted):
    batch, loads, user = submitted
    rows = purchase_rows(loads)
    rows[0][7:9] = ["rejected", "Missing rate confirmation"]
    applied = apply_report(batch, "purchase", csv_bytes(PURCHASE_COLUMNS, rows), user)
    from webapp.services.loads import editing
    load = Load.get_by_id(loads[0].id)
    form = {**editing.blank_form(load), "customer_reference": "PO-777"}
    lines = editing.form_lines(load.lines)
    editing.update_load(load, user, form, lines)
    with pytest.raises(reports.ReversalRefused, match=f"{loads[0].load_number} \\(edited by "):
        reports.reverse(_upload_of(applied), user, "undo")


def test_a_load_changed_without_history_is_still_caught(submitted):
    batch, loads, user = submitted
    applied = apply_report(batch, "purchase", purchase_csv(loads), user)
    Load.update(advance_cents=1).where(Load.id == loads[1].id).execute()
    with pytest.raises(reports.ReversalRefused, match="no longer holds what this report wrote"):
        reports.reverse(_upload_of(applied), user, "undo")


@pytest.mark.parametrize("reason, message", [
    ("", "Say why the report is reversed"),
    ("   ", "Say why the report is reversed"),
    ("x" * 501, "at most 500"),
    ("bad\x00reason", "control characters"),
])
def test_a_reason_is_required_and_bounded(submitted, reason, message):
    batch, loads, user = submitted
    applied = apply_report(batch, "purchase", purchase_csv(loads), user)
    before = snapshot()
    with pytest.raises(Invalid, match=message):
        reports.reverse(_upload_of(applied), user, reason)
    assert snapshot() == before


def test_reversing_twice_or_a_preview_is_refused(submitted):
    batch, loads, user = submitted
    applied = apply_report(batch, "purchase", purchase_csv(loads), user)
    reports.reverse(_upload_of(applied), user, "once")
    with pytest.raises(reports.ReversalRefused, match="already reversed"):
        reports.reverse(_upload_of(applied), user, "twice")
    pending = reports.preview(batch, "purchase", purchase_csv(loads), user, "p.csv")
    with pytest.raises(reports.ReversalRefused, match="Only an applied report"):
        reports.reverse(pending.upload, user, "not applied")
