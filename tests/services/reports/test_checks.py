"""Checks the clerk would want (services/reports/checking.py with services/factors.py's terms):
warnings, never refusals, kept on the upload."""
import datetime

from tests.helpers import apply_report
from tests.helpers import csv_bytes
from tests.helpers import payment_rows
from tests.helpers import purchase_rows
from webapp.models import FEE_TIERED
from webapp.models import Company
from webapp.models import Factor
from webapp.models import FactorFeeTier
from webapp.models import ReportUpload
from webapp.models import utcnow
from webapp.services import reports
from webapp.services.money import format_money
from webapp.services.reports import remittance
from webapp.services.reports.parsing import PAYMENT_COLUMNS
from webapp.services.reports.parsing import PURCHASE_COLUMNS


def today():
    return utcnow().date()


def share(cents, bp):
    return (cents * bp + 5000) // 10000


def capital_depot_rows(loads, date=None):
    """A Purchase Report at Capital Depot's terms (97.50 % advance, 2.50 % fee, no reserve)."""
    rows = purchase_rows(loads, fee_rate=0.025, date=date or today())
    for row, load in zip(rows, loads):
        row[4:7] = [f"{share(load.total_cents, 9750) / 100:.2f}", f"{share(load.total_cents, 250) / 100:.2f}", "0.00"]
    return rows


def warnings_of(result, column=None):
    return [(w.row, w.column, w.message) for w in result.warnings if column is None or w.column == column]


def test_figures_at_the_agreed_terms_within_a_cent_warn_of_nothing(make_batch, world, dbconn):
    batch, loads = make_batch(count=3)
    result = reports.preview(batch, "purchase", csv_bytes(PURCHASE_COLUMNS, capital_depot_rows(loads)),
                             world.billing, "p.csv")
    assert result.ok and result.warnings == []


def test_a_fee_above_the_agreed_rate_is_a_warning_naming_row_expected_and_reported_kept_on_the_upload(
        make_batch, world, dbconn):
    batch, loads = make_batch(count=3)
    rows = capital_depot_rows(loads)
    total = loads[1].total_cents
    fee = share(total, 300)
    rows[1][4:6] = [f"{(total - fee) / 100:.2f}", f"{fee / 100:.2f}"]  # 3 %: the sums still add up
    applied = apply_report(batch, "purchase", csv_bytes(PURCHASE_COLUMNS, rows), world.billing)
    assert warnings_of(applied) == [
        (3, "Advance Amount", f"Advance {format_money(total - fee)} differs from Capital Depot's terms: expected "
                              f"{format_money(share(total, 9750))} (97.50 % of {format_money(total)})."),
        (3, "Fee Amount", f"Fee {format_money(fee)} differs from Capital Depot's terms: expected "
                          f"{format_money(share(total, 250))} (2.50 % of {format_money(total)})."),
    ]
    assert [o.action for o in applied.outcomes] == ["finance"] * 3  # a warning, not a refusal
    kept = reports.summary_of(ReportUpload.get_by_id(applied.upload.id))
    assert kept["warning_count"] == 2
    assert kept["warnings"][1] == {"row": 3, "column": "Fee Amount", "message": warnings_of(applied)[1][2]}


def test_a_reserve_other_than_the_agreed_one_is_a_warning(make_batch, world, dbconn):
    batch, loads = make_batch(count=1)
    Factor.update(advance_bp=9000, reserve_bp=750).where(Factor.id == batch.factor_id).execute()
    total = loads[0].total_cents
    rows = capital_depot_rows(loads)
    rows[0][4] = f"{(total - share(total, 250)) / 100:.2f}"  # no reserve held back: all of it advanced
    result = reports.preview(batch, "purchase", csv_bytes(PURCHASE_COLUMNS, rows), world.billing, "p.csv")
    assert [(row, column) for row, column, _ in warnings_of(result)] == [(2, "Advance Amount"), (2, "Reserve Amount")]
    assert warnings_of(result, "Reserve Amount")[0][2] == (
        f"Reserve $0.00 differs from Capital Depot's terms: expected {format_money(share(total, 750))} "
        f"(7.50 % of {format_money(total)}).")


def test_a_tiered_fee_is_expected_at_its_first_tier_on_purchase_and_in_full_on_the_final_payment(
        make_batch, world, dbconn):
    batch, loads = make_batch(count=1)
    factor = Factor.get_by_id(batch.factor_id)
    Factor.update(fee_kind=FEE_TIERED).where(Factor.id == factor.id).execute()
    FactorFeeTier.insert_many([{"factor": factor.id, "up_to_days": 30, "fee_bp": 200},
                               {"factor": factor.id, "up_to_days": 60, "fee_bp": 350}]).execute()
    total = loads[0].total_cents
    bought = today() - datetime.timedelta(days=45)
    rows = capital_depot_rows(loads, date=bought)
    rows[0][4:6] = [f"{(total - share(total, 200)) / 100:.2f}", f"{share(total, 200) / 100:.2f}"]
    purchase = apply_report(batch, "purchase", csv_bytes(PURCHASE_COLUMNS, rows), world.billing)
    assert warnings_of(purchase, "Fee Amount") == []  # 2.00 %: the first tier

    pay = payment_rows(loads, date=today())
    result = reports.preview(batch, "payment", csv_bytes(PAYMENT_COLUMNS, pay), world.billing, "pay.csv")
    owed = share(total, 350) - share(total, 200)
    assert warnings_of(result, "Fee Adjustment") == [(2, "Fee Adjustment", (
        f"Fee Adjustment $0.00 differs from Capital Depot's terms: expected {format_money(owed)} (a 3.50 % fee "
        f"at 45 days outstanding is {format_money(share(total, 350))}; {format_money(share(total, 200))} was "
        "charged at purchase)."))]
    pay[0][7] = f"{owed / 100:.2f}"
    result = reports.preview(batch, "payment", csv_bytes(PAYMENT_COLUMNS, pay), world.billing, "pay2.csv")
    assert warnings_of(result, "Fee Adjustment") == []


def test_a_purchase_date_before_the_batch_was_submitted_is_a_warning(make_batch, world, dbconn):
    batch, loads = make_batch(count=2)
    submitted = batch.created_at.date()
    rows = capital_depot_rows(loads)
    rows[0][2] = (submitted - datetime.timedelta(days=3)).isoformat()
    rows[1][2] = submitted.isoformat()
    result = reports.preview(batch, "purchase", csv_bytes(PURCHASE_COLUMNS, rows), world.billing, "p.csv")
    assert warnings_of(result) == [(2, "Purchase Date", (
        f"Purchase Date {(submitted - datetime.timedelta(days=3)).isoformat()} is before batch {batch.number} "
        f"was submitted ({submitted.isoformat()})."))]


def test_a_payment_date_in_the_future_is_a_warning_on_the_batch_and_in_a_remittance(make_batch, world, dbconn):
    batch, loads = make_batch("financed", count=2)
    later = today() + datetime.timedelta(days=10)
    rows = payment_rows(loads, date=today())
    rows[1][2] = later.isoformat()
    data = csv_bytes(PAYMENT_COLUMNS, rows)
    expected = [(3, "Payment Date", f"Payment Date {later.isoformat()} is in the future (today is {today().isoformat()}).")]
    result = reports.preview(batch, "payment", data, world.billing, "pay.csv")
    assert warnings_of(result, "Payment Date") == expected
    across = remittance.preview(Company.get_by_id(world.company.id), None, Factor.get_by_id(batch.factor_id), data,
                                world.billing, "remit.csv")
    assert warnings_of(across, "Payment Date") == expected
    assert reports.summary_of(ReportUpload.get_by_id(across.upload.id))["warnings"][0]["column"] == "Payment Date"
