"""The running counts (services/tallies, kept by triggers: migration 0018) equal a full recount
of the loads after every kind of change: create, edit, import, batch, cancel, reports, a
remittance, chargeback and its undo, a report's undo, delete; and the migration fills them
right from the loads a database already has. SQLite, and PostgreSQL with TEST_DATABASE_URL.
"""
import datetime

from tests import helpers
from tests.helpers import apply_report
from tests.helpers import load_form
from tests.helpers import load_row
from tests.helpers import loads_csv
from tests.helpers import payment_csv
from tests.helpers import purchase_csv
from tests.helpers import reload
from webapp.models import COMPLETED
from webapp.models import FACTORING
from webapp.models import FINANCED
from webapp.models import INVOICED
from webapp.models import QUEUED
from webapp.models import Batch
from webapp.models import Company
from webapp.models import Factor
from webapp.models import Load
from webapp.models import LoadLine
from webapp.models import Payment
from webapp.models import db
from webapp.services import batches
from webapp.services import ledger
from webapp.services import tallies
from webapp.services.loads import editing
from webapp.services.loads import importing
from webapp.services.reports import remittance
from webapp.services.reports import reversal
from webapp.services.tallies import recount


def agree():
    """Assert the stored tallies equal the recount, and that they count something."""
    assert recount.differences() == []
    assert recount.stored()["load_tally"]


def test_the_demo_data_counts_right_from_the_start(world, dbconn):
    agree()
    want = Load.select().where(Load.company == world.company).count()
    assert tallies.load_totals(world.company.id).count == want
    queued = Load.select().where((Load.company == world.company) & (Load.subsidiary == world.freight)
                                 & (Load.billing_status == QUEUED) & (Load.invoicing_method == FACTORING))
    assert tallies.load_totals(world.company.id, subsidiary_id=world.freight.id, status=QUEUED,
                               method=FACTORING) == tallies.Totals(queued.count(),
                                                                   sum(x.total_cents for x in queued))


def test_create_edit_and_delete_a_load(world, dbconn):
    lines = helpers.LOAD_LINES
    load = editing.create_load(world.company, world.billing, load_form(world), lines)
    agree()
    before = tallies.load_totals(world.company.id)
    editing.update_load(Load.get_by_id(load.id), world.billing,
                        load_form(world, load_number="NEW-1", subsidiary_id=str(world.logistics.id),
                                  invoicing_method="direct"),
                        [("linehaul", "Linehaul", "$3,000.00")])
    agree()
    after = tallies.load_totals(world.company.id)
    assert after.count == before.count and after.total_cents != before.total_cents
    LoadLine.delete().where(LoadLine.load == load.id).execute()
    Load.delete().where(Load.id == load.id).execute()
    agree()
    assert tallies.load_totals(world.company.id).count == before.count - 1


def test_an_import(world, dbconn):
    preview = importing.parse(loads_csv(load_row(), load_row(load="IMP-2", invoice="INV-IMP-2")), world.company)
    assert importing.commit(preview, world.company, None) == 2
    agree()


def test_batch_reports_undo_and_cancel(world, dbconn, make_batch):
    made = make_batch("submitted", count=3)
    agree()
    apply_report(made.batch, "purchase", purchase_csv(made.loads), world.billing)
    agree()
    assert recount.stored()["open_tally"]
    paid = apply_report(made.batch, "payment", payment_csv(reload(made.loads)), world.billing)
    agree()
    assert {x.billing_status for x in reload(made.loads)} == {COMPLETED}
    assert recount.stored()["pay_days_tally"] and recount.stored()["fund_days_tally"]
    with db.atomic():
        reversal.reverse(paid.upload, world.billing, "Wrong file")
    agree()
    assert {x.billing_status for x in reload(made.loads)} == {FINANCED}
    failed = make_batch("failed", count=2)
    agree()
    assert batches.cancel_batch(failed.batch, world.billing) == 2
    agree()


def test_a_batch_money_its_holds_short_pays_and_warnings(world, dbconn, make_batch):
    """batch_money_tally: a batch's face total, what is still owed, the loads with a payment, held
    or needing a look, per billing status, whatever writes the loads."""
    made = make_batch("financed", count=4)
    loads = reload(made.loads)
    apply_report(made.batch, "payment", payment_csv(loads[:1], amounts=[loads[0].total_cents - 100]), world.billing)
    apply_report(made.batch, "payment", payment_csv(loads[1:2], amounts=[5000], final="no"), world.billing,
                 "partial.csv")
    Load.update(amount_warning="The factor bought it for less").where(Load.id == loads[2].id).execute()
    agree()
    held = make_batch("submitted", count=2)
    Load.update(factor_hold=True, status_reason="Missing POD").where(Load.id == held.loads[0].id).execute()
    agree()
    money = recount.stored(world.company.id)["batch_money_tally"]
    loads = reload(loads)
    owed = sum(x.purchase_amount_cents - x.paid_cents for x in loads[1:])
    assert money[(world.company.id, made.batch.id, FINANCED)] == (
        3, sum(x.total_cents for x in loads[1:]), owed, 1, 0, 1)
    assert money[(world.company.id, made.batch.id, COMPLETED)] == (1, loads[0].total_cents, 0, 1, 0, 1)
    assert money[(world.company.id, held.batch.id, INVOICED)][3:] == (0, 1, 1)
    assert batches.batch_page(Batch.get_by_id(held.batch.id), {}).state.detail.endswith("1 held")


def test_a_chargeback_and_its_undo(world, dbconn, make_batch):
    made = make_batch("financed", count=2)
    load = reload(made.loads)[0]
    chargeback = ledger.record_chargeback(load, load.purchase_amount_cents, datetime.date.today(), "Not paid",
                                          world.billing)
    agree()
    ledger.undo_chargeback(chargeback, world.admin, "Wrong load")
    agree()


def test_a_remittance_across_batches(world, dbconn, make_batch):
    one, two = make_batch("financed", count=2), make_batch("financed", count=2)
    loads = reload(one.loads) + reload(two.loads)
    factor = Factor.get_by_id(one.batch.factor_id)
    result = remittance.preview(Company.get_by_id(world.company.id), world.freight, factor, payment_csv(loads),
                                world.billing, "remittance.csv")
    assert result.ok, [str(e) for e in result.errors]
    from webapp.services import reports
    reports.apply(result.upload, world.billing)
    agree()
    Payment.delete().where(Payment.load == loads[0].id).execute()
    agree()
    assert Load.get_by_id(loads[0].id).paid_on is None


def test_the_migration_fills_the_tallies_from_the_loads_there_are(world, dbconn, make_batch):
    """Tally rows emptied and refilled by the migration's own statements equal the recount."""
    make_batch("completed", count=2)
    make_batch("financed", count=2)
    migration, money = _migration(), _migration("0022_batch_money_tally")
    dialect = migration.POSTGRES if _is_postgres() else migration.SQLITE
    before = recount.stored()
    assert before["batch_money_tally"]
    with db.atomic():
        for table in ("load_tally", "open_tally", "open_day_tally", "open_debtor_tally", "pay_days_tally", "debtor_days_tally",
                      "fund_days_tally", "batch_tally", "ledger_balance", "batch_money_tally"):
            db.execute_sql(f"DELETE FROM {table}")
        for statement in migration.fill_sql(dialect) + money.fill_sql(dialect):
            db.execute_sql(statement)
    agree()
    assert recount.stored() == before


def test_bounded_count_caps_and_says_so(world, dbconn):
    query = Load.select(Load.id).where(Load.company == world.company)
    n = query.count()
    assert tallies.bounded_count(query, bound=n + 5) == tallies.Count(n, False)
    capped = tallies.bounded_count(query, bound=n - 1)
    assert capped == tallies.Count(n - 1, True) and str(capped) == f"{n - 1:,}+"
    assert str(tallies.Count(12_345, False)) == "12,345"


def _migration(name="0018_tallies"):
    import importlib
    return importlib.import_module(f"webapp.migrations.{name}")


def _is_postgres():
    from webapp.database import is_postgres
    return is_postgres()


def test_batches_of_other_tenants_do_not_count_here(world, dbconn, make_batch):
    make_batch("financed", count=2, subsidiary=world.other_sub)
    agree()
    mine = recount.stored(world.company.id)
    assert all(key[0] == world.company.id for table in mine.values() for key in table)
    assert Batch.select().where(Batch.company == world.other_company).exists()


def test_sums_past_a_32_bit_integer_are_kept(world, dbconn):
    """A company's face total past $21,474,836.47 (2^31 cents) counts right (64-bit sums)."""
    preview = importing.parse(loads_csv(load_row()), world.company)
    importing.commit(preview, world.company, None)
    load = Load.get((Load.company == world.company) & (Load.load_number == "IMP-1"))
    Load.update(total_cents=2_000_000_000).where(Load.id == load.id).execute()
    other = editing.create_load(world.company, world.billing, load_form(world), helpers.LOAD_LINES)
    Load.update(total_cents=2_000_000_000).where(Load.id == other.id).execute()
    agree()
    assert tallies.load_totals(world.company.id, status=QUEUED).total_cents > 2**31
