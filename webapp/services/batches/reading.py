"""Reading batches: their factoring state, the lists, a batch's loads, the stored file."""


import dataclasses
import datetime

from peewee import JOIN
from peewee import Case
from peewee import fn

from webapp.models import BATCH_FAILED
from webapp.models import BATCH_PENDING
from webapp.models import BATCH_READY
from webapp.models import BATCH_RUNNING
from webapp.models import BATCH_STATUSES
from webapp.models import COMPLETED
from webapp.models import FINANCED
from webapp.models import INVOICED
from webapp.models import QUEUED
from webapp.models import Batch
from webapp.models import BatchLoad
from webapp.models import Customer
from webapp.models import Factor
from webapp.models import Load
from webapp.models import StoredFile
from webapp.models import Subsidiary
from webapp.models import User
from webapp.models import utcnow
from webapp.services import subsidiaries
from webapp.services.batches.errors import BatchError
from webapp.services.paging import Page
from webapp.services.paging import PageRequest
from webapp.services.paging import Sort
from webapp.services.reports.summary import batch_reports

# Finished batches still shown on Factoring Upload for this long.
RECENT = datetime.timedelta(hours=12)


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
    """Batches of the company (or one subsidiary) with subsidiary, submitter and factor; no file bytes."""
    query = (Batch.select(Batch, Subsidiary.id, Subsidiary.name, User.id, User.name, User.email,
                          Factor.id, Factor.name)
             .join(Subsidiary, on=(Batch.subsidiary == Subsidiary.id))
             .switch(Batch).join(User, JOIN.LEFT_OUTER, on=(Batch.created_by == User.id))
             .switch(Batch).join(Factor, JOIN.LEFT_OUTER, on=(Batch.factor == Factor.id))
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


# --- the pages of Reports > Factoring ------------------------------------------------

BATCH_SORTS = {
    "number": Batch.number,
    "date": Batch.created_at,
    "subsidiary": (Subsidiary.name, Batch.number),
    "factor": (Factor.name, Batch.number),
    "count": Batch.load_count,
    "total": Batch.total_cents,
}
LOAD_SORTS = {
    "load": Load.load_number,
    "invoice": BatchLoad.invoice_number,
    "customer": (Customer.name, Load.load_number),
    "amount": BatchLoad.amount_cents,
    "status": (Load.billing_status, Load.load_number),
}


@dataclasses.dataclass
class BatchIndex:
    """Reports > Factoring: a page of batches, newest first unless sorted, with their states."""

    page: Page
    sort: str
    desc: bool
    subsidiary: object
    states: dict
    subsidiaries: list


def batch_index(company, subsidiary, args):
    """The batches of COMPANY (or of SUBSIDIARY) as the query string ARGS asks for them."""
    sort = Sort.from_args(args, BATCH_SORTS, "number", default_desc=True)
    query = batch_list(company, subsidiary).order_by(*sort.order(BATCH_SORTS), Batch.id.desc())
    page = Page.of_query(query, PageRequest.from_args(args))
    return BatchIndex(page, sort.key, sort.desc, subsidiary, factoring_states(page.items),
                      subsidiaries.for_company(company))


@dataclasses.dataclass
class BatchPage:
    """One batch: its loads (live first), factoring state, file size and its reports."""

    batch: Batch
    page: Page
    sort: str
    desc: bool
    state: str
    file_size: int
    reports: object


def with_people(batch):
    """BATCH read again with its subsidiary, submitter and factor joined (what its pages print)."""
    return (Batch.select(Batch, Subsidiary, User, Factor)
            .join(Subsidiary, on=(Batch.subsidiary == Subsidiary.id))
            .switch(Batch).join(User, JOIN.LEFT_OUTER, on=(Batch.created_by == User.id))
            .switch(Batch).join(Factor, JOIN.LEFT_OUTER, on=(Batch.factor == Factor.id))
            .where(Batch.id == batch.id).get())


def batch_page(batch, args):
    """Everything the batch page shows, for the query string ARGS (sort and page of its loads)."""
    batch = with_people(batch)
    sort = Sort.from_args(args, LOAD_SORTS, "load")
    query = batch_loads(batch).order_by(BatchLoad.live.desc(), *sort.order(LOAD_SORTS), BatchLoad.id.desc())
    page = Page.of_query(query, PageRequest.from_args(args, default_per_page=100))
    return BatchPage(batch, page, sort.key, sort.desc, factoring_states([batch]).get(batch.id),
                     file_size(batch), batch_reports(batch))


def batch_row(company, batch_id):
    """One row of the batch list (the batch with its subsidiary and submitter, and its state), or None."""
    batch = batch_list(company).where(Batch.id == batch_id).first()
    if batch is None:
        return None
    return batch, factoring_states([batch])
