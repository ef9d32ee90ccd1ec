"""Migration 0008: audit rows written before it get the OBJECT.VERB action names."""
import importlib

from webapp.models import AuditLog
from webapp.models import db

MIGRATION = importlib.import_module("webapp.migrations.0008_audit_action_names")


def _row(action, object_type="load", before=""):
    return AuditLog.create(action=action, object_type=object_type, object_id=1, before=before)


def test_old_action_names_are_renamed_and_back_again(dbconn):
    rows = {old: _row(old, kind, before="Old text" if old.endswith("replace") else "")
            for kind, old, _ in MIGRATION.RENAMES}
    untouched = _row("batch.submit", "batch")
    MIGRATION.up(None, db)
    for kind, old, new in MIGRATION.RENAMES:
        assert AuditLog.get_by_id(rows[old].id).action == new, old
    assert AuditLog.get_by_id(untouched.id).action == "batch.submit"
    MIGRATION.down(None, db)
    for kind, old, new in MIGRATION.RENAMES:
        assert AuditLog.get_by_id(rows[old].id).action == old, old


def test_only_rows_of_the_right_object_are_renamed(dbconn):
    other = _row("create", "customer")
    MIGRATION.up(None, db)
    assert AuditLog.get_by_id(other.id).action == "create"
