"""The running counts hold for statements that write many rows at once: one INSERT, UPDATE or
DELETE of loads across subsidiaries, tenants, customers, batches and days, an UPDATE that
changes nothing a tally counts, and payments written and removed many at a time (load.paid_on).
On PostgreSQL the tallies are kept by statement-level triggers (migration 0021), which see a
statement's rows all together: every step is compared with the recount. SQLite (per-row
triggers) and PostgreSQL with TEST_DATABASE_URL.
"""
import datetime

from webapp.models import COMPLETED
from webapp.models import FINANCED
from webapp.models import BatchMoneyTally
from webapp.models import BatchTally
from webapp.models import Load
from webapp.models import OpenDayTally
from webapp.models import OpenDebtorTally
from webapp.models import OpenTally
from webapp.models import Payment
from webapp.models import db
from webapp.services.tallies import recount


def agree():
    assert recount.differences() == []
    for model in (OpenTally, OpenDayTally, OpenDebtorTally, BatchTally, BatchMoneyTally):   # no empty row
        assert not model.select().where(model.n == 0).exists(), model._meta.table_name


def _is_postgres():
    from webapp.database import is_postgres
    return is_postgres()


def _both_tenants(world, make_batch):
    """Financed and Completed batches of the demo tenant, and a Financed one of the other's (the
    demo tenant's second subsidiary has loads of every status, none batched)."""
    make_batch("financed", count=3)
    make_batch("completed", count=2)
    make_batch("financed", count=2, subsidiary=world.other_sub)
    agree()


def _pg_triggers():
    """{(table, per row)} of the triggers of 0018's tallies on load, ledger_entry and payment, and
    how many (PostgreSQL; batch_money_tally's, of migration 0022, left out)."""
    rows = db.execute_sql(
        "SELECT c.relname, t.tgname, (t.tgtype & 1) = 1 AS per_row FROM pg_trigger t "
        "JOIN pg_class c ON c.oid = t.tgrelid WHERE NOT t.tgisinternal "
        "AND c.relname IN ('load', 'ledger_entry', 'payment') "
        "AND left(t.tgname, 17) <> 'batch_money_tally'").fetchall()
    return {(table, per_row) for table, _name, per_row in rows}, len(rows)


def _migration_0021(direction):
    """Run 0021's DIRECTION (up or down) alone, as the migration runner would (the later
    migrations stay: they do not depend on the kind of 0018's triggers)."""
    import importlib

    from playhouse.migrations import Runner

    from webapp import database
    module = importlib.import_module("webapp.migrations.0021_statement_tallies")
    migrator = Runner(db.obj, directory=database.MIGRATIONS_DIR).migrator
    with migrator.migration_context(True):
        getattr(module, direction)(migrator, db.obj)


def test_the_postgresql_tallies_are_kept_per_statement(world, dbconn):
    """On PostgreSQL no per-row trigger is left on load, ledger_entry or payment (migration 0021)."""
    if not _is_postgres():
        assert db.execute_sql("SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger'").fetchone()[0] > 0
        return
    assert _pg_triggers() == ({("load", False), ("ledger_entry", False), ("payment", False)}, 9)
    money = db.execute_sql(
        "SELECT (t.tgtype & 1) = 1 FROM pg_trigger t WHERE left(t.tgname, 17) = 'batch_money_tally'").fetchall()
    assert sorted(money) == [(False,)] * 3   # 0022's too: one per event, per statement


def test_the_migration_goes_down_and_up_again(world, dbconn, make_batch):
    """0021's down puts 0018's per-row triggers back (PostgreSQL) and its up the statement-level
    ones again: the tallies hold under both."""
    _migration_0021("down")
    if _is_postgres():
        kinds, n = _pg_triggers()
        assert kinds == {("load", True), ("ledger_entry", True), ("payment", True)} and n == 19
    make_batch("completed", count=2)
    agree()
    _migration_0021("up")
    if _is_postgres():
        assert _pg_triggers() == ({("load", False), ("ledger_entry", False), ("payment", False)}, 9)
    make_batch("financed", count=2)
    Load.update(paid_cents=Load.paid_cents + 1).where(Load.billing_status == FINANCED).execute()
    agree()


def test_one_update_of_many_loads_across_keys(world, dbconn, make_batch):
    _both_tenants(world, make_batch)
    financed = Load.billing_status == FINANCED
    before = recount.stored()
    Load.update(paid_cents=Load.paid_cents + 100).where(financed).execute()     # every tenant's open sums
    agree()
    assert recount.stored()["open_tally"] != before["open_tally"]
    Load.update(invoice_date=datetime.date(2026, 1, 5)).where(financed | (Load.billing_status == COMPLETED)).execute()
    agree()
    Load.update(subsidiary=world.logistics).where((Load.company == world.company)
                                                  & (Load.subsidiary == world.freight)).execute()
    agree()
    assert not Load.select().where(Load.subsidiary == world.freight).exists()
    Load.update(billing_status=COMPLETED).where(financed).execute()      # the open tallies emptied
    agree()
    assert recount.stored()["open_tally"] == {}


def test_one_update_that_changes_nothing_counted(world, dbconn, make_batch):
    _both_tenants(world, make_batch)
    before = recount.stored()
    Load.update(status_reason="checked", updated_at=datetime.datetime(2026, 2, 1)).execute()
    Load.update(total_cents=Load.total_cents, billing_status=Load.billing_status).execute()
    agree()
    assert recount.stored() == before


def test_one_insert_and_one_delete_of_many_loads(world, dbconn, make_batch):
    _both_tenants(world, make_batch)
    before = recount.stored()
    fields = [f for f in Load._meta.sorted_fields if f.name not in ("id", "paid_on")]
    copies = Load.select(*[f.concat("-copy") if f.name in ("load_number", "invoice_number") else f
                           for f in fields])
    n = Load.select().count()
    Load.insert_from(copies, fields).execute()              # every load of both tenants, again
    agree()
    assert Load.select().count() == 2 * n
    assert recount.stored()["load_tally"] != before["load_tally"]
    Load.delete().where(Load.load_number.endswith("-copy")).execute()
    agree()
    assert recount.stored() == before


def test_payments_written_and_removed_many_at_a_time(world, dbconn, make_batch):
    _both_tenants(world, make_batch)
    loads = list(Load.select().where(Load.billing_status == FINANCED))
    paid_on = {x.id: x.paid_on for x in loads}
    day = datetime.date(2026, 12, 28)
    Payment.insert_many([{"company": x.company_id, "load": x.id, "payment_date": day, "amount_cents": 1,
                          "reference": f"MANY-{i}"} for i, x in enumerate(loads)]).execute()
    Load.update(billing_status=COMPLETED).where(Load.id.in_(list(paid_on))).execute()
    agree()
    assert {x.paid_on for x in Load.select().where(Load.id.in_(list(paid_on)))} == {day}
    later = datetime.date(2026, 12, 30)
    Payment.update(payment_date=later).where(Payment.reference.startswith("MANY-")).execute()
    agree()
    assert {x.paid_on for x in Load.select().where(Load.id.in_(list(paid_on)))} == {later}
    Payment.delete().where(Payment.reference.startswith("MANY-")).execute()
    agree()
    assert {x.id: x.paid_on for x in Load.select().where(Load.id.in_(list(paid_on)))} == paid_on
