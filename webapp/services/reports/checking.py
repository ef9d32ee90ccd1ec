"""A Purchase or Payment Report checked against the database: what every row will do.

Reads only. evaluate() finds each row's load (first among the batch's loads, then in the
whole company, to say where it is) and fills a Preview with outcomes, errors, warnings,
totals and the plan that writing carries out.

A Payment Report may also be checked against a Scope instead of a batch (a remittance
uploaded on Reports > Factoring): every row is matched to a Financed invoice of the scope's
factor in any batch of the subsidiary (or the company), by invoice number, else load
number, else the factor's reference of the purchase; the preview groups the rows by batch.

Both also warn (never refuse) where the factor's figures differ from its agreed terms by
more than a cent (services/terms.expected_amounts), where a purchase date is before the
batch was submitted, and where a payment date is in the future.
"""
import collections
import dataclasses
import datetime

from peewee import JOIN

from webapp.models import BILLING_STATUSES
from webapp.models import COMPLETED
from webapp.models import FEE_TIERED
from webapp.models import FINANCED
from webapp.models import INVOICED
from webapp.models import REPORT_KINDS
from webapp.models import REPORT_PAYMENT
from webapp.models import REPORT_PURCHASE
from webapp.models import Batch
from webapp.models import BatchLoad
from webapp.models import Factor
from webapp.models import Load
from webapp.models import Payment
from webapp.models import ReportUpload
from webapp.models import Subsidiary
from webapp.models import db
from webapp.models import utcnow
from webapp.services import terms
from webapp.services.money import format_money
from webapp.services.reports.parsing import PURCHASED
from webapp.services.reports.parsing import REJECTED
from webapp.services.sql import chunks
from webapp.services.sql import select_in
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
    "chargeback": "Charge back",
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
    # A remittance (Scope): the batch of the row's load, or why the row matches no Financed
    # invoice of the factor (one of PROBLEMS).
    batch_id: int | None = None
    batch_number: int | None = None
    problem: str = ""

    @property
    def label(self):
        return ACTIONS.get(self.action, self.action)

    @property
    def ident(self):
        return self.invoice_number or self.load_number or self.data.ident


# Why a remittance row matches no Financed invoice of the factor, as the preview lists them.
PROBLEMS = {
    "nothing": "Match nothing",
    "other_factor": "Match a load of another factor",
    "other_subsidiary": "Match a load of another subsidiary",
    "not_financed": "Match a load that is not Financed",
}


@dataclasses.dataclass
class Scope:
    """Where a remittance applies: the batches of one factor, of SUBSIDIARY (None: every
    subsidiary of the company)."""

    company_id: int
    factor: Factor
    subsidiary: Subsidiary | None = None

    @property
    def label(self):
        """'Demo Freight LLC' or 'All subsidiaries'."""
        return self.subsidiary.name if self.subsidiary is not None else "All subsidiaries"


def target_of(upload):
    """What UPLOAD is checked against: its batch, or the Scope of a remittance."""
    if upload.batch_id is not None:
        return upload.batch
    return Scope(upload.company_id, upload.factor, upload.subsidiary if upload.subsidiary_id else None)


@dataclasses.dataclass
class Preview:
    """A report checked against the batch (or a remittance against its Scope): every row's
    outcome, errors, warnings, totals."""

    batch: Batch | None
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
    scope: Scope | None = None
    # The factor's own columns: the saved mapping the file was read with (mapping.describe),
    # or the mapping step to show first when the file's header is not ours (mapping.Step).
    mapping: dict | None = None
    step: object = None

    @property
    def ok(self):
        return not self.errors

    @property
    def company_id(self):
        return self.batch.company_id if self.batch is not None else self.scope.company_id

    def batch_groups(self, outcomes=None):
        """A remittance's rows by batch: [{"batch_id", "number", "rows", "paid", "count"}] by batch
        number (of OUTCOMES, every row when None); rows matched to no batch are in problem_groups."""
        groups = {}
        for o in self.outcomes if outcomes is None else outcomes:
            if o.batch_id is None or o.problem:
                continue
            group = groups.setdefault(o.batch_id, {"batch_id": o.batch_id, "number": o.batch_number,
                                                   "rows": [], "paid": 0, "count": 0})
            group["rows"].append(o)
            group["count"] += 1
            if o.action in ("complete", "partial", "additional"):
                group["paid"] += o.data.amount_cents or 0
        return sorted(groups.values(), key=lambda g: (g["number"] or 0, g["batch_id"]))

    def problem_groups(self, outcomes=None):
        """Rows of a remittance that match no Financed invoice of the factor, by PROBLEMS."""
        rows = self.outcomes if outcomes is None else outcomes
        return [{"problem": key, "label": label, "rows": [o for o in rows if o.problem == key]}
                for key, label in PROBLEMS.items() if any(o.problem == key for o in rows)]

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
        """JSON-ready counts, totals and warnings, kept on the upload (a remittance: also its
        batches and the rows that match no Financed invoice, by problem)."""
        summary = {
            "sheet": self.parsed.sheet,
            "counts": dict(self.counts),
            "totals": self.totals,
            "warning_count": len(self.warnings),
            "warnings": [{"row": w.row, "column": w.column, "message": w.message}
                         for w in self.warnings[:500]],
        }
        if self.parsed.mapping is not None:
            summary["mapping"] = self.parsed.mapping   # the columns read: what apply reads again
            summary["mapping_id"] = self.mapping["id"] if self.mapping else None
        if self.scope is not None:
            summary["batches"] = [{k: g[k] for k in ("batch_id", "number", "count", "paid")}
                                  for g in self.batch_groups()][:1000]
            summary["problems"] = {g["problem"]: len(g["rows"]) for g in self.problem_groups()}
        return summary



# --- evaluation (reads only) -------------------------------------------------------

def evaluate(target, kind, parsed):
    """Check PARSED against TARGET (a Batch, or the Scope of a remittance: Payment Reports
    only) as the database holds it now; no writes."""
    scope = target if isinstance(target, Scope) else None
    if scope is not None and kind != REPORT_PAYMENT:
        raise ValueError("only a Payment Report is checked against a scope")
    result = Preview(batch=None if scope else target, kind=kind, parsed=parsed, scope=scope)
    result.errors.extend(parsed.errors)
    if parsed.file_error and not parsed.rows:
        return result
    finder = _ScopeFinder(scope, parsed.rows) if scope else _Finder(target, parsed.rows)
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


_LOAD_FIELDS = (Load.id, Load.load_number, Load.invoice_number, Load.billing_status, Load.total_cents,
                Load.purchase_amount_cents, Load.purchase_date, Load.paid_cents, Load.short_pay_cents,
                Load.overpay_cents, Load.factor_hold, Load.status_reason, Load.batch, Load.fee_cents)
_BatchLoadRow = collections.namedtuple("_BatchLoadRow", [f.name for f in _LOAD_FIELDS])


class _Finder:
    """Finds each row's load: first among the batch's loads, then in the whole company."""

    FIELDS = _LOAD_FIELDS

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

    def recorded(self):
        """The payments already recorded on the batch's loads: {(load, date, amount, reference)}."""
        return set(Payment.select(Payment.load, Payment.payment_date, Payment.amount_cents, Payment.reference)
                   .join(Load, on=(Payment.load == Load.id)).where(in_batch(self.batch)).tuples())

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


_ScopeLoadRow = collections.namedtuple("_ScopeLoadRow", list(_BatchLoadRow._fields) + [
    "factor_reference", "subsidiary", "subsidiary_name", "batch_number", "batch_factor", "factor_name"])


_SCOPE_SELECT = (
    "SELECT " + ", ".join(f'l."{f.column_name}"' for f in _LOAD_FIELDS)
    + ', l."factor_reference", l."subsidiary_id", s."name", b."number", b."factor_id", f."name" '
    'FROM "load" AS l JOIN "subsidiary" AS s ON s."id" = l."subsidiary_id" '
    'LEFT OUTER JOIN "batch" AS b ON b."id" = l."batch_id" LEFT OUTER JOIN "factor" AS f ON f."id" = b."factor_id" ')


class _ScopeFinder:
    """Finds each remittance row's load among the company's loads: by invoice number, else load
    number, else the factor's reference of its purchase; a load outside the scope (another
    subsidiary, not in a batch, sent to another factor) is an error naming where it is."""

    def __init__(self, scope, rows):
        self.scope = scope
        self.loads = {}  # id -> _ScopeLoadRow of the loads rows were matched to
        self.by_invoice, self.by_number, self.by_reference = {}, {}, collections.defaultdict(list)
        self.referenced = set()  # ids of the loads in by_reference
        idents = sorted({i for row in rows for i in (row.invoice_number, row.load_number) if i})
        references = sorted({row.factor_reference for row in rows
                             if not row.invoice_number and not row.load_number and row.factor_reference})
        # two queries, not one with OR: each IN list then walks its own (company, ...) index. A load
        # number is unique in the company: one read already (by its invoice) is not asked again.
        self._read(Load.invoice_number, idents)
        self._read(Load.load_number, [i for i in idents if i not in self.by_number])
        self._read(Load.factor_reference, references)

    def _read(self, column, values):
        """Add the company's loads whose COLUMN is one of VALUES (plain SQL: thousands of values)."""
        seen = set()
        for load in map(_ScopeLoadRow._make, select_in(
                _SCOPE_SELECT + f'WHERE l."company_id" = {{p}} AND l."{column.column_name}" IN ({{marks}})',
                values, params=(self.scope.company_id,))):
            if load.id in seen:
                continue
            seen.add(load.id)
            if load.invoice_number:
                self.by_invoice[load.invoice_number] = load
            self.by_number[load.load_number] = load
            if load.factor_reference and load.id not in self.referenced:
                self.referenced.add(load.id)
                self.by_reference[load.factor_reference].append(load)

    def recorded(self):
        """The payments already recorded on the matched loads: {(load, date, amount, reference)}."""
        return {(load_id, _day(day), amount, reference) for load_id, day, amount, reference in select_in(
            'SELECT "load_id", "payment_date", "amount_cents", "reference" FROM "payment" WHERE "load_id" IN ({marks})',
            sorted(self.loads))}

    def _lookup(self, ident, invoice_first):
        first, second = (self.by_invoice, self.by_number) if invoice_first else (self.by_number, self.by_invoice)
        load = first.get(ident)
        return load if load is not None else second.get(ident)

    def resolve(self, outcome):
        """Set OUTCOME's load (and batch), or add an error saying why the row matches no
        Financed invoice of the factor in the scope."""
        row = outcome.data
        hits = []
        for column, ident, invoice_first in (("Invoice Number", row.invoice_number, True),
                                             ("Load Number", row.load_number, False)):
            if not ident:
                continue
            load = self._lookup(ident, invoice_first)
            if load is None:
                outcome.problem = "nothing"
                outcome.errors.append(_err(row.row, column, f"No such invoice or load number: {ident}."))
                return
            hits.append((column, ident, load))
        if not hits and row.factor_reference:
            hits = self._by_reference(outcome)
            if not hits:
                return
        if not hits:
            return  # the parse already reported the missing identity
        if len(hits) == 2 and hits[0][2].id != hits[1][2].id:
            outcome.problem = "nothing"
            outcome.errors.append(_err(row.row, "Load Number",
                                       f"Load Number {hits[1][1]} is not the load of invoice {hits[0][1]} "
                                       f"(that is {hits[0][2].load_number})."))
            return
        column, ident, load = hits[0]
        outcome.load_number = load.load_number
        outcome.invoice_number = load.invoice_number or ""
        scope = self.scope
        if scope.subsidiary is not None and load.subsidiary != scope.subsidiary.id:
            outcome.problem = "other_subsidiary"
            outcome.errors.append(_err(row.row, column, f"{ident} is a load of {load.subsidiary_name}, "
                                                        f"not of {scope.subsidiary.name}."))
            return
        if load.batch is None:
            outcome.problem = "not_financed"
            outcome.errors.append(_err(row.row, column, f"{ident} is {load.billing_status.capitalize()} and in "
                                                        "no batch; payments apply to Financed loads."))
            return
        if load.batch_factor != scope.factor.id:
            outcome.problem = "other_factor"
            outcome.errors.append(_err(row.row, column, f"{ident} was sent to {load.factor_name or 'another factor'} "
                                                        f"in batch {load.batch_number}, not to {scope.factor.name}."))
            return
        outcome.load_id = load.id
        outcome.batch_id, outcome.batch_number = load.batch, load.batch_number
        self.loads[load.id] = load

    def _by_reference(self, outcome):
        """The load whose purchase the factor referenced as the row's Factor Reference."""
        row = outcome.data
        reference = row.factor_reference
        candidates = self.by_reference.get(reference, [])
        if len(candidates) > 1:  # a reference of a whole schedule: the factor's Financed ones
            narrowed = [x for x in candidates if x.batch_factor == self.scope.factor.id
                        and x.billing_status == FINANCED]
            candidates = narrowed if len(narrowed) == 1 else candidates
        if not candidates:
            outcome.problem = "nothing"
            outcome.errors.append(_err(row.row, "Factor Reference",
                                       f"No load was purchased with the factor's reference {reference}."))
            return []
        if len(candidates) > 1:
            outcome.problem = "nothing"
            names = ", ".join(x.load_number for x in candidates[:5]) + (" and more" if len(candidates) > 5 else "")
            outcome.errors.append(_err(row.row, "Factor Reference",
                                       f"The factor's reference {reference} is on {len(candidates)} loads "
                                       f"({names}); give the Invoice Number or Load Number."))
            return []
        return [("Factor Reference", reference, candidates[0])]


def in_batch(batch):
    """Loads live in BATCH. The batch is already the tenant's (scoped by the caller), so the
    company is not repeated here: with it SQLite picks a company index over the batch one."""
    return Load.batch == batch.id


def _err(row, column, message):
    return CellError(row, column, message)


def _warn(result, outcome, column, message):
    """A warning on OUTCOME's row, shown with the row and kept on the upload."""
    outcome.notes.append(message)
    result.warnings.append(_err(outcome.row, column, message))


# --- checks the clerk would want: the factor's terms, dates ---------------------------

class _Terms:
    """The agreed terms of FACTOR (None: none to check against), its fee tiers read once."""

    def __init__(self, factor):
        self.factor = factor
        self.tiers = terms.tiers(factor) if factor is not None and factor.fee_kind == FEE_TIERED else []

    def check_purchase(self, result, outcome, amount):
        """Warn where the row's advance, fee or reserve differs from the terms by more than a cent."""
        factor, row = self.factor, outcome.data
        if factor is None:
            return
        expected = terms.expected_amounts(factor, amount, 0, self.tiers)
        for column, label, reported, key, bp in (
                ("Advance Amount", "Advance", row.advance_cents, "advance_cents", factor.advance_bp),
                ("Fee Amount", "Fee", row.fee_cents, "fee_cents", expected["fee_bp"]),
                ("Reserve Amount", "Reserve", row.reserve_cents, "reserve_cents", factor.reserve_bp)):
            if reported is not None and abs(reported - expected[key]) > 1:
                _warn(result, outcome, column,
                      f"{label} {format_money(reported)} differs from {factor.name}'s terms: expected "
                      f"{format_money(expected[key])} ({terms.percent(bp)} of {format_money(amount)}).")

    def check_fee_adjustment(self, result, outcome, load, invoice, adjusted):
        """A tiered fee, on the payment that completes the load: the fee for the days from purchase
        to payment, less the fee charged at purchase, is what the Fee Adjustment should say
        (ADJUSTED: the adjustments of this file's rows for the load so far)."""
        factor, row = self.factor, outcome.data
        if factor is None or not self.tiers or load.purchase_date is None or load.fee_cents is None:
            return
        days = max(0, (row.payment_date - _day(load.purchase_date)).days)
        expected = terms.expected_amounts(factor, invoice, days, self.tiers)
        owed = expected["fee_cents"] - load.fee_cents
        if abs(adjusted - owed) > 1:
            _warn(result, outcome, "Fee Adjustment",
                  f"Fee Adjustment {format_money(adjusted)} differs from {factor.name}'s terms: expected "
                  f"{format_money(owed)} (a {terms.percent(expected['fee_bp'])} fee at {days} days outstanding "
                  f"is {format_money(expected['fee_cents'])}; {format_money(load.fee_cents)} was charged at "
                  "purchase).")


def _day(value):
    """A date from a DateField's raw value (SQLite hands back text)."""
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, str):
        return datetime.date.fromisoformat(value[:10])
    return value


def _submitted_day(batch):
    """The earliest calendar day, in any time zone a company may use (UTC to UTC-12), on which
    BATCH was submitted: a purchase before it is before the submission wherever the clerk is."""
    return (batch.created_at - datetime.timedelta(hours=12)).date() if batch.created_at else None


def _check_purchase_date(result, outcome, batch, submitted):
    """SUBMITTED: _submitted_day(BATCH), worked out once per file."""
    row = outcome.data
    if row.purchase_date is not None and submitted is not None and row.purchase_date < submitted:
        _warn(result, outcome, "Purchase Date",
              f"Purchase Date {row.purchase_date.isoformat()} is before batch {batch.number} was submitted "
              f"({batch.created_at.date().isoformat()}).")


def _check_payment_date(result, outcome, today):
    """TODAY is UTC's: no company's zone is ahead of it, so a later date is in the future everywhere."""
    row = outcome.data
    if row.payment_date is not None and row.payment_date > today:
        _warn(result, outcome, "Payment Date",
              f"Payment Date {row.payment_date.isoformat()} is in the future (today is {today.isoformat()}).")


def _evaluate_purchase(result, finder):
    batch = result.batch
    agreed = _Terms(batch.factor if batch.factor_id else None)
    submitted = _submitted_day(batch)
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
            agreed.check_purchase(result, outcome, amount)
            _check_purchase_date(result, outcome, batch, submitted)
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
    if row.invoice_number:
        return "Invoice Number"
    return "Load Number" if row.load_number else "Factor Reference"


def _evaluate_payment(result, finder):
    # The payments already recorded on the loads, to skip a row recorded before (whichever way
    # it came in: on the batch page or in a remittance).
    recorded = finder.recorded()
    if result.scope is not None:
        agreed = _Terms(result.scope.factor)
    else:
        agreed = _Terms(result.batch.factor if result.batch.factor_id else None)
    today = utcnow().date()
    adjusted = collections.Counter()  # load id -> this file's fee adjustments so far
    state = {}
    in_file = {}
    payments = []
    chargebacks = []
    charged = {}  # load id -> the row of this file that charges it back
    totals = collections.Counter()
    for outcome in result.outcomes:
        row = outcome.data
        load = finder.loads.get(outcome.load_id) if outcome.load_id else None
        if load is None or outcome.errors:
            continue
        if row.chargeback or load.id in charged:
            _check_chargeback(result, outcome, load, state, charged, chargebacks, totals, today)
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
                "batch_id": load.batch,
                "invoice": (load.purchase_amount_cents if load.purchase_amount_cents is not None
                            else load.total_cents)}
        if s["status"] == INVOICED:
            outcome.problem = "not_financed"
            outcome.errors.append(_err(row.row, _ident_column(row),
                                       f"{outcome.ident} is Invoiced: the factor has not purchased it yet. "
                                       "Upload the Purchase Report first."))
            continue
        if s["status"] not in (FINANCED, COMPLETED):
            outcome.problem = "not_financed"
            outcome.errors.append(_err(row.row, _ident_column(row),
                                       f"{outcome.ident} is {s['status'].capitalize()}; payments apply "
                                       "to Financed loads."))
            continue
        in_file[key] = row.row
        _check_payment_date(result, outcome, today)
        adjusted[load.id] += row.fee_adjustment_cents
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
            if "Fee Adjustment" in result.parsed.columns:
                agreed.check_fee_adjustment(result, outcome, load, s["invoice"], adjusted[load.id])
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
    result.plan = {"payments": payments, "loads": state, "chargebacks": chargebacks}


def _check_chargeback(result, outcome, load, state, charged, chargebacks, totals, today):
    """A row of Kind chargeback (the factor charged the invoice back): the load must be Financed
    and not paid or charged back by another row of the file; a payment row after it is refused."""
    row = outcome.data
    where = _ident_column(row)
    if not row.chargeback:
        outcome.problem = "charged_back"
        outcome.errors.append(_err(row.row, where, f"{outcome.ident} is charged back on row {charged[load.id]} "
                                                   "of this file; a payment cannot follow it."))
        return
    if load.id in charged or load.id in state:
        other = charged.get(load.id) or "another row"
        outcome.errors.append(_err(row.row, where, f"{outcome.ident} is already paid or charged back by "
                                                   f"row {other} of this file; charge it back in a file of its own."))
        return
    if load.billing_status != FINANCED:
        outcome.problem = "not_financed"
        label = BILLING_STATUSES.get(load.billing_status, load.billing_status)
        outcome.errors.append(_err(row.row, where, f"{outcome.ident} is {label}: only a Financed invoice can be "
                                                   "charged back."))
        return
    face = load.purchase_amount_cents if load.purchase_amount_cents is not None else load.total_cents
    if row.amount_cents > face:
        outcome.errors.append(_err(row.row, "Amount Paid", f"The chargeback {format_money(row.amount_cents)} is more "
                                                           f"than the invoice {format_money(face)}."))
        return
    _check_payment_date(result, outcome, today)
    charged[load.id] = row.row
    outcome.action = "chargeback"
    outcome.notes.append(f"Charged back {format_money(row.amount_cents)}: the invoice leaves the factor "
                         "(billing status Charged back, invoicing method Direct).")
    chargebacks.append((outcome, load))
    totals["chargeback"] += row.amount_cents
