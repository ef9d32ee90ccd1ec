"""Indexes found missing by the benchmark (bench/, `make bench`).

0001_initial creates its two partial unique indexes in down() instead of up(),
so a migrated database has neither: a load could sit in two live batches and a
report file could be applied twice. They are created here (IF NOT EXISTS, so a
database that already has them is left alone).
"""


def up(migrator, db):
    # A load is in at most one live batch.
    db.execute_sql(
        "CREATE UNIQUE INDEX IF NOT EXISTS batch_load_one_live ON batch_load (load_id) WHERE live")
    # A report file is applied once per batch.
    db.execute_sql(
        "CREATE UNIQUE INDEX IF NOT EXISTS report_upload_applied_once ON report_upload "
        "(batch_id, kind, sha256) WHERE status = 'applied'")


def down(migrator, db):
    db.execute_sql("DROP INDEX IF EXISTS report_upload_applied_once")
    db.execute_sql("DROP INDEX IF EXISTS batch_load_one_live")
