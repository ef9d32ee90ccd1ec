"""Submit Batch: a batch created at once, in one transaction, with its loads reserved
(BatchLoad.live and Load.batch; the partial unique index keeps a load in at most one live
batch). Retry, Cancel and Mark as sent. The caller starts the job after the commit (the id is
returned)."""

from peewee import IntegrityError
from peewee import fn

from webapp.database import is_postgres
from webapp.models import BATCH_CANCELLED
from webapp.models import BATCH_FAILED
from webapp.models import BATCH_PENDING
from webapp.models import BATCH_READY
from webapp.models import BILLING_STATUSES
from webapp.models import FACTORING
from webapp.models import QUEUED
from webapp.models import Batch
from webapp.models import BatchLoad
from webapp.models import Company
from webapp.models import Customer
from webapp.models import Load
from webapp.models import db
from webapp.models import utcnow
from webapp.services import audit
from webapp.services.batches.eligibility import eligible_loads
from webapp.services.batches.eligibility import load_problems
from webapp.services.batches.errors import BatchConflict
from webapp.services.batches.errors import BatchError
from webapp.services.batches.errors import names
from webapp.services.batches.formats import assignment_on
from webapp.services.batches.reading import status_label
from webapp.services.sql import bulk_insert
from webapp.services.sql import chunks
from webapp.services.sql import joined_instances
from webapp.services.sql import write_transaction
from webapp.services.subsidiaries import notice_of_assignment
from webapp.services.validation import db_id

# --- submitting --------------------------------------------------------------

def _lock_company(company):
    """Serialise batch creation per company (PostgreSQL; SQLite's IMMEDIATE lock does it)."""
    if is_postgres():
        Company.select(Company.id).where(Company.id == company.id).for_update().execute()


def _holders(load_ids, exclude_batch=None):
    """{batch: [load numbers]} of the live batches holding any of LOAD_IDS."""
    held = {}
    for chunk in chunks(load_ids):
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
        parts.append(f"{names(loads)} {verb} already in {label}")
    message = "; ".join(parts) + ". Nothing was submitted; refresh the list and choose again."
    return BatchConflict(message[0].upper() + message[1:], numbers, first)


# A BatchLoad row's columns, as create_batch writes them.
_MEMBER_FIELDS = (BatchLoad.batch, BatchLoad.load, BatchLoad.live, BatchLoad.amount_cents, BatchLoad.invoice_number,
                  BatchLoad.removed_reason)


def create_batch(company, subsidiary, load_ids, actor):
    """Create a batch of LOAD_IDS for SUBSIDIARY in one transaction; the caller starts its job.

    Every id must be a Queued factoring load of this company and subsidiary, in no
    live batch and complete; the subsidiary must have an active factor assigned (the batch
    keeps it) and a Notice of Assignment.
    Anything wrong raises BatchError (BatchConflict when another batch holds some
    of the loads) and nothing is written.
    """
    try:
        ids = sorted({db_id(i) for i in load_ids})
        if None in ids:
            raise ValueError(load_ids)
    except (TypeError, ValueError):
        raise BatchError("The selection could not be read. Refresh the page and try again.")
    if not ids:
        raise BatchError("Select at least one load to submit.")
    if subsidiary is None or subsidiary.company_id != company.id:
        raise BatchError("Choose one of your subsidiaries.")

    with write_transaction():
        _lock_company(company)
        assignment = assignment_on(subsidiary)
        if assignment is None:
            raise BatchError(f"{subsidiary.name} has no factor assigned. Assign one in Management > "
                             "Company Profile (the subsidiary's Factor), then submit the batch.")
        factor = assignment.factor
        if not factor.active:
            raise BatchError(f"{subsidiary.name}'s factor, {factor.name}, is inactive. Make it active in "
                             "Management > Factors, or assign another factor in Management > Company "
                             "Profile, then submit the batch.")
        if not notice_of_assignment(subsidiary):
            raise BatchError(f"{subsidiary.name} has no Notice of Assignment. Add it in Management > "
                             "Company Profile, Document Configuration, then submit the batch.")
        loads = []
        for chunk in chunks(ids):  # as plain rows: peewee's making of the instances cost several times the query
            loads += joined_instances(Load.select(Load, Customer).join(Customer, on=(Load.customer == Customer.id))
                                      .where((Load.company == company) & (Load.subsidiary == subsidiary)
                                             & Load.id.in_(chunk)), Load, Customer, "customer")
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
            raise BatchError("Only Queued factoring loads can be submitted: " + names(wrong, 5)
                             + ". Nothing was submitted.")
        problems = load_problems(loads, factor)
        bad = [f"{load.load_number}: {' '.join(problems[load.id])}" for load in loads if problems[load.id]]
        if bad:
            raise BatchError("Some loads cannot go to the factor as they stand — "
                             + "; ".join(b.rstrip(".") for b in bad[:5])
                             + (f" (and {len(bad) - 5} more)" if len(bad) > 5 else "")
                             + ". Nothing was submitted.")

        total = sum(load.total_cents for load in loads)
        number = (Batch.select(fn.MAX(Batch.number)).where(Batch.company == company).scalar() or 0) + 1
        batch = Batch.create(
            company=company, subsidiary=subsidiary, factor=factor, number=number, status=BATCH_PENDING,
            progress_total=len(loads), load_count=len(loads), total_cents=total, created_by=actor)
        now = utcnow()
        try:
            with db.atomic():
                bulk_insert(BatchLoad, _MEMBER_FIELDS, [(batch.id, load.id, True, load.total_cents,
                                                         load.invoice_number or "", "") for load in loads])
                reserved = 0
                for chunk in chunks(ids):
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
        audit.record(audit.BATCH_SUBMIT, "batch", batch.id, actor=actor, company=company,
                     after={"number": number, "subsidiary": subsidiary.name, "factor": factor.name,
                            "loads": len(loads), "total_cents": total})
    return batch


def submit(company, subsidiary, actor, load_ids=(), load_filter=None, select_all=False):
    """Submit Batch: the ticked LOAD_IDS, or (SELECT_ALL) every eligible load matching LOAD_FILTER."""
    if select_all:
        load_ids = [i for (i,) in eligible_loads(company, subsidiary, load_filter).select(Load.id).tuples()]
        if not load_ids:
            raise BatchError("No loads match the filter.")
    return create_batch(company, subsidiary, load_ids, actor)


def retry_batch(batch, actor):
    """Make a failed batch wait for its job again (its loads are still reserved to it); the caller
    starts the job after this returns."""
    with write_transaction():
        changed = (Batch.update(status=BATCH_PENDING, error="", attempts=0, progress_done=0,
                                heartbeat_at=utcnow())
                   .where((Batch.id == batch.id) & (Batch.status == BATCH_FAILED)).execute())
        if not changed:
            raise BatchError(f"Batch #{batch.number} is not failed any more; nothing to retry.")
        audit.record(audit.BATCH_RETRY, "batch", batch.id, actor=actor, company=batch.company_id,
                     before=BATCH_FAILED, after=BATCH_PENDING)


def cancel_batch(batch, actor):
    """Cancel a failed or waiting batch and release its loads (they stay Queued, free to batch again)."""
    with write_transaction():
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
        audit.record(audit.BATCH_CANCEL, "batch", batch.id, actor=actor, company=batch.company_id,
                     before=batch.status, after=BATCH_CANCELLED, details={"released_loads": released})
    return released



def mark_sent(batch, actor, how="by hand"):
    """Record that the batch file went to the factor (HOW: "by hand" for Mark as sent, "email" for
    Email to <factor>): the batch reads "Sent" and leaves Factoring Upload's box. BatchError when
    its file is not ready or it was marked already."""
    now = utcnow()
    with write_transaction():
        changed = (Batch.update(sent_at=now, sent_by=actor)
                   .where((Batch.id == batch.id) & (Batch.status == BATCH_READY) & Batch.sent_at.is_null())
                   .execute())
        if not changed:
            current = Batch.get_by_id(batch.id)
            if current.status != BATCH_READY:
                raise BatchError(f"Batch #{batch.number} has no file to send yet ({status_label(current.status)}).")
            raise BatchError(f"Batch #{batch.number} was already marked as sent.")
        audit.record(audit.BATCH_SENT, "batch", batch.id, actor=actor, company=batch.company_id,
                     details={"how": how})
