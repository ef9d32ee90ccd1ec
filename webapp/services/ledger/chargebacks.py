"""Chargebacks: a factor charged an unpaid invoice back to the carrier.

record_chargeback() refuses a load that is not Financed (with the reason), then in one
transaction: the load leaves the factor (billing status Charged back, invoicing method
direct), a Chargeback record, the ledger rows (the amount owed to the factor, and the part
of it the factor took from the invoice's reserve), and a load history row with who, when and
the reason. undo_chargeback() puts the load back as it was, with reversing ledger rows and a
history row of its own.
"""
import datetime
import json

from peewee import fn

from webapp.models import BILLING_STATUSES
from webapp.models import CHARGED_BACK
from webapp.models import DIRECT
from webapp.models import FINANCED
from webapp.models import LEDGER_CHARGEBACK
from webapp.models import LEDGER_RESERVE_CHARGED
from webapp.models import LEDGER_RESERVE_HELD
from webapp.models import LEDGER_RESERVE_RELEASED
from webapp.models import Batch
from webapp.models import Chargeback
from webapp.models import LedgerEntry
from webapp.models import Load
from webapp.models import utcnow
from webapp.services import audit
from webapp.services.ledger.writing import Entry
from webapp.services.ledger.writing import _id
from webapp.services.ledger.writing import record
from webapp.services.ledger.writing import reverse_chargeback
from webapp.services.money import format_money
from webapp.services.money import parse_money
from webapp.services.sql import write_transaction
from webapp.services.tables import parse_date
from webapp.services.validation import FORM
from webapp.services.validation import Invalid

REASON_MAX = 500


def refusal(load):
    """Why LOAD cannot be charged back now, or None."""
    if load.billing_status != FINANCED:
        label = BILLING_STATUSES.get(load.billing_status, load.billing_status)
        return (f"Load {load.load_number} is {label}: only a Financed invoice (bought by the factor and not "
                "yet paid in full) can be charged back.")
    return None


def reserve_balance(load_id):
    """The reserve the ledger holds for one invoice: held − released − charged."""
    signs = {LEDGER_RESERVE_HELD: 1, LEDGER_RESERVE_RELEASED: -1, LEDGER_RESERVE_CHARGED: -1}
    total = 0
    for kind, cents in (LedgerEntry.select(LedgerEntry.kind, fn.SUM(LedgerEntry.amount_cents))
                        .where((LedgerEntry.load == load_id) & LedgerEntry.kind.in_(tuple(signs)))
                        .group_by(LedgerEntry.kind).tuples()):
        total += signs[kind] * int(cents or 0)
    return total


def parse_form(form, today=None):
    """(amount cents, date, reason) from the load page's chargeback form, or Invalid naming each field."""
    today = today or datetime.date.today()
    errors = {}
    amount = when = None
    try:
        amount = parse_money(form.get("amount") or "")
        if amount <= 0:
            errors["amount"] = "Enter the amount charged back, more than $0.00."
    except ValueError:
        errors["amount"] = "Enter the amount charged back in dollars and cents, e.g. 1,250.00."
    try:
        when = parse_date(form.get("chargeback_date") or "") if (form.get("chargeback_date") or "").strip() else None
        if when is None:
            errors["chargeback_date"] = "Enter the date of the chargeback."
        elif when > today:
            errors["chargeback_date"] = "The chargeback date cannot be in the future."
    except ValueError:
        errors["chargeback_date"] = "Enter the date as YYYY-MM-DD or MM/DD/YYYY."
    reason = " ".join(str(form.get("reason") or "").split())
    if not reason:
        errors["reason"] = "Say why the factor charged the invoice back."
    elif len(reason) > REASON_MAX:
        errors["reason"] = f"The reason is too long: at most {REASON_MAX} characters."
    if errors:
        raise Invalid(errors)
    return amount, when, reason


def record_chargeback(load, amount_cents, date, reason, actor, cause_upload=None, row_number=None):
    """Charge LOAD back: see the module. Raises Invalid (nothing changed) when it is not
    Financed, or the amount or date cannot be. Returns the Chargeback."""
    with write_transaction():
        load = Load.get_by_id(load.id)
        why = refusal(load)
        if why:
            raise Invalid({FORM: why})
        face = load.purchase_amount_cents if load.purchase_amount_cents is not None else load.total_cents
        if amount_cents is None or amount_cents <= 0:
            raise Invalid({"amount": "Enter the amount charged back, more than $0.00."})
        if amount_cents > face:
            raise Invalid({"amount": f"The chargeback {format_money(amount_cents)} is more than the invoice "
                                     f"{format_money(face)}."})
        if load.purchase_date and date < load.purchase_date:
            raise Invalid({"chargeback_date": f"The chargeback date is before the purchase date "
                                              f"{load.purchase_date.isoformat()}."})
        now = utcnow()
        changed = (Load.update(billing_status=CHARGED_BACK, invoicing_method=DIRECT, updated_at=now)
                   .where((Load.id == load.id) & (Load.billing_status == FINANCED)).execute())
        if changed != 1:
            raise Invalid({FORM: f"Load {load.load_number} changed while you were recording the chargeback; "
                                 "look at it again."})
        batch = Batch.get_or_none(Batch.id == load.batch_id) if load.batch_id else None
        from_reserve = max(0, min(amount_cents, reserve_balance(load.id)))
        chargeback = Chargeback.create(
            company=load.company_id, load=load.id, batch=load.batch_id, upload=_id(cause_upload),
            row_number=row_number, chargeback_date=date, amount_cents=amount_cents,
            reserve_applied_cents=from_reserve, reason=reason, previous_invoicing_method=load.invoicing_method,
            created_by=_id(actor), created_at=now)
        head = (load.company_id, load.subsidiary_id, batch.factor_id if batch else None, load.id, load.batch_id)
        cause = (_id(cause_upload), row_number, _id(actor), chargeback.id, None, reason)
        record([Entry(*head, LEDGER_CHARGEBACK, amount_cents, date, *cause),
                Entry(*head, LEDGER_RESERVE_CHARGED, from_reserve, date, *cause)], now=now)
        audit.record(audit.LOAD_CHARGEBACK, "load", load.id, actor=_id(actor), company=load.company_id,
                     before=FINANCED, after=CHARGED_BACK, batch=load.batch_id, upload=_id(cause_upload),
                     row_number=row_number,
                     details=json.dumps({"reason": reason, "amount_cents": amount_cents, "chargeback": chargeback.id,
                                         "reserve_applied_cents": from_reserve, "date": date.isoformat()},
                                        sort_keys=True))
    return chargeback


def open_chargeback(load):
    """The load's chargeback not undone (None when there is none)."""
    return (Chargeback.select().where((Chargeback.load == load.id) & Chargeback.undone_at.is_null())
            .order_by(Chargeback.id.desc()).first())


def undo_chargeback(chargeback, actor, reason=""):
    """Undo a chargeback: the load is Financed by its factor again (its invoicing method as it
    was), the ledger rows reversed, a history row written. Raises Invalid when it cannot."""
    reason = " ".join(str(reason or "").split())[:REASON_MAX]
    with write_transaction():
        chargeback = Chargeback.get_by_id(chargeback.id)
        load = Load.get_by_id(chargeback.load_id)
        if chargeback.undone_at is not None:
            raise Invalid({FORM: "This chargeback was already undone."})
        now = utcnow()
        changed = (Load.update(billing_status=FINANCED, invoicing_method=chargeback.previous_invoicing_method,
                               updated_at=now)
                   .where((Load.id == load.id) & (Load.billing_status == CHARGED_BACK)).execute())
        if changed != 1:
            label = BILLING_STATUSES.get(load.billing_status, load.billing_status)
            raise Invalid({FORM: f"Load {load.load_number} is {label}, no longer Charged back; the chargeback "
                                 "cannot be undone."})
        (Chargeback.update(undone_at=now, undone_by=_id(actor), undo_reason=reason)
         .where(Chargeback.id == chargeback.id).execute())
        reverse_chargeback(chargeback.id, actor=actor, reason=reason or "Chargeback undone")
        audit.record(audit.LOAD_CHARGEBACK_UNDO, "load", load.id, actor=_id(actor), company=load.company_id,
                     before=CHARGED_BACK, after=FINANCED, batch=load.batch_id,
                     details=json.dumps({"reason": reason, "chargeback": chargeback.id}, sort_keys=True))
    return chargeback


def charge_back_from_form(load, form, actor):
    """The load page's "Record chargeback": the form checked, then record_chargeback()."""
    why = refusal(load)
    if why:
        raise Invalid({FORM: why})
    amount, when, reason = parse_form(form)
    return record_chargeback(load, amount, when, reason, actor)


def undo_from_form(load, form, actor):
    """The load page's "Undo chargeback": the load's open chargeback undone with the reason given."""
    chargeback = open_chargeback(load)
    if chargeback is None:
        raise Invalid({FORM: f"Load {load.load_number} has no chargeback to undo."})
    reason = " ".join(str(form.get("undo_reason") or "").split())
    if not reason:
        raise Invalid({"undo_reason": "Say why the chargeback is undone (for the load's history)."})
    if len(reason) > REASON_MAX:
        raise Invalid({"undo_reason": f"The reason is too long: at most {REASON_MAX} characters."})
    return undo_chargeback(chargeback, actor, reason)
