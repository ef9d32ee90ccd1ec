"""Migration 0024 (the partial index of the batches needing action; the load index that 0007's
longer one supersedes) goes down and up again."""
from playhouse.migrations import Runner

from tests.models.test_migrations_match_models import _restore_proxy  # noqa: F401 (fixture)
from tests.models.test_migrations_match_models import empty_databases  # noqa: F401 (fixture)
from webapp import database

SUPERSEDED = ("company_id", "subsidiary_id", "billing_status", "invoicing_method")


def _state(db):
    names = {index.name for index in db.get_indexes("batch")}
    load = {tuple(index.columns) for index in db.get_indexes("load")}
    return "batch_needs_action" in names, SUPERSEDED in load


def test_the_migration_goes_down_and_up_again(empty_databases):  # noqa: F811
    db = empty_databases._open("round_trip_0024")
    with db.connection_context():
        runner = Runner(db, directory=database.MIGRATIONS_DIR)
        runner.up()
        assert _state(db) == (True, False)
        runner.down(target="0024_batches_needing_action")
        assert _state(db) == (False, True)
        runner.up()
        assert _state(db) == (True, False)
