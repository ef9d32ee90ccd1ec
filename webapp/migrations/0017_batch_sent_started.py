"""A batch's state in the clerk's words (services/batches/reading.py).

batch.started_at: when the running attempt of the job took the batch, so the batch page can
estimate the time left while it generates. batch.sent_at / batch.sent_by_id: when, and by
whom, the batch file went to the factor ("Mark as sent", or "Email to <factor>"); until then
a ready batch reads "Ready to send" and stays in Factoring Upload's box of batches needing
action. Batches whose file was ready before this migration were sent by hand long ago, as
the clerks were told to: they count as sent when their file was ready.
"""
from peewee import *


def up(migrator, db):
    class User(Model):
        class Meta:
            database = db
            table_name = 'user'

    migrator.migrate(
        migrator.add_column('batch', 'started_at', DateTimeField(null=True)),
        migrator.add_column('batch', 'sent_at', DateTimeField(null=True)),
        migrator.add_column('batch', 'sent_by_id',
                            ForeignKeyField(User, null=True, field=User.id, on_delete='SET NULL')),
    )
    db.execute_sql("UPDATE batch SET sent_at = completed_at WHERE status = 'ready'")


def down(migrator, db):
    from playhouse.migrate import make_index_name
    migrator.migrate(migrator.drop_index('batch', make_index_name('batch', ['sent_by_id'])))
    migrator.migrate(
        migrator.drop_column('batch', 'sent_by_id'),
        migrator.drop_column('batch', 'sent_at'),
        migrator.drop_column('batch', 'started_at'),
    )
