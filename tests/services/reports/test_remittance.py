"""A remittance across batches (services/reports/remittance.py with checking.Scope): a Payment
Report for a subsidiary or the company, matched to Financed invoices of one factor in any batch."""
import datetime

import pytest

from tests.helpers import apply_report
from tests.helpers import csv_bytes
from tests.helpers import payment_csv
from tests.helpers import payment_rows
from tests.helpers import reload
from tests.helpers import snapshot
from webapp.models import COMPLETED
from webapp.models import FINANCED
from webapp.models import UPLOAD_APPLIED
from webapp.models import AuditLog
from webapp.models import Batch
from webapp.models import Company
from webapp.models import Factor
from webapp.models import Load
from webapp.models import Payment
from webapp.models import ReportUpload
from webapp.services import reports
from webapp.services.reports import remittance
from webapp.services.reports.parsing import PAYMENT_COLUMNS

DAY = datetime.date(2026, 11, 30)


@pytest.fixture
def two(make_batch, world, dbconn):
    """Two financed batches of Demo Freight LLC (Capital Depot), two loads each."""
    a = make_batch("financed", count=2)
    b = make_batch("financed", count=2)
    return a, b


def rows_for(loads, **kwargs):
    """Payment rows for LOADS (paid in full on DAY), with an empty Factor Reference."""
    return [row + [""] for row in payment_rows(loads, date=kwargs.pop("date", DAY), **kwargs)]


def body(rows):
    return csv_bytes(PAYMENT_COLUMNS, rows)


def factor_of(batch):
    return Factor.get_by_id(batch.factor_id)


def company(world):
    return Company.get_by_id(world.company.id)


def preview(world, data, factor, subsidiary="freight", name="remittance.csv"):
    sub = getattr(world, subsidiary) if subsidiary else None
    return remittance.preview(company(world), sub, factor, data, world.billing, name)


def move_to_logistics(world, made):
    """Make a batch (and its loads) Demo Logistics Inc's, as if it had been submitted there."""
    batch, loads = made
    Batch.update(subsidiary=world.logistics.id).where(Batch.id == batch.id).execute()
    Load.update(subsidiary=world.logistics.id).where(Load.id.in_([x.id for x in loads])).execute()
    return Batch.get_by_id(batch.id), reload(loads)


def other_factor(world, name="Summit Capital"):
    return Factor.create(company=world.company.id, name=name, advance_bp=9000, fee_bp=300)


def test_a_remittance_across_two_batches_completes_loads_of_both_in_one_upload(two, world):
    (a, la), (b, lb) = two
    rows = rows_for([la[0], lb[0], lb[1]])
    for i, row in enumerate(rows):
        row[4] = f"ACH-R{i}"
    result = preview(world, body(rows), factor_of(a))
    assert result.ok, [str(e) for e in result.errors]
    groups = result.batch_groups()
    assert [(g["number"], g["count"]) for g in groups] == [(a.number, 1), (b.number, 2)]
    assert groups[1]["paid"] == lb[0].total_cents + lb[1].total_cents
    upload = result.upload
    assert (upload.batch_id, upload.subsidiary_id, upload.factor_id) == (None, world.freight.id, a.factor_id)

    reports.apply(ReportUpload.get_by_id(upload.id), world.billing)
    assert [x.billing_status for x in reload(la + lb)] == [COMPLETED, FINANCED, COMPLETED, COMPLETED]
    assert [x.batch_id for x in reload(la + lb)] == [a.id, a.id, b.id, b.id]
    payments = list(Payment.select().where(Payment.upload == upload.id).order_by(Payment.row_number))
    assert [(p.load_id, p.row_number) for p in payments] == [(la[0].id, 2), (lb[0].id, 3), (lb[1].id, 4)]
    history = {h.object_id: h for h in AuditLog.select().where(AuditLog.upload == upload.id)}
    assert {k: (h.batch_id, h.before, h.after, h.actor_id) for k, h in history.items()} == {
        la[0].id: (a.id, FINANCED, COMPLETED, world.billing.id),
        lb[0].id: (b.id, FINANCED, COMPLETED, world.billing.id),
        lb[1].id: (b.id, FINANCED, COMPLETED, world.billing.id)}
    fresh = ReportUpload.get_by_id(upload.id)
    assert fresh.status == UPLOAD_APPLIED
    info = reports.summary_of(fresh)
    assert [(x["number"], x["count"]) for x in info["batches"]] == [(a.number, 1), (b.number, 2)]


def test_the_company_scope_takes_every_subsidiary(make_batch, world, dbconn):
    a, la = make_batch("financed", count=1)
    b, lb = move_to_logistics(world, make_batch("financed", count=1))
    result = preview(world, body(rows_for(la + lb)), factor_of(a), subsidiary=None)
    assert result.ok, [str(e) for e in result.errors]
    assert {g["batch_id"] for g in result.batch_groups()} == {a.id, b.id}
    assert result.upload.subsidiary_id is None


def test_a_row_is_matched_by_the_factors_reference_when_it_names_no_invoice_or_load(two, world):
    (a, la), (b, lb) = two
    Load.update(factor_reference="CDX-77").where(Load.id == lb[1].id).execute()
    rows = rows_for([lb[1]])
    rows[0][0] = rows[0][1] = ""
    rows[0][10] = "CDX-77"
    result = preview(world, body(rows), factor_of(a))
    assert result.ok, [str(e) for e in result.errors]
    assert result.outcomes[0].load_id == lb[1].id and result.outcomes[0].batch_id == b.id
    reports.apply(ReportUpload.get_by_id(result.upload.id), world.billing)
    assert reload([lb[1]])[0].billing_status == COMPLETED


def test_a_factor_reference_on_several_loads_is_an_error_naming_them(two, world):
    (a, la), (b, lb) = two  # the purchase reports gave CD-1000 to a load of each batch
    rows = rows_for([la[0]])
    rows[0][0] = rows[0][1] = ""
    rows[0][10] = "CD-1000"
    result = preview(world, body(rows), factor_of(a))
    error = result.errors[0]
    assert (error.row, error.column) == (2, "Factor Reference")
    assert "CD-1000 is on 2 loads" in error.message and la[0].load_number in error.message
    assert result.outcomes[0].problem == "nothing"


def test_rows_matching_nothing_another_factor_or_a_load_not_financed_are_listed_and_nothing_changes(
        make_batch, world, dbconn):
    a, la = make_batch("financed", count=2)
    invoiced, li = make_batch("submitted", count=1)
    theirs, lt = make_batch("financed", count=1)
    Batch.update(factor=other_factor(world).id).where(Batch.id == theirs.id).execute()
    queued = Load.get_by_id(world.eligible(1)[0])
    rows = rows_for([la[0], li[0], lt[0], queued])
    rows.append(["INV-NOPE-1", "", DAY.isoformat(), "10.00", "ACH-X", "ACH", "0.00", "0.00", "yes", "", ""])
    before = snapshot(previews=False)
    result = preview(world, body(rows), factor_of(a))
    assert not result.ok
    by_row = {o.row: o for o in result.outcomes}
    assert by_row[2].problem == "" and by_row[2].batch_id == a.id
    assert by_row[3].problem == "not_financed" and "Invoiced" in by_row[3].errors[0].message
    assert by_row[4].problem == "other_factor"
    assert by_row[4].errors[0].message == (f"{lt[0].invoice_number} was sent to Summit Capital in batch "
                                           f"{theirs.number}, not to Capital Depot.")
    assert by_row[5].problem == "not_financed" and "in no batch" in by_row[5].errors[0].message
    assert by_row[6].problem == "nothing" and by_row[6].errors[0].message == "No such invoice or load number: INV-NOPE-1."
    assert [(e.row, e.column) for e in result.errors] == [(3, "Invoice Number"), (4, "Invoice Number"),
                                                          (5, "Invoice Number"), (6, "Invoice Number")]
    groups = result.problem_groups()
    assert [(g["problem"], [o.row for o in g["rows"]]) for g in groups] == [
        ("nothing", [6]), ("other_factor", [4]), ("not_financed", [3, 5])]
    with pytest.raises(reports.ReportRefused) as refused:
        reports.apply(ReportUpload.get_by_id(result.upload.id), world.billing)
    assert "nothing was applied" in refused.value.message
    assert snapshot(previews=False) == before


def test_a_load_of_another_subsidiary_is_an_error_in_a_subsidiary_scope(make_batch, world, dbconn):
    a, la = make_batch("financed", count=1)
    b, lb = move_to_logistics(world, make_batch("financed", count=1))
    result = preview(world, body(rows_for(lb)), factor_of(a))
    outcome = result.outcomes[0]
    assert outcome.problem == "other_subsidiary"
    assert outcome.errors[0].message == f"{lb[0].invoice_number} is a load of Demo Logistics Inc, not of Demo Freight LLC."


def test_the_same_payment_is_never_recorded_twice_whichever_way_it_came_in(two, world):
    (a, la), (b, lb) = two
    # On the batch page first: la[0] paid in part.
    apply_report(a, "payment", payment_csv(la[:1], date=DAY, amounts=[1000], final="no"), world.billing)
    rows = rows_for([la[0], lb[0]], amounts=[1000, lb[0].total_cents])  # la[0]: the same payment again
    rows.append(list(rows[1]))  # and a row repeated within the file
    result = preview(world, body(rows), factor_of(a))
    assert result.ok
    actions = [o.action for o in result.outcomes]
    assert actions == ["duplicate", "complete", "duplicate"]
    assert "already recorded" in result.outcomes[0].notes[0]
    assert "Repeats the payment on row 3" in result.outcomes[2].notes[0]
    reports.apply(ReportUpload.get_by_id(result.upload.id), world.billing)
    assert Payment.select().where(Payment.load == la[0].id).count() == 1
    assert Payment.select().where(Payment.load == lb[0].id).count() == 1
    # The same file again, here: refused as applied; on the batch page: every row a duplicate.
    with pytest.raises(reports.ReportRefused) as refused:
        preview(world, body(rows), factor_of(a))
    assert "This file was already applied" in refused.value.message
    again = reports.preview(b, "payment", body(rows[1:2]), world.billing, "again.csv")
    assert [o.action for o in again.outcomes] == ["duplicate"]


def test_confirm_checks_again_and_refuses_the_whole_remittance_when_one_row_no_longer_matches(two, world):
    (a, la), (b, lb) = two
    result = preview(world, body(rows_for([la[0], lb[0]])), factor_of(a))
    assert result.ok
    Batch.update(factor=other_factor(world).id).where(Batch.id == b.id).execute()
    before = snapshot(previews=False)
    with pytest.raises(reports.ReportRefused) as refused:
        reports.apply(ReportUpload.get_by_id(result.upload.id), world.billing)
    assert "nothing was applied" in refused.value.message
    assert [(e.row, e.column) for e in refused.value.preview.errors] == [(3, "Invoice Number")]
    assert snapshot(previews=False) == before


def test_a_factor_or_subsidiary_of_another_company_is_refused_and_nothing_is_stored(two, world):
    (a, la), _ = two
    theirs = Factor.get(Factor.company == world.other_company.id)
    before = snapshot()
    with pytest.raises(reports.ReportRefused) as refused:
        preview(world, body(rows_for(la)), theirs)
    assert refused.value.message == "Choose the factor that sent this Payment Report."
    with pytest.raises(reports.ReportRefused) as refused:
        remittance.preview(company(world), world.other_sub, factor_of(a), body(rows_for(la)), world.billing)
    assert refused.value.message == "Choose one of the company's subsidiaries, or all of them."
    with pytest.raises(reports.ReportRefused) as refused:
        preview(world, b"%PDF-1.4 not a report", factor_of(a), name="remit.pdf")
    assert "PDF" in refused.value.message
    assert snapshot() == before


def test_a_purchase_report_is_not_a_remittance(two, world):
    (a, la), _ = two
    from tests.helpers import purchase_csv
    with pytest.raises(reports.ReportRefused) as refused:
        preview(world, purchase_csv(la), factor_of(a))
    assert "This is a Purchase Report" in refused.value.message
    with pytest.raises(ValueError):
        reports.evaluate(remittance.scope_of(company(world), None, factor_of(a)), "purchase", None)
