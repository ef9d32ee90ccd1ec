"""What the batch page shows of its reports: the money, the loads that need a look, the
applied uploads and what each did."""
import dataclasses
import datetime
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
        when(Load.billing_status == QUEUED, 1).alias("n_queued"),
        when(Load.billing_status == CHARGED_BACK, 1).alias("n_charged_back"),
        when(Load.billing_status == INVOICED, 1).alias("n_invoiced"),
        when(Load.billing_status == FINANCED, 1).alias("n_financed"),
        when(Load.billing_status == COMPLETED, 1).alias("n_completed"),
        when(Load.factor_hold == True, 1).alias("n_held"),  # noqa: E712
    ).where(in_batch(batch)).dicts().get())
    money = {k: int(v or 0) for k, v in row.items()}
    pay = Payment.select(
        fn.COUNT(Payment.id).alias("payments"),
        fn.COALESCE(fn.SUM(Payment.reserve_released_cents), 0).alias("reserve_released"),
        fn.COALESCE(fn.SUM(Payment.fee_adjustment_cents), 0).alias("fee_adjustments"),
        fn.COALESCE(fn.SUM(Case(None, [(Payment.additional == True, 1)], 0)), 0).alias("n_additional"),  # noqa: E712
    )
    if is_postgres():
        # The batch's load ids as one array: PostgreSQL then looks each one's payments up by
        # their index, where a join made it scan every payment (140 ms at 2,000,000 loads).
        pay = pay.where(Payment.load == fn.ANY(fn.ARRAY(Load.select(Load.id).where(in_batch(batch)))))
    else:
        pay = pay.join(Load, on=(Payment.load == Load.id)).where(in_batch(batch))
    pay = pay.dicts().get()
    money.update({k: int(v or 0) for k, v in pay.items()})
    # The money with the factor as the ledger holds it (services/ledger); the counts are the loads'.
    sums = ledger.batch_sums(batch.id)
    for name in ("purchased", "advanced", "fees", "reserve", "collected", "short_pays", "overpays",
                 "reserve_released", "fee_adjustments", "charged_back", "reserve_charged", "reserve_balance"):
        money[name] = sums[name]
    return money


def batch_exceptions(batch, limit=200):
    """Loads of the batch that need a look: held, short or over paid, rejected (left the batch)."""
    held_or_paid = list(
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


def batch_uploads(batch):
    """The batch's applied reports, newest first, with who uploaded them and what they did; with
    them the remittances (uploaded on Reports > Factoring, across batches) that paid its loads,
    each saying its part in this batch."""
    remittances = (Payment.select(Payment.upload).join(Load, on=(Payment.load == Load.id))
                   .where(in_batch(batch) & Payment.upload.is_null(False)))
    applied = (ReportUpload.select(ReportUpload, User)
               .join(User, JOIN.LEFT_OUTER, on=(ReportUpload.uploaded_by == User.id))
               .where(ReportUpload.status == UPLOAD_APPLIED))
    # Two reads, each by its own index (the batch's uploads, which are its company's; the
    # remittances by id), rather than one whose OR the database answers by reading every
    # upload of the company.
    uploads = (list(applied.where(ReportUpload.batch == batch.id))
               + list(applied.where((ReportUpload.company == batch.company_id) & ReportUpload.batch.is_null()
                                    & ReportUpload.id.in_(remittances))))
    uploads.sort(key=lambda u: (u.applied_at is not None, u.applied_at or datetime.datetime.min, u.id), reverse=True)
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


def batch_reports(batch):
    """The batch's reports as its page shows them (a few aggregate queries)."""
    return BatchReports(batch_money(batch), batch_exceptions(batch), batch_uploads(batch), batch_refusal(batch))


def upload_result(upload):
    """What an applied upload's result shows: the upload with who sent it, its stored summary and
    the words for its counts."""
    upload = (ReportUpload.select(ReportUpload, User)
              .join(User, JOIN.LEFT_OUTER, on=(ReportUpload.uploaded_by == User.id))
              .where(ReportUpload.id == upload.id).get())
    info = summary_of(upload)
    return {"upload": upload, "result_info": info, "counts_text": counts_text(upload.kind, info.get("counts", {})),
            **reversal.details(upload)}
