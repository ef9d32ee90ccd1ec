"""The ledger rows of an applied Purchase or Payment Report, from the plan checking made
(services/reports/checking.py). Called by services/reports/writing.py in the apply's
transaction, one line each."""
import collections

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
from webapp.services.ledger.writing import _id
from webapp.services.ledger.writing import record_rows
from webapp.services.sql import select_in


def record_purchase(result, upload, actor):
    """Face, advance, fee and reserve of every invoice the Purchase Report financed."""
    batch = result.batch
    head = (batch.company_id, batch.subsidiary_id, batch.factor_id)
    actor_id = _id(actor)
    rows = []
    for o, amount, _warning in result.plan["finance"]:
        d = o.data
        day = d.purchase_date.isoformat()
        for kind, cents in ((LEDGER_PURCHASED, amount), (LEDGER_ADVANCE, d.advance_cents),
                            (LEDGER_FEE, d.fee_cents), (LEDGER_RESERVE_HELD, d.reserve_cents)):
            if cents:
                rows.append(head + (o.load_id, batch.id, kind, int(cents), day, upload.id, o.row, actor_id, None,
                                    None, ""))
    return record_rows(rows)


def record_payment(result, upload, actor):
    """What the Payment Report collected, released and adjusted, and the change in each load's
    short pay and overpay (the ledger then holds exactly the load's short pay and overpay)."""
    batch = result.batch
    actor_id = _id(actor)
    where = {}  # load id -> (company, subsidiary, factor, load, batch): a remittance spans batches
    rows = []
    last = {}
    for o, load, _additional in result.plan["payments"]:
        head = where.get(load.id)
        if head is None:
            head = where[load.id] = ((batch.company_id, batch.subsidiary_id, batch.factor_id, load.id, batch.id)
                                     if batch else (result.scope.company_id, load.subsidiary,
                                                    result.scope.factor.id, load.id, load.batch))
        d = o.data
        day = d.payment_date.isoformat()
        for kind, cents in ((LEDGER_COLLECTED, d.amount_cents), (LEDGER_RESERVE_RELEASED, d.reserve_released_cents),
                            (LEDGER_FEE_ADJUSTMENT, d.fee_adjustment_cents)):
            if cents:
                rows.append(head + (kind, int(cents), day, upload.id, o.row, actor_id, None, None, ""))
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
                rows.append(where[load_id] + (kind, change, day.isoformat(), upload.id, s["row"] or row, actor_id,
                                              None, None, ""))
    return record_rows(rows)


def short_and_over(load_ids):
    """{(load id, kind): cents} of the short pays and overpays the ledger holds for LOAD_IDS."""
    out = collections.Counter()
    rows = select_in('SELECT "load_id", "kind", SUM("amount_cents") FROM "ledger_entry" '
                     'WHERE "kind" IN ({p}, {p}) AND "load_id" IN ({marks}) GROUP BY "load_id", "kind"',
                     sorted(load_ids), params=(LEDGER_SHORT_PAY, LEDGER_OVERPAY))
    for load_id, kind, cents in rows:
        out[(load_id, kind)] = int(cents or 0)
    return out
