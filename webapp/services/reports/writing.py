"""Writing an applied report, inside apply()'s transaction: conditional bulk UPDATEs (the load
must still be in the status the preview saw) and one audit row per status change pointing to
the upload and its row."""
import json

from peewee import DateField

from webapp.models import FINANCED
from webapp.models import INVOICED
from webapp.models import QUEUED
from webapp.models import AuditLog
from webapp.models import BatchLoad
from webapp.models import Load
from webapp.models import Payment
from webapp.models import db
from webapp.models import utcnow
from webapp.services import audit
from webapp.services import ledger
from webapp.services.sql import V
from webapp.services.sql import bulk_insert
from webapp.services.sql import bulk_update
from webapp.services.sql import execute_in
from webapp.services.sql import json_array
from webapp.services.sql import select_in
from webapp.services.sql import stamp
from webapp.services.validation import Invalid


class WriteConflict(Exception):
    """A conditional UPDATE found fewer rows than the preview saw: someone moved them first."""


def _expect(count, wanted):
    """A conditional bulk UPDATE must touch exactly the rows the preview saw."""
    if count != wanted:
        raise WriteConflict()


def write_purchase(result, upload, actor):
    batch = result.batch
    now = utcnow()
    changes = LoadChanges(upload, [o.load_id for o, _, _ in result.plan["finance"]]
                          + [o.load_id for o in result.plan["reject"]] + [o.load_id for o in result.plan["hold"]])
    history = _History(batch, upload, actor, now)
    still_here = [(Load.batch, batch.id), (Load.billing_status, INVOICED)]

    finance = result.plan["finance"]
    count = bulk_update(
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
    count = bulk_update(Load, reject, ["integer", "text"],
                         [(Load.billing_status, QUEUED), (Load.batch, None), (Load.status_reason, V(2)),
                          (Load.factor_hold, False), (Load.updated_at, now)],
                         still_here)
    _expect(count, len(reject))
    count = bulk_update(BatchLoad, reject, ["integer", "text"],
                         [(BatchLoad.live, False), (BatchLoad.removed_reason, V(2))],
                         [(BatchLoad.batch, batch.id), (BatchLoad.live, True)], key=BatchLoad.load)
    _expect(count, len(reject))
    for o in result.plan["reject"]:
        history.add(o.load_id, o.row, INVOICED, QUEUED,
                    _details(report="purchase", outcome="rejected", reason=o.data.reason))

    hold = [(o.load_id, o.data.reason) for o in result.plan["hold"]]
    count = bulk_update(Load, hold, ["integer", "text"],
                         [(Load.factor_hold, True), (Load.status_reason, V(2)), (Load.updated_at, now)],
                         still_here)
    _expect(count, len(hold))
    for o in result.plan["hold"]:
        history.add(o.load_id, o.row, INVOICED, INVOICED,
                    _details(report="purchase", outcome="held", reason=o.data.reason), action=audit.LOAD_HOLD)
    history.write()
    changes.write()
    ledger.record_purchase(result, upload, actor)


_PAYMENT_FIELDS = (Payment.company, Payment.load, Payment.upload, Payment.row_number, Payment.payment_date,
                   Payment.amount_cents, Payment.reference, Payment.method, Payment.reserve_released_cents,
                   Payment.fee_adjustment_cents, Payment.final, Payment.notes, Payment.additional,
                   Payment.created_at)


def write_payment(result, upload, actor):
    """The payments and each load's new status and sums. A remittance (result.batch None) spans
    batches: each load must still be in the batch its preview saw (s["batch_id"])."""
    now = utcnow()
    chargebacks = result.plan.get("chargebacks", [])
    snapshot = LoadChanges(upload, list(result.plan["loads"]) + [load.id for _, load in chargebacks])
    created = stamp(now)
    bulk_insert(Payment, _PAYMENT_FIELDS, [
        (result.company_id, load.id, upload.id, o.row, o.data.payment_date.isoformat(), o.data.amount_cents,
         o.data.reference, o.data.method, o.data.reserve_released_cents, o.data.fee_adjustment_cents,
         o.data.final, o.data.notes, additional, created)
        for o, load, additional in result.plan["payments"]])

    changes = list(result.plan["loads"].items())
    count = bulk_update(
        Load,
        [(load_id, s["old_status"], s["old_paid"], s["status"], s["paid"], s["short"], s["over"], s["batch_id"])
         for load_id, s in changes],
        ["integer", "text", "integer", "text", "integer", "integer", "integer", "integer"],
        [(Load.billing_status, V(4)), (Load.paid_cents, V(5)), (Load.short_pay_cents, V(6)),
         (Load.overpay_cents, V(7)), (Load.updated_at, now)],
        [(Load.batch, V(8)), (Load.billing_status, V(2)), (Load.paid_cents, V(3))])
    _expect(count, len(changes))
    history = _History(result.batch, upload, actor, now, company_id=result.company_id)
    for load_id, s in changes:
        if s["status"] != s["old_status"]:
            history.add(load_id, s["row"], s["old_status"], s["status"],
                        f'{{"overpay_cents": {int(s["over"])}, "paid_cents": {int(s["paid"])}, '
                        f'"report": "payment", "short_pay_cents": {int(s["short"])}}}', batch_id=s["batch_id"])
    history.write()
    ledger.record_payment(result, upload, actor)
    for o, load in chargebacks:   # a row of Kind chargeback: the ledger's chargeback, with its history
        try:
            ledger.record_chargeback(load, o.data.amount_cents, o.data.payment_date,
                                     o.data.notes or "Charged back by the factor's Payment Report", actor,
                                     cause_upload=upload, row_number=o.row)
        except Invalid:   # the load moved since the preview checked it
            raise WriteConflict()
    snapshot.write()


# What an apply may change on a load, kept before and after (report_load_change) so that a
# reversal puts back exactly what it found, and sees whether anything moved since.
SNAPSHOT_FIELDS = (Load.billing_status, Load.batch, Load.purchase_date, Load.purchase_amount_cents,
                   Load.advance_cents, Load.fee_cents, Load.reserve_cents, Load.factor_reference,
                   Load.amount_warning, Load.factor_hold, Load.status_reason, Load.paid_cents,
                   Load.short_pay_cents, Load.overpay_cents, Load.invoicing_method)
SNAPSHOT_NAMES = tuple(f.name for f in SNAPSHOT_FIELDS)


_SNAPSHOT_COLUMNS = ", ".join(f'"{f.column_name}"' for f in SNAPSHOT_FIELDS)
_HOLD = SNAPSHOT_NAMES.index("factor_hold")
_DATES = [i for i, f in enumerate(SNAPSHOT_FIELDS) if isinstance(f, DateField)]


def load_states(load_ids):
    """{load id: [value of each of SNAPSHOT_FIELDS]}, as LoadChanges keeps them (dates as ISO
    text, the hold a bool): what an undo compares with what the apply wrote."""
    states = {}
    for row in select_in(f'SELECT "id", {_SNAPSHOT_COLUMNS} FROM "load" WHERE "id" IN ({{marks}})',
                         sorted(set(load_ids))):
        values = list(row[1:])
        values[_HOLD] = bool(values[_HOLD])
        for i in _DATES:
            if values[i] is not None and not isinstance(values[i], str):
                values[i] = values[i].isoformat()
        states[row[0]] = values
    return states


def named(values):
    """A load_states() value by field name."""
    return dict(zip(SNAPSHOT_NAMES, values))


class LoadChanges:
    """The loads an apply changes: one report_load_change row per load, its "before" kept as the
    apply starts, its "after" once everything is written (write()). Both are JSON arrays the
    database builds (sql.json_array): thousands of them are kept on every apply."""

    def __init__(self, upload, load_ids):
        self.upload_id = upload.id
        state = json_array(SNAPSHOT_FIELDS)
        execute_in(f'INSERT INTO "report_load_change" ("upload_id", "load_id", "before", "after") '
                   f"SELECT {{p}}, \"id\", {state}, '' FROM \"load\" WHERE \"id\" IN ({{marks}})",
                   sorted(set(load_ids)), params=(self.upload_id,))

    def write(self):
        state = json_array(SNAPSHOT_FIELDS, table="load")
        db.execute_sql(f'UPDATE "report_load_change" SET "after" = {state} FROM "load" '
                       f'WHERE "load"."id" = "report_load_change"."load_id" '
                       f'AND "report_load_change"."upload_id" = {db.param}', (self.upload_id,))


class _History:
    """The audit rows of one apply: one per load status change, pointing to the batch, the
    upload and its row. The same rows as services.audit.status_change_rows, built as tuples
    because an apply writes thousands of them."""

    def __init__(self, batch, upload, actor, now, company_id=None):
        """BATCH None (a remittance): each add() names its load's batch."""
        self.head = (company_id or batch.company_id, actor.id if actor else None)
        self.batch_id = batch.id if batch is not None else None
        self.upload_id = upload.id
        self.now = stamp(now)
        self.rows = []

    def add(self, load_id, row_number, before, after, details, action=audit.LOAD_STATUS, batch_id=None):
        self.rows.append(self.head + (action, "load", load_id, before, after, details)
                         + (batch_id or self.batch_id, self.upload_id, row_number, self.now))

    def write(self):
        bulk_insert(AuditLog, audit.BULK_FIELDS, self.rows)


def _details(**values):
    return json.dumps(values, sort_keys=True, default=str)


def _purchase_details(data):
    """_details() of a financed row, written out: it runs once per invoice."""
    def num(v):
        return "null" if v is None else str(int(v))
    return (f'{{"advance_cents": {num(data.advance_cents)}, "fee_cents": {num(data.fee_cents)}, '
            f'"report": "purchase", "reserve_cents": {num(data.reserve_cents)}}}')
