"""Exports: every list as CSV (formula-safe, streamed) or XLSX (typed cells, XlsxWriter in
constant_memory mode), with the filters on screen. sources names what each list holds;
writers writes it; job makes the big ones in the queue worker.

request_export() is the one call the export button makes: a list of up to JOB_ROWS rows (counted
with that bound, never to the end) is answered at once, a bigger one becomes an ExportJob whose
page shows its progress, then offers the kept file, read back a chunk at a time (file_chunks):
the web process never holds a big list or a big file whole.
"""
import dataclasses

from peewee import fn

from webapp.database import is_postgres
from webapp.models import EXPORT_FAILED
from webapp.models import EXPORT_READY
from webapp.models import EXPORT_RUNNING
from webapp.models import ExportJob
from webapp.models import StoredFile
from webapp.models import User
from webapp.models import db
from webapp.services.exports import job
from webapp.services.exports import sources
from webapp.services.exports.writers import csv_chunks
from webapp.services.exports.writers import write_xlsx
from webapp.services.exports.writers import xlsx_tempfile

FORMATS = {"csv": "text/csv",  # the response adds "; charset=utf-8"
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
# A list of more rows than this is made by the queue worker (the app's EXPORT_JOB_ROWS sets one
# bound for both). A CSV streams its first bytes at once; an XLSX is whole before its first byte
# leaves (10,000 rows take some 8 s on the bench machine), so its bound is lower.
JOB_ROWS = {"csv": 20_000, "xlsx": 5_000}
# Bytes of a kept file read from the database at a time.
FILE_CHUNK = 1 << 20


@dataclasses.dataclass
class Export:
    filename: str
    mimetype: str
    csv: object = None  # an iterator of text chunks (CSV)
    file: object = None  # an open binary file (XLSX), to stream and close


@dataclasses.dataclass
class Started:
    """A big export handed to the queue worker: its job, and whether it is new (to enqueue after
    the commit) or the one already under way for the same request."""

    job: ExportJob
    new: bool


def export(table, fmt):
    """TABLE (sources.Table) as FMT ("csv" or "xlsx"); ValueError for another format."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    if fmt == "csv":
        return Export(f"{table.name}.csv", FORMATS[fmt], csv=csv_chunks(table.columns, table.rows))
    return Export(f"{table.name}.xlsx", FORMATS[fmt], file=xlsx_tempfile(table.columns, table.rows))


def request_export(company, user, what, fmt, args, job_rows=None):
    """The export of the list WHAT (a key of sources.LISTS) of COMPANY with the filters ARGS as
    FMT, asked by USER: an Export to answer now when it has up to JOB_ROWS rows (the format's
    JOB_ROWS when None), else Started (the job that makes it); None for a list, a format or a
    batch that does not exist."""
    source = sources.LISTS.get(what)
    if source is None or fmt not in FORMATS:
        return None
    table = source(company, args)
    if table is None:
        return None
    if not table.count(JOB_ROWS[fmt] if job_rows is None else job_rows).capped:
        return export(table, fmt)
    return Started(*job.ask(company, user, what, fmt, args, f"{table.name}.{fmt}"))


@dataclasses.dataclass
class JobState:
    """An export job in the clerk's words: its one line, how far it got, what to do next."""

    key: str  # waiting, running, ready, failed, gone (ready, but its file was removed)
    line: str
    tone: str  # wait, busy, done, bad (the batch page's colours)
    live: bool  # still being made: its page asks again
    done: int = 0
    total: int = 0
    percent: int = 0
    size: int = 0  # bytes of the file, once ready
    hint: str = ""


def job_state(export_job):
    """The JobState of EXPORT_JOB, read from its row (and its file's size once ready)."""
    name, done, total = export_job.filename, export_job.rows_done, export_job.rows_total
    if export_job.status == EXPORT_READY:
        size = (StoredFile.select(StoredFile.size).where(StoredFile.id == export_job.file_id).scalar()
                if export_job.file_id else None)
        if size is None:
            return JobState("gone", f"{name} is no longer kept.", "bad", False,
                            hint="Export the list again from its page.")
        return JobState("ready", f"{name} is ready: {total:,} rows.", "done", False, total, total, 100, size)
    if export_job.status == EXPORT_FAILED:
        return JobState("failed", f"{name} could not be made.", "bad", False, done, total,
                        hint=export_job.error or "Try again.")
    if export_job.status == EXPORT_RUNNING:
        if not total:
            return JobState("running", f"Preparing {name}: counting the rows", "busy", True)
        return JobState("running", f"Preparing {name}: {done:,} of {total:,} rows", "busy", True, done, total,
                        min(100, done * 100 // total))
    return JobState("waiting", f"Preparing {name}: waiting for the worker", "wait", True,
                    hint="A big list is made in the background: this page follows it, or come back later "
                         "to Your exports.")


def retry(export_job):
    """Put a failed export back in the queue; True when it was failed (enqueue it after the commit)."""
    return job.retry(export_job)


def recent(company, user, limit=20):
    """USER's latest exports in COMPANY, newest first: what their exports page lists."""
    return list(ExportJob.select().where((ExportJob.company == company.id) & (ExportJob.user == user.id))
                .order_by(ExportJob.id.desc()).limit(limit))


def asked_by(export_job):
    """The name of the person who asked for EXPORT_JOB ("" when they are gone)."""
    user = User.get_or_none(User.id == export_job.user_id) if export_job.user_id else None
    return user.display_name if user is not None else ""


def file_of(export_job):
    """(file name, content type, size, chunks of bytes) of a ready export's file, read FILE_CHUNK
    bytes at a time from the database; None when it is not ready (or its file is gone)."""
    if export_job.status != EXPORT_READY or not export_job.file_id:
        return None
    stored = (StoredFile.select(StoredFile.id, StoredFile.filename, StoredFile.content_type, StoredFile.size)
              .where((StoredFile.id == export_job.file_id) & (StoredFile.company == export_job.company_id))
              .first())
    if stored is None:
        return None
    return stored.filename, stored.content_type, stored.size, file_chunks(stored.id, stored.size)


def file_chunks(file_id, size, chunk=FILE_CHUNK):
    """The bytes of a StoredFile of SIZE bytes, CHUNK at a time: on SQLite through its incremental
    blob reads (its SUBSTR would load the whole blob for each slice), on PostgreSQL a SUBSTR
    that the server cuts."""
    if not is_postgres():
        with db.connection().blobopen("stored_file", "data", file_id, readonly=True) as blob:
            while part := blob.read(chunk):
                yield part
        return
    for start in range(0, size, chunk):
        part = (StoredFile.select(fn.SUBSTR(StoredFile.data, start + 1, chunk))
                .where(StoredFile.id == file_id).scalar())
        if part is None:
            return
        yield bytes(part)


__all__ = ["FORMATS", "JOB_ROWS", "Export", "Started", "JobState", "export", "request_export", "job_state", "retry",
           "recent", "asked_by", "file_of",
           "file_chunks", "csv_chunks", "write_xlsx"]
