"""Sessions that end on the server, and refused sign-ins kept apart from failures.

user_session: one row per signed-in browser; the cookie carries a random token and the row's
id is its SHA-256. Sign-out, deactivation and a password change set ended_at; the loader also
refuses a row past expires_at (absolute lifetime) or idle too long (last_seen_at).

login_refusal: a sign-in refused without checking the password (the email, or the address,
failed too often lately). Recorded here rather than in login_attempt, where it would count
as a failure and extend the lockout.
"""
from peewee import *


def up(migrator, db):
    class User(Model):
        class Meta:
            database = db
            table_name = 'user'

    class UserSession(Model):
        id = CharField(primary_key=True)
        user = ForeignKeyField(User, on_delete='CASCADE')
        created_at = DateTimeField()
        last_seen_at = DateTimeField()
        expires_at = DateTimeField()
        ended_at = DateTimeField(null=True)
        ip = CharField(default='')
        user_agent = CharField(default='')
        class Meta:
            database = db
            table_name = 'user_session'
    db.create_tables([UserSession])

    class LoginRefusal(Model):
        email = CharField()
        ip = CharField(default='')
        reason = CharField(default='email')
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'login_refusal'
    db.create_tables([LoginRefusal])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('login_refusal'))
    migrator.migrate(migrator.drop_table('user_session'))
