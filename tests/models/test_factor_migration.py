"""Migration 0010: Capital Depot for every company with batches, its batches linked to it, and
the subsidiaries with a Notice of Assignment or a batch assigned to it. SQLite and PostgreSQL."""
import datetime

from playhouse.migrations import Runner

from tests.models.test_migrations_match_models import _restore_proxy  # noqa: F401 (fixture)
from tests.models.test_migrations_match_models import empty_databases  # noqa: F401 (fixture)
from webapp import database


def _insert(db, sql, params):
    return db.execute_sql(sql.replace("%s", db.param), params)


def _legacy_rows(db):
    """Two companies as 0009 left them: one with batches (two subsidiaries with a NOA, one
    without), one with none."""
    now = datetime.datetime(2026, 3, 2, 10, 0)
    for company_id, name in ((1, "With Batches"), (2, "No Batches")):
        _insert(db, "INSERT INTO company (id, name, created_at) VALUES (%s, %s, %s)", (company_id, name, now))
    for sub_id, company_id, name in ((1, 1, "Sells"), (2, 1, "NOA only"), (3, 1, "Nothing yet"), (4, 2, "Other")):
        _insert(db, "INSERT INTO subsidiary (id, company_id, name, legal_name, mc_number, usdot_number, "
                    "address_line1, address_line2, city, state, postal_code, phone, email, created_at) "
                    "VALUES (%s, %s, %s, '', '', '', '', '', '', '', '', '', '', %s)", (sub_id, company_id, name, now))
    for info_id, sub_id in ((1, 1), (2, 2), (3, 4)):
        _insert(db, "INSERT INTO important_info (id, subsidiary_id, kind, text, updated_at) "
                    "VALUES (%s, %s, 'noa', 'Pay Capital Depot', %s)", (info_id, sub_id, now))
    for batch_id, number, created in ((1, 1, datetime.datetime(2026, 2, 3, 9, 0)), (2, 2, now)):
        _insert(db, "INSERT INTO batch (id, company_id, subsidiary_id, number, provider, status, progress_done, "
                    "progress_total, error, attempts, load_count, total_cents, created_at, file_name, file_sha256) "
                    "VALUES (%s, 1, 1, %s, 'capital_depot', 'ready', 0, 0, '', 1, 0, 0, %s, '', '')",
                (batch_id, number, created))


def test_capital_depot_is_created_and_linked_for_companies_with_batches(empty_databases):  # noqa: F811
    db = empty_databases._open("factors")
    with db.connection_context():
        Runner(db, directory=database.MIGRATIONS_DIR).up(target="0009_sessions")
        _legacy_rows(db)
        Runner(db, directory=database.MIGRATIONS_DIR).up()

        factors = db.execute_sql("SELECT id, company_id, name, advance_bp, fee_kind, fee_bp, reserve_bp, "
                                 "recourse_days, batch_format FROM factor").fetchall()
        assert [row[1:] for row in factors] == [
            (1, "Capital Depot", 9750, "flat", 250, 0, 0, "capital_depot_zip")]
        factor_id = factors[0][0]
        assert db.execute_sql("SELECT id, factor_id FROM batch ORDER BY id").fetchall() == [
            (1, factor_id), (2, factor_id)]
        assigned = db.execute_sql("SELECT subsidiary_id, factor_id, from_date FROM subsidiary_factor "
                                  "ORDER BY subsidiary_id").fetchall()
        dates = [d if isinstance(d, datetime.date) else datetime.date.fromisoformat(d) for _, _, d in assigned]
        # The subsidiary with batches from its first batch; the one with a NOA alone from today;
        # the one with neither, and the company without batches, not at all.
        assert [(s, f) for s, f, _ in assigned] == [(1, factor_id), (2, factor_id)]
        assert dates == [datetime.date(2026, 2, 3), datetime.date.today()]


def test_the_migration_goes_down_and_up_again(empty_databases):  # noqa: F811
    db = empty_databases._open("round_trip")
    with db.connection_context():
        runner = Runner(db, directory=database.MIGRATIONS_DIR)
        runner.up()
        runner.down(target="0010_factors")   # every later migration, then this one
        assert "factor" not in db.get_tables()
        assert "factor_id" not in {c.name for c in db.get_columns("batch")}
        runner.up()
        assert {"factor", "factor_fee_tier", "subsidiary_factor"} <= set(db.get_tables())
