"""The batch job (services/batches/job.py, run by webapp/jobs.py): the file, Invoiced, failure, recovery."""
import datetime
import io
import zipfile

import pytest

from tests.helpers import submit_batch
from webapp import jobs
from webapp.models import BATCH_FAILED
from webapp.models import BATCH_READY
from webapp.models import BATCH_RUNNING
from webapp.models import INFO_NOA
from webapp.models import INVOICED
from webapp.models import QUEUED
from webapp.models import AuditLog
from webapp.models import Batch
from webapp.models import ImportantInfo
from webapp.models import Load
from webapp.models import StoredFile
from webapp.models import utcnow
from webapp.services import batches
from webapp.services.batches import batch_file
from webapp.services.batches import formats
from webapp.services.batches import job as batch_job


def _batch_files(company=None):
    """Batch files kept (the demo loads' paperwork is kept as files too)."""
    query = StoredFile.select().where(StoredFile.content_type == "application/zip")
    return (query.where(StoredFile.company == company) if company else query).count()


def _status_audits(load_ids):
    return (AuditLog.select().where((AuditLog.object_type == "load") & AuditLog.object_id.in_(load_ids)
                                    & (AuditLog.after == INVOICED)).count())


def test_job_builds_the_file_and_moves_loads_to_invoiced_with_one_audit_row_each(in_app, world):
    ids = world.eligible(3)
    batch = submit_batch(world.company, world.freight, ids, world.billing)  # immediate queue: runs now
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
        (QUEUED, INVOICED, batch.id, world.billing.id)}


def test_running_the_job_again_duplicates_nothing(in_app, world):
    ids = world.eligible(2)
    batch = submit_batch(world.company, world.freight, ids, world.billing)
    sha = Batch.get_by_id(batch.id).file_sha256
    assert batches.run_batch(batch.id) == BATCH_READY
    assert batches.run_batch(batch.id) == BATCH_READY
    assert _batch_files(world.company) == 1
    assert _status_audits(ids) == 2
    assert Batch.get_by_id(batch.id).file_sha256 == sha


def test_failed_render_marks_the_batch_failed_and_keeps_loads_queued_and_reserved(in_app, world, monkeypatch):
    ids = world.eligible(3)
    victim = Load.get_by_id(ids[1])
    real = batch_file.render_invoice

    def broken(load, *args):
        if load.id == victim.id:
            raise RuntimeError("font exploded")
        return real(load, *args)

    monkeypatch.setattr(batch_file, "render_invoice", broken)
    batch = submit_batch(world.company, world.freight, ids, world.billing)
    batch = Batch.get_by_id(batch.id)
    assert batch.status == BATCH_FAILED
    assert batch.error == f"Could not render the invoice for load {victim.load_number}: font exploded"
    assert batch.file_id is None
    assert Load.select().where(Load.id.in_(ids), Load.billing_status == QUEUED, Load.batch == batch.id).count() == 3
    assert _batch_files() == 0
    assert _status_audits(ids) == 0

    monkeypatch.setattr(batch_file, "render_invoice", real)
    batches.retry_batch(batch, world.billing)
    jobs.start_batch(batch.id)
    batch = Batch.get_by_id(batch.id)
    assert batch.status == BATCH_READY
    assert batch.error == ""
    assert _batch_files() == 1
    assert _status_audits(ids) == 3
    assert Load.select().where(Load.id.in_(ids), Load.billing_status == INVOICED).count() == 3


def test_missing_noa_at_run_time_fails_with_a_clear_reason(in_app, world):
    batch = batches.create_batch(world.company, world.freight, world.eligible(1), world.billing)
    ImportantInfo.delete().where(ImportantInfo.subsidiary == world.freight, ImportantInfo.kind == INFO_NOA).execute()
    assert batches.run_batch(batch.id) == BATCH_FAILED
    assert "no Notice of Assignment" in Batch.get_by_id(batch.id).error


def test_a_run_that_lost_its_claim_writes_nothing(in_app, world, monkeypatch):
    """A worker taken for dead that wakes up later must not store a second file."""
    ids = world.eligible(2)
    batch = batches.create_batch(world.company, world.freight, ids, world.billing)
    token = batch_job._claim(batch.id, batch_job.STALE_SECONDS)
    # another worker takes it over (attempts moves on) and finishes
    Batch.update(heartbeat_at=utcnow() - datetime.timedelta(hours=1)).where(Batch.id == batch.id).execute()
    assert batches.run_batch(batch.id) == BATCH_READY
    with pytest.raises(batch_job._Superseded):
        batch_job._finish(Batch.get_by_id(batch.id), token, "x.zip", b"late", ids)
    assert _batch_files() == 1
    assert _status_audits(ids) == 2


# --- recovery ---------------------------------------------------------------------------

def _left_running(world, ids, minutes_ago, attempts=1):
    batch = batches.create_batch(world.company, world.freight, ids, world.billing)
    Batch.update(status=BATCH_RUNNING, attempts=attempts, progress_done=1,
                 heartbeat_at=utcnow() - datetime.timedelta(minutes=minutes_ago)).where(Batch.id == batch.id).execute()
    return batch


def test_recovery_reruns_a_batch_whose_worker_died(in_app, world, app):
    ids = world.eligible(3)
    batch = _left_running(world, ids, minutes_ago=30)
    app.extensions["tasks"]["recover_batches"]()  # the periodic task, run at once (immediate queue)
    batch = Batch.get_by_id(batch.id)
    assert batch.status == BATCH_READY
    assert batch.attempts == 2
    assert _batch_files() == 1
    assert _status_audits(ids) == 3
    # running recovery again finds nothing to do and duplicates nothing
    assert jobs.recover() == []
    assert _batch_files() == 1
    assert _status_audits(ids) == 3


def test_recovery_leaves_a_batch_with_a_fresh_heartbeat_alone(in_app, world):
    batch = _left_running(world, world.eligible(1), minutes_ago=0)
    assert jobs.recover() == []
    assert Batch.get_by_id(batch.id).status == BATCH_RUNNING


def test_recovery_fails_a_batch_lost_too_often_with_a_reason(in_app, world):
    ids = world.eligible(1)
    batch = _left_running(world, ids, minutes_ago=30, attempts=batches.MAX_ATTEMPTS)
    assert jobs.recover() == []
    batch = Batch.get_by_id(batch.id)
    assert batch.status == BATCH_FAILED
    assert "worker stopped" in batch.error
    assert Load.get_by_id(ids[0]).batch_id == batch.id  # still reserved: Retry or Cancel
    batches.retry_batch(batch, world.billing)
    jobs.start_batch(batch.id)
    assert Batch.get_by_id(batch.id).status == BATCH_READY


def test_recovery_restarts_a_waiting_batch_whose_job_was_lost(in_app, world):
    batch = batches.create_batch(world.company, world.freight, world.eligible(1), world.billing)
    assert jobs.recover() == []  # young: its job may still be in the queue
    Batch.update(created_at=utcnow() - datetime.timedelta(minutes=10)).where(Batch.id == batch.id).execute()
    assert jobs.recover() == [batch.id]
    assert Batch.get_by_id(batch.id).status == BATCH_READY


def test_worker_start_restarts_every_waiting_batch(in_app, world):
    batch = batches.create_batch(world.company, world.freight, world.eligible(1), world.billing)
    assert jobs.recover(startup=True) == [batch.id]
    assert Batch.get_by_id(batch.id).status == BATCH_READY


def test_worker_startup_hook_resumes_a_batch_left_running(world, app):
    ids = world.eligible(2)
    batch = _left_running(world, ids, minutes_ago=30)
    hook = app.extensions["huey"]._startup["recover_batches_on_start"]
    hook()
    assert Batch.get_by_id(batch.id).status == BATCH_READY
    assert _status_audits(ids) == 2


def _reported(monkeypatch):
    """The progress the job writes (its heartbeats), in order."""
    seen = []
    real = batch_job._beat

    def beat(batch_id, token, done):
        seen.append(done)
        return real(batch_id, token, done)
    monkeypatch.setattr(batch_job, "_beat", beat)
    return seen


def test_the_job_reports_progress_at_least_every_ten_invoices_and_records_its_start(in_app, world, monkeypatch):
    seen = _reported(monkeypatch)
    monkeypatch.setattr(formats.time, "monotonic", lambda: 1000.0)  # a fast machine: the count alone
    ids = world.eligible(23)
    batch = batches.create_batch(world.company, world.freight, ids, world.billing)
    assert batches.run_batch(batch.id) == BATCH_READY
    assert seen[:2] == [10, 20] and seen[-1] == 23
    assert all(b - a <= 10 for a, b in zip([0] + seen, seen))
    assert Batch.get_by_id(batch.id).started_at is not None  # the time-left estimate counts from it


def test_a_slow_invoice_is_reported_within_half_a_second(in_app, world, monkeypatch):
    seen = _reported(monkeypatch)
    clock = iter(range(0, 10_000, 600))  # every invoice takes 0.6 s
    monkeypatch.setattr(formats.time, "monotonic", lambda: next(clock) / 1000)
    ids = world.eligible(4)
    batch = batches.create_batch(world.company, world.freight, ids, world.billing)
    assert batches.run_batch(batch.id) == BATCH_READY
    assert seen[:4] == [1, 2, 3, 4]  # each one, though 10 were not drawn yet
