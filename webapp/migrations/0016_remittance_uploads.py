"""A remittance across batches (services/reports/remittance.py).

report_upload.batch_id becomes nullable: a Payment Report uploaded on Reports > Factoring
belongs to a subsidiary (report_upload.subsidiary_id) or to the whole company (both null),
and to the factor that sent it (report_upload.factor_id). Uploads on a batch keep their batch.

load (company_id, factor_reference): a remittance may name a load only by the factor's
reference of its purchase.

SQLite makes a column nullable by rebuilding the table (copy, drop, rename). Dropping
report_upload with foreign keys on would run its ON DELETE actions (payment.upload_id and
audit_log.upload_id set to NULL), so the rebuild runs with them off, outside a transaction
(the pragma is ignored inside one), and the foreign keys are checked afterwards.
"""
from peewee import *

atomic = False


def _models(db):
    class Subsidiary(Model):
        class Meta:
            database = db
            table_name = 'subsidiary'

    class Factor(Model):
        class Meta:
            database = db
            table_name = 'factor'

    return Subsidiary, Factor


def _foreign_keys(db, on):
    if isinstance(db, SqliteDatabase):
        db.execute_sql(f"PRAGMA foreign_keys = {'ON' if on else 'OFF'}")


def up(migrator, db):
    Subsidiary, Factor = _models(db)
    _foreign_keys(db, False)
    try:
        with db.atomic():
            migrator.migrate(
                migrator.drop_not_null('report_upload', 'batch_id'),
                migrator.add_column('report_upload', 'subsidiary_id', ForeignKeyField(
                    Subsidiary, null=True, field=Subsidiary.id, on_delete='CASCADE')),
                migrator.add_column('report_upload', 'factor_id', ForeignKeyField(
                    Factor, null=True, field=Factor.id, on_delete='RESTRICT')),
                migrator.add_index('load', ('company_id', 'factor_reference'), False),
            )
            if isinstance(db, SqliteDatabase):
                broken = db.execute_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"foreign keys broken by the rebuild: {broken[:5]}")
    finally:
        _foreign_keys(db, True)


def down(migrator, db):
    from playhouse.migrate import make_index_name
    _foreign_keys(db, False)
    try:
        with db.atomic():
            db.execute_sql("DELETE FROM report_upload WHERE batch_id IS NULL")
            migrator.migrate(migrator.drop_index('load', make_index_name('load', ['company_id', 'factor_reference'])))
            for column in ('subsidiary_id', 'factor_id'):
                migrator.migrate(migrator.drop_index('report_upload', make_index_name('report_upload', [column])))
                migrator.migrate(migrator.drop_column('report_upload', column))
            migrator.migrate(migrator.add_not_null('report_upload', 'batch_id'))
    finally:
        _foreign_keys(db, True)
