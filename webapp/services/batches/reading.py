"""Reading batches: their state in the clerk's words, the lists, a batch's loads, the stored file."""
import collections
import dataclasses

from peewee import JOIN
from peewee import SQL
from peewee import fn

from webapp.models import BATCH_CANCELLED
from webapp.models import BATCH_FAILED
from webapp.models import BATCH_PENDING
from webapp.models import BATCH_READY
from webapp.models import BATCH_RUNNING
from webapp.models import CHARGED_BACK
from webapp.models import COMPLETED
from webapp.models import FINANCED
from webapp.models import INVOICED
from webapp.models import QUEUED
from webapp.models import Batch
from webapp.models import BatchLoad
from webapp.models import BatchMoneyTally
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
from webapp.services.reports.summary import batch_tallies

# --- a batch's state, in the clerk's words ---------------------------------------
# One status line per batch, computed here and nowhere else: the batch page (its badge and
# state line), Reports > Factoring, Factoring Upload's box and the other helpers' screens
# (notices, dashboard) all read BatchState.

STATE_WAITING = "waiting"
STATE_GENERATING = "generating"
STATE_FAILED = "failed"
STATE_CANCELLED = "cancelled"
STATE_READY = "ready"
STATE_SENT = "sent"
STATE_PARTLY_FUNDED = "partly_funded"
STATE_FUNDED = "funded"
STATE_PARTLY_PAID = "partly_paid"
STATE_PAID = "paid"
STATE_CHARGED_BACK = "charged_back"
STATE_REJECTED = "rejected"
# key -> the badge's words, in the order a batch goes through them.
STATES = {
    STATE_WAITING: "Waiting to start",
    STATE_GENERATING: "Generating",
    STATE_FAILED: "Failed",
    STATE_CANCELLED: "Cancelled",
    STATE_READY: "Ready to send",
    STATE_SENT: "Sent",
    STATE_PARTLY_FUNDED: "Partly funded",
    STATE_FUNDED: "Funded",
    STATE_PARTLY_PAID: "Partly paid",
    STATE_PAID: "Paid",
    STATE_CHARGED_BACK: "Charged back",
    STATE_REJECTED: "Rejected",
}
# The states that wait on the clerk (Factoring Upload lists them).
NEEDS_ACTION = (STATE_WAITING, STATE_GENERATING, STATE_FAILED, STATE_READY)
# How each state reads: busy, bad, action (the clerk's turn), wait (the factor's), good, neutral.
TONES = {
    STATE_WAITING: "busy", STATE_GENERATING: "busy", STATE_FAILED: "bad", STATE_CANCELLED: "neutral",
    STATE_READY: "action", STATE_SENT: "wait", STATE_PARTLY_FUNDED: "wait", STATE_FUNDED: "good",
    STATE_PARTLY_PAID: "good", STATE_PAID: "done", STATE_CHARGED_BACK: "bad", STATE_REJECTED: "bad",
}


@dataclasses.dataclass(frozen=True)
class Progress:
    """How far the job is: DONE of TOTAL invoices drawn, and the seconds left (None: no estimate yet)."""

    done: int
    total: int
    seconds_left: int = None

    @property
    def percent(self):
        return 100 if not self.total else min(100, round(100 * self.done / self.total))

    @property
    def text(self):
        """'Generating invoice 12 of 40', then 'Building the batch file' once every invoice is drawn."""
        if self.done < self.total:
            return f"Generating invoice {self.done + 1} of {self.total}"
        return "Building the schedule and the batch file"

    @property
    def time_left(self):
        """'about 20 seconds left', or '' when there is no estimate yet."""
        return time_left_text(self.seconds_left)


def time_left_text(seconds):
    """A time left as a person says it: 'a few seconds left', 'about 40 seconds left', 'about 3
    minutes left'; '' for None."""
    if seconds is None:
        return ""
    if seconds < 10:
        return "a few seconds left"
    if seconds < 60:
        return f"about {int(5 * round(seconds / 5))} seconds left"
    if seconds < 90 * 60:
        minutes = max(1, round(seconds / 60))
        return f"about {minutes} minute{'s' if minutes != 1 else ''} left"
    hours = round(seconds / 3600)
    return f"about {hours} hours left"


def estimate_seconds(done, total, started_at, now):
    """Seconds left at the pace so far (the invoices drawn since STARTED_AT); None before the first."""
    if not done or started_at is None or done >= total:
        return None
    elapsed = max(0.0, (now - started_at).total_seconds())
    return int(round(elapsed / done * (total - done)))


@dataclasses.dataclass(frozen=True)
class BatchState:
    """A batch's one status line. KEY is one of STATES; BADGE its words; LINE the status line
    ('Generating invoice 12 of 40', 'Failed — the reason', 'Partly funded — 5 of 6 funded');
    HINT what happens next or what to do; PROGRESS while generating; DETAIL what the line adds to
    the badge ('5 of 6 funded, 1 held'), for lists that show the badge beside it."""

    key: str
    badge: str
    line: str
    hint: str = ""
    progress: Progress = None
    detail: str = ""

    @property
    def tone(self):
        return TONES[self.key]

    @property
    def needs_action(self):
        return self.key in NEEDS_ACTION

    @property
    def live(self):
        """The job has not ended: the page keeps asking."""
        return self.key in (STATE_WAITING, STATE_GENERATING)


def _factor_name(batch):
    factor = batch.factor if batch.factor_id else None
    return factor.name if factor else "the factor"


def _of(n, total, word):
    return f"{n} of {total} {word}"


def batch_state(batch, counts=None, now=None):
    """The state of BATCH. COUNTS (for a ready batch) maps the billing statuses of its live loads
    to numbers, plus "paid" (Financed with a payment) and "held"; see batch_states()."""
    status = batch.status
    if status == BATCH_PENDING:
        return BatchState(STATE_WAITING, STATES[STATE_WAITING], "Waiting to start",
                          "Waiting for the worker to start. You can leave this page: the batch file "
                          "is generated on the server.", Progress(0, batch.progress_total))
    if status == BATCH_RUNNING:
        now = now or utcnow()
        progress = Progress(batch.progress_done, batch.progress_total,
                            estimate_seconds(batch.progress_done, batch.progress_total, batch.started_at, now))
        return BatchState(STATE_GENERATING, STATES[STATE_GENERATING], progress.text,
                          "You can leave this page: the batch file is generated on the server.", progress)
    if status == BATCH_FAILED:
        reason = (batch.error or "the batch file could not be generated.").strip()
        return BatchState(STATE_FAILED, STATES[STATE_FAILED], f"Failed — {reason}",
                          "Its loads are still Queued and reserved to this batch: Retry it, or Cancel "
                          "it to release them.", detail=reason)
    if status == BATCH_CANCELLED:
        return BatchState(STATE_CANCELLED, STATES[STATE_CANCELLED], "Cancelled",
                          "Its loads were released back to Factoring Upload.")
    counts = counts or {}
    total = sum(counts.get(s, 0) for s in (QUEUED, INVOICED, FINANCED, COMPLETED, CHARGED_BACK))
    invoiced, financed, completed = counts.get(INVOICED, 0), counts.get(FINANCED, 0), counts.get(COMPLETED, 0)
    charged, paid, held = counts.get(CHARGED_BACK, 0), counts.get("paid", 0), counts.get("held", 0)
    factor = _factor_name(batch)

    def state(key, detail, hint):
        badge = STATES[key]
        return BatchState(key, badge, f"{badge} — {detail}" if detail else badge, hint, detail=detail)

    if not total:
        return state(STATE_REJECTED, "every invoice left the batch",
                     "The rejected loads are back to Queued with the factor's reason.")
    if charged:
        return state(STATE_CHARGED_BACK, _of(charged, total, "invoices" if total != 1 else "invoice"),
                     f"{factor} took the advance back: collect from the customer directly.")
    if completed == total:
        return state(STATE_PAID, "", "Every invoice of the batch is paid.")
    if completed or paid:
        settled = completed + paid
        return state(STATE_PARTLY_PAID, _of(settled, total, "paid"),
                     "Upload the next Payment Report as customers pay.")
    if financed == total:
        return state(STATE_FUNDED, "", f"Upload a Payment Report when {factor} reports payments.")
    if financed:
        rest = f", {held} held" if held else ""
        return state(STATE_PARTLY_FUNDED, _of(financed, total, "funded") + rest,
                     f"Upload the next Purchase Report when {factor} settles the rest.")
    if invoiced and (batch.sent_at or held):
        detail = f"to {factor}" + (f", {held} held" if held else "")
        return BatchState(STATE_SENT, STATES[STATE_SENT], f"Sent {detail}",
                          f"Upload the Purchase Report when {factor} funds it.", detail=detail)
    return state(STATE_READY, "",
                 f"Download the batch file and send it to {factor}, then mark it as sent.")


def _load_counts(batches):
    """{batch id: {billing status: n, "paid": n, "held": n}} of the live loads of BATCHES, read
    from the running counts (batch_money_tally: a row per batch and status, never the loads)."""
    ids = [b.id for b in batches]
    if not ids:
        return {}
    counts = {i: {} for i in ids}
    query = (BatchMoneyTally.select(BatchMoneyTally.batch_key, BatchMoneyTally.billing_status, BatchMoneyTally.n,
                                    BatchMoneyTally.paid_n, BatchMoneyTally.held_n)
             .where(BatchMoneyTally.company.in_(sorted({b.company_id for b in batches}))
                    & BatchMoneyTally.batch_key.in_(ids)))
    for row in query:
        _count(counts[row.batch_key], row)
    return counts


def _count(counts, row):
    """Add one batch_money_tally ROW (a status of a batch) to COUNTS, as batch_state reads them."""
    counts[row.billing_status] = int(row.n)
    if row.billing_status == FINANCED:
        counts["paid"] = int(row.paid_n)
    elif row.billing_status == INVOICED:
        counts["held"] = int(row.held_n)
    return counts


def batch_states(batches, now=None):
    """{batch id: BatchState} for BATCHES (their factor joined), in at most ONE query of the
    running counts."""
    now = now or utcnow()
    counts = _load_counts([b for b in batches if b.status == BATCH_READY])
    return {b.id: batch_state(b, counts.get(b.id), now) for b in batches}


def status_label(status):
    """The words of a job status alone (Waiting to start, Generating, Failed, Cancelled...)."""
    return {BATCH_PENDING: STATES[STATE_WAITING], BATCH_RUNNING: STATES[STATE_GENERATING],
            BATCH_READY: "Ready", BATCH_FAILED: STATES[STATE_FAILED],
            BATCH_CANCELLED: STATES[STATE_CANCELLED]}.get(status, status)


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


# Factoring Upload's box shows this many batches needing action, then a link to all of them.
ACTION_SHOWN = 8


@dataclasses.dataclass
class ActionBox:
    """Factoring Upload's box: the subsidiary's batches that need the clerk (generating, failed,
    ready to send), newest first, each with its state; MORE of them not shown."""

    items: list
    states: dict
    more: int = 0


def _needs_action():
    """models.NEEDS_ACTION_WHERE on Batch, its values written in the SQL (not bound): the database
    reads the partial index batch_needs_action only when it sees that condition in the query."""
    waiting = SQL("(" + ", ".join(f"'{s}'" for s in (BATCH_PENDING, BATCH_RUNNING, BATCH_FAILED)) + ")")
    return Batch.status.in_(waiting) | ((Batch.status == SQL(f"'{BATCH_READY}'")) & Batch.sent_at.is_null())


def active_batches(company, subsidiary, shown=ACTION_SHOWN):
    """The batches of SUBSIDIARY that need action (NEEDS_ACTION), newest first; a bounded read."""
    query = (batch_list(company, subsidiary).where(_needs_action())
             .order_by(Batch.created_at.desc(), Batch.id.desc()))
    candidates = list(query.limit(shown * 4))
    states = batch_states(candidates)
    waiting = [b for b in candidates if states[b.id].needs_action]
    return ActionBox(waiting[:shown], {b.id: states[b.id] for b in waiting[:shown]},
                     max(0, len(waiting) - shown))


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
    # Counted from batch's (company, subsidiary, number) index alone: every batch has its
    # subsidiary, and the submitter and factor are outer joins, so the joins add no row.
    counted = Batch.select(Batch.id).where(Batch.company == company)
    if subsidiary is not None:
        counted = counted.where(Batch.subsidiary == subsidiary)
    page = Page.of_query(query, PageRequest.from_args(args), total=counted.count())
    return BatchIndex(page, sort.key, sort.desc, subsidiary, batch_states(page.items),
                      subsidiaries.for_company(company))


@dataclasses.dataclass
class BatchPage:
    """One batch: its state, its loads (live first), file size and its reports. The batch page
    draws every region from this one read model, whole or out of band (reports/views.py)."""

    batch: Batch
    page: Page
    sort: str
    desc: bool
    state: BatchState
    file_size: int
    reports: object


def with_people(batch):
    """BATCH read again with its subsidiary, submitter and factor joined (what its pages print)."""
    sender = User.alias()
    return (Batch.select(Batch, Subsidiary, User, Factor, sender)
            .join(Subsidiary, on=(Batch.subsidiary == Subsidiary.id))
            .switch(Batch).join(User, JOIN.LEFT_OUTER, on=(Batch.created_by == User.id))
            .switch(Batch).join(Factor, JOIN.LEFT_OUTER, on=(Batch.factor == Factor.id))
            .switch(Batch).join(sender, JOIN.LEFT_OUTER, on=(Batch.sent_by == sender.id), attr="sent_by")
            .where(Batch.id == batch.id).get())


# What a row of the batch page's loads shows: plain rows (BatchLoadRow), not model objects.
BATCH_LOAD_COLUMNS = {
    "id": BatchLoad.id, "live": BatchLoad.live, "invoice_number": BatchLoad.invoice_number,
    "amount_cents": BatchLoad.amount_cents, "removed_reason": BatchLoad.removed_reason,
    "load_id": Load.id, "load_number": Load.load_number, "load_invoice_number": Load.invoice_number,
    "billing_status": Load.billing_status, "factor_hold": Load.factor_hold,
    "status_reason": Load.status_reason, "customer_name": Customer.name, "customer_mc": Customer.mc_number,
}
BatchLoadRow = collections.namedtuple("BatchLoadRow", BATCH_LOAD_COLUMNS)


def _load_rows(batch, sort, request):
    """A page of BATCH's loads (live first) in SORT: BatchLoadRows.

    The batch's thousands of rows are sorted as (id, sort key) pairs alone, joined only to the
    tables the sort reads, then the page's rows are read whole. The live rows and the removed
    ones are paged apart (the live first): a live row's load is the batch's (Load.batch), and
    saying so lets PostgreSQL read the batch's loads by their batch index, where it would
    otherwise scan every load to join a few thousand. The counts read batch_load's index alone."""
    order = [*sort.order(LOAD_SORTS), BatchLoad.id.desc()]

    def keys(live):
        query = BatchLoad.select(BatchLoad.id)
        if sort.key in ("load", "status", "customer"):
            on = BatchLoad.load == Load.id
            if live:
                on &= Load.batch == BatchLoad.batch
            query = query.join(Load, on=on)
        if sort.key == "customer":
            query = query.join(Customer, on=(Load.customer == Customer.id))
        return query.where((BatchLoad.batch == batch.id) & (BatchLoad.live == live)).order_by(*order)

    counts = dict(BatchLoad.select(BatchLoad.live, fn.COUNT(BatchLoad.id)).where(BatchLoad.batch == batch.id)
                  .group_by(BatchLoad.live).tuples())
    live_rows = counts.get(True, 0)
    total = sum(counts.values())

    def fetch(number, limit):
        start = (number - 1) * request.per_page
        ids = []
        if start < live_rows:
            ids += [i for (i,) in keys(True).offset(start).limit(limit).tuples()]
        if len(ids) < limit and total > live_rows:
            ids += [i for (i,) in keys(False).offset(max(0, start - live_rows)).limit(limit - len(ids)).tuples()]
        if not ids:
            return []
        rows = (BatchLoad.select(*BATCH_LOAD_COLUMNS.values())
                .join(Load, on=(BatchLoad.load == Load.id))
                .join(Customer, on=(Load.customer == Customer.id))
                .where(BatchLoad.id.in_(ids))
                .order_by(BatchLoad.live.desc(), *order).tuples())
        return [BatchLoadRow._make(row) for row in rows]

    return Page(total, request, fetch)


def batch_page(batch, args):
    """Everything the batch page shows, for the query string ARGS (sort and page of its loads)."""
    batch = with_people(batch)
    tallied = batch_tallies(batch)
    counts = {}
    for row in tallied.values():
        _count(counts, row)
    sort = Sort.from_args(args, LOAD_SORTS, "load")
    page = _load_rows(batch, sort, PageRequest.from_args(args, default_per_page=100))
    return BatchPage(batch, page, sort.key, sort.desc, batch_state(batch, counts), file_size(batch),
                     batch_reports(batch, tallied))


def batch_row(company, batch_id):
    """One row of the batch list (the batch with its subsidiary and submitter, and its state), or None."""
    batch = batch_list(company).where(Batch.id == batch_id).first()
    if batch is None:
        return None
    return batch, batch_states([batch])
