"""Big exports as jobs (services/exports/job.py).

export_job: a list export that the queue worker makes when it has too many rows to answer at
once: who asked, for which company, the list, its format and filters (JSON), a digest of all
that (key: one job per request while it runs), its status (waiting, running, ready, failed),
rows done of rows total, the file it made (stored_file), the error of a failure, and the
attempts and heartbeat that let a restarted worker take over a job its predecessor left.
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

    class StoredFile(Model):
        class Meta:
            database = db
            table_name = 'stored_file'

    class ExportJob(Model):
        company = ForeignKeyField(Company, on_delete='CASCADE')
        user = ForeignKeyField(User, null=True, on_delete='SET NULL')
        what = CharField()
        fmt = CharField()
        args = TextField(default='{}')
        key = CharField(index=True)
        status = CharField(default='waiting', index=True)
        rows_done = IntegerField(default=0)
        rows_total = IntegerField(default=0)
        file = ForeignKeyField(StoredFile, null=True, on_delete='SET NULL')
        filename = CharField(default='')
        error = TextField(default='')
        attempts = IntegerField(default=0)
        heartbeat_at = DateTimeField(null=True)
        created_at = DateTimeField()
        finished_at = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = 'export_job'

    return ExportJob


def up(migrator, db):
    db.create_tables([_models(db)])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('export_job'))
