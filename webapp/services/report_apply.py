"""Purchase and Payment Reports against the database: preview, then apply once.

preview() stores the file and says what every row will do, without changing any
load. apply() parses the stored bytes again, validates them again against the
database as it is now, and writes everything in one transaction with bulk SQL:
conditional UPDATEs (the load must still be in the status the preview saw), one
audit row per status change pointing to the upload and its row. A second apply
of the same file for the same batch is impossible: a partial unique index on
report_upload(batch, kind, sha256) WHERE status = 'applied' guards it.
"""
import collections
import dataclasses
import datetime
import json

from peewee import JOIN
from peewee import Case
from peewee import IntegrityError
from peewee import fn

from webapp import database
from webapp.models import BATCH_CANCELLED
from webapp.models import BATCH_FAILED
from webapp.models import BATCH_READY
from webapp.models import COMPLETED
from webapp.models import FINANCED
from webapp.models import INVOICED
from webapp.models import QUEUED
from webapp.models import REPORT_KINDS
from webapp.models import REPORT_PURCHASE
from webapp.models import UPLOAD_APPLIED
from webapp.models import UPLOAD_PREVIEW
from webapp.models import AuditLog
from webapp.models import Batch
from webapp.models import BatchLoad
from webapp.models import Load
from webapp.models import Payment
from webapp.models import ReportUpload
from webapp.models import StoredFile
from webapp.models import Subsidiary
from webapp.models import User
from webapp.models import db
from webapp.models import utcnow
from webapp.filters import money
from webapp.services.report_parsing import PURCHASED
from webapp.services.report_parsing import REJECTED
from webapp.services.report_parsing import RowError
from webapp.services.report_parsing import parse_report

CHUNK = 500  # rows per bulk statement: well under SQLite's bound-parameter limit
PREVIEW_KEEP = datetime.timedelta(days=2)  # unconfirmed previews older than this are pruned

ACTIONS = {
    "finance": "Finance",
    "reject": "Reject",
    "hold": "Hold",
    "skip": "No change",
    "complete": "Complete",
    "partial": "Partial payment",
    "additional": "Additional payment",
    "duplicate": "Skip: duplicate",
    "error": "Error",
}


class ReportRefused(Exception):
    """The upload or its confirmation is refused; MESSAGE says why for a person.

    PREVIEW, when set, is the fresh preview that shows the rows at fault.
    """

    def __init__(self, message, preview=None, *, status=422):
        super().__init__(message)
        self.message = message
        self.preview = preview
        self.status = status


@dataclasses.dataclass(slots=True)
class Outcome:
    """What one row of the file will do (or did)."""

    row: int
    data: object  # the PurchaseRow or PaymentRow
    action: str = "error"
    load_id: int | None = None
    load_number: str = ""
    invoice_number: str = ""
    errors: list = dataclasses.field(default_factory=list)
    notes: list = dataclasses.field(default_factory=list)
    warned: bool = False  # a note that deserves a look (short pay, duplicate, amount differs...)

    @property
    def label(self):
        return ACTIONS.get(self.action, self.action)

    @property
    def ident(self):
        return self.invoice_number or self.load_number or self.data.ident


@dataclasses.dataclass
class Preview:
    """A report checked against the batch: every row's outcome, errors, warnings, totals."""

    batch: Batch
    kind: str
    parsed: object
    upload: ReportUpload | None = None
    outcomes: list = dataclasses.field(default_factory=list)
    errors: list = dataclasses.field(default_factory=list)
    warnings: list = dataclasses.field(default_factory=list)
    missing: list = dataclasses.field(default_factory=list)
    totals: dict = dataclasses.field(default_factory=dict)
    counts: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    # What apply() writes, filled by the evaluation.
    plan: dict = dataclasses.field(default_factory=dict)

    @property
    def ok(self):
        return not self.errors

    @property
    def file_errors(self):
        return [e for e in self.errors if e.row is None]

    @property
    def row_errors(self):
        return [e for e in self.errors if e.row is not None]

    @property
    def kind_label(self):
        return REPORT_KINDS[self.kind]

    @property
    def row_count(self):
        return len(self.parsed.rows)

    def shown(self, limit=1000):
        """The rows to show (every row, or, for a big file, the problem rows first up to LIMIT)
        and how many are left out."""
        if len(self.outcomes) <= limit:
            return self.outcomes, 0
        problems = [o for o in self.outcomes if o.errors or o.notes][:limit]
        picked = {o.row for o in problems}
        rest = [o for o in self.outcomes if o.row not in picked][:limit - len(problems)]
        rows = sorted(problems + rest, key=lambda o: o.row)
        return rows, len(self.outcomes) - len(rows)

    def summary(self):
        """JSON-ready counts, totals and warnings, kept on the upload."""
        return {
            "counts": dict(self.counts),
            "totals": self.totals,
            "warning_count": len(self.warnings),
            "warnings": [{"row": w.row, "column": w.column, "message": w.message}
                         for w in self.warnings[:500]],
        }


# --- entry points -----------------------------------------------------------

def preview(batch, kind, data, actor, filename=""):
    """Store the file and return what it would do. Loads are not touched.

    A file that cannot be read at all (PDF, empty, the other report, already
    applied) is refused with ReportRefused and nothing is stored.
    """
    if kind not in REPORT_KINDS:
        raise ValueError(f"unknown report kind {kind!r}")
    refusal = batch_refusal(batch)
    if refusal:
        raise ReportRefused(refusal, status=409)
    parsed = parse_report(kind, data)
    if parsed.file_error and not parsed.rows:
        raise ReportRefused(parsed.file_error.message)
    applied = _applied_twin(batch.id, kind, parsed.sha256)
    if applied is not None:
        raise ReportRefused(already_applied_message(applied), status=409)
    result = evaluate(batch, kind, parsed)
    with db.atomic():
        _prune_previews(batch.company_id)
        stored = StoredFile.create(
            company=batch.company_id, filename=_clean_name(filename, kind), content_type="text/csv",
            size=len(data), sha256=parsed.sha256, data=data)
        result.upload = ReportUpload.create(
            company=batch.company_id, batch=batch.id, kind=kind, status=UPLOAD_PREVIEW, file=stored,
            filename=stored.filename, sha256=parsed.sha256, uploaded_by=actor,
            row_count=len(parsed.rows), summary=json.dumps(result.summary(), default=str))
    return result


def review(upload):
    """The preview of a stored, unconfirmed upload, checked again against the database now."""
    result = evaluate(upload.batch, upload.kind, parse_report(upload.kind, stored_bytes(upload)))
    result.upload = upload
    return result


def apply(upload, actor):
    """Apply a previewed upload: everything in one transaction, or nothing.

    Returns the Preview it applied. Raises ReportRefused when the file has errors
    now, was already applied, or the batch changed underneath.
    """
    batch = upload.batch
    parsed = parse_report(upload.kind, stored_bytes(upload))
    try:
        with _write_transaction():
            # Claim the upload first: a second confirmation waits here, then finds it applied.
            claimed = (ReportUpload.update(status=UPLOAD_APPLIED, applied_at=utcnow())
                       .where((ReportUpload.id == upload.id) & (ReportUpload.status == UPLOAD_PREVIEW))
                       .execute())
            if claimed != 1:
                raise _AlreadyApplied()
            refusal = batch_refusal(Batch.get_by_id(batch.id))
            if refusal:
                raise ReportRefused(refusal, status=409)
            result = evaluate(batch, upload.kind, parsed)
            result.upload = upload
            if not result.ok:
                raise ReportRefused("The file has errors against the batch as it is now; nothing was "
                                    "applied. Correct the rows below and upload the file again.", result)
            if upload.kind == REPORT_PURCHASE:
                _write_purchase(result, upload, actor)
            else:
                _write_payment(result, upload, actor)
            (ReportUpload.update(summary=json.dumps(result.summary(), default=str),
                                 row_count=len(parsed.rows))
             .where(ReportUpload.id == upload.id).execute())
    except _AlreadyApplied:
        applied = _applied_twin(batch.id, upload.kind, upload.sha256)
        raise ReportRefused(already_applied_message(applied) if applied else
                            "This upload is no longer waiting for confirmation.", status=409)
    except (IntegrityError, _Conflict):
        applied = _applied_twin(batch.id, upload.kind, upload.sha256)
        if applied is not None:
            raise ReportRefused(already_applied_message(applied), status=409)
        raise ReportRefused("Someone else changed this batch while you were confirming; nothing was "
                            "applied. Upload the file again to see what it would do now.", status=409)
    upload.status = UPLOAD_APPLIED
    return result


def stored_bytes(upload):
    """The uploaded file's bytes (PostgreSQL hands back a memoryview)."""
    data = StoredFile.select(StoredFile.data).where(StoredFile.id == upload.file_id).scalar()
    return bytes(data) if data is not None else b""


def batch_refusal(batch):
    """Why reports cannot be uploaded on BATCH now, or None."""
    if batch.status == BATCH_READY:
        return None
    if batch.status == BATCH_CANCELLED:
        return f"Batch {batch.number} was cancelled; reports cannot be uploaded on it."
    if batch.status == BATCH_FAILED:
        return f"Batch {batch.number} failed to submit; retry it before uploading reports."
    return (f"Batch {batch.number} is still being submitted; upload reports once it shows "
            "Submitted.")


def already_applied_message(upload):
    """'This file was already applied on DATE by USER.'"""
    who = upload.uploaded_by.display_name if upload.uploaded_by_id else "a user no longer here"
    when = upload.applied_at.strftime("%Y-%m-%d %H:%M UTC") if upload.applied_at else "an earlier date"
    return f"This file was already applied on {when} by {who} ({upload.filename or 'same content'})."


class _AlreadyApplied(Exception):
    pass


class _Conflict(Exception):
    pass


def _write_transaction():
    """A write transaction; on SQLite take the write lock at once so two writers queue."""
    if database.is_postgres():
        return db.atomic()
    return db.atomic("IMMEDIATE")


def _applied_twin(batch_id, kind, sha256):
    return (ReportUpload.select(ReportUpload, User)
            .join(User, JOIN.LEFT_OUTER, on=(ReportUpload.uploaded_by == User.id))
            .where((ReportUpload.batch == batch_id) & (ReportUpload.kind == kind)
                   & (ReportUpload.sha256 == sha256) & (ReportUpload.status == UPLOAD_APPLIED))
            .first())


def _clean_name(filename, kind):
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    name = "".join(ch for ch in name if ch.isprintable())[:200]
    return name or ("Purchase_Report.csv" if kind == REPORT_PURCHASE else "Payments_Report.csv")


def _prune_previews(company_id):
    """Forget unconfirmed previews older than PREVIEW_KEEP (and their stored files)."""
    cutoff = utcnow() - PREVIEW_KEEP
    stale = list(ReportUpload.select(ReportUpload.id, ReportUpload.file)
                 .where((ReportUpload.company == company_id) & (ReportUpload.status == UPLOAD_PREVIEW)
                        & (ReportUpload.created_at < cutoff)).tuples())
    if not stale:
        return
    ids = [u for u, _ in stale]
    files = [f for _, f in stale]
    for chunk in _chunks(ids):
        ReportUpload.delete().where(ReportUpload.id.in_(chunk)).execute()
    for chunk in _chunks(files):
        StoredFile.delete().where(StoredFile.id.in_(chunk)).execute()


# --- evaluation (reads only) -------------------------------------------------------

def evaluate(batch, kind, parsed):
    """Check PARSED against BATCH as the database holds it now; no writes."""
    result = Preview(batch=batch, kind=kind, parsed=parsed)
    result.errors.extend(parsed.errors)
    if parsed.file_error and not parsed.rows:
        return result
    finder = _Finder(batch, parsed.rows)
    by_row = collections.defaultdict(list)
    for error in parsed.errors:
        if error.row is not None:
            by_row[error.row].append(error)
    outcomes = []
    for row in parsed.rows:
        outcome = Outcome(row=row.row, data=row, errors=list(by_row.get(row.row, ())))
        finder.resolve(outcome)
        outcomes.append(outcome)
    result.outcomes = outcomes
    if kind == REPORT_PURCHASE:
        _evaluate_purchase(result, finder)
    else:
        _evaluate_payment(result, finder)
    reported = {id(e) for e in parsed.errors}
    warned = {w.row for w in result.warnings}
    for outcome in outcomes:
        outcome.warned = outcome.row in warned
        if outcome.errors:
            outcome.action = "error"
            result.errors.extend(e for e in outcome.errors if id(e) not in reported)
        result.counts[outcome.action] += 1
    result.errors.sort(key=lambda e: (e.row is not None, e.row or 0))
    return result


_BatchLoadRow = collections.namedtuple("_BatchLoadRow", [f.name for f in (
    Load.id, Load.load_number, Load.invoice_number, Load.billing_status, Load.total_cents,
    Load.purchase_amount_cents, Load.purchase_date, Load.paid_cents, Load.short_pay_cents,
    Load.overpay_cents, Load.factor_hold, Load.status_reason)])


class _Finder:
    """Finds each row's load: first among the batch's loads, then in the whole company."""

    FIELDS = (Load.id, Load.load_number, Load.invoice_number, Load.billing_status, Load.total_cents,
              Load.purchase_amount_cents, Load.purchase_date, Load.paid_cents, Load.short_pay_cents,
              Load.overpay_cents, Load.factor_hold, Load.status_reason)

    def __init__(self, batch, rows):
        self.batch = batch
        self.loads = {}  # id -> _BatchLoad of the batch's live loads
        self.by_invoice = {}
        self.by_number = {}
        # Raw rows (no per-value conversion): thousands of them are read on every apply.
        cursor = db.execute(Load.select(*self.FIELDS).where(_in_batch(batch)))
        for load in map(_BatchLoadRow._make, cursor):
            self.loads[load.id] = load
            if load.invoice_number:
                self.by_invoice[load.invoice_number] = load
            self.by_number[load.load_number] = load
        self.elsewhere = self._elsewhere(rows)

    def _elsewhere(self, rows):
        """Loads of the company named in the file but not live in this batch, with where they are."""
        wanted = set()
        for row in rows:
            for ident in (row.invoice_number, row.load_number):
                if ident and ident not in self.by_invoice and ident not in self.by_number:
                    wanted.add(ident)
        found = {}
        wanted = sorted(wanted)
        for chunk in _chunks(wanted):
            query = (Load.select(Load.id, Load.load_number, Load.invoice_number, Load.batch,
                                 Batch.number.alias("batch_number"), Subsidiary.name.alias("subsidiary_name"),
                                 Load.subsidiary)
                     .join(Batch, JOIN.LEFT_OUTER, on=(Load.batch == Batch.id))
                     .switch(Load).join(Subsidiary, on=(Load.subsidiary == Subsidiary.id))
                     .where((Load.company == self.batch.company_id)
                            & (Load.invoice_number.in_(chunk) | Load.load_number.in_(chunk)))
                     .namedtuples())
            for load in query:
                found[load.id] = load
        rejected = {}
        ids = sorted(found)
        for chunk in _chunks(ids):
            for load_id, reason in (BatchLoad.select(BatchLoad.load, BatchLoad.removed_reason)
                                    .where((BatchLoad.batch == self.batch.id) & (BatchLoad.live == False)  # noqa: E712
                                           & BatchLoad.load.in_(chunk)).tuples()):
                rejected[load_id] = reason
        out = {"by_invoice": {}, "by_number": {}, "rejected": rejected}
        for load in found.values():
            if load.invoice_number:
                out["by_invoice"][load.invoice_number] = load
            out["by_number"][load.load_number] = load
        return out

    def _lookup(self, ident, invoice_first):
        maps = [(self.by_invoice, self.elsewhere["by_invoice"]), (self.by_number, self.elsewhere["by_number"])]
        if not invoice_first:
            maps.reverse()
        for mine, other in maps:
            if ident in mine:
                return mine[ident], True
            if ident in other:
                return other[ident], False
        return None, False

    def resolve(self, outcome):
        """Set OUTCOME's load, or add an error saying where the load is."""
        row = outcome.data
        hits = []
        for column, ident, invoice_first in (("Invoice Number", row.invoice_number, True),
                                             ("Load Number", row.load_number, False)):
            if not ident:
                continue
            load, in_batch = self._lookup(ident, invoice_first)
            if load is None:
                outcome.errors.append(_err(row.row, column, f"No such invoice or load number: {ident}."))
                return
            hits.append((column, ident, load, in_batch))
        if not hits:
            return  # the parse already reported the missing identity
        if len(hits) == 2 and hits[0][2].id != hits[1][2].id:
            _, inv, load_a, _ = hits[0]
            outcome.errors.append(_err(row.row, "Load Number",
                                       f"Load Number {hits[1][1]} is not the load of invoice {inv} "
                                       f"(that is {load_a.load_number})."))
            return
        column, ident, load, in_batch = hits[0]
        outcome.load_number = load.load_number
        outcome.invoice_number = load.invoice_number or ""
        if in_batch:
            outcome.load_id = load.id
            return
        outcome.errors.append(_err(row.row, column, self._where(ident, load)))

    def _where(self, ident, load):
        this = self.batch.number
        sub = ""
        if load.subsidiary != self.batch.subsidiary_id:
            sub = f" ({load.subsidiary_name})"
        if load.batch is not None and load.batch_number is not None:
            return f"{ident}{sub} is in batch {load.batch_number}, not in this batch ({this})."
        if load.id in self.elsewhere["rejected"]:
            reason = self.elsewhere["rejected"][load.id]
            return (f"{ident} is not in any batch: it left this batch when the factor rejected it"
                    f"{': ' + reason if reason else ''}.")
        return f"{ident}{sub} is not in any batch."


def _in_batch(batch):
    """Loads live in BATCH. The batch is already the tenant's (scoped by the caller), so the
    company is not repeated here: with it SQLite picks a company index over the batch one."""
    return Load.batch == batch.id


def _err(row, column, message):
    return RowError(row, column, message)


def _evaluate_purchase(result, finder):
    batch = result.batch
    plan = {"finance": [], "reject": [], "hold": []}
    seen = {}
    totals = collections.Counter()
    for outcome in result.outcomes:
        row = outcome.data
        load = finder.loads.get(outcome.load_id) if outcome.load_id else None
        if load is None:
            continue
        first = seen.get(load.id)
        if first is not None:
            if row.duplicate_of is not None:
                outcome.action = "duplicate"
                outcome.notes.append(f"Repeats row {row.duplicate_of}; skipped.")
                result.warnings.append(_err(row.row, None, f"Repeats row {row.duplicate_of}; skipped."))
            else:
                outcome.errors.append(_err(row.row, _ident_column(row),
                                           f"{outcome.ident} is also on row {first}; a load appears once."))
            continue
        seen[load.id] = row.row
        if outcome.errors:
            continue
        if load.billing_status != INVOICED:
            label = load.billing_status.capitalize()
            if row.status == PURCHASED:
                outcome.action = "skip"
                when = f" on {str(load.purchase_date)[:10]}" if load.purchase_date else ""
                outcome.notes.append(f"Already {label} (purchased{when}); not changed.")
            else:
                outcome.errors.append(_err(row.row, "Status", f"{outcome.ident} is already {label}; "
                                                              f"it cannot be {row.status} now."))
            continue
        if row.status == PURCHASED:
            amount = row.invoice_amount_cents if row.invoice_amount_cents is not None else load.total_cents
            warning = ""
            if row.invoice_amount_cents is not None and row.invoice_amount_cents != load.total_cents:
                warning = (f"Invoice Amount {_money(row.invoice_amount_cents)} differs from the load "
                           f"total {_money(load.total_cents)}.")
            parts = (row.advance_cents, row.fee_cents, row.reserve_cents)
            if None not in parts and abs(sum(parts) - amount) > 1:
                outcome.errors.append(_err(
                    row.row, "Advance Amount",
                    f"Advance {_money(parts[0])} + Fee {_money(parts[1])} + Reserve {_money(parts[2])} = "
                    f"{_money(sum(parts))}, but the invoice amount is {_money(amount)}."))
                continue
            if row.advance_cents > amount + 1:
                outcome.errors.append(_err(row.row, "Advance Amount",
                                           f"Advance {_money(row.advance_cents)} is more than the invoice "
                                           f"amount {_money(amount)}."))
                continue
            if warning:
                outcome.notes.append(warning)
                result.warnings.append(_err(row.row, "Invoice Amount", warning))
            outcome.action = "finance"
            plan["finance"].append((outcome, amount, warning))
            totals["invoice"] += amount
            totals["advance"] += row.advance_cents or 0
            totals["fee"] += row.fee_cents or 0
            totals["reserve"] += row.reserve_cents or 0
        elif row.status == REJECTED:
            outcome.action = "reject"
            outcome.notes.append(f"Leaves batch {batch.number}, back to Queued. Reason: {row.reason}")
            plan["reject"].append(outcome)
            totals["rejected"] += load.total_cents
        else:
            outcome.action = "hold"
            outcome.notes.append(f"Stays Invoiced, held by the factor. Reason: {row.reason}")
            plan["hold"].append(outcome)
            totals["held"] += load.total_cents
    present = set(seen)
    for load in sorted(finder.loads.values(), key=lambda x: (x.invoice_number or "", x.load_number)):
        if load.billing_status == INVOICED and load.id not in present:
            result.missing.append(load)
    if result.missing:
        names = [m.invoice_number or m.load_number for m in result.missing]
        shown = ", ".join(names[:20]) + (f" and {len(names) - 20} more" if len(names) > 20 else "")
        count = len(names)
        result.errors.append(_err(
            None, None,
            f"{count} invoice{'s' if count > 1 else ''} of batch {batch.number} still Invoiced "
            f"{'are' if count > 1 else 'is'} missing from the report: {shown}. Every invoice of the "
            "batch still Invoiced must appear (purchased, rejected or held)."))
    result.totals = dict(totals)
    result.plan = plan


def _ident_column(row):
    return "Invoice Number" if row.invoice_number else "Load Number"


def _evaluate_payment(result, finder):
    # The payments already recorded on the batch's loads, to skip a row recorded before.
    recorded = set()
    for key in (Payment.select(Payment.load, Payment.payment_date, Payment.amount_cents, Payment.reference)
                .join(Load, on=(Payment.load == Load.id)).where(_in_batch(result.batch)).tuples()):
        recorded.add(key)
    state = {}
    in_file = {}
    payments = []
    totals = collections.Counter()
    for outcome in result.outcomes:
        row = outcome.data
        load = finder.loads.get(outcome.load_id) if outcome.load_id else None
        if load is None or outcome.errors:
            continue
        key = (load.id, row.payment_date, row.amount_cents, row.reference)
        if key in recorded:
            outcome.action = "duplicate"
            message = "The same payment (load, date, amount, reference) is already recorded; skipped."
            outcome.notes.append(message)
            result.warnings.append(_err(row.row, None, message))
            continue
        if key in in_file:
            outcome.action = "duplicate"
            message = f"Repeats the payment on row {in_file[key]}; skipped."
            outcome.notes.append(message)
            result.warnings.append(_err(row.row, None, message))
            continue
        s = state.get(load.id)
        if s is None:
            s = state[load.id] = {
                "old_status": load.billing_status, "old_paid": load.paid_cents,
                "status": load.billing_status, "paid": load.paid_cents,
                "short": load.short_pay_cents, "over": load.overpay_cents, "row": None,
                "invoice": (load.purchase_amount_cents if load.purchase_amount_cents is not None
                            else load.total_cents)}
        if s["status"] == INVOICED:
            outcome.errors.append(_err(row.row, _ident_column(row),
                                       f"{outcome.ident} is Invoiced: the factor has not purchased it yet. "
                                       "Upload the Purchase Report first."))
            continue
        if s["status"] not in (FINANCED, COMPLETED):
            outcome.errors.append(_err(row.row, _ident_column(row),
                                       f"{outcome.ident} is {s['status'].capitalize()}; payments apply "
                                       "to Financed loads."))
            continue
        in_file[key] = row.row
        additional = s["status"] == COMPLETED
        s["paid"] += row.amount_cents
        if additional:
            outcome.action = "additional"
            message = (f"{outcome.ident} is already Completed: recorded as an additional payment "
                       f"of {_money(row.amount_cents)}.")
            outcome.notes.append(message)
            result.warnings.append(_err(row.row, "Amount Paid", message))
            totals["additional"] += row.amount_cents
        elif row.final:
            outcome.action = "complete"
            s["status"] = COMPLETED
            s["row"] = row.row
        else:
            outcome.action = "partial"
            outcome.notes.append(f"Stays Financed: {_money(s['paid'])} of {_money(s['invoice'])} paid so far.")
        if s["status"] == COMPLETED:
            s["short"] = max(0, s["invoice"] - s["paid"])
            s["over"] = max(0, s["paid"] - s["invoice"])
            if s["short"]:
                message = (f"Short pay: {_money(s['paid'])} paid of {_money(s['invoice'])}, "
                           f"{_money(s['short'])} short.")
                outcome.notes.append(message)
                result.warnings.append(_err(row.row, "Amount Paid", message))
            elif s["over"]:
                message = (f"Overpay: {_money(s['paid'])} paid of {_money(s['invoice'])}, "
                           f"{_money(s['over'])} over.")
                outcome.notes.append(message)
                result.warnings.append(_err(row.row, "Amount Paid", message))
        payments.append((outcome, load, additional))
        totals["paid"] += row.amount_cents
        totals["reserve_released"] += row.reserve_released_cents
        totals["fee_adjustment"] += row.fee_adjustment_cents
    for s in state.values():
        if s["status"] == COMPLETED:
            totals["short_pay"] += s["short"]
            totals["overpay"] += s["over"]
    result.totals = dict(totals)
    result.plan = {"payments": payments, "loads": state}


def _money(cents):
    return money(cents)


# --- writing (inside apply's transaction) ------------------------------------------

def _chunks(items, size=CHUNK):
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start:start + size]


class V:
    """Column N (1-based) of the VALUES list of a bulk UPDATE."""

    def __init__(self, n):
        self.n = n


def _bulk_update(model, rows, types, sets, where, key=None):
    """UPDATE MODEL from a VALUES list, chunk by chunk; returns the rows changed.

    Each row of ROWS is (key value, value 2, value 3, ...); TYPES are their SQL types
    (PostgreSQL guesses text for a VALUES column, so every reference is cast there).
    SETS and WHERE are (field, V(n) or a constant) pairs; the row matches on
    KEY (the primary key unless given) = value 1. Written as plain SQL because
    building thousands of expression nodes in Python costs more than the database work.
    """
    pg = database.is_postgres()
    mark = db.param
    table = model._meta.table_name
    key = key or model._meta.primary_key

    def ref(n):
        return f"CAST(v.column{n} AS {types[n - 1]})" if pg else f"v.column{n}"

    def part(field, value, params):
        if isinstance(value, V):
            return f'"{field.column_name}" = {ref(value.n)}'
        if value is None:
            return f'"{field.column_name}" = NULL'
        params.append(field.db_value(value))
        return f'"{field.column_name}" = {mark}'

    total = 0
    width = len(types)
    for chunk in _chunks(rows):
        set_params, where_params = [], []
        set_sql = ", ".join(part(f, v, set_params) for f, v in sets)
        where_sql = " AND ".join([f'"{table}"."{key.column_name}" = {ref(1)}']
                                 + [f'"{table}".' + part(f, v, where_params) for f, v in where])
        values_sql = ", ".join(["(" + ", ".join([mark] * width) + ")"] * len(chunk))
        params = set_params + [value for row in chunk for value in row] + where_params
        cursor = db.execute_sql(f'UPDATE "{table}" SET {set_sql} FROM (VALUES {values_sql}) AS v WHERE {where_sql}',
                                params)
        total += cursor.rowcount
    return total


def _bulk_insert(model, fields, rows):
    """INSERT many rows in chunks with one multi-row statement each (see _bulk_update: plain SQL)."""
    mark = db.param
    columns = ", ".join(f'"{f.column_name}"' for f in fields)
    one = "(" + ", ".join([mark] * len(fields)) + ")"
    for chunk in _chunks(rows):
        params = [v for row in chunk for v in row]  # values are already as the database takes them
        db.execute_sql(f'INSERT INTO "{model._meta.table_name}" ({columns}) VALUES {", ".join([one] * len(chunk))}',
                       params)


def _expect(count, wanted):
    """A conditional bulk UPDATE must touch exactly the rows the preview saw."""
    if count != wanted:
        raise _Conflict()


def _write_purchase(result, upload, actor):
    batch = result.batch
    now = utcnow()
    history = _History(batch, upload, actor, now)
    still_here = [(Load.batch, batch.id), (Load.billing_status, INVOICED)]

    finance = result.plan["finance"]
    count = _bulk_update(
        Load,
        [(o.load_id, o.data.purchase_date.isoformat(), amount, o.data.advance_cents, o.data.fee_cents,
          o.data.reserve_cents, o.data.factor_reference, warning) for o, amount, warning in finance],
        ["integer", "date", "integer", "integer", "integer", "integer", "text", "text"],
        [(Load.billing_status, FINANCED), (Load.purchase_date, V(2)), (Load.purchase_amount_cents, V(3)),
         (Load.advance_cents, V(4)), (Load.fee_cents, V(5)), (Load.reserve_cents, V(6)),
         (Load.factor_reference, V(7)), (Load.amount_warning, V(8)), (Load.factor_hold, False),
         (Load.status_reason, ""), (Load.updated_at, now)],
        still_here)
    _expect(count, len(finance))
    for o, amount, warning in finance:
        history.add(o.load_id, o.row, INVOICED, FINANCED, _purchase_details(o.data))

    reject = [(o.load_id, o.data.reason) for o in result.plan["reject"]]
    count = _bulk_update(Load, reject, ["integer", "text"],
                         [(Load.billing_status, QUEUED), (Load.batch, None), (Load.status_reason, V(2)),
                          (Load.factor_hold, False), (Load.updated_at, now)],
                         still_here)
    _expect(count, len(reject))
    count = _bulk_update(BatchLoad, reject, ["integer", "text"],
                         [(BatchLoad.live, False), (BatchLoad.removed_reason, V(2))],
                         [(BatchLoad.batch, batch.id), (BatchLoad.live, True)], key=BatchLoad.load)
    _expect(count, len(reject))
    for o in result.plan["reject"]:
        history.add(o.load_id, o.row, INVOICED, QUEUED,
                    _details(report="purchase", outcome="rejected", reason=o.data.reason))

    hold = [(o.load_id, o.data.reason) for o in result.plan["hold"]]
    count = _bulk_update(Load, hold, ["integer", "text"],
                         [(Load.factor_hold, True), (Load.status_reason, V(2)), (Load.updated_at, now)],
                         still_here)
    _expect(count, len(hold))
    for o in result.plan["hold"]:
        history.add(o.load_id, o.row, INVOICED, INVOICED,
                    _details(report="purchase", outcome="held", reason=o.data.reason), action="factor_hold")
    history.write()


_PAYMENT_FIELDS = (Payment.company, Payment.load, Payment.upload, Payment.row_number, Payment.payment_date,
                   Payment.amount_cents, Payment.reference, Payment.method, Payment.reserve_released_cents,
                   Payment.fee_adjustment_cents, Payment.final, Payment.notes, Payment.additional,
                   Payment.created_at)


def _write_payment(result, upload, actor):
    batch = result.batch
    now = utcnow()
    _bulk_insert(Payment, _PAYMENT_FIELDS, [
        (batch.company_id, load.id, upload.id, o.row, o.data.payment_date.isoformat(), o.data.amount_cents,
         o.data.reference, o.data.method, o.data.reserve_released_cents, o.data.fee_adjustment_cents,
         o.data.final, o.data.notes, additional, now)
        for o, load, additional in result.plan["payments"]])

    changes = list(result.plan["loads"].items())
    count = _bulk_update(
        Load,
        [(load_id, s["old_status"], s["old_paid"], s["status"], s["paid"], s["short"], s["over"])
         for load_id, s in changes],
        ["integer", "text", "integer", "text", "integer", "integer", "integer"],
        [(Load.billing_status, V(4)), (Load.paid_cents, V(5)), (Load.short_pay_cents, V(6)),
         (Load.overpay_cents, V(7)), (Load.updated_at, now)],
        [(Load.batch, batch.id), (Load.billing_status, V(2)), (Load.paid_cents, V(3))])
    _expect(count, len(changes))
    history = _History(batch, upload, actor, now)
    for load_id, s in changes:
        if s["status"] != s["old_status"]:
            history.add(load_id, s["row"], s["old_status"], s["status"],
                        f'{{"overpay_cents": {int(s["over"])}, "paid_cents": {int(s["paid"])}, '
                        f'"report": "payment", "short_pay_cents": {int(s["short"])}}}')
    history.write()


_AUDIT_FIELDS = (AuditLog.company, AuditLog.actor, AuditLog.action, AuditLog.object_type, AuditLog.object_id,
                 AuditLog.before, AuditLog.after, AuditLog.details, AuditLog.batch, AuditLog.upload,
                 AuditLog.row_number, AuditLog.created_at)


class _History:
    """The audit rows of one apply: one per load status change, pointing to the batch, the
    upload and its row. The same rows as services.audit.status_change_rows, built as tuples
    because an apply writes thousands of them."""

    def __init__(self, batch, upload, actor, now):
        self.head = (batch.company_id, actor.id if actor else None)
        self.tail = (batch.id, upload.id)
        self.now = now
        self.rows = []

    def add(self, load_id, row_number, before, after, details, action="status"):
        self.rows.append(self.head + (action, "load", load_id, before, after, details)
                         + self.tail + (row_number, self.now))

    def write(self):
        _bulk_insert(AuditLog, _AUDIT_FIELDS, self.rows)


def _details(**values):
    return json.dumps(values, sort_keys=True, default=str)


def _purchase_details(data):
    """_details() of a financed row, written out: it runs once per invoice."""
    def num(v):
        return "null" if v is None else str(int(v))
    return (f'{{"advance_cents": {num(data.advance_cents)}, "fee_cents": {num(data.fee_cents)}, '
            f'"report": "purchase", "reserve_cents": {num(data.reserve_cents)}}}')


# --- what the batch page shows -------------------------------------------------------

def batch_money(batch):
    """The batch's money from its live loads and their payments (two aggregate queries)."""
    face = fn.COALESCE(Load.purchase_amount_cents, Load.total_cents)
    bought = Load.billing_status.in_((FINANCED, COMPLETED))

    def when(cond, value):
        return fn.COALESCE(fn.SUM(Case(None, [(cond, value)], 0)), 0)

    row = (Load.select(
        fn.COUNT(Load.id).alias("count"),
        fn.COALESCE(fn.SUM(Load.total_cents), 0).alias("invoiced"),
        when(bought, face).alias("purchased"),
        when(bought, fn.COALESCE(Load.advance_cents, 0)).alias("advanced"),
        when(bought, fn.COALESCE(Load.fee_cents, 0)).alias("fees"),
        when(bought, fn.COALESCE(Load.reserve_cents, 0)).alias("reserve"),
        fn.COALESCE(fn.SUM(Load.paid_cents), 0).alias("collected"),
        fn.COALESCE(fn.SUM(Load.short_pay_cents), 0).alias("short_pays"),
        fn.COALESCE(fn.SUM(Load.overpay_cents), 0).alias("overpays"),
        when((Load.billing_status == FINANCED) & (face > Load.paid_cents), face - Load.paid_cents).alias("outstanding"),
        when(Load.billing_status == INVOICED, 1).alias("n_invoiced"),
        when(Load.billing_status == FINANCED, 1).alias("n_financed"),
        when(Load.billing_status == COMPLETED, 1).alias("n_completed"),
        when(Load.factor_hold == True, 1).alias("n_held"),  # noqa: E712
    ).where(_in_batch(batch)).dicts().get())
    money = {k: int(v or 0) for k, v in row.items()}
    pay = (Payment.select(
        fn.COUNT(Payment.id).alias("payments"),
        fn.COALESCE(fn.SUM(Payment.reserve_released_cents), 0).alias("reserve_released"),
        fn.COALESCE(fn.SUM(Payment.fee_adjustment_cents), 0).alias("fee_adjustments"),
        fn.COALESCE(fn.SUM(Case(None, [(Payment.additional == True, 1)], 0)), 0).alias("n_additional"),  # noqa: E712
    ).join(Load, on=(Payment.load == Load.id))
        .where(_in_batch(batch)).dicts().get())
    money.update({k: int(v or 0) for k, v in pay.items()})
    return money


def batch_exceptions(batch, limit=200):
    """Loads of the batch that need a look: held, short or over paid, rejected (left the batch)."""
    held_or_paid = list(
        Load.select(Load.id, Load.load_number, Load.invoice_number, Load.billing_status, Load.total_cents,
                    Load.purchase_amount_cents, Load.paid_cents, Load.short_pay_cents, Load.overpay_cents,
                    Load.factor_hold, Load.status_reason, Load.amount_warning)
        .where(_in_batch(batch)
               & ((Load.factor_hold == True) | (Load.short_pay_cents > 0) | (Load.overpay_cents > 0)  # noqa: E712
                  | (Load.amount_warning != "")))
        .order_by(Load.load_number).limit(limit))
    rejected = list(
        BatchLoad.select(BatchLoad.id, BatchLoad.invoice_number, BatchLoad.amount_cents,
                         BatchLoad.removed_reason, Load.id.alias("load_id"), Load.load_number,
                         Load.billing_status)
        .join(Load, on=(BatchLoad.load == Load.id))
        .where((BatchLoad.batch == batch.id) & (BatchLoad.live == False))  # noqa: E712
        .order_by(Load.load_number).limit(limit).namedtuples())
    return {
        "held": [x for x in held_or_paid if x.factor_hold],
        "short": [x for x in held_or_paid if x.short_pay_cents > 0],
        "over": [x for x in held_or_paid if x.overpay_cents > 0],
        "warned": [x for x in held_or_paid if x.amount_warning],
        "rejected": rejected,
    }


def batch_uploads(batch):
    """The batch's applied reports, newest first, with who uploaded them and what they did."""
    uploads = list(ReportUpload.select(ReportUpload, User)
                   .join(User, JOIN.LEFT_OUTER, on=(ReportUpload.uploaded_by == User.id))
                   .where((ReportUpload.batch == batch.id) & (ReportUpload.company == batch.company_id)
                          & (ReportUpload.status == UPLOAD_APPLIED))
                   .order_by(ReportUpload.applied_at.desc(), ReportUpload.id.desc()))
    for upload in uploads:
        upload.info = summary_of(upload)
    return uploads


def summary_of(upload):
    """The upload's stored summary as a dict (empty when missing or unreadable)."""
    try:
        return json.loads(upload.summary) if upload.summary else {}
    except ValueError:
        return {}


def counts_text(kind, counts):
    """'12 financed, 1 rejected, 1 held' for the upload list."""
    words = ([("finance", "financed"), ("reject", "rejected"), ("hold", "held"), ("skip", "unchanged"),
              ("duplicate", "duplicate skipped")] if kind == REPORT_PURCHASE else
             [("complete", "completed"), ("partial", "partial"), ("additional", "additional"),
              ("duplicate", "duplicate skipped")])
    parts = [f"{counts[k]} {w}" for k, w in words if counts.get(k)]
    return ", ".join(parts) or "no changes"


def purchase_template_rows(batch):
    """Rows of the pre-filled Purchase Report: the batch's loads still Invoiced."""
    query = (Load.select(Load.invoice_number, Load.load_number, Load.total_cents)
             .where(_in_batch(batch)
                    & (Load.billing_status == INVOICED))
             .order_by(Load.invoice_number, Load.load_number).tuples())
    return list(query)


def payment_template_rows(batch):
    """Rows of the pre-filled Payment Report: the batch's Financed loads and what each still owes."""
    query = (Load.select(Load.invoice_number, Load.load_number,
                         fn.COALESCE(Load.purchase_amount_cents, Load.total_cents) - Load.paid_cents)
             .where(_in_batch(batch)
                    & (Load.billing_status == FINANCED))
             .order_by(Load.invoice_number, Load.load_number).tuples())
    return list(query)

