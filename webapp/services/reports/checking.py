"""A Purchase or Payment Report checked against the database: what every row will do.

Reads only. evaluate() finds each row's load (first among the batch's loads, then in the
whole company, to say where it is) and fills a Preview with outcomes, errors, warnings,
totals and the plan that writing carries out.
"""
import collections
import dataclasses

from peewee import JOIN

from webapp.models import COMPLETED
from webapp.models import FINANCED
from webapp.models import INVOICED
from webapp.models import REPORT_KINDS
from webapp.models import REPORT_PURCHASE
from webapp.models import Batch
from webapp.models import BatchLoad
from webapp.models import Load
from webapp.models import Payment
from webapp.models import ReportUpload
from webapp.models import Subsidiary
from webapp.models import db
from webapp.services.money import format_money
from webapp.services.reports.parsing import PURCHASED
from webapp.services.reports.parsing import REJECTED
from webapp.services.sql import chunks
from webapp.services.tables import CellError

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
            "sheet": self.parsed.sheet,
            "counts": dict(self.counts),
            "totals": self.totals,
            "warning_count": len(self.warnings),
            "warnings": [{"row": w.row, "column": w.column, "message": w.message}
                         for w in self.warnings[:500]],
        }



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
        cursor = db.execute(Load.select(*self.FIELDS).where(in_batch(batch)))
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
        for chunk in chunks(wanted):
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
        for chunk in chunks(ids):
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


def in_batch(batch):
    """Loads live in BATCH. The batch is already the tenant's (scoped by the caller), so the
    company is not repeated here: with it SQLite picks a company index over the batch one."""
    return Load.batch == batch.id


def _err(row, column, message):
    return CellError(row, column, message)


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
                warning = (f"Invoice Amount {format_money(row.invoice_amount_cents)} differs from the load "
                           f"total {format_money(load.total_cents)}.")
            parts = (row.advance_cents, row.fee_cents, row.reserve_cents)
            if None not in parts and abs(sum(parts) - amount) > 1:
                outcome.errors.append(_err(
                    row.row, "Advance Amount",
                    f"Advance {format_money(parts[0])} + Fee {format_money(parts[1])} + Reserve {format_money(parts[2])} = "
                    f"{format_money(sum(parts))}, but the invoice amount is {format_money(amount)}."))
                continue
            if row.advance_cents > amount + 1:
                outcome.errors.append(_err(row.row, "Advance Amount",
                                           f"Advance {format_money(row.advance_cents)} is more than the invoice "
                                           f"amount {format_money(amount)}."))
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
                .join(Load, on=(Payment.load == Load.id)).where(in_batch(result.batch)).tuples()):
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
                       f"of {format_money(row.amount_cents)}.")
            outcome.notes.append(message)
            result.warnings.append(_err(row.row, "Amount Paid", message))
            totals["additional"] += row.amount_cents
        elif row.final:
            outcome.action = "complete"
            s["status"] = COMPLETED
            s["row"] = row.row
        else:
            outcome.action = "partial"
            outcome.notes.append(f"Stays Financed: {format_money(s['paid'])} of {format_money(s['invoice'])} paid so far.")
        if s["status"] == COMPLETED:
            s["short"] = max(0, s["invoice"] - s["paid"])
            s["over"] = max(0, s["paid"] - s["invoice"])
            if s["short"]:
                message = (f"Short pay: {format_money(s['paid'])} paid of {format_money(s['invoice'])}, "
                           f"{format_money(s['short'])} short.")
                outcome.notes.append(message)
                result.warnings.append(_err(row.row, "Amount Paid", message))
            elif s["over"]:
                message = (f"Overpay: {format_money(s['paid'])} paid of {format_money(s['invoice'])}, "
                           f"{format_money(s['over'])} over.")
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
