"""Helpers for the report tests: a submitted batch built directly with the models,
report files written the way people write them, and a snapshot of everything an
upload may change (to prove a refused one changed nothing).
"""
import datetime

from peewee import fn

from webapp.models import BATCH_READY
from webapp.models import FACTORING
from webapp.models import INVOICED
from webapp.models import QUEUED
from webapp.models import UPLOAD_APPLIED
from webapp.models import AuditLog
from webapp.models import Batch
from webapp.models import BatchLoad
from webapp.models import Company
from webapp.models import Load
from webapp.models import Payment
from webapp.models import ReportUpload
from webapp.models import Subsidiary
from webapp.models import User
from webapp.models import db
from webapp.services.money import format_cents
from webapp.services.reports.parsing import PAYMENT_COLUMNS
from webapp.services.reports.parsing import PURCHASE_COLUMNS

PURCHASE_DATE = datetime.date(2026, 11, 25)


def company(name="Demo Trucking"):
    return Company.get(Company.name == name)


def billing_user(email="billing@demo.test"):
    return User.get(User.email == email)


def make_batch(count=3, *, company_name="Demo Trucking", subsidiary_name=None, status=BATCH_READY,
               loads=None):
    """A submitted batch of COUNT Queued factoring loads (now Invoiced), as batch submission leaves it."""
    owner = company(company_name)
    if loads is None:
        subs = Subsidiary.select().where(Subsidiary.company == owner)
        if subsidiary_name:
            subs = subs.where(Subsidiary.name == subsidiary_name)
        sub = subs.order_by(Subsidiary.name).first()
        loads = list(Load.select().where(
            (Load.company == owner) & (Load.subsidiary == sub) & (Load.billing_status == QUEUED)
            & (Load.invoicing_method == FACTORING) & Load.batch.is_null())
            .order_by(Load.id).limit(count))
        assert len(loads) == count, "the demo data has fewer Queued factoring loads than asked for"
    sub_id = loads[0].subsidiary_id
    with db.atomic():
        number = (Batch.select(fn.MAX(Batch.number)).where(Batch.company == owner).scalar() or 0) + 1
        batch = Batch.create(company=owner, subsidiary=sub_id, number=number, status=status,
                             load_count=len(loads), total_cents=sum(x.total_cents for x in loads),
                             created_by=billing_user() if company_name == "Demo Trucking" else None)
        BatchLoad.insert_many([{"batch": batch.id, "load": x.id, "live": True, "amount_cents": x.total_cents,
                                "invoice_number": x.invoice_number or ""} for x in loads]).execute()
        Load.update(batch=batch.id, billing_status=INVOICED).where(
            Load.id.in_([x.id for x in loads])).execute()
    return batch, reload(loads)


def reload(loads):
    """Fresh copies of LOADS, in the same order."""
    fresh = {x.id: x for x in Load.select().where(Load.id.in_([x.id for x in loads]))}
    return [fresh[x.id] for x in loads]


def csv_bytes(headers, rows, *, delimiter=",", newline="\r\n", encoding="utf-8", bom=False):
    """A CSV file as Excel writes it (quotes only where needed)."""
    def cell(value):
        text = "" if value is None else str(value)
        if any(ch in text for ch in (delimiter, '"', "\n", "\r")):
            text = '"' + text.replace('"', '""') + '"'
        return text
    lines = [delimiter.join(cell(h) for h in headers)]
    lines += [delimiter.join(cell(v) for v in row) for row in rows]
    data = (newline.join(lines) + newline).encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def purchase_rows(loads, *, fee_rate=0.03, date=PURCHASE_DATE, status="purchased"):
    """A complete Purchase Report body for LOADS: 100 % minus a flat fee, no reserve (Capital Depot)."""
    rows = []
    for i, load in enumerate(loads):
        fee = round(load.total_cents * fee_rate)
        rows.append([load.invoice_number, load.load_number, date.isoformat(), format_cents(load.total_cents),
                     format_cents(load.total_cents - fee), format_cents(fee), "0.00", status, "",
                     f"CD-{1000 + i}"])
    return rows


def purchase_csv(loads, **kwargs):
    return csv_bytes(PURCHASE_COLUMNS, purchase_rows(loads, **kwargs))


def payment_rows(loads, *, date=datetime.date(2026, 12, 20), amounts=None, final="yes", method="ACH"):
    rows = []
    for i, load in enumerate(loads):
        amount = amounts[i] if amounts else load.total_cents
        rows.append([load.invoice_number, load.load_number, date.isoformat(), format_cents(amount),
                     f"ACH-{7000 + i}", method, "0.00", "0.00", final, ""])
    return rows


def payment_csv(loads, **kwargs):
    return csv_bytes(PAYMENT_COLUMNS, payment_rows(loads, **kwargs))


def snapshot():
    """Everything a report upload may change, to compare before and after a refusal."""
    return {
        "loads": list(Load.select(
            Load.id, Load.billing_status, Load.batch, Load.purchase_date, Load.purchase_amount_cents,
            Load.advance_cents, Load.fee_cents, Load.reserve_cents, Load.factor_reference,
            Load.amount_warning, Load.status_reason, Load.factor_hold, Load.paid_cents,
            Load.short_pay_cents, Load.overpay_cents).order_by(Load.id).tuples()),
        "batch_loads": list(BatchLoad.select(BatchLoad.id, BatchLoad.live, BatchLoad.removed_reason)
                            .order_by(BatchLoad.id).tuples()),
        "payments": Payment.select().count(),
        "audit": AuditLog.select().count(),
        "applied": ReportUpload.select().where(ReportUpload.status == UPLOAD_APPLIED).count(),
    }
