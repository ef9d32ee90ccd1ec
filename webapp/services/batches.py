"""Batches: which loads can go to the factor, submitting them, and the job that builds the file.

A batch is created at once, in one transaction, with its loads reserved
(BatchLoad.live and Load.batch; the database's partial unique index keeps a
load in at most one live batch). The file is built by run_batch() in the job
queue; it is claimed with a conditional UPDATE and fenced by `attempts`, so a
retried, recovered or doubled job never writes twice.
"""
import datetime
import hashlib
import logging
import time
from dataclasses import dataclass

from flask import current_app
from peewee import JOIN
from peewee import Case
from peewee import SQL
from peewee import IntegrityError
from peewee import NodeList
from peewee import fn

from webapp.database import is_postgres
from webapp.models import BATCH_CANCELLED
from webapp.models import BATCH_FAILED
from webapp.models import BATCH_PENDING
from webapp.models import BATCH_READY
from webapp.models import BATCH_RUNNING
from webapp.models import BATCH_STATUSES
from webapp.models import BILLING_STATUSES
from webapp.models import COMPLETED
from webapp.models import FACTORING
from webapp.models import FINANCED
from webapp.models import INFO_NOA
from webapp.models import INVOICED
from webapp.models import PROVIDERS
from webapp.models import QUEUED
from webapp.models import AuditLog
from webapp.models import Batch
from webapp.models import BatchLoad
from webapp.models import Company
from webapp.models import Customer
from webapp.models import ImportantInfo
from webapp.models import Load
from webapp.models import LoadLine
from webapp.models import StoredFile
from webapp.models import Subsidiary
from webapp.models import User
from webapp.models import db
from webapp.models import utcnow
from webapp.services import audit
from webapp.services import batch_file

log = logging.getLogger(__name__)

CHUNK = 500
# Progress (and the heartbeat) is written every few invoices, and at least this often.
PROGRESS_EVERY = 5
PROGRESS_SECONDS = 1.0
# A job the worker lost this many times is failed rather than started again.
MAX_ATTEMPTS = 3
# Finished batches still shown on Factoring Upload for this long.
RECENT = datetime.timedelta(hours=12)

ZIP_TYPE = "application/zip"


class BatchError(ValueError):
    """A batch cannot be created or changed; the message is for the person who tried."""


class BatchConflict(BatchError):
    """Some loads are already in another live batch (named in the message)."""

    def __init__(self, message, load_numbers=(), batch=None):
        super().__init__(message)
        self.load_numbers = list(load_numbers)
        self.batch = batch


class JobError(Exception):
    """The job failed for a reason a person understands (the message says which)."""


class _Superseded(Exception):
    """Another run took the batch over (or it was cancelled): stop quietly."""


def _chunks(items, size=CHUNK):
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _names(numbers, limit=10):
    """'DT-1001, DT-1002 and 3 more'."""
    numbers = sorted(numbers)
    shown = ", ".join(numbers[:limit])
    return shown if len(numbers) <= limit else f"{shown} and {len(numbers) - limit} more"


def _stale_seconds():
    return int(current_app.config.get("JOB_STALE_SECONDS", 120))


def _write_transaction():
    """A transaction that takes the write lock at once on SQLite (no upgrade deadlock)."""
    if is_postgres() or db.transaction_depth():
        return db.atomic()
    return db.atomic("IMMEDIATE")


# --- what can go to the factor ---------------------------------------------

@dataclass
class LoadFilter:
    """The Factoring Upload filters: customer, delivery date range, load/invoice number text."""

    customer_id: int = None
    date_from: datetime.date = None
    date_to: datetime.date = None
    q: str = ""

    def apply(self, query):
        if self.customer_id:
            query = query.where(Load.customer == self.customer_id)
        if self.date_from:
            query = query.where(Load.delivery_date >= self.date_from)
        if self.date_to:
            query = query.where(Load.delivery_date <= self.date_to)
        text = (self.q or "").strip()
        if text:
            query = query.where(Load.load_number.contains(text) | Load.invoice_number.contains(text))
        return query

    @property
    def active(self):
        return bool(self.customer_id or self.date_from or self.date_to or (self.q or "").strip())


def subsidiaries(company):
    """The company's subsidiaries by name."""
    return list(Subsidiary.select().where(Subsidiary.company == company).order_by(Subsidiary.name))


def notice_of_assignment(subsidiary):
    """The subsidiary's NOA text, or '' when it has none."""
    info = (ImportantInfo.select(ImportantInfo.text)
            .where((ImportantInfo.subsidiary == subsidiary) & (ImportantInfo.kind == INFO_NOA))
            .first())
    return (info.text or "").strip() if info else ""


def _candidates(company, subsidiary):
    """Queued factoring loads of the subsidiary in no live batch, with their customers."""
    return (Load.select(Load, Customer)
            .join(Customer, on=(Load.customer == Customer.id))
            .where((Load.company == company) & (Load.subsidiary == subsidiary)
                   & (Load.billing_status == QUEUED) & (Load.invoicing_method == FACTORING)
                   & Load.batch.is_null()))


def _problem_condition():
    """SQL twin of load_problems(): true when the load cannot go to the factor as it stands.

    One rule is left to load_problems() alone, which Submit Batch applies: line items
    that do not add up to the total. Loads are saved with their total computed from
    their lines, so only a hand-edited database breaks it, and checking it here would
    cost a subquery per load on every page view.
    """
    return ((fn.TRIM(fn.COALESCE(Customer.mc_number, "")) == "")
            | (Load.total_cents <= 0)
            | Load.invoice_number.is_null() | (fn.TRIM(Load.invoice_number) == "")
            | Load.invoice_date.is_null())


def load_problems(loads):
    """{load id: [reasons]} for LOADS (with .customer loaded); loads that can go have none.

    The reasons are the "reason incomplete" users know; _problem_condition() is the
    same rule in SQL, for the lists (but for the line-items check, see there).
    """
    loads = list(loads)
    sums = {}
    for chunk in _chunks([load.id for load in loads]):
        sums.update(LoadLine.select(LoadLine.load, fn.SUM(LoadLine.amount_cents))
                    .where(LoadLine.load.in_(chunk)).group_by(LoadLine.load).tuples())
    out = {}
    for load in loads:
        reasons = []
        if not (load.customer.mc_number or "").strip():
            reasons.append(f"The customer {load.customer.name} has no MC number.")
        if (load.total_cents or 0) <= 0:
            reasons.append("The total is not above zero.")
        if not (load.invoice_number or "").strip():
            reasons.append("It has no invoice number.")
        if load.invoice_date is None:
            reasons.append("It has no invoice date.")
        line_sum = sums.get(load.id)
        if line_sum is not None and line_sum != load.total_cents:
            reasons.append(f"Its line items add up to {batch_file.money(line_sum)}, "
                           f"not the total {batch_file.money(load.total_cents or 0)}.")
        out[load.id] = reasons
    return out


def eligible_loads(company, subsidiary, load_filter=None):
    """Loads that can go to the factor now (unordered query of Load with Customer)."""
    query = _candidates(company, subsidiary).where(~_problem_condition())
    return (load_filter or LoadFilter()).apply(query)


def incomplete_loads(company, subsidiary, load_filter=None):
    """Queued factoring loads that cannot go as they stand (query, by load number)."""
    query = _candidates(company, subsidiary).where(_problem_condition())
    return (load_filter or LoadFilter()).apply(query).order_by(Load.load_number, Load.id)


def unindexed(field):
    """FIELD as an ORDER BY term that SQLite cannot serve from an index (unary +).

    The Factoring Upload list filters on (company, subsidiary, status, method); with
    an index on (company, total_cents) at hand SQLite would rather walk all of the
    company's loads in amount order than sort the few thousand that match. PostgreSQL
    plans from statistics and gets the field unchanged.
    """
    if is_postgres():
        return field
    return NodeList((SQL("+"), field), glue="")


def totals(query):
    """(count, total cents) of a load query, in one aggregate query."""
    row = (query.select(fn.COUNT(Load.id), fn.COALESCE(fn.SUM(Load.total_cents), 0))
           .order_by().tuples().first())
    return (row[0], row[1]) if row else (0, 0)


# --- submitting --------------------------------------------------------------

def _lock_company(company):
    """Serialise batch creation per company (PostgreSQL; SQLite's IMMEDIATE lock does it)."""
    if is_postgres():
        Company.select(Company.id).where(Company.id == company.id).for_update().execute()


def _holders(load_ids, exclude_batch=None):
    """{batch: [load numbers]} of the live batches holding any of LOAD_IDS."""
    held = {}
    for chunk in _chunks(load_ids):
        query = (BatchLoad.select(BatchLoad.batch, Load.load_number)
                 .join(Load, on=(BatchLoad.load == Load.id))
                 .where(BatchLoad.load.in_(chunk) & BatchLoad.live))
        if exclude_batch is not None:
            query = query.where(BatchLoad.batch != exclude_batch)
        for batch_id, number in query.tuples():
            held.setdefault(batch_id, []).append(number)
        query = Load.select(Load.batch, Load.load_number).where(Load.id.in_(chunk) & Load.batch.is_null(False))
        if exclude_batch is not None:
            query = query.where(Load.batch != exclude_batch)
        for batch_id, number in query.tuples():
            if number not in held.get(batch_id, []):
                held.setdefault(batch_id, []).append(number)
    return held


def _conflict(held):
    """A BatchConflict naming the loads and the batch (or batches) holding them."""
    batches = {b.id: b for b in Batch.select(Batch.id, Batch.number).where(Batch.id.in_(list(held)))}
    parts = []
    first = None
    numbers = []
    for batch_id, loads in sorted(held.items()):
        batch = batches.get(batch_id)
        first = first or batch
        numbers += loads
        label = f"batch #{batch.number}" if batch else "another batch"
        verb = "is" if len(loads) == 1 else "are"
        parts.append(f"{_names(loads)} {verb} already in {label}")
    message = "; ".join(parts) + ". Nothing was submitted; refresh the list and choose again."
    return BatchConflict(message[0].upper() + message[1:], numbers, first)


def create_batch(company, subsidiary, load_ids, actor, *, enqueue=True):
    """Create a batch of LOAD_IDS for SUBSIDIARY in one transaction; then start its job.

    Every id must be a Queued factoring load of this company and subsidiary, in no
    live batch and complete; the subsidiary must have a Notice of Assignment.
    Anything wrong raises BatchError (BatchConflict when another batch holds some
    of the loads) and nothing is written.
    """
    try:
        ids = sorted({int(i) for i in load_ids})
    except (TypeError, ValueError):
        raise BatchError("The selection could not be read. Refresh the page and try again.")
    if not ids:
        raise BatchError("Select at least one load to submit.")
    if subsidiary is None or subsidiary.company_id != company.id:
        raise BatchError("Choose one of your subsidiaries.")

    with _write_transaction():
        _lock_company(company)
        if not notice_of_assignment(subsidiary):
            raise BatchError(f"{subsidiary.name} has no Notice of Assignment. Add it in Management > "
                             "Company Profile, Document Configuration, then submit the batch.")
        loads = []
        for chunk in _chunks(ids):
            loads += list(Load.select(Load, Customer).join(Customer, on=(Load.customer == Customer.id))
                          .where((Load.company == company) & (Load.subsidiary == subsidiary)
                                 & Load.id.in_(chunk)))
        if len(loads) != len(ids):
            missing = len(ids) - len(loads)
            raise BatchError(f"{missing} of the selected loads {'is' if missing == 1 else 'are'} not "
                             f"loads of {subsidiary.name}. Nothing was submitted.")
        held = {}
        for load in loads:
            if load.batch_id:
                held.setdefault(load.batch_id, []).append(load.load_number)
        if held:
            raise _conflict(held)
        wrong = [f"{load.load_number} is {BILLING_STATUSES.get(load.billing_status, load.billing_status)}"
                 for load in loads if load.billing_status != QUEUED]
        wrong += [f"{load.load_number} is not invoiced through factoring"
                  for load in loads if load.billing_status == QUEUED and load.invoicing_method != FACTORING]
        if wrong:
            raise BatchError("Only Queued factoring loads can be submitted: " + _names(wrong, 5)
                             + ". Nothing was submitted.")
        problems = load_problems(loads)
        bad = [f"{load.load_number}: {' '.join(problems[load.id])}" for load in loads if problems[load.id]]
        if bad:
            raise BatchError("Some loads cannot go to the factor as they stand — " + "; ".join(bad[:5])
                             + (f" (and {len(bad) - 5} more)" if len(bad) > 5 else "")
                             + ". Nothing was submitted.")

        total = sum(load.total_cents for load in loads)
        number = (Batch.select(fn.MAX(Batch.number)).where(Batch.company == company).scalar() or 0) + 1
        batch = Batch.create(
            company=company, subsidiary=subsidiary, number=number, status=BATCH_PENDING,
            progress_total=len(loads), load_count=len(loads), total_cents=total, created_by=actor)
        now = utcnow()
        try:
            with db.atomic():
                for chunk in _chunks(loads):
                    BatchLoad.insert_many([
                        {"batch": batch.id, "load": load.id, "live": True, "amount_cents": load.total_cents,
                         "invoice_number": load.invoice_number or ""} for load in chunk]).execute()
                reserved = 0
                for chunk in _chunks(ids):
                    reserved += (Load.update(batch=batch.id, updated_at=now)
                                 .where(Load.id.in_(chunk) & Load.batch.is_null()
                                        & (Load.billing_status == QUEUED)).execute())
        except IntegrityError:
            reserved = -1
        if reserved != len(ids):
            held = _holders(ids, exclude_batch=batch.id)
            if held:
                raise _conflict(held)
            raise BatchError("Some loads changed while the batch was being created. "
                             "Refresh the list and try again.")
        audit.record("batch.submit", "batch", batch.id, actor=actor, company=company,
                     after={"number": number, "subsidiary": subsidiary.name, "loads": len(loads),
                            "total_cents": total})
        if enqueue:
            db.after_commit(lambda: start_job(batch.id))
    return batch


def submit(company, subsidiary, actor, load_ids=(), load_filter=None, select_all=False):
    """Submit Batch: the ticked LOAD_IDS, or (SELECT_ALL) every eligible load matching LOAD_FILTER."""
    if select_all:
        load_ids = [i for (i,) in eligible_loads(company, subsidiary, load_filter).select(Load.id).tuples()]
        if not load_ids:
            raise BatchError("No loads match the filter.")
    return create_batch(company, subsidiary, load_ids, actor)


def start_job(batch_id):
    """Put the batch's job on the queue. A queue that is down only delays it: recovery re-enqueues."""
    from webapp import queue
    try:
        queue.enqueue("generate_batch", batch_id)
    except Exception:  # the batch stays pending; recover_batches() enqueues it again
        log.exception("could not enqueue batch %s", batch_id)


def retry_batch(batch, actor):
    """Run a failed batch's job again (its loads are still reserved to it)."""
    with _write_transaction():
        changed = (Batch.update(status=BATCH_PENDING, error="", attempts=0, progress_done=0,
                                heartbeat_at=utcnow())
                   .where((Batch.id == batch.id) & (Batch.status == BATCH_FAILED)).execute())
        if not changed:
            raise BatchError(f"Batch #{batch.number} is not failed any more; nothing to retry.")
        audit.record("batch.retry", "batch", batch.id, actor=actor, company=batch.company_id,
                     before=BATCH_FAILED, after=BATCH_PENDING)
        db.after_commit(lambda: start_job(batch.id))


def cancel_batch(batch, actor):
    """Cancel a failed or waiting batch and release its loads (they stay Queued, free to batch again)."""
    with _write_transaction():
        changed = (Batch.update(status=BATCH_CANCELLED, completed_at=utcnow())
                   .where((Batch.id == batch.id) & Batch.status.in_([BATCH_FAILED, BATCH_PENDING]))
                   .execute())
        if not changed:
            current = Batch.get_by_id(batch.id)
            raise BatchError(f"Batch #{batch.number} is {status_label(current.status)}; only a failed "
                             "or waiting batch can be cancelled.")
        BatchLoad.update(live=False, removed_reason="Batch cancelled").where(
            (BatchLoad.batch == batch.id) & BatchLoad.live).execute()
        released = Load.update(batch=None, updated_at=utcnow()).where(Load.batch == batch.id).execute()
        audit.record("batch.cancel", "batch", batch.id, actor=actor, company=batch.company_id,
                     before=batch.status, after=BATCH_CANCELLED, details={"released_loads": released})
    return released


# --- the job -----------------------------------------------------------------

def _claim(batch_id):
    """Take the batch (waiting, or running with a dead worker); its new attempts count, or None."""
    now = utcnow()
    cutoff = now - datetime.timedelta(seconds=_stale_seconds())
    claimed = (Batch.update(status=BATCH_RUNNING, heartbeat_at=now, attempts=Batch.attempts + 1,
                            progress_done=0, error="")
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
            audit.record("batch.failed", "batch", batch_id, company=batch.company_id,
                         before=BATCH_RUNNING, after=BATCH_FAILED, details=message)
    return changed


def _documents(load_ids):
    """{load id: [pdf bytes]}: the load's documents, merged behind its invoice."""
    from webapp.services.loads import documents_for_merge
    return documents_for_merge(load_ids)


def _collect(batch):
    """Everything the file needs, read once: loads, customers, lines, important info, documents."""
    subsidiary = Subsidiary.get_by_id(batch.subsidiary_id)
    info = {kind: text for kind, text in ImportantInfo.select(ImportantInfo.kind, ImportantInfo.text)
            .where(ImportantInfo.subsidiary == subsidiary).tuples()}
    if not (info.get(INFO_NOA) or "").strip():
        raise JobError(f"{subsidiary.name} has no Notice of Assignment any more. Add it in Management > "
                       "Company Profile, then Retry.")
    loads = list(Load.select(Load, Customer)
                 .join(BatchLoad, on=(BatchLoad.load == Load.id))
                 .switch(Load).join(Customer, on=(Load.customer == Customer.id))
                 .where((BatchLoad.batch == batch.id) & BatchLoad.live)
                 .order_by(Load.invoice_number, Load.load_number, Load.id))
    ids = [load.id for load in loads]
    lines = {}
    for chunk in _chunks(ids):
        for line in LoadLine.select().where(LoadLine.load.in_(chunk)):
            lines.setdefault(line.load_id, []).append(line)
    return subsidiary, info, loads, lines, _documents(ids)


def _build(batch, token):
    """The ZIP bytes of the batch, writing progress as the invoices are drawn."""
    subsidiary, info, loads, lines, documents = _collect(batch)
    provider = PROVIDERS.get(batch.provider, batch.provider)
    entries = []
    rows = []
    last_beat = time.monotonic()
    taken = {"schedule.csv", "schedule.pdf"}
    for n, load in enumerate(loads, start=1):
        try:
            pdf = batch_file.render_invoice(load, load.customer, subsidiary, lines.get(load.id, []), info)
        except Exception as exc:
            log.exception("invoice of load %s", load.load_number)
            raise JobError(f"Could not render the invoice for load {load.load_number}: {exc}") from exc
        try:
            pdf = batch_file.merge_pdfs(pdf, documents.get(load.id, []))
        except Exception as exc:
            raise JobError(f"Could not attach the documents of load {load.load_number}: {exc}.") from exc
        name = batch_file.invoice_filename(load.invoice_number, taken)
        taken.add(name)
        entries.append((name, pdf))
        rows.append(batch_file.ScheduleRow(
            invoice_number=load.invoice_number, load_number=load.load_number,
            invoice_date=load.invoice_date, customer_name=load.customer.name,
            customer_mc=load.customer.mc_number, amount_cents=load.total_cents,
            terms_days=load.customer.payment_terms_days,
            due_date=batch_file.due_date(load.invoice_date, load.customer.payment_terms_days)))
        if n % PROGRESS_EVERY == 0 or time.monotonic() - last_beat >= PROGRESS_SECONDS:
            _beat(batch.id, token, n)
            last_beat = time.monotonic()
    _beat(batch.id, token, len(loads))
    try:
        schedule_date = batch.created_at.date()
        head = [("schedule.csv", batch_file.schedule_csv(rows)),
                ("schedule.pdf", batch_file.render_schedule(subsidiary, provider, batch.number,
                                                            schedule_date, rows))]
    except Exception as exc:
        log.exception("schedule of batch %s", batch.id)
        raise JobError(f"Could not build the schedule of accounts: {exc}") from exc
    name = batch_file.zip_filename(provider, subsidiary.name, batch.number)
    return name, batch_file.build_zip(head + entries, batch.created_at), [load.id for load in loads]


def _finish(batch, token, name, data, load_ids):
    """One transaction: store the file, mark the batch ready, move its loads Queued -> Invoiced."""
    digest = hashlib.sha256(data).hexdigest()
    now = utcnow()
    with db.atomic():
        stored = StoredFile.create(company=batch.company_id, filename=name, content_type=ZIP_TYPE,
                                   size=len(data), sha256=digest, data=data)
        changed = (Batch.update(status=BATCH_READY, file=stored.id, file_name=name, file_sha256=digest,
                                completed_at=now, heartbeat_at=now, progress_done=len(load_ids), error="")
                   .where((Batch.id == batch.id) & (Batch.status == BATCH_RUNNING)
                          & (Batch.attempts == token)).execute())
        if not changed:
            raise _Superseded()
        moved = 0
        for chunk in _chunks(load_ids):
            moved += (Load.update(billing_status=INVOICED, updated_at=now)
                      .where(Load.id.in_(chunk) & (Load.batch == batch.id) & (Load.billing_status == QUEUED))
                      .execute())
        if moved != len(load_ids):
            stuck = [f"{number} ({BILLING_STATUSES.get(status, status)})" for number, status in
                     Load.select(Load.load_number, Load.billing_status)
                     .where(Load.id.in_(load_ids) & ((Load.billing_status != QUEUED)
                                                     | (Load.batch != batch.id) | Load.batch.is_null()))
                     .tuples()]
            raise JobError(f"Some loads are no longer Queued in this batch: {_names(stuck, 5)}. "
                           "Cancel the batch and submit the loads again.")
        rows = audit.status_change_rows([(batch.company_id, i) for i in load_ids], QUEUED, INVOICED,
                                        actor=batch.created_by_id, batch=batch.id,
                                        details={"batch": batch.number})
        for chunk in _chunks(rows, 200):
            AuditLog.insert_many(chunk).execute()


def run_batch(batch_id):
    """The job: build and store the batch file, then move its loads to Invoiced.

    Safe to run any number of times: only a waiting batch (or a running one whose
    worker stopped beating) is taken, and every write is fenced by the attempt
    that took it. Returns the batch's status afterwards.
    """
    token = _claim(batch_id)
    if token is None:
        return Batch.select(Batch.status).where(Batch.id == batch_id).scalar()
    batch = Batch.get_by_id(batch_id)
    try:
        name, data, load_ids = _build(batch, token)
        _finish(batch, token, name, data, load_ids)
    except _Superseded:
        log.info("batch %s: taken over or cancelled; this run stops", batch_id)
    except JobError as exc:
        _fail(batch_id, token, str(exc))
    except Exception as exc:
        log.exception("batch %s failed", batch_id)
        _fail(batch_id, token, f"The batch file could not be generated ({type(exc).__name__}: {exc}). "
                               "Retry it; if it fails again, contact support.")
    return Batch.select(Batch.status).where(Batch.id == batch_id).scalar()


def recover_batches(startup=False):
    """Restart batches whose job was lost; fail those lost too often. Returns the ids re-enqueued.

    A running batch whose heartbeat is older than JOB_STALE_SECONDS lost its worker.
    A waiting batch whose job has not started within that time lost its queue entry
    (at worker start every waiting batch is re-enqueued: duplicates are harmless,
    the first run claims it and the others find nothing to do).
    """
    cutoff = utcnow() - datetime.timedelta(seconds=_stale_seconds())
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
                    audit.record("batch.failed", "batch", batch_id, company=company_id,
                                 before=BATCH_RUNNING, after=BATCH_FAILED, details=message)
        else:
            restart.append(batch_id)
    waiting = Batch.select(Batch.id).where(Batch.status == BATCH_PENDING)
    if not startup:
        waiting = waiting.where(fn.COALESCE(Batch.heartbeat_at, Batch.created_at) < cutoff)
    restart += [batch_id for (batch_id,) in waiting.tuples()]
    for batch_id in restart:
        start_job(batch_id)
    return restart


# --- reading batches -----------------------------------------------------------

STATE_SUBMITTED = "submitted"
STATE_PARTIALLY_FINANCED = "partially_financed"
STATE_FINANCED = "financed"
STATE_PARTIALLY_PAID = "partially_paid"
STATE_COMPLETED = "completed"
FACTORING_STATES = {
    STATE_SUBMITTED: "Submitted",
    STATE_PARTIALLY_FINANCED: "Partially financed",
    STATE_FINANCED: "Financed",
    STATE_PARTIALLY_PAID: "Partially paid",
    STATE_COMPLETED: "Completed",
}


def status_label(status):
    """The job status as users read it (Waiting to start, Submitting, Submitted, Failed...)."""
    return BATCH_STATUSES.get(status, status)


def factoring_state(counts):
    """The factoring state of one batch from its live loads' COUNTS.

    COUNTS maps billing status to a number, plus "paid": Financed loads with a
    payment applied. Returns a key of FACTORING_STATES.
    """
    total = sum(counts.get(s, 0) for s in (QUEUED, INVOICED, FINANCED, COMPLETED))
    completed, financed, paid = counts.get(COMPLETED, 0), counts.get(FINANCED, 0), counts.get("paid", 0)
    if total and completed == total:
        return STATE_COMPLETED
    if completed or paid:
        return STATE_PARTIALLY_PAID
    if total and financed == total:
        return STATE_FINANCED
    if financed:
        return STATE_PARTIALLY_FINANCED
    return STATE_SUBMITTED


def factoring_states(batches):
    """{batch id: state key} for the ready batches among BATCHES, in ONE grouped query."""
    ids = [b.id for b in batches if b.status == BATCH_READY]
    if not ids:
        return {}
    def count_if(condition):
        return fn.SUM(Case(None, [(condition, 1)], 0))

    statuses = (QUEUED, INVOICED, FINANCED, COMPLETED)
    query = (BatchLoad.select(BatchLoad.batch,
                              *[count_if(Load.billing_status == status) for status in statuses],
                              count_if((Load.billing_status == FINANCED) & (Load.paid_cents > 0)))
             .join(Load, on=(BatchLoad.load == Load.id))
             .where(BatchLoad.batch.in_(ids) & BatchLoad.live)
             .group_by(BatchLoad.batch))
    counts = {i: {} for i in ids}
    for batch_id, *numbers in query.tuples():
        counts[batch_id] = dict(zip(statuses + ("paid",), (n or 0 for n in numbers)))
    return {i: factoring_state(c) for i, c in counts.items()}


def batch_list(company, subsidiary=None):
    """Batches of the company (or one subsidiary) with subsidiary and submitter; no file bytes."""
    query = (Batch.select(Batch, Subsidiary.id, Subsidiary.name, User.id, User.name, User.email)
             .join(Subsidiary, on=(Batch.subsidiary == Subsidiary.id))
             .switch(Batch).join(User, JOIN.LEFT_OUTER, on=(Batch.created_by == User.id))
             .where(Batch.company == company))
    if subsidiary is not None:
        query = query.where(Batch.subsidiary == subsidiary)
    return query


def active_batches(company, subsidiary):
    """Batches of SUBSIDIARY still being generated, failed, or finished recently (newest first)."""
    recent = utcnow() - RECENT
    return list(batch_list(company, subsidiary).where(
        Batch.status.in_([BATCH_PENDING, BATCH_RUNNING, BATCH_FAILED])
        | ((Batch.status == BATCH_READY) & (Batch.completed_at >= recent)))
        .order_by(Batch.created_at.desc(), Batch.id.desc()).limit(10))


def batch_loads(batch):
    """The batch's loads (live first, then removed) with their customers and current statuses."""
    return (BatchLoad.select(BatchLoad, Load, Customer)
            .join(Load, on=(BatchLoad.load == Load.id))
            .join(Customer, on=(Load.customer == Customer.id))
            .where(BatchLoad.batch == batch.id))


def file_size(batch):
    """Size in bytes of the batch's stored file (without reading it), or None."""
    if not batch.file_id:
        return None
    return StoredFile.select(StoredFile.size).where(StoredFile.id == batch.file_id).scalar()


def batch_file_bytes(batch):
    """(file name, bytes, sha256) of a ready batch's stored file; BatchError when there is none."""
    if batch.status != BATCH_READY or not batch.file_id:
        raise BatchError(f"The file of batch #{batch.number} is not ready.")
    stored = StoredFile.get_or_none((StoredFile.id == batch.file_id) & (StoredFile.company == batch.company_id))
    if stored is None:
        raise BatchError(f"The file of batch #{batch.number} is missing.")
    return batch.file_name or stored.filename, bytes(stored.data), stored.sha256
