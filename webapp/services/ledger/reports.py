"""The ledger rows of an applied Purchase or Payment Report, from the plan checking made
(services/reports/checking.py). Called by services/reports/writing.py in the apply's
transaction, one line each."""
import collections

from peewee import fn

from webapp.models import COMPLETED
from webapp.models import LEDGER_ADVANCE
from webapp.models import LEDGER_COLLECTED
from webapp.models import LEDGER_FEE
from webapp.models import LEDGER_FEE_ADJUSTMENT
from webapp.models import LEDGER_OVERPAY
from webapp.models import LEDGER_PURCHASED
from webapp.models import LEDGER_RESERVE_HELD
from webapp.models import LEDGER_RESERVE_RELEASED
from webapp.models import LEDGER_SHORT_PAY
from webapp.models import LedgerEntry
from webapp.services.ledger.writing import Entry
from webapp.services.ledger.writing import _id
from webapp.services.ledger.writing import record
from webapp.services.sql import chunks


def record_purchase(result, upload, actor):
    """Face, advance, fee and reserve of every invoice the Purchase Report financed."""
    batch = result.batch
    head = (batch.company_id, batch.subsidiary_id, batch.factor_id)
    entries = []
    for o, amount, _warning in result.plan["finance"]:
        d = o.data
        for kind, cents in ((LEDGER_PURCHASED, amount), (LEDGER_ADVANCE, d.advance_cents),
                            (LEDGER_FEE, d.fee_cents), (LEDGER_RESERVE_HELD, d.reserve_cents)):
            if cents:
                entries.append(Entry(*head, o.load_id, batch.id, kind, cents, d.purchase_date,
                                     upload.id, o.row, _id(actor)))
    return record(entries)


def record_payment(result, upload, actor):
    """What the Payment Report collected, released and adjusted, and the change in each load's
    short pay and overpay (the ledger then holds exactly the load's short pay and overpay)."""
    batch = result.batch
    where = {}  # load id -> (company, subsidiary, factor), batch: a remittance spans batches
    entries = []
    last = {}
    for o, load, _additional in result.plan["payments"]:
        if load.id not in where:
            where[load.id] = (((batch.company_id, batch.subsidiary_id, batch.factor_id), batch.id) if batch
                              else ((result.scope.company_id, load.subsidiary, result.scope.factor.id), load.batch))
        head, batch_id = where[load.id]
        d = o.data
        for kind, cents in ((LEDGER_COLLECTED, d.amount_cents), (LEDGER_RESERVE_RELEASED, d.reserve_released_cents),
                            (LEDGER_FEE_ADJUSTMENT, d.fee_adjustment_cents)):
            if cents:
                entries.append(Entry(*head, load.id, batch_id, kind, cents, d.payment_date, upload.id, o.row,
                                     _id(actor)))
        if load.id not in last or d.payment_date >= last[load.id][0]:
            last[load.id] = (d.payment_date, o.row)
    states = {load_id: s for load_id, s in result.plan["loads"].items() if s["status"] == COMPLETED}
    held = short_and_over(states)
    for load_id, s in states.items():
        day, row = last.get(load_id, (None, None))
        if day is None:
            continue
        for kind, cents in ((LEDGER_SHORT_PAY, s["short"]), (LEDGER_OVERPAY, s["over"])):
            change = int(cents) - held.get((load_id, kind), 0)
            if change:
                head, batch_id = where[load_id]
                entries.append(Entry(*head, load_id, batch_id, kind, change, day, upload.id, s["row"] or row,
                                     _id(actor)))
    return record(entries)


def short_and_over(load_ids):
    """{(load id, kind): cents} of the short pays and overpays the ledger holds for LOAD_IDS."""
    out = collections.Counter()
    for chunk in chunks(sorted(load_ids)):
        query = (LedgerEntry.select(LedgerEntry.load, LedgerEntry.kind, fn.SUM(LedgerEntry.amount_cents))
                 .where(LedgerEntry.load.in_(chunk) & LedgerEntry.kind.in_((LEDGER_SHORT_PAY, LEDGER_OVERPAY)))
                 .group_by(LedgerEntry.load, LedgerEntry.kind).tuples())
        for load_id, kind, cents in query:
            out[(load_id, kind)] = int(cents or 0)
    return out
