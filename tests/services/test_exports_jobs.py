"""Big exports as jobs (services/exports/job.py): a list over the bound becomes one job per
request; the job writes every row the at-once export would, keeps the file for the company,
writes its progress, runs once however often it is started, is taken over when its worker
dies, says why it failed and can be tried again; a kept file is read back a slice at a time."""
import csv
import datetime
import io
import json
import time
import tracemalloc

import openpyxl
import pytest

from tests.helpers import World
from tests.helpers import in_db
from tests.helpers import start_consumer
from webapp import create_app
from webapp.models import EXPORT_FAILED
from webapp.models import EXPORT_READY
from webapp.models import EXPORT_RUNNING
from webapp.models import EXPORT_WAITING
from webapp.models import ExportJob
from webapp.models import Load
from webapp.models import StoredFile
from webapp.models import utcnow
from webapp.services import exports
from webapp.services.exports import job as export_job
from webapp.services.exports import sources


def _csv_rows(data):
    return list(csv.reader(io.StringIO(data.decode("utf-8").lstrip("\ufeff"))))


def _kept(job):
    job = ExportJob.get_by_id(job.id)
    stored = StoredFile.get_by_id(job.file_id)
    return job, bytes(stored.data)


def _started(world, what="loads", fmt="csv", args=None, user=None):
    made = exports.request_export(world.company, user or world.billing, what, fmt, args or {}, job_rows=2)
    assert isinstance(made, exports.Started)
    return made


def test_a_list_within_the_bound_is_answered_at_once_and_a_bigger_one_becomes_a_job(world, dbconn):
    loads = Load.select().where(Load.company == world.company.id).count()
    at_once = exports.request_export(world.company, world.billing, "loads", "csv", {}, job_rows=loads)
    assert isinstance(at_once, exports.Export) and at_once.filename == "loads.csv"
    made = exports.request_export(world.company, world.billing, "loads", "xlsx", {}, job_rows=loads - 1)
    assert isinstance(made, exports.Started) and made.new
    assert (made.job.status, made.job.filename, made.job.company_id) == (EXPORT_WAITING, "loads.xlsx",
                                                                          world.company.id)
    assert exports.request_export(world.company, world.billing, "nothing", "csv", {}) is None
    assert exports.request_export(world.company, world.billing, "loads", "pdf", {}) is None


def test_asking_again_while_it_runs_finds_the_same_job(world, dbconn):
    freight, logistics = str(world.freight.id), str(world.logistics.id)
    first = _started(world, args={"subsidiary": freight, "q": ""})
    again = _started(world, args={"q": "", "subsidiary": freight})
    assert not again.new and again.job.id == first.job.id
    assert _started(world, args={"subsidiary": logistics}).job.id != first.job.id  # other filters
    assert _started(world, args={"subsidiary": freight}, user=world.admin).job.id != first.job.id  # another person
    assert json.loads(first.job.args) == {"subsidiary": freight}


def test_the_job_writes_every_row_of_the_at_once_export_and_keeps_the_file(world, dbconn):
    made = _started(world, args={"subsidiary": str(world.freight.id)})
    assert export_job.run_export(made.job.id) == EXPORT_READY
    job, data = _kept(made.job)
    at_once = "".join(exports.export(sources.loads(world.company, {"subsidiary": str(world.freight.id)}), "csv").csv)
    assert data == at_once.encode("utf-8")
    rows = _csv_rows(data)
    assert job.rows_done == job.rows_total == len(rows) - 1 > 2
    assert job.finished_at is not None and StoredFile.get_by_id(job.file_id).company_id == world.company.id
    assert b"".join(exports.file_chunks(job.file_id, len(data), chunk=1000)) == data


def test_an_xlsx_job_types_its_cells(world, dbconn):
    made = _started(world, fmt="xlsx")
    export_job.run_export(made.job.id)
    job, data = _kept(made.job)
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "Load Number" and len(rows) - 1 == job.rows_total
    assert isinstance(rows[1][2], datetime.datetime) and sheet.cell(2, 7).number_format.startswith("$")


def test_a_batchs_loads_are_its_own_and_another_companys_batch_is_none(world, make_batch, dbconn):
    batch, loads = make_batch("submitted")
    made = _started(world, what="batch-loads", args={"batch": batch.id})
    assert made.job.filename == f"batch-{batch.number}-loads.csv"
    export_job.run_export(made.job.id)
    _, data = _kept(made.job)
    assert {row[0] for row in _csv_rows(data)[1:]} == {load.load_number for load in loads}
    other, _ = make_batch("submitted", subsidiary=world.other_sub)
    assert exports.request_export(world.company, world.billing, "batch-loads", "csv", {"batch": other.id}) is None


def test_the_progress_is_written_as_the_rows_are_read(world, dbconn, monkeypatch):
    seen = []
    real = export_job._beat

    def spy(job_id, token, **changes):
        real(job_id, token, **changes)
        row = ExportJob.get_by_id(job_id)
        seen.append((row.status, row.rows_done, row.rows_total, exports.job_state(row).line))
    monkeypatch.setattr(export_job, "_beat", spy)
    monkeypatch.setattr(export_job, "CHUNK_ROWS", 2)
    made = _started(world)
    export_job.run_export(made.job.id)
    total = ExportJob.get_by_id(made.job.id).rows_total
    assert seen[0][:3] == (EXPORT_RUNNING, 0, total)
    assert [done for _, done, _, _ in seen[1:]] == list(range(2, total + 1, 2))
    assert seen[1][3] == f"Preparing loads.csv: 2 of {total:,} rows"
    assert exports.job_state(ExportJob.get_by_id(made.job.id)).line == f"loads.csv is ready: {total:,} rows."


def test_running_it_again_writes_nothing_twice(world, dbconn):
    made = _started(world)
    assert export_job.run_export(made.job.id) == EXPORT_READY
    files = StoredFile.select().count()
    assert export_job.run_export(made.job.id) == EXPORT_READY
    assert StoredFile.select().count() == files and ExportJob.get_by_id(made.job.id).attempts == 1


def test_a_job_whose_worker_died_is_taken_over_and_the_lost_run_writes_nothing(world, dbconn):
    made = _started(world)
    lost = export_job._claim(made.job.id, export_job.STALE_SECONDS)
    assert export_job.recover_exports() == []  # its heartbeat is fresh: still working
    ExportJob.update(heartbeat_at=utcnow() - datetime.timedelta(minutes=5)).where(
        ExportJob.id == made.job.id).execute()
    assert export_job.recover_exports() == [made.job.id]
    assert export_job.run_export(made.job.id) == EXPORT_READY
    with pytest.raises(export_job._Superseded):
        export_job._beat(made.job.id, lost, rows_done=1)
    assert ExportJob.get_by_id(made.job.id).attempts == lost + 1


def test_a_waiting_job_whose_queue_entry_was_lost_is_started_again(world, dbconn):
    made = _started(world)
    assert export_job.recover_exports() == []
    assert export_job.recover_exports(startup=True) == [made.job.id]  # a worker starting takes them all
    ExportJob.update(created_at=utcnow() - datetime.timedelta(minutes=5)).where(ExportJob.id == made.job.id).execute()
    assert export_job.recover_exports() == [made.job.id]


def test_a_job_lost_too_often_fails_saying_so(world, dbconn):
    made = _started(world)
    ExportJob.update(status=EXPORT_RUNNING, attempts=export_job.MAX_ATTEMPTS,
                     heartbeat_at=utcnow() - datetime.timedelta(minutes=5)).where(ExportJob.id == made.job.id).execute()
    assert export_job.recover_exports() == []
    job = ExportJob.get_by_id(made.job.id)
    assert job.status == EXPORT_FAILED and "worker stopped 3 times" in job.error


def test_a_failure_says_what_went_wrong_and_trying_again_makes_the_file(world, dbconn, monkeypatch):
    made = _started(world, fmt="xlsx")
    monkeypatch.setattr(export_job, "XLSX_MAX_ROWS", 2)
    assert export_job.run_export(made.job.id) == EXPORT_FAILED
    job = ExportJob.get_by_id(made.job.id)
    assert "do not fit in one Excel worksheet" in job.error and "export it as CSV" in job.error
    state = exports.job_state(job)
    assert (state.key, state.live, state.hint) == ("failed", False, job.error)
    assert _started(world, fmt="xlsx").job.id != job.id  # a failed job is not the one under way
    monkeypatch.setattr(export_job, "XLSX_MAX_ROWS", 1_048_575)
    assert exports.retry(job) and not exports.retry(job)  # only a failed job goes back
    assert export_job.run_export(job.id) == EXPORT_READY
    assert ExportJob.get_by_id(job.id).error == ""


def test_an_unexpected_error_fails_the_job_with_its_reason(world, dbconn, monkeypatch):
    made = _started(world)

    def broken(columns, rows, chunk_rows=0):
        raise OSError("disk full")
        yield  # a generator, as the real one
    monkeypatch.setattr(export_job, "csv_chunks", broken)
    assert export_job.run_export(made.job.id) == EXPORT_FAILED
    assert "OSError: disk full" in ExportJob.get_by_id(made.job.id).error
    assert StoredFile.select().where(StoredFile.filename == "loads.csv").count() == 0


def test_old_exports_are_swept_with_their_files(world, dbconn):
    made = _started(world)
    export_job.run_export(made.job.id)
    job = ExportJob.get_by_id(made.job.id)
    assert export_job.sweep() == 0
    assert export_job.sweep(now=utcnow() + export_job.KEEP + datetime.timedelta(hours=1)) == 1
    assert ExportJob.get_or_none(ExportJob.id == job.id) is None
    assert StoredFile.get_or_none(StoredFile.id == job.file_id) is None


def test_a_kept_file_is_read_back_a_slice_at_a_time(world, dbconn):
    data = bytes(range(256)) * (32 * 1024)  # 8 MiB
    stored = StoredFile.create(company=world.company.id, filename="big.csv", content_type="text/csv",
                               size=len(data), sha256="-", data=data)
    del data
    tracemalloc.start()
    try:
        size = 0
        for part in exports.file_chunks(stored.id, stored.size, chunk=256 * 1024):
            size += len(part)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert size == 8 * 1024 * 1024
    assert peak < 2 * 1024 * 1024, f"reading 8 MiB took {peak:,} bytes at its peak"


def test_a_worker_that_starts_finishes_the_export_a_stopped_one_left(db_url, tmp_path):
    """A real queue consumer, started after its predecessor stopped mid-export (the job running
    with an old heartbeat, nothing on the queue), takes the job over and makes the file."""
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret", "DATABASE_URL": db_url,
                      "QUEUE_URL": "sqlite:///" + str(tmp_path / "queue.db"), "WTF_CSRF_ENABLED": False})
    with in_db(app):
        made = _started(World())
        ExportJob.update(status=EXPORT_RUNNING, attempts=1, rows_done=2, rows_total=10,
                         heartbeat_at=utcnow() - datetime.timedelta(minutes=10)).where(
            ExportJob.id == made.job.id).execute()
    consumer = start_consumer(app.extensions["huey"])
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with in_db(app):
                job = ExportJob.get_by_id(made.job.id)
            if job.status != EXPORT_RUNNING:
                break
            time.sleep(0.05)  # polling the row while the worker makes the file
    finally:
        consumer.stop(graceful=True)
    assert (job.status, job.attempts) == (EXPORT_READY, 2)
    assert job.rows_done == job.rows_total > 10
