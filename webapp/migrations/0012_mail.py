"""Mail (services/mail): every message recorded before it goes out, with its delivery.

mail_message: to, subject, kind, the text and HTML parts, the message id, the status (queued,
sent, failed), the attempts and the last error; claimed_at while a worker delivers it,
next_attempt_at when a failed one is due again. mail_attachment: its files, so that a retry
sends the same bytes. batch_send: a batch file emailed to its factor. notice_opt_out: a kind
of notice a user turned off. factor.cover_subject / cover_message: the default wording of
"Email to <factor>" (empty: the built-in one).
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

    class Batch(Model):
        class Meta:
            database = db
            table_name = 'batch'

    class MailMessage(Model):
        company = ForeignKeyField(Company, null=True, on_delete='SET NULL')
        user = ForeignKeyField(User, null=True, on_delete='SET NULL')
        kind = CharField()
        to_address = CharField()
        from_address = CharField(default='')
        reply_to = CharField(default='')
        subject = TextField()
        text_body = TextField()
        html_body = TextField(default='')
        message_id = CharField(unique=True)
        status = CharField(default='queued', index=True)
        attempts = IntegerField(default=0)
        error = TextField(default='')
        claimed_at = DateTimeField(null=True)
        next_attempt_at = DateTimeField(null=True)
        created_at = DateTimeField(index=True)
        sent_at = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = 'mail_message'

    class MailAttachment(Model):
        message = ForeignKeyField(MailMessage, on_delete='CASCADE')
        filename = CharField()
        content_type = CharField(default='application/octet-stream')
        size = IntegerField(default=0)
        data = BlobField()

        class Meta:
            database = db
            table_name = 'mail_attachment'

    class BatchSend(Model):
        batch = ForeignKeyField(Batch, on_delete='CASCADE')
        message = ForeignKeyField(MailMessage, on_delete='CASCADE')
        sent_by = ForeignKeyField(User, null=True, on_delete='SET NULL')
        created_at = DateTimeField()

        class Meta:
            database = db
            table_name = 'batch_send'

    class NoticeOptOut(Model):
        user = ForeignKeyField(User, on_delete='CASCADE')
        kind = CharField()
        created_at = DateTimeField()

        class Meta:
            database = db
            table_name = 'notice_opt_out'
            indexes = ((('user', 'kind'), True),)

    return MailMessage, MailAttachment, BatchSend, NoticeOptOut


def up(migrator, db):
    db.create_tables(list(_models(db)))
    migrator.migrate(
        migrator.add_column('factor', 'cover_subject', CharField(default='')),
        migrator.add_column('factor', 'cover_message', TextField(default='')),
    )


def down(migrator, db):
    migrator.migrate(migrator.drop_column('factor', 'cover_message'))
    migrator.migrate(migrator.drop_column('factor', 'cover_subject'))
    for table in ('notice_opt_out', 'batch_send', 'mail_attachment', 'mail_message'):
        migrator.migrate(migrator.drop_table(table))
