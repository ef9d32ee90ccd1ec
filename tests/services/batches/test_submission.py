"""Submit Batch (services/batches/submission.py): create_batch and its refusals, Retry and Cancel."""
import pytest

from tests.helpers import submit_batch
from webapp.models import BATCH_CANCELLED
from webapp.models import BATCH_FAILED
from webapp.models import BATCH_PENDING
from webapp.models import BATCH_READY
from webapp.models import INVOICED
from webapp.models import AuditLog
from webapp.models import Batch
from webapp.models import BatchLoad
from webapp.models import Load
from webapp.models import StoredFile
from webapp.services import batches


def test_create_batch_reserves_loads_and_numbers_per_company(in_app, world):
    ids = world.eligible(3)
    batch = batches.create_batch(world.company, world.freight, ids, world.billing)
    assert batch.status == BATCH_PENDING
    assert batch.load_count == 3
    assert batch.total_cents == sum(Load.get_by_id(i).total_cents for i in ids)
    assert batch.number == 1
    assert {bl.load_id for bl in BatchLoad.select().where(BatchLoad.batch == batch, BatchLoad.live)} == set(ids)
    assert Load.select().where(Load.id.in_(ids), Load.batch == batch.id).count() == 3
    second = batches.create_batch(world.company, world.freight, world.eligible(1), world.billing)
    assert second.number == 2
    assert AuditLog.select().where(AuditLog.action == "batch.submit").count() == 2


def test_subsidiary_without_noa_is_refused_and_nothing_is_created(in_app, world):
    ids = world.eligible(2, subsidiary=world.logistics)
    assert ids
    with pytest.raises(batches.BatchError, match="no Notice of Assignment"):
        submit_batch(world.company, world.logistics, ids, world.billing)
    assert Batch.select().count() == 0
    assert BatchLoad.select().count() == 0


def test_another_tenants_load_ids_are_refused_and_nothing_is_created(in_app, world):
    mine = world.eligible(2)
    theirs = [load.id for load in Load.select(Load.id).where(Load.company == world.other_company).limit(2)]
    with pytest.raises(batches.BatchError, match="not loads of Demo Freight LLC"):
        submit_batch(world.company, world.freight, mine + theirs, world.billing)
    assert Batch.select().count() == 0
    assert Load.select().where(Load.batch.is_null(False)).count() == 0


def test_another_tenants_subsidiary_is_refused(in_app, world):
    with pytest.raises(batches.BatchError):
        submit_batch(world.company, world.other_sub, world.eligible(1), world.billing)
    assert Batch.select().count() == 0


def test_loads_that_are_not_queued_are_refused(in_app, world):
    first, second = world.eligible(2)
    Load.update(billing_status=INVOICED).where(Load.id == second).execute()
    invoiced = Load.get_by_id(second)
    with pytest.raises(batches.BatchError, match=f"{invoiced.load_number} is Invoiced"):
        submit_batch(world.company, world.freight, [first, invoiced.id], world.billing)
    assert Batch.select().count() == 0


def test_incomplete_loads_are_refused_with_their_reason(in_app, world):
    apart = batches.incomplete_loads(world.company, world.freight).first()
    with pytest.raises(batches.BatchError, match=f"{apart.load_number}: The customer .* has no MC number"):
        submit_batch(world.company, world.freight, [apart.id], world.billing)
    assert Batch.select().count() == 0


def test_empty_selection_is_refused(in_app, world):
    with pytest.raises(batches.BatchError, match="Select at least one load"):
        submit_batch(world.company, world.freight, [], world.billing)


def test_double_submit_fails_cleanly_naming_the_loads_and_the_batch(in_app, world):
    ids = world.eligible(3)
    first = submit_batch(world.company, world.freight, ids, world.billing)
    numbers = sorted(Load.get_by_id(i).load_number for i in ids)
    with pytest.raises(batches.BatchConflict) as caught:
        submit_batch(world.company, world.freight, ids, world.billing)
    message = str(caught.value)
    assert f"batch #{first.number}" in message
    assert all(n in message for n in numbers)
    assert caught.value.batch.id == first.id
    assert Batch.select().count() == 1
    assert BatchLoad.select().count() == 3


def test_database_refuses_a_second_live_batch_row_for_a_load(in_app, world):
    from peewee import IntegrityError
    first = batches.create_batch(world.company, world.freight, world.eligible(1), world.billing)
    load_id = BatchLoad.get(BatchLoad.batch == first).load_id
    other = Batch.create(company=world.company, subsidiary=world.freight, number=99)
    with pytest.raises(IntegrityError):
        with world.company._meta.database.atomic():
            BatchLoad.create(batch=other, load=load_id, live=True)


def test_live_batch_row_without_load_reservation_is_caught_by_the_unique_index(in_app, world):
    """Even when Load.batch says free, the partial unique index refuses and nothing is half-done."""
    ids = world.eligible(2)
    holder = Batch.create(company=world.company, subsidiary=world.freight, number=41, status=BATCH_READY)
    BatchLoad.create(batch=holder, load=ids[0], live=True)
    holder_number = Load.get_by_id(ids[0]).load_number
    with pytest.raises(batches.BatchConflict, match=f"{holder_number} is already in batch #41"):
        submit_batch(world.company, world.freight, ids, world.billing)
    assert Batch.select().count() == 1
    assert Load.select().where(Load.id.in_(ids), Load.batch.is_null(False)).count() == 0


def test_submit_all_matching_takes_the_filter_not_ids(in_app, world):
    target = batches.eligible_loads(world.company, world.freight).first()
    load_filter = batches.LoadFilter(customer_id=target.customer_id)
    expected = {load.id for load in batches.eligible_loads(world.company, world.freight, load_filter)}
    batch = batches.submit(world.company, world.freight, world.billing, load_filter=load_filter, select_all=True)
    assert {bl.load_id for bl in batch.batch_loads} == expected


# --- retry and cancel -------------------------------------------------------------------

def test_retry_only_applies_to_a_failed_batch(in_app, world):
    batch = submit_batch(world.company, world.freight, world.eligible(1), world.billing)
    with pytest.raises(batches.BatchError, match="not failed"):
        batches.retry_batch(Batch.get_by_id(batch.id), world.billing)


def test_cancel_releases_the_loads_of_a_failed_batch(in_app, world, failed_batch):
    batch, loads = failed_batch
    ids = [load.id for load in loads]
    assert Batch.get_by_id(batch.id).status == BATCH_FAILED
    released = batches.cancel_batch(Batch.get_by_id(batch.id), world.billing)
    assert released == 2
    assert Batch.get_by_id(batch.id).status == BATCH_CANCELLED
    assert Load.select().where(Load.id.in_(ids), Load.batch.is_null()).count() == 2
    assert BatchLoad.select().where(BatchLoad.batch == batch.id, BatchLoad.live).count() == 0
    assert set(ids) <= {load.id for load in batches.eligible_loads(world.company, world.freight)}
    # released loads can go in a new batch
    again = submit_batch(world.company, world.freight, ids, world.billing)
    assert Batch.get_by_id(again.id).status == BATCH_READY


def test_cancelled_batch_is_never_run(in_app, world):
    batch = batches.create_batch(world.company, world.freight, world.eligible(1), world.billing)
    batches.cancel_batch(batch, world.billing)
    assert batches.run_batch(batch.id) == BATCH_CANCELLED
    assert Batch.get_by_id(batch.id).file_id is None
    assert not StoredFile.select().where(StoredFile.content_type == "application/zip").exists()


def test_a_ready_batch_cannot_be_cancelled(in_app, world):
    batch = submit_batch(world.company, world.freight, world.eligible(1), world.billing)
    with pytest.raises(batches.BatchError, match="only a failed or waiting batch"):
        batches.cancel_batch(Batch.get_by_id(batch.id), world.billing)
