"""The ledger of money with the factor: one append-only row per money event (purchase, advance,
fee, reserve held, collection, reserve released, short pay, overpay, fee adjustment,
chargeback, and the reversal of any of them), written in the event's transaction, with
running totals by month. Every figure of money with the factor is read from it.

writing (record, reverse, the totals), reports (the rows of an applied report), chargebacks
(record and undo one), reading (a batch's and a load's sums), invariants (the ledger agrees
with the loads).
"""
from webapp.services.ledger.chargebacks import charge_back_from_form
from webapp.services.ledger.chargebacks import open_chargeback
from webapp.services.ledger.chargebacks import record_chargeback
from webapp.services.ledger.chargebacks import undo_chargeback
from webapp.services.ledger.chargebacks import undo_from_form
from webapp.services.ledger.reading import batch_sums
from webapp.services.ledger.reading import load_entries
from webapp.services.ledger.reading import load_sums
from webapp.services.ledger.reports import record_payment
from webapp.services.ledger.reports import record_purchase
from webapp.services.ledger.writing import Entry
from webapp.services.ledger.writing import record
from webapp.services.ledger.writing import reverse
from webapp.services.ledger.writing import reverse_chargeback

__all__ = [
    "Entry", "record", "reverse", "reverse_chargeback", "record_purchase", "record_payment",
    "record_chargeback", "undo_chargeback", "charge_back_from_form", "undo_from_form", "open_chargeback", "batch_sums", "load_sums", "load_entries",
]
