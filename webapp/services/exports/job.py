"""The export a queue worker makes when a list is too big to answer at once (ExportJob).

ask() records what was asked, once per request while it runs (pressing Export again finds the
same job); run_export() makes the file: it claims the job with a conditional UPDATE and fences
every later write by `attempts`, so a doubled, retried or recovered run never writes twice.
The rows go to a temporary file as they are read, progress is written every CHUNK_ROWS rows
(the heartbeat), and the file is kept as a StoredFile of the company. recover_exports() returns
the jobs a lost worker left, for the job layer (webapp.jobs) to enqueue again.
"""
import datetime
import hashlib
import json
import logging
import os
import tempfile

from webapp.models import EXPORT_FAILED
from webapp.models import EXPORT_READY
from webapp.models import EXPORT_RUNNING
from webapp.models import EXPORT_WAITING
from webapp.models import ExportJob
from webapp.models import StoredFile
from webapp.models import db
from webapp.models import utcnow
from webapp.services.exports import sources
from webapp.services.exports.writers import CHUNK_ROWS
from webapp.services.exports.writers import csv_chunks
from webapp.services.exports.writers import write_xlsx

log = logging.getLogger(__name__)

# A running job whose heartbeat is older than this lost its worker (the app's JOB_STALE_SECONDS).
STALE_SECONDS = 120
# A job its workers lost this many times is failed rather than started again.
MAX_ATTEMPTS = 3
# How long a finished export (and its file) is kept for the person who asked.
KEEP = datetime.timedelta(days=7)
# The most rows a worksheet holds (1,048,576 rows, the first of them the headings).
XLSX_MAX_ROWS = 1_048_575
# The filters kept of a query string: enough for every list's, bounded against junk.
MAX_ARGS, MAX_ARG_LENGTH = 20, 200


class ExportError(Exception):
    """The export cannot be made, for a reason a person understands (the message says which)."""


class _Superseded(Exception):
    """Another run took the job over: stop quietly."""


def filters(args):
    """The filters of a query string as a plain dict (empty values dropped, sorted, bounded)."""
    kept = {}
    for name, value in sorted(args.items()):
        if value and len(kept) < MAX_ARGS:
            kept[str(name)[:MAX_ARG_LENGTH]] = str(value)[:MAX_ARG_LENGTH]
    return kept


def _key(company_id, user_id, what, fmt, kept):
    text = json.dumps([company_id, user_id, what, fmt, kept], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def ask(company, user, what, fmt, args, filename):
    """(job, new) for an export of the list WHAT as FMT with the filters ARGS, to be FILENAME: the
    job already waiting or running for this same request, else a new one (enqueue it after the
    commit)."""
    kept = filters(args)
    user_id = user.id if user is not None else None
    key = _key(company.id, user_id, what, fmt, kept)
    with db.atomic():
        job = (ExportJob.select().where((ExportJob.key == key) & (ExportJob.company == company.id)
                                        & ExportJob.status.in_([EXPORT_WAITING, EXPORT_RUNNING]))
               .order_by(ExportJob.id.desc()).first())
        if job is not None:
            return job, False
        job = ExportJob.create(company=company.id, user=user_id, what=what, fmt=fmt, args=json.dumps(kept),
                               key=key, filename=filename)
    return job, True


def retry(job):
    """Put a failed job back in the queue; True when it was failed (enqueue it after the commit).
    Its attempts keep counting: they fence the writes of any run still going."""
    return bool(ExportJob.update(status=EXPORT_WAITING, error="", rows_done=0, heartbeat_at=None,
                                 created_at=utcnow(), finished_at=None)
                .where((ExportJob.id == job.id) & (ExportJob.status == EXPORT_FAILED)).execute())


def _claim(job_id, stale_seconds):
    """Take the job (waiting, or running with a dead worker); its new attempts count, or None."""
    now = utcnow()
    cutoff = now - datetime.timedelta(seconds=stale_seconds)
    claimed = (ExportJob.update(status=EXPORT_RUNNING, heartbeat_at=now, attempts=ExportJob.attempts + 1,
                                rows_done=0, error="")
               .where((ExportJob.id == job_id)
                      & ((ExportJob.status == EXPORT_WAITING)
                         | ((ExportJob.status == EXPORT_RUNNING) & (ExportJob.heartbeat_at < cutoff))))
               .execute())
    if not claimed:
        return None
    return ExportJob.select(ExportJob.attempts).where(ExportJob.id == job_id).scalar()


def _fenced(job_id, token):
    return (ExportJob.id == job_id) & (ExportJob.status == EXPORT_RUNNING) & (ExportJob.attempts == token)


def _beat(job_id, token, **changes):
    """Progress and heartbeat; a run that lost its claim stops here."""
    if not ExportJob.update(heartbeat_at=utcnow(), **changes).where(_fenced(job_id, token)).execute():
        raise _Superseded()


def _counted(rows, job_id, token):
    """ROWS as they are read, with the progress written every CHUNK_ROWS rows."""
    done = 0
    for row in rows:
        yield row
        done += 1
        if done % CHUNK_ROWS == 0:
            _beat(job_id, token, rows_done=done)


def _write(table, fmt, rows, path):
    if fmt == "xlsx":
        write_xlsx(table.columns, rows, path)
        return
    with open(path, "w", encoding="utf-8", newline="") as out:
        for chunk in csv_chunks(table.columns, rows):
            out.write(chunk)


def _make(job, token, directory):
    """Write the job's file into DIRECTORY; (its path, its file name, the rows written)."""
    args = json.loads(job.args or "{}")
    table = sources.LISTS[job.what](job.company, args) if job.what in sources.LISTS else None
    if table is None:
        raise ExportError("This list no longer exists (its batch may have been removed). Export it again "
                          "from its page.")
    total = table.count().n
    if job.fmt == "xlsx" and total > XLSX_MAX_ROWS:
        raise ExportError(f"{total:,} rows do not fit in one Excel worksheet ({XLSX_MAX_ROWS:,} at most). "
                          "Narrow the filters, or export it as CSV.")
    filename = f"{table.name}.{job.fmt}"
    _beat(job.id, token, rows_total=total, filename=filename)
    path = os.path.join(directory, filename)
    _write(table, job.fmt, _counted(table.rows, job.id, token), path)
    return path, filename, total


def _store(job, token, path, filename, total):
    """One transaction: keep the file for the company, mark the job ready with it."""
    with open(path, "rb") as handle:
        data = handle.read()
    content_type = ("text/csv" if job.fmt == "csv"
                    else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    now = utcnow()
    with db.atomic():
        stored = StoredFile.create(company=job.company_id, filename=filename, content_type=content_type,
                                   size=len(data), sha256=hashlib.sha256(data).hexdigest(), data=data)
        if not (ExportJob.update(status=EXPORT_READY, file=stored.id, filename=filename, rows_done=total,
                                 rows_total=total, finished_at=now, heartbeat_at=now)
                .where(_fenced(job.id, token)).execute()):
            raise _Superseded()  # rolls the file back with it


def _fail(job_id, token, message):
    ExportJob.update(status=EXPORT_FAILED, error=message, finished_at=utcnow()).where(
        _fenced(job_id, token)).execute()


def run_export(job_id, stale_seconds=STALE_SECONDS):
    """The job: write the list to a file and keep it. Safe to run any number of times: only a
    waiting job (or a running one whose worker stopped beating) is taken. Returns its status."""
    token = _claim(job_id, stale_seconds)
    if token is not None:
        job = ExportJob.get_by_id(job_id)
        try:
            with tempfile.TemporaryDirectory(prefix="export-") as directory:
                _store(job, token, *_make(job, token, directory))
        except _Superseded:
            log.info("export %s: taken over by another run; this one stops", job_id)
        except ExportError as exc:
            _fail(job_id, token, str(exc))
        except Exception as exc:
            log.exception("export %s failed", job_id)
            _fail(job_id, token, f"The file could not be made ({type(exc).__name__}: {exc}). Try again; if it "
                                 "fails again, contact support.")
    return ExportJob.select(ExportJob.status).where(ExportJob.id == job_id).scalar()


def recover_exports(startup=False, stale_seconds=STALE_SECONDS):
    """Fail the jobs lost too often and return the ids of those to start again: running ones whose
    heartbeat stopped, and waiting ones whose queue entry was lost (older than STALE_SECONDS, or
    all of them when a worker starts: a doubled start finds nothing to do)."""
    cutoff = utcnow() - datetime.timedelta(seconds=stale_seconds)
    restart = []
    stale = ExportJob.select(ExportJob.id, ExportJob.attempts).where(
        (ExportJob.status == EXPORT_RUNNING) & (ExportJob.heartbeat_at < cutoff))
    for job_id, attempts in stale.tuples():
        if attempts >= MAX_ATTEMPTS:
            _fail(job_id, attempts, f"The worker stopped {attempts} times while making this file. Try again; "
                                    "if it stops again, narrow the filters or contact support.")
        else:
            restart.append(job_id)
    waiting = ExportJob.status == EXPORT_WAITING
    if not startup:
        waiting &= ExportJob.created_at < cutoff
    restart += [job_id for (job_id,) in ExportJob.select(ExportJob.id).where(waiting).tuples()]
    return restart


def sweep(now=None):
    """Remove the exports finished more than KEEP ago, with their files; how many were removed."""
    cutoff = (now or utcnow()) - KEEP
    old = list(ExportJob.select(ExportJob.id, ExportJob.file).where(
        ExportJob.status.in_([EXPORT_READY, EXPORT_FAILED]) & (ExportJob.finished_at < cutoff)).tuples())
    with db.atomic():
        for job_id, file_id in old:
            ExportJob.delete().where(ExportJob.id == job_id).execute()
            if file_id:
                StoredFile.delete().where(StoredFile.id == file_id).execute()
    return len(old)
