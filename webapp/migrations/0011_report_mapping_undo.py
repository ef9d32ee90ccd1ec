"""The factor's own columns mapped once, and applied reports that can be reversed.

report_mapping: how one factor's Purchase or Payment Report with a given header reads into
our fields (columns: JSON {our column: the file's normalized header}), keyed by the header
(header_key: SHA-256 of its sorted normalized names), saved by a person.

report_upload: mapping_id (the mapping a file was read with), reversed_at/by and
reverse_reason (an applied report reversed; its status becomes 'reversed').

report_load_change: what an applied report changed on each load (the load's fields before
and after, JSON), so that a reversal puts back exactly what it found.
"""
from peewee import *


def _models(db):
    class Company(Model):
        class Meta:
            database = db
            table_name = 'company'

    class User(Model):
        class Meta:
            database = db
            table_name = 'user'

    class Factor(Model):
        class Meta:
            database = db
            table_name = 'factor'

    class Load(Model):
        class Meta:
            database = db
            table_name = 'load'

    class ReportUpload(Model):
        class Meta:
            database = db
            table_name = 'report_upload'

    class ReportMapping(Model):
        company = ForeignKeyField(Company, on_delete='CASCADE')
        factor = ForeignKeyField(Factor, on_delete='CASCADE')
        kind = CharField()
        header_key = CharField()
        headers = TextField(default='')
        columns = TextField(default='')
        saved_by = ForeignKeyField(User, null=True, on_delete='SET NULL')
        saved_at = DateTimeField()

        class Meta:
            database = db
            table_name = 'report_mapping'
            indexes = ((('factor', 'kind', 'header_key'), True),)

    class ReportLoadChange(Model):
        upload = ForeignKeyField(ReportUpload, on_delete='CASCADE')
        load = ForeignKeyField(Load, on_delete='CASCADE')
        before = TextField()
        after = TextField()

        class Meta:
            database = db
            table_name = 'report_load_change'
            indexes = ((('load', 'upload'), False),)

    return User, ReportMapping, ReportLoadChange


def up(migrator, db):
    User, ReportMapping, ReportLoadChange = _models(db)
    db.create_tables([ReportMapping, ReportLoadChange])
    migrator.migrate(
        migrator.add_column('report_upload', 'mapping_id', ForeignKeyField(
            ReportMapping, null=True, field=ReportMapping.id, on_delete='SET NULL')),
        migrator.add_column('report_upload', 'reversed_at', DateTimeField(null=True)),
        migrator.add_column('report_upload', 'reversed_by_id', ForeignKeyField(
            User, null=True, field=User.id, on_delete='SET NULL')),
        migrator.add_column('report_upload', 'reverse_reason', TextField(default='')),
    )


def down(migrator, db):
    from playhouse.migrate import make_index_name
    for column in ('mapping_id', 'reversed_by_id'):
        migrator.migrate(migrator.drop_index('report_upload', make_index_name('report_upload', [column])))
    for column in ('reverse_reason', 'reversed_by_id', 'reversed_at', 'mapping_id'):
        migrator.migrate(migrator.drop_column('report_upload', column))
    migrator.migrate(migrator.drop_table('report_load_change'))
    migrator.migrate(migrator.drop_table('report_mapping'))
