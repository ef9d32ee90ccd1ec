"""Audit actions in one scheme, OBJECT.VERB (see services/audit.py): the rows written before
it are renamed. Document Configuration adds and replaces are both a save (the history tells
them apart by the text before)."""

RENAMES = [
    # (object type, old action, new action)
    ("load", "create", "load.create"),
    ("load", "update", "load.update"),
    ("load", "status", "load.status"),
    ("load", "factor_hold", "load.hold"),
    ("load", "document_add", "load.document_add"),
    ("load", "document_remove", "load.document_remove"),
    ("subsidiary", "document_config.add", "document_config.save"),
    ("subsidiary", "document_config.replace", "document_config.save"),
]


def _rename(db, pairs):
    for object_type, old, new in pairs:
        db.execute_sql("UPDATE audit_log SET action = %s WHERE object_type = %s AND action = %s"
                       .replace("%s", db.param), (new, object_type, old))


def up(migrator, db):
    _rename(db, RENAMES)


def down(migrator, db):
    # A save whose text before was empty was an add; any other save was a replace.
    db.execute_sql("UPDATE audit_log SET action = 'document_config.add' "
                   "WHERE action = 'document_config.save' AND (before IS NULL OR before = '')")
    _rename(db, [(t, new, old) for t, old, new in RENAMES if old != "document_config.add"])
