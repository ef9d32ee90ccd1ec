"""The batch service: what can go, create_batch's refusals, the job, failure, retry, cancel, recovery."""
import datetime
import io
import zipfile

import pytest

from tests.batch_helpers import Demo
from tests.batch_helpers import count_queries
from tests.batch_helpers import submit_batch
from webapp import jobs
from webapp.models import BATCH_CANCELLED
from webapp.models import BATCH_FAILED
from webapp.models import BATCH_PENDING
from webapp.models import BATCH_READY
from webapp.models import BATCH_RUNNING
from webapp.models import COMPLETED
from webapp.models import FINANCED
from webapp.models import INFO_NOA
from webapp.models import INVOICED
from webapp.models import QUEUED
from webapp.models import AuditLog
from webapp.models import Batch
from webapp.models import BatchLoad
from webapp.models import Customer
from webapp.models import ImportantInfo
from webapp.models import Load
from webapp.models import LoadLine
from webapp.models import StoredFile
from webapp.models import utcnow
from webapp.services import batches
from webapp.services.batches import batch_file
from webapp.services.batches import job as batch_job


@pytest.fixture
def ctx(app, dbconn):
    """An app context and an open connection: the job reads the app's config and queue."""
    with app.app_context():
        yield Demo()


def _status_audits(load_ids):
    return (AuditLog.select().where((AuditLog.object_type == "load") & AuditLog.object_id.in_(load_ids)
                                    & (AuditLog.after == INVOICED)).count())


# --- what can go --------------------------------------------------------------

def test_eligible_loads_are_queued_factoring_loads_of_the_subsidiary_in_no_batch(ctx):
    loads = list(batches.eligible_loads(ctx.company, ctx.freight))
    assert loads
    for load in loads:
        assert load.billing_status == QUEUED
        assert load.invoicing_method == "factoring"
        assert load.subsidiary_id == ctx.freight.id
        assert load.batch_id is None
        assert load.customer.mc_number


def test_customer_without_mc_number_puts_its_loads_apart_with_the_reason(ctx):
    apart = list(batches.incomplete_loads(ctx.company, ctx.freight))
    assert apart, "the demo has a customer without an MC number"
    reasons = batches.load_problems(apart)
    for load in apart:
        assert any("no MC number" in r for r in reasons[load.id])
    eligible_ids = {load.id for load in batches.eligible_loads(ctx.company, ctx.freight)}
    assert not eligible_ids & {load.id for load in apart}


def test_load_problems_name_every_missing_piece(ctx):
    load = Load.get_by_id(ctx.eligible(1)[0])
    Load.update(invoice_number=None, invoice_date=None).where(Load.id == load.id).execute()
    LoadLine.update(amount_cents=LoadLine.amount_cents + 1).where(LoadLine.load == load.id).execute()
    load = Load.select(Load, Customer).join(Customer).where(Load.id == load.id).get()
    reasons = batches.load_problems([load])[load.id]
    text = " ".join(reasons)
    assert "no invoice number" in text
    assert "no invoice date" in text
    assert "line items add up to" in text
    assert load.id in {row.id for row in batches.incomplete_loads(ctx.company, ctx.freight)}


def test_zero_total_is_a_reason(ctx):
    load_id = ctx.eligible(1)[0]
    LoadLine.delete().where(LoadLine.load == load_id).execute()
    Load.update(total_cents=0).where(Load.id == load_id).execute()
    load = Load.select(Load, Customer).join(Customer).where(Load.id == load_id).get()
    assert batches.load_problems([load])[load_id] == ["The total is not above zero."]


def test_filters_narrow_the_list(ctx):
    loads = list(batches.eligible_loads(ctx.company, ctx.freight))
    target = loads[0]
    by_text = batches.eligible_loads(ctx.company, ctx.freight, batches.LoadFilter(q=target.load_number))
    assert [load.id for load in by_text] == [target.id]
    by_invoice = batches.eligible_loads(ctx.company, ctx.freight, batches.LoadFilter(q=target.invoice_number))
    assert target.id in [load.id for load in by_invoice]
    by_customer = list(batches.eligible_loads(ctx.company, ctx.freight,
                                              batches.LoadFilter(customer_id=target.customer_id)))
    assert by_customer and all(load.customer_id == target.customer_id for load in by_customer)
    day = target.delivery_date
    by_date = list(batches.eligible_loads(ctx.company, ctx.freight,
                                          batches.LoadFilter(date_from=day, date_to=day)))
    assert by_date and all(load.delivery_date == day for load in by_date)


def test_totals_count_and_sum_in_cents(ctx):
    query = batches.eligible_loads(ctx.company, ctx.freight)
    loads = list(query)
    assert batches.totals(query) == (len(loads), sum(load.total_cents for load in loads))


# --- create_batch refusals ---------------------------------------------------------

def test_create_batch_reserves_loads_and_numbers_per_company(ctx):
    ids = ctx.eligible(3)
    batch = batches.create_batch(ctx.company, ctx.freight, ids, ctx.billing)
    assert batch.status == BATCH_PENDING
    assert batch.load_count == 3
    assert batch.total_cents == sum(Load.get_by_id(i).total_cents for i in ids)
    assert batch.number == 1
    assert {bl.load_id for bl in BatchLoad.select().where(BatchLoad.batch == batch, BatchLoad.live)} == set(ids)
    assert Load.select().where(Load.id.in_(ids), Load.batch == batch.id).count() == 3
    second = batches.create_batch(ctx.company, ctx.freight, ctx.eligible(1), ctx.billing)
    assert second.number == 2
    assert AuditLog.select().where(AuditLog.action == "batch.submit").count() == 2


def test_subsidiary_without_noa_is_refused_and_nothing_is_created(ctx):
    ids = ctx.eligible(2, subsidiary=ctx.logistics)
    assert ids
    with pytest.raises(batches.BatchError, match="no Notice of Assignment"):
        submit_batch(ctx.company, ctx.logistics, ids, ctx.billing)
    assert Batch.select().count() == 0
    assert BatchLoad.select().count() == 0


def test_another_tenants_load_ids_are_refused_and_nothing_is_created(ctx):
    mine = ctx.eligible(2)
    theirs = [load.id for load in Load.select(Load.id).where(Load.company == ctx.other_company).limit(2)]
    with pytest.raises(batches.BatchError, match="not loads of Demo Freight LLC"):
        submit_batch(ctx.company, ctx.freight, mine + theirs, ctx.billing)
    assert Batch.select().count() == 0
    assert Load.select().where(Load.batch.is_null(False)).count() == 0


def test_another_tenants_subsidiary_is_refused(ctx):
    with pytest.raises(batches.BatchError):
        submit_batch(ctx.company, ctx.other_sub, ctx.eligible(1), ctx.billing)
    assert Batch.select().count() == 0


def test_loads_that_are_not_queued_are_refused(ctx):
    first, second = ctx.eligible(2)
    Load.update(billing_status=INVOICED).where(Load.id == second).execute()
    invoiced = Load.get_by_id(second)
    with pytest.raises(batches.BatchError, match=f"{invoiced.load_number} is Invoiced"):
        submit_batch(ctx.company, ctx.freight, [first, invoiced.id], ctx.billing)
    assert Batch.select().count() == 0


def test_incomplete_loads_are_refused_with_their_reason(ctx):
    apart = batches.incomplete_loads(ctx.company, ctx.freight).first()
    with pytest.raises(batches.BatchError, match=f"{apart.load_number}: The customer .* has no MC number"):
        submit_batch(ctx.company, ctx.freight, [apart.id], ctx.billing)
    assert Batch.select().count() == 0


def test_empty_selection_is_refused(ctx):
    with pytest.raises(batches.BatchError, match="Select at least one load"):
        submit_batch(ctx.company, ctx.freight, [], ctx.billing)


def test_double_submit_fails_cleanly_naming_the_loads_and_the_batch(ctx):
    ids = ctx.eligible(3)
    first = submit_batch(ctx.company, ctx.freight, ids, ctx.billing)
    numbers = sorted(Load.get_by_id(i).load_number for i in ids)
    with pytest.raises(batches.BatchConflict) as caught:
        submit_batch(ctx.company, ctx.freight, ids, ctx.billing)
    message = str(caught.value)
    assert f"batch #{first.number}" in message
    assert all(n in message for n in numbers)
    assert caught.value.batch.id == first.id
    assert Batch.select().count() == 1
    assert BatchLoad.select().count() == 3


def test_database_refuses_a_second_live_batch_row_for_a_load(ctx):
    from peewee import IntegrityError
    first = batches.create_batch(ctx.company, ctx.freight, ctx.eligible(1), ctx.billing)
    load_id = BatchLoad.get(BatchLoad.batch == first).load_id
    other = Batch.create(company=ctx.company, subsidiary=ctx.freight, number=99)
    with pytest.raises(IntegrityError):
        with ctx.company._meta.database.atomic():
            BatchLoad.create(batch=other, load=load_id, live=True)


def test_live_batch_row_without_load_reservation_is_caught_by_the_unique_index(ctx):
    """Even when Load.batch says free, the partial unique index refuses and nothing is half-done."""
    ids = ctx.eligible(2)
    holder = Batch.create(company=ctx.company, subsidiary=ctx.freight, number=41, status=BATCH_READY)
    BatchLoad.create(batch=holder, load=ids[0], live=True)
    holder_number = Load.get_by_id(ids[0]).load_number
    with pytest.raises(batches.BatchConflict, match=f"{holder_number} is already in batch #41"):
        submit_batch(ctx.company, ctx.freight, ids, ctx.billing)
    assert Batch.select().count() == 1
    assert Load.select().where(Load.id.in_(ids), Load.batch.is_null(False)).count() == 0


def test_submit_all_matching_takes_the_filter_not_ids(ctx):
    target = batches.eligible_loads(ctx.company, ctx.freight).first()
    load_filter = batches.LoadFilter(customer_id=target.customer_id)
    expected = {load.id for load in batches.eligible_loads(ctx.company, ctx.freight, load_filter)}
    batch = batches.submit(ctx.company, ctx.freight, ctx.billing, load_filter=load_filter, select_all=True)
    assert {bl.load_id for bl in batch.batch_loads} == expected


# --- the job -------------------------------------------------------------------

def test_job_builds_the_file_and_moves_loads_to_invoiced_with_one_audit_row_each(ctx):
    ids = ctx.eligible(3)
    batch = submit_batch(ctx.company, ctx.freight, ids, ctx.billing)  # immediate queue: runs now
    batch = Batch.get_by_id(batch.id)
    assert batch.status == BATCH_READY
    assert batch.progress_done == 3
    assert batch.file_name == "capital-depot_demo-freight-llc_batch-0001.zip"
    stored = StoredFile.get_by_id(batch.file_id)
    assert stored.sha256 == batch.file_sha256
    names = zipfile.ZipFile(io.BytesIO(bytes(stored.data))).namelist()
    invoices = sorted(f"invoice_{Load.get_by_id(i).invoice_number}.pdf" for i in ids)
    assert names[:2] == ["schedule.csv", "schedule.pdf"]
    assert sorted(names[2:]) == invoices
    assert Load.select().where(Load.id.in_(ids), Load.billing_status == INVOICED).count() == 3
    audits = list(AuditLog.select().where(AuditLog.object_type == "load", AuditLog.object_id.in_(ids)))
    assert len(audits) == 3
    assert {(a.before, a.after, a.batch_id, a.actor_id) for a in audits} == {
        (QUEUED, INVOICED, batch.id, ctx.billing.id)}


def test_running_the_job_again_duplicates_nothing(ctx):
    ids = ctx.eligible(2)
    batch = submit_batch(ctx.company, ctx.freight, ids, ctx.billing)
    sha = Batch.get_by_id(batch.id).file_sha256
    assert batches.run_batch(batch.id) == BATCH_READY
    assert batches.run_batch(batch.id) == BATCH_READY
    assert StoredFile.select().where(StoredFile.company == ctx.company).count() == 1
    assert _status_audits(ids) == 2
    assert Batch.get_by_id(batch.id).file_sha256 == sha


def test_failed_render_marks_the_batch_failed_and_keeps_loads_queued_and_reserved(ctx, monkeypatch):
    ids = ctx.eligible(3)
    victim = Load.get_by_id(ids[1])
    real = batch_file.render_invoice

    def broken(load, *args):
        if load.id == victim.id:
            raise RuntimeError("font exploded")
        return real(load, *args)

    monkeypatch.setattr(batch_file, "render_invoice", broken)
    batch = submit_batch(ctx.company, ctx.freight, ids, ctx.billing)
    batch = Batch.get_by_id(batch.id)
    assert batch.status == BATCH_FAILED
    assert batch.error == f"Could not render the invoice for load {victim.load_number}: font exploded"
    assert batch.file_id is None
    assert Load.select().where(Load.id.in_(ids), Load.billing_status == QUEUED, Load.batch == batch.id).count() == 3
    assert StoredFile.select().count() == 0
    assert _status_audits(ids) == 0

    monkeypatch.setattr(batch_file, "render_invoice", real)
    batches.retry_batch(batch, ctx.billing)
    jobs.start_batch(batch.id)
    batch = Batch.get_by_id(batch.id)
    assert batch.status == BATCH_READY
    assert batch.error == ""
    assert StoredFile.select().count() == 1
    assert _status_audits(ids) == 3
    assert Load.select().where(Load.id.in_(ids), Load.billing_status == INVOICED).count() == 3


def test_retry_only_applies_to_a_failed_batch(ctx):
    batch = submit_batch(ctx.company, ctx.freight, ctx.eligible(1), ctx.billing)
    with pytest.raises(batches.BatchError, match="not failed"):
        batches.retry_batch(Batch.get_by_id(batch.id), ctx.billing)


def test_missing_noa_at_run_time_fails_with_a_clear_reason(ctx):
    batch = batches.create_batch(ctx.company, ctx.freight, ctx.eligible(1), ctx.billing)
    ImportantInfo.delete().where(ImportantInfo.subsidiary == ctx.freight, ImportantInfo.kind == INFO_NOA).execute()
    assert batches.run_batch(batch.id) == BATCH_FAILED
    assert "no Notice of Assignment" in Batch.get_by_id(batch.id).error


def test_cancel_releases_the_loads_of_a_failed_batch(ctx, monkeypatch):
    ids = ctx.eligible(2)
    monkeypatch.setattr(batch_file, "render_invoice", lambda *a: (_ for _ in ()).throw(ValueError("bad")))
    batch = submit_batch(ctx.company, ctx.freight, ids, ctx.billing)
    assert Batch.get_by_id(batch.id).status == BATCH_FAILED
    released = batches.cancel_batch(Batch.get_by_id(batch.id), ctx.billing)
    assert released == 2
    assert Batch.get_by_id(batch.id).status == BATCH_CANCELLED
    assert Load.select().where(Load.id.in_(ids), Load.batch.is_null()).count() == 2
    assert BatchLoad.select().where(BatchLoad.batch == batch.id, BatchLoad.live).count() == 0
    assert set(ids) <= {load.id for load in batches.eligible_loads(ctx.company, ctx.freight)}
    # released loads can go in a new batch
    monkeypatch.undo()
    again = submit_batch(ctx.company, ctx.freight, ids, ctx.billing)
    assert Batch.get_by_id(again.id).status == BATCH_READY


def test_cancelled_batch_is_never_run(ctx):
    batch = batches.create_batch(ctx.company, ctx.freight, ctx.eligible(1), ctx.billing)
    batches.cancel_batch(batch, ctx.billing)
    assert batches.run_batch(batch.id) == BATCH_CANCELLED
    assert StoredFile.select().count() == 0


def test_a_ready_batch_cannot_be_cancelled(ctx):
    batch = submit_batch(ctx.company, ctx.freight, ctx.eligible(1), ctx.billing)
    with pytest.raises(batches.BatchError, match="only a failed or waiting batch"):
        batches.cancel_batch(Batch.get_by_id(batch.id), ctx.billing)


def test_a_run_that_lost_its_claim_writes_nothing(ctx, monkeypatch):
    """A worker taken for dead that wakes up later must not store a second file."""
    ids = ctx.eligible(2)
    batch = batches.create_batch(ctx.company, ctx.freight, ids, ctx.billing)
    token = batch_job._claim(batch.id, batch_job.STALE_SECONDS)
    # another worker takes it over (attempts moves on) and finishes
    Batch.update(heartbeat_at=utcnow() - datetime.timedelta(hours=1)).where(Batch.id == batch.id).execute()
    assert batches.run_batch(batch.id) == BATCH_READY
    with pytest.raises(batch_job._Superseded):
        batch_job._finish(Batch.get_by_id(batch.id), token, "x.zip", b"late", ids)
    assert StoredFile.select().count() == 1
    assert _status_audits(ids) == 2


# --- recovery ----------------------------------------------------------------------

def _left_running(ctx, ids, minutes_ago, attempts=1):
    batch = batches.create_batch(ctx.company, ctx.freight, ids, ctx.billing)
    Batch.update(status=BATCH_RUNNING, attempts=attempts, progress_done=1,
                 heartbeat_at=utcnow() - datetime.timedelta(minutes=minutes_ago)).where(Batch.id == batch.id).execute()
    return batch


def test_recovery_reruns_a_batch_whose_worker_died(ctx, app):
    ids = ctx.eligible(3)
    batch = _left_running(ctx, ids, minutes_ago=30)
    app.extensions["tasks"]["recover_batches"]()  # the periodic task, run at once (immediate queue)
    batch = Batch.get_by_id(batch.id)
    assert batch.status == BATCH_READY
    assert batch.attempts == 2
    assert StoredFile.select().count() == 1
    assert _status_audits(ids) == 3
    # running recovery again finds nothing to do and duplicates nothing
    assert jobs.recover() == []
    assert StoredFile.select().count() == 1
    assert _status_audits(ids) == 3


def test_recovery_leaves_a_batch_with_a_fresh_heartbeat_alone(ctx):
    batch = _left_running(ctx, ctx.eligible(1), minutes_ago=0)
    assert jobs.recover() == []
    assert Batch.get_by_id(batch.id).status == BATCH_RUNNING


def test_recovery_fails_a_batch_lost_too_often_with_a_reason(ctx):
    ids = ctx.eligible(1)
    batch = _left_running(ctx, ids, minutes_ago=30, attempts=batches.MAX_ATTEMPTS)
    assert jobs.recover() == []
    batch = Batch.get_by_id(batch.id)
    assert batch.status == BATCH_FAILED
    assert "worker stopped" in batch.error
    assert Load.get_by_id(ids[0]).batch_id == batch.id  # still reserved: Retry or Cancel
    batches.retry_batch(batch, ctx.billing)
    jobs.start_batch(batch.id)
    assert Batch.get_by_id(batch.id).status == BATCH_READY


def test_recovery_restarts_a_waiting_batch_whose_job_was_lost(ctx):
    batch = batches.create_batch(ctx.company, ctx.freight, ctx.eligible(1), ctx.billing)
    assert jobs.recover() == []  # young: its job may still be in the queue
    Batch.update(created_at=utcnow() - datetime.timedelta(minutes=10)).where(Batch.id == batch.id).execute()
    assert jobs.recover() == [batch.id]
    assert Batch.get_by_id(batch.id).status == BATCH_READY


def test_worker_start_restarts_every_waiting_batch(ctx):
    batch = batches.create_batch(ctx.company, ctx.freight, ctx.eligible(1), ctx.billing)
    assert jobs.recover(startup=True) == [batch.id]
    assert Batch.get_by_id(batch.id).status == BATCH_READY


# --- factoring state -------------------------------------------------------------------

@pytest.mark.parametrize("counts, state", [
    ({INVOICED: 3}, "submitted"),
    ({INVOICED: 2, FINANCED: 1}, "partially_financed"),
    ({FINANCED: 3}, "financed"),
    ({FINANCED: 3, "paid": 1}, "partially_paid"),
    ({FINANCED: 2, COMPLETED: 1}, "partially_paid"),
    ({COMPLETED: 3}, "completed"),
])
def test_factoring_state_follows_from_the_loads(counts, state):
    assert batches.factoring_state(counts) == state


def test_factoring_states_of_many_batches_in_one_query(ctx):
    ids = ctx.eligible(4)
    first = submit_batch(ctx.company, ctx.freight, ids[:2], ctx.billing)
    second = submit_batch(ctx.company, ctx.freight, ids[2:], ctx.billing)
    Load.update(billing_status=FINANCED).where(Load.id == ids[2]).execute()
    Load.update(billing_status=COMPLETED).where(Load.id.in_(ids[:2])).execute()
    pending = Batch.create(company=ctx.company, subsidiary=ctx.freight, number=50)
    listed = list(Batch.select().where(Batch.id.in_([first.id, second.id, pending.id])))
    with count_queries() as counter:
        states = batches.factoring_states(listed)
    assert counter.count == 1
    assert states == {first.id: "completed", second.id: "partially_financed"}


def test_worker_startup_hook_resumes_a_batch_left_running(ctx, app):
    ids = ctx.eligible(2)
    batch = _left_running(ctx, ids, minutes_ago=30)
    hook = app.extensions["huey"]._startup["recover_batches_on_start"]
    hook()
    assert Batch.get_by_id(batch.id).status == BATCH_READY
    assert _status_audits(ids) == 2
