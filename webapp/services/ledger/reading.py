"""Sums of the ledger: what a batch's page and a load's page show of the money."""
from peewee import JOIN
from peewee import fn

from webapp.models import LEDGER_KINDS
from webapp.models import REPORT_KINDS
from webapp.models import LedgerEntry
from webapp.models import ReportUpload
from webapp.models import User

# The name each kind's sum has in a money dict (the batch page's words).
SUM_NAMES = {
    "purchased": "purchased", "advance": "advanced", "fee": "fees", "reserve_held": "reserve",
    "collected": "collected", "reserve_released": "reserve_released", "short_pay": "short_pays",
    "overpay": "overpays", "fee_adjustment": "fee_adjustments", "chargeback": "charged_back",
    "reserve_charged": "reserve_charged",
}


def _sums(where):
    money = {name: 0 for name in SUM_NAMES.values()}
    for kind, cents in (LedgerEntry.select(LedgerEntry.kind, fn.SUM(LedgerEntry.amount_cents))
                        .where(where).group_by(LedgerEntry.kind).tuples()):
        if kind in SUM_NAMES:
            money[SUM_NAMES[kind]] = int(cents or 0)
    money["reserve_balance"] = money["reserve"] - money["reserve_released"] - money["reserve_charged"]
    return money


def batch_sums(batch_id):
    """The batch's money by kind from its ledger rows (one aggregate query)."""
    return _sums(LedgerEntry.batch == batch_id)


def load_sums(load_id):
    """One load's money by kind from its ledger rows."""
    return _sums(LedgerEntry.load == load_id)


def load_entries(load_id):
    """Every ledger row of one load, oldest first (a reversal after what it reverses), each with
    `kind_label`, `cause` in words and `upload_id` (the report it came from, if any)."""
    rows = list(LedgerEntry.select(LedgerEntry, ReportUpload.id, ReportUpload.kind, ReportUpload.filename,
                                   User.id, User.name, User.email)
                .join_from(LedgerEntry, ReportUpload, JOIN.LEFT_OUTER)
                .join_from(LedgerEntry, User, JOIN.LEFT_OUTER)
                .where(LedgerEntry.load == load_id)
                .order_by(LedgerEntry.entry_date, LedgerEntry.id))
    for row in rows:
        upload = row.upload if row.upload_id else None
        who = row.actor.display_name if row.actor_id and row.actor else ""
        if upload is not None:
            label = REPORT_KINDS.get(upload.kind, "Report")
            row.cause = f"{label} {upload.filename}" + (f", row {row.row_number}" if row.row_number else "")
        elif row.reversal_of_id:
            row.cause = f"Reversed by {who or 'the system'}" + (f": {row.reason}" if row.reason else "")
        else:
            row.cause = f"By {who or 'the system'}" + (f": {row.reason}" if row.reason else "")
    return rows


__all__ = ["LEDGER_KINDS", "batch_sums", "load_sums", "load_entries", "SUM_NAMES"]
