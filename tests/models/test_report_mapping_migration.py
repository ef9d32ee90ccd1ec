"""Migration 0011 (report mappings, reversible uploads) goes down and up again."""
from playhouse.migrations import Runner

from tests.models.test_migrations_match_models import _restore_proxy  # noqa: F401 (fixture)
from tests.models.test_migrations_match_models import empty_databases  # noqa: F401 (fixture)
from webapp import database


def test_the_migration_goes_down_and_up_again(empty_databases):  # noqa: F811
    db = empty_databases._open("round_trip_0011")
    with db.connection_context():
        runner = Runner(db, directory=database.MIGRATIONS_DIR)
        runner.up()
        runner.down(target="0011_report_mapping_undo")
        assert not {"report_mapping", "report_load_change"} & set(db.get_tables())
        assert "mapping_id" not in {c.name for c in db.get_columns("report_upload")}
        runner.up()
        assert {"report_mapping", "report_load_change"} <= set(db.get_tables())
        assert {"mapping_id", "reversed_at", "reversed_by_id", "reverse_reason"} <= {
            c.name for c in db.get_columns("report_upload")}
