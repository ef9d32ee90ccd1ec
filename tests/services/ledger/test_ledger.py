"""The ledger (services/ledger): rows written with each applied report, in its transaction,
reversed by an undo; the running totals; migration 0015's carry-over. SQLite and PostgreSQL."""
import datetime
import importlib.util
import os

import pytest

from tests.helpers import apply_report
from tests.helpers import csv_bytes
from tests.helpers import payment_rows
from tests.helpers import purchase_rows
from tests.helpers import reload
from webapp import database
from webapp.models import LedgerEntry
from webapp.models import LedgerTotal
from webapp.models import db
from webapp.services import ledger
from webapp.services.ledger import invariants
from webapp.services.money import format_cents
from webapp.services.reports.parsing import PAYMENT_COLUMNS
from webapp.services.reports.parsing import PURCHASE_COLUMNS


def _sums(**where):
    query = LedgerEntry.select()
    for name, value in where.items():
        query = query.where(getattr(LedgerEntry, name) == value)
    out = {}
    for row in query:
        out[row.kind] = out.get(row.kind, 0) + row.amount_cents
    return out


def _with_reserve(loads, reserve_rate=0.05, fee_rate=0.03):
    """Purchase rows with a reserve: advance + fee + reserve = face."""
    rows = purchase_rows(loads, fee_rate=fee_rate)
    for row, load in zip(rows, loads):
        fee = round(load.total_cents * fee_rate)
        reserve = round(load.total_cents * reserve_rate)
        row[4], row[5], row[6] = (format_cents(load.total_cents - fee - reserve), format_cents(fee),
                                  format_cents(reserve))
    return csv_bytes(PURCHASE_COLUMNS, rows)


def test_a_purchase_report_writes_face_advance_fee_and_reserve(submitted_batch, world, dbconn):
    batch, loads = submitted_batch
    apply_report(batch, "purchase", _with_reserve(loads), world.billing)
    loads = reload(loads)
    for load in loads:
        assert _sums(load=load.id) == {"purchased": load.purchase_amount_cents, "advance": load.advance_cents,
                                       "fee": load.fee_cents, "reserve_held": load.reserve_cents}
    rows = list(LedgerEntry.select().where(LedgerEntry.kind == "purchased").order_by(LedgerEntry.id))
    assert {(r.upload_id is not None, r.row_number, r.batch_id, r.factor_id) for r in rows} == {
        (True, n, batch.id, batch.factor_id) for n in (2, 3, 4)}
    assert all(r.entry_date == datetime.date(2026, 11, 25) for r in rows)
    assert invariants.problems() == []


def test_a_payment_report_writes_collections_releases_and_short_pays(submitted_batch, world, dbconn):
    batch, loads = submitted_batch
    apply_report(batch, "purchase", _with_reserve(loads), world.billing)
    loads = reload(loads)
    rows = payment_rows(loads, amounts=[loads[0].total_cents - 500, loads[1].total_cents + 300, 1000],
                        final="yes")
    rows[0][6] = format_cents(loads[0].reserve_cents)  # reserve released on the first
    rows[2][8] = "no"  # a partial payment on the third
    apply_report(batch, "payment", csv_bytes(PAYMENT_COLUMNS, rows), world.billing)
    loads = reload(loads)
    assert _sums(load=loads[0].id)["short_pay"] == 500 == loads[0].short_pay_cents
    assert _sums(load=loads[0].id)["reserve_released"] == loads[0].reserve_cents
    assert _sums(load=loads[1].id)["overpay"] == 300 == loads[1].overpay_cents
    assert _sums(load=loads[2].id)["collected"] == 1000 and "short_pay" not in _sums(load=loads[2].id)
    assert invariants.problems() == []
    money = ledger.batch_sums(batch.id)
    assert money["collected"] == sum(x.paid_cents for x in loads)
    assert money["reserve_balance"] == sum(x.reserve_cents for x in loads) - loads[0].reserve_cents


def test_an_additional_payment_moves_the_short_pay_in_the_ledger(completed_batch, world, dbconn):
    batch, loads = completed_batch
    # Completed in full; a later final row pays 700 more: an overpay of 700.
    apply_report(batch, "payment", csv_bytes(PAYMENT_COLUMNS, payment_rows(loads[:1], amounts=[700],
                                                                           date=datetime.date(2026, 12, 22))),
                 world.billing)
    load = reload(loads[:1])[0]
    assert load.overpay_cents == 700 == _sums(load=load.id)["overpay"]
    assert invariants.problems() == []


def test_reverse_writes_a_negated_row_for_each_row_of_the_upload_once(financed_batch, world, dbconn):
    batch, loads = financed_batch
    upload_id = LedgerEntry.select().where(LedgerEntry.batch == batch.id).first().upload_id
    before = LedgerEntry.select().count()
    with db.atomic():
        written = ledger.reverse(cause_upload_id=upload_id, actor=world.billing, reason="Wrong file")
    assert written == before
    assert all(v == 0 for v in _sums(batch=batch.id).values())
    reversals = list(LedgerEntry.select().where(LedgerEntry.reversal_of.is_null(False)))
    assert {(r.actor_id, r.reason, r.upload_id) for r in reversals} == {(world.billing.id, "Wrong file", None)}
    with db.atomic():
        assert ledger.reverse(cause_upload_id=upload_id, actor=world.billing, reason="again") == 0
    assert LedgerEntry.select().count() == 2 * before
    assert invariants.reversal_problems() == [] and invariants.total_problems() == []


def test_a_report_that_fails_writes_no_ledger_row(submitted_batch, world, dbconn, monkeypatch):
    """The rows are in the apply's transaction: an apply that fails after them leaves none."""
    batch, loads = submitted_batch
    from webapp.services import reports
    from webapp.services.ledger import reports as ledger_reports
    real = ledger_reports.record_purchase

    def then_fail(*args):
        real(*args)
        assert LedgerEntry.select().count() > 0
        raise RuntimeError("disk full")

    monkeypatch.setattr(ledger, "record_purchase", then_fail)
    result = reports.preview(batch, "purchase", _with_reserve(loads), world.billing, "p.csv")
    with pytest.raises(RuntimeError):
        reports.apply(result.upload, world.billing)
    assert LedgerEntry.select().count() == 0 and LedgerTotal.select().count() == 0


def test_the_running_totals_equal_a_full_recount(completed_batch, world, dbconn):
    batch, loads = completed_batch
    kept = {(t.kind, t.month): t.amount_cents for t in LedgerTotal.select()}
    assert kept[("purchased", datetime.date(2026, 11, 1))] == sum(x.total_cents for x in loads)
    assert kept[("collected", datetime.date(2026, 12, 1))] == sum(x.paid_cents for x in loads)
    assert invariants.total_problems() == []
    # A total changed behind the ledger's back is found.
    LedgerTotal.update(amount_cents=LedgerTotal.amount_cents + 1).where(LedgerTotal.kind == "fee").execute()
    assert any("fee" in line for line in invariants.total_problems())


def _migration():
    path = os.path.join(database.MIGRATIONS_DIR, "0015_ledger.py")
    spec = importlib.util.spec_from_file_location("migration_0015", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_migration_carries_over_what_the_applied_reports_imply(submitted_batch, world, dbconn):
    """Drop the ledger the services wrote; the carry-over writes the same sums per load and kind,
    caused by the same uploads and rows, and the same totals."""
    batch, loads = submitted_batch
    apply_report(batch, "purchase", _with_reserve(loads), world.billing)
    loads = reload(loads)
    rows = payment_rows(loads, amounts=[loads[0].total_cents - 500, loads[1].total_cents, 900])
    rows[1][6] = format_cents(loads[1].reserve_cents)
    rows[2][8] = "no"
    apply_report(batch, "payment", csv_bytes(PAYMENT_COLUMNS, rows), world.billing)

    def picture():
        return sorted((r.load_id, r.batch_id, r.factor_id, r.subsidiary_id, r.kind, r.amount_cents,
                       str(r.entry_date), r.upload_id, r.row_number) for r in LedgerEntry.select())
    written = picture()
    totals = sorted(LedgerTotal.select(LedgerTotal.kind, LedgerTotal.month, LedgerTotal.amount_cents).tuples())
    LedgerTotal.delete().execute()
    LedgerEntry.delete().execute()
    with db.atomic():
        _migration().carry_over(db.obj)
    assert picture() == written
    assert sorted(LedgerTotal.select(LedgerTotal.kind, LedgerTotal.month, LedgerTotal.amount_cents).tuples()) \
        == totals
    assert invariants.problems() == []
