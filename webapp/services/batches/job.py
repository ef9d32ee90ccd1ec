"""The job that builds a batch file and moves its loads to Invoiced.

The file itself is built in the format of the batch's factor (services/batches/formats.py).
It claims the batch with a conditional UPDATE and fences every later write by
`attempts`, so a retried, recovered or doubled job never writes twice. Recovery
returns the ids to restart; the job layer (webapp.jobs) enqueues them.
"""
import datetime
import hashlib
import logging

from peewee import fn

from webapp.models import BATCH_FAILED
from webapp.models import BATCH_PENDING
from webapp.models import BATCH_READY
from webapp.models import BATCH_RUNNING
from webapp.models import BILLING_STATUSES
from webapp.models import INVOICED
from webapp.models import QUEUED
from webapp.models import AuditLog
from webapp.models import Batch
from webapp.models import BatchLoad
from webapp.models import Customer
from webapp.models import Factor
from webapp.models import Load
from webapp.models import LoadLine
from webapp.models import StoredFile
from webapp.models import Subsidiary
from webapp.models import db
from webapp.models import utcnow
from webapp.services import audit
from webapp.services import subsidiaries
from webapp.services.batches import formats
from webapp.services.batches.errors import JobError
from webapp.services.batches.errors import names
from webapp.services.batches.formats import ZIP_TYPE
from webapp.services.loads.documents import documents_for_merge
from webapp.services.sql import bulk_insert
from webapp.services.sql import chunks
from webapp.services.sql import columns
from webapp.services.sql import instance_reader
from webapp.services.sql import joined_instances
from webapp.services.sql import select_in
from webapp.services.sql import stamp
from webapp.services.subsidiaries import notice_of_assignment

log = logging.getLogger(__name__)

# A job the worker lost this many times is failed rather than started again.
MAX_ATTEMPTS = 3
# A running batch whose heartbeat is older than this lost its worker (JOB_STALE_SECONDS).
STALE_SECONDS = 120


class _Superseded(Exception):
    """Another run took the batch over (or it was cancelled): stop quietly."""

def _claim(batch_id, stale_seconds):
    """Take the batch (waiting, or running with a dead worker); its new attempts count, or None."""
    now = utcnow()
    cutoff = now - datetime.timedelta(seconds=stale_seconds)
    claimed = (Batch.update(status=BATCH_RUNNING, heartbeat_at=now, started_at=now,
                            attempts=Batch.attempts + 1, progress_done=0, error="")
               .where((Batch.id == batch_id)
                      & ((Batch.status == BATCH_PENDING)
                         | ((Batch.status == BATCH_RUNNING) & (Batch.heartbeat_at < cutoff))))
               .execute())
    if not claimed:
        return None
    return Batch.select(Batch.attempts).where(Batch.id == batch_id).scalar()


def _beat(batch_id, token, done):
    """Progress and heartbeat; a run that lost its claim stops here."""
    changed = (Batch.update(progress_done=done, heartbeat_at=utcnow())
               .where((Batch.id == batch_id) & (Batch.status == BATCH_RUNNING) & (Batch.attempts == token))
               .execute())
    if not changed:
        raise _Superseded()


def _fail(batch_id, token, message):
    """Mark the batch failed (loads stay Queued and reserved to it)."""
    with db.atomic():
        changed = (Batch.update(status=BATCH_FAILED, error=message, heartbeat_at=utcnow())
                   .where((Batch.id == batch_id) & (Batch.status == BATCH_RUNNING) & (Batch.attempts == token))
                   .execute())
        if changed:
            batch = Batch.get_by_id(batch_id)
            audit.record(audit.BATCH_FAILED, "batch", batch_id, company=batch.company_id,
                         before=BATCH_RUNNING, after=BATCH_FAILED, details=message)
    return changed


def _collect(batch):
    """Everything the file needs, read once: factor, loads, customers, lines, important info, documents."""
    subsidiary = Subsidiary.get_by_id(batch.subsidiary_id)
    factor = Factor.get_or_none(Factor.id == batch.factor_id) if batch.factor_id else None
    if factor is None:
        raise JobError(f"Batch #{batch.number} has no factor. Cancel it, assign {subsidiary.name} a "
                       "factor in Management > Company Profile, and submit the loads again.")
    info = subsidiaries.document_texts(subsidiary)
    if not notice_of_assignment(texts=info):
        raise JobError(f"{subsidiary.name} has no Notice of Assignment any more. Add it in Management > "
                       "Company Profile, then Retry.")
    loads = _live_loads(batch.id)
    ids = [load.id for load in loads]
    line = instance_reader(LoadLine)
    lines = {}
    for row in select_in(f'SELECT {columns(LoadLine, "x")} FROM "{LoadLine._meta.table_name}" AS "x" '
                         'WHERE "x"."load_id" IN ({marks})', ids):
        item = line(row)
        lines.setdefault(item.load_id, []).append(item)
    return formats.BatchContents(batch=batch, factor=factor, subsidiary=subsidiary, info=info,
                                 loads=loads, lines=lines, documents=documents_for_merge(ids))


def _live_loads(batch_id):
    """The batch's live loads, each with its customer, in invoice number order (read as plain rows:
    peewee's making of a thousand joined instances cost several times the query)."""
    return joined_instances(Load.select(Load, Customer)
                            .join(BatchLoad, on=(BatchLoad.load == Load.id))
                            .switch(Load).join(Customer, on=(Load.customer == Customer.id))
                            .where((BatchLoad.batch == batch_id) & BatchLoad.live)
                            .order_by(Load.invoice_number, Load.load_number, Load.id), Load, Customer, "customer")


def _build(batch, token):
    """(file name, bytes, content type, load ids) of the batch, in its factor's format, writing
    progress as the invoices are drawn."""
    contents = _collect(batch)
    build = formats.format_of(contents.factor).build
    name, data, content_type = build(contents, lambda done: _beat(batch.id, token, done))
    return name, data, content_type, [load.id for load in contents.loads]


def _finish(batch, token, name, data, load_ids, content_type=ZIP_TYPE):
    """One transaction: store the file, mark the batch ready, move its loads Queued -> Invoiced."""
    digest = hashlib.sha256(data).hexdigest()
    now = utcnow()
    with db.atomic():
        stored = StoredFile.create(company=batch.company_id, filename=name, content_type=content_type,
                                   size=len(data), sha256=digest, data=data)
        changed = (Batch.update(status=BATCH_READY, file=stored.id, file_name=name, file_sha256=digest,
                                completed_at=now, heartbeat_at=now, progress_done=len(load_ids), error="")
                   .where((Batch.id == batch.id) & (Batch.status == BATCH_RUNNING)
                          & (Batch.attempts == token)).execute())
        if not changed:
            raise _Superseded()
        moved = 0
        for chunk in chunks(load_ids):
            moved += (Load.update(billing_status=INVOICED, updated_at=now)
                      .where(Load.id.in_(chunk) & (Load.batch == batch.id) & (Load.billing_status == QUEUED))
                      .execute())
        if moved != len(load_ids):
            stuck = [f"{number} ({BILLING_STATUSES.get(status, status)})" for number, status in
                     Load.select(Load.load_number, Load.billing_status)
                     .where(Load.id.in_(load_ids) & ((Load.billing_status != QUEUED)
                                                     | (Load.batch != batch.id) | Load.batch.is_null()))
                     .tuples()]
            raise JobError(f"Some loads are no longer Queued in this batch: {names(stuck, 5)}. "
                           "Cancel the batch and submit the loads again.")
        rows = audit.status_change_rows([(batch.company_id, i) for i in load_ids], QUEUED, INVOICED,
                                        actor=batch.created_by_id, batch=batch.id,
                                        details={"batch": batch.number})
        # In multi-row statements of plain SQL: peewee's INSERT of a thousand dicts cost five times more.
        written = stamp(now)
        bulk_insert(AuditLog, audit.BULK_FIELDS,
                    [tuple(row[field.name] for field in audit.BULK_FIELDS[:-1]) + (written,) for row in rows])


def run_batch(batch_id, stale_seconds=STALE_SECONDS):
    """The job: build and store the batch file, then move its loads to Invoiced.

    Safe to run any number of times: only a waiting batch (or a running one whose
    worker stopped beating) is taken, and every write is fenced by the attempt
    that took it. Returns the batch's status afterwards.
    """
    token = _claim(batch_id, stale_seconds)
    if token is None:
        return Batch.select(Batch.status).where(Batch.id == batch_id).scalar()
    batch = Batch.get_by_id(batch_id)
    try:
        name, data, content_type, load_ids = _build(batch, token)
        _finish(batch, token, name, data, load_ids, content_type)
    except _Superseded:
        log.info("batch %s: taken over or cancelled; this run stops", batch_id)
    except JobError as exc:
        _fail(batch_id, token, str(exc))
    except Exception as exc:
        log.exception("batch %s failed", batch_id)
        _fail(batch_id, token, f"The batch file could not be generated ({type(exc).__name__}: {exc}). "
                               "Retry it; if it fails again, contact support.")
    return Batch.select(Batch.status).where(Batch.id == batch_id).scalar()


def recover_batches(startup=False, stale_seconds=STALE_SECONDS):
    """Fail batches whose job was lost too often; return the ids of those to start again.

    A running batch whose heartbeat is older than STALE_SECONDS lost its worker.
    A waiting batch whose job has not started within that time lost its queue entry
    (at worker start every waiting batch is re-enqueued: duplicates are harmless,
    the first run claims it and the others find nothing to do).
    """
    cutoff = utcnow() - datetime.timedelta(seconds=stale_seconds)
    restart = []
    stale = Batch.select(Batch.id, Batch.attempts).where(
        (Batch.status == BATCH_RUNNING) & (Batch.heartbeat_at < cutoff))
    for batch_id, attempts in stale.tuples():
        if attempts >= MAX_ATTEMPTS:
            message = (f"The worker stopped {attempts} times while generating this batch. "
                       "Retry it, or Cancel it to release its loads.")
            with db.atomic():
                changed = (Batch.update(status=BATCH_FAILED, error=message)
                           .where((Batch.id == batch_id) & (Batch.status == BATCH_RUNNING)
                                  & (Batch.heartbeat_at < cutoff)).execute())
                if changed:
                    company_id = Batch.select(Batch.company).where(Batch.id == batch_id).scalar()
                    audit.record(audit.BATCH_FAILED, "batch", batch_id, company=company_id,
                                 before=BATCH_RUNNING, after=BATCH_FAILED, details=message)
        else:
            restart.append(batch_id)
    waiting = Batch.select(Batch.id).where(Batch.status == BATCH_PENDING)
    if not startup:
        waiting = waiting.where(fn.COALESCE(Batch.heartbeat_at, Batch.created_at) < cutoff)
    restart += [batch_id for (batch_id,) in waiting.tuples()]
    return restart

