"""Migration 0023 (the indexes Cost and speed and the Loads list by customer read alone) goes
down and up again."""
from playhouse.migrations import Runner

from tests.models.test_migrations_match_models import _restore_proxy  # noqa: F401 (fixture)
from tests.models.test_migrations_match_models import empty_databases  # noqa: F401 (fixture)
from webapp import database


def _indexes(db, table):
    return {tuple(index.columns) for index in db.get_indexes(table)}


def test_the_migration_goes_down_and_up_again(empty_databases):  # noqa: F811
    db = empty_databases._open("round_trip_0023")
    new = {("load", ("company_id", "customer_id", "load_number")),
           ("pay_days_tally", ("company_id", "days", "n")),
           ("pay_days_tally", ("company_id", "customer_id", "days", "n")),
           ("fund_days_tally", ("company_id", "factor_key", "subsidiary_id", "days", "n"))}
    with db.connection_context():
        runner = Runner(db, directory=database.MIGRATIONS_DIR)
        runner.up()
        assert all(columns in _indexes(db, table) for table, columns in new)
        assert ("company_id", "customer_id") not in _indexes(db, "load")
        runner.down(target="0023_reading_indexes")
        assert not any(columns in _indexes(db, table) for table, columns in new)
        assert ("company_id", "customer_id") in _indexes(db, "load")
        runner.up()
        assert all(columns in _indexes(db, table) for table, columns in new)
