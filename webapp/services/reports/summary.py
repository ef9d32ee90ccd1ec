"""What the batch page shows of its reports: the money, the loads that need a look, the
applied uploads and what each did."""
import dataclasses
import json

from peewee import JOIN
from peewee import Case
from peewee import fn

from webapp.database import is_postgres
from webapp.models import CHARGED_BACK
from webapp.models import COMPLETED
from webapp.models import FINANCED
from webapp.models import INVOICED
from webapp.models import QUEUED
from webapp.models import REPORT_PURCHASE
from webapp.models import UPLOAD_APPLIED
from webapp.models import BatchLoad
from webapp.models import BatchMoneyTally
from webapp.models import Load
from webapp.models import Payment
from webapp.models import ReportUpload
from webapp.models import User
from webapp.services import ledger
from webapp.services.money import format_money
from webapp.services.reports import reversal
from webapp.services.reports.checking import in_batch
from webapp.services.reports.uploads import batch_refusal

# --- what the batch page shows -------------------------------------------------------

def batch_tallies(batch):
    """{billing status: BatchMoneyTally row} of the batch's live loads, from the running counts
    (migration 0022: a row per status, however many loads the batch holds)."""
    return {row.billing_status: row for row in BatchMoneyTally.select().where(
        (BatchMoneyTally.company == batch.company_id) & (BatchMoneyTally.batch_key == batch.id))}


def batch_payments(batch):
    """{upload id (None: entered by hand): (payments, additional ones)} of the payments of the
    batch's live loads (one grouped query)."""
    query = Payment.select(Payment.upload, fn.COUNT(Payment.id),
                           fn.SUM(Case(None, [(Payment.additional == True, 1)], 0)))  # noqa: E712
    if is_postgres():
        # The batch's load ids as one array: PostgreSQL then looks each one's payments up by
        # their index, where a join made it scan every payment (140 ms at 2,000,000 loads).
        query = query.where(Payment.load == fn.ANY(fn.ARRAY(Load.select(Load.id).where(in_batch(batch)))))
    else:
        query = query.join(Load, on=(Payment.load == Load.id)).where(in_batch(batch))
    return {upload: (int(n), int(additional or 0)) for upload, n, additional in
            query.group_by(Payment.upload).tuples()}


def batch_money(batch, tallied=None, paid=None):
    """The batch's money: the counts of its live loads and their face total and balance from the
    running counts (TALLIED: batch_tallies(batch)), its payments (PAID: batch_payments(batch)),
    each read here when not given, the money with the factor from the ledger."""
    tallied = batch_tallies(batch) if tallied is None else tallied
    paid = batch_payments(batch) if paid is None else paid

    def of(status):
        row = tallied.get(status)
        return row.n if row else 0

    money = {
        "count": sum(row.n for row in tallied.values()),
        "invoiced": sum(row.total_cents for row in tallied.values()),
        "outstanding": sum(row.open_cents for row in tallied.values()),
        "n_queued": of(QUEUED), "n_charged_back": of(CHARGED_BACK), "n_invoiced": of(INVOICED),
        "n_financed": of(FINANCED), "n_completed": of(COMPLETED),
        "n_held": sum(row.held_n for row in tallied.values()),
    }
    money = {k: int(v or 0) for k, v in money.items()}
    money["payments"] = sum(n for n, _additional in paid.values())
    money["n_additional"] = sum(additional for _n, additional in paid.values())
    # The money with the factor as the ledger holds it (services/ledger); the counts are the loads'.
    sums = ledger.batch_sums(batch.id)
    for name in ("purchased", "advanced", "fees", "reserve", "collected", "short_pays", "overpays",
                 "reserve_released", "fee_adjustments", "charged_back", "reserve_charged", "reserve_balance"):
        money[name] = sums[name]
    return money


def batch_exceptions(batch, limit=200, tallied=None):
    """Loads of the batch that need a look: held, short or over paid, rejected (left the batch).
    The live loads are read only when the running counts (TALLIED: batch_tallies(batch)) say some
    need a look."""
    tallied = batch_tallies(batch) if tallied is None else tallied
    held_or_paid = [] if not any(row.look_n for row in tallied.values()) else list(
        Load.select(Load.id, Load.load_number, Load.invoice_number, Load.billing_status, Load.total_cents,
                    Load.purchase_amount_cents, Load.paid_cents, Load.short_pay_cents, Load.overpay_cents,
                    Load.factor_hold, Load.status_reason, Load.amount_warning)
        .where(in_batch(batch)
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


def batch_uploads(batch, paid=None):
    """The batch's applied reports, newest first, with who uploaded them and what they did; with
    them the remittances (uploaded on Reports > Factoring, across batches) that paid its loads
    (PAID: batch_payments(batch), read here when not given), each saying its part in this batch."""
    paid = batch_payments(batch) if paid is None else paid
    # The ids first (the batch's own by report_upload's batch index, the remittances from its
    # loads' payments), never every upload of the company.
    ids = [i for (i,) in ReportUpload.select(ReportUpload.id).where(ReportUpload.batch == batch.id).tuples()]
    ids += [i for i in paid if i is not None and i not in ids]
    if not ids:
        return []
    uploads = list(ReportUpload.select(ReportUpload, User)
                   .join(User, JOIN.LEFT_OUTER, on=(ReportUpload.uploaded_by == User.id))
                   .where(ReportUpload.id.in_(ids)
                          & ((ReportUpload.batch == batch.id) | ReportUpload.batch.is_null())
                          & (ReportUpload.company == batch.company_id) & (ReportUpload.status == UPLOAD_APPLIED))
                   .order_by(ReportUpload.applied_at.desc(), ReportUpload.id.desc()))
    for upload in uploads:
        upload.info = summary_of(upload)
        upload.counts_text = counts_text(upload.kind, upload.info.get("counts", {}))
        if upload.batch_id is None:
            part = next((b for b in upload.info.get("batches", []) if b.get("batch_id") == batch.id), {})
            spread = len(upload.info.get("batches", []))
            upload.counts_text = (f"{part.get('count', 0)} row{'s' if part.get('count', 0) != 1 else ''} for this "
                                  f"batch ({format_money(part.get('paid', 0))}) of a remittance across {spread} "
                                  f"batch{'es' if spread != 1 else ''}: {upload.counts_text}")
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
              ("chargeback", "charged back"), ("duplicate", "duplicate skipped")])
    parts = [f"{counts[k]} {w}" for k, w in words if counts.get(k)]
    return ", ".join(parts) or "no changes"


@dataclasses.dataclass
class BatchReports:
    """What the batch page shows of its reports: money, loads to look at, applied uploads, and
    why reports cannot be uploaded now (None when they can)."""

    money: dict
    exceptions: dict
    uploads: list
    refusal: str


def batch_reports(batch, tallied=None):
    """The batch's reports as its page shows them (a few queries; TALLIED: batch_tallies(batch),
    read here when not given)."""
    tallied = batch_tallies(batch) if tallied is None else tallied
    paid = batch_payments(batch)
    return BatchReports(batch_money(batch, tallied, paid), batch_exceptions(batch, tallied=tallied),
                        batch_uploads(batch, paid), batch_refusal(batch))


def upload_result(upload):
    """What an applied upload's result shows: the upload with who sent it, its stored summary and
    the words for its counts."""
    upload = (ReportUpload.select(ReportUpload, User)
              .join(User, JOIN.LEFT_OUTER, on=(ReportUpload.uploaded_by == User.id))
              .where(ReportUpload.id == upload.id).get())
    info = summary_of(upload)
    return {"upload": upload, "result_info": info, "counts_text": counts_text(upload.kind, info.get("counts", {})),
            **reversal.details(upload)}
