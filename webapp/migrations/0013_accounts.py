"""Accounts (issue 11): invitations, password resets, two-factor sign-in.

account_token: an emailed invitation or reset link (the row's id is the SHA-256 of the link's
token). password_reset_request: every "Forgot password?" request, for its rate limit.
recovery_code: a user's single-use two-factor recovery codes, hashed.
user.password_set_at: when the person chose their password (every existing user has one:
set to created_at); user.two_factor_secret / two_factor_enabled_at / two_factor_last_step:
their TOTP enrolment and the last time step accepted (no replay).
company.require_two_factor: an Admin's setting, every user of the company uses a second factor.
"""
from peewee import *


def _models(db):
    class User(Model):
        class Meta:
            database = db
            table_name = 'user'

    class AccountToken(Model):
        id = CharField(primary_key=True)
        user = ForeignKeyField(User, on_delete='CASCADE')
        kind = CharField(constraints=[Check("kind in ('invite', 'reset')")])
        created_at = DateTimeField()
        expires_at = DateTimeField()
        used_at = DateTimeField(null=True)
        voided_at = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = 'account_token'
            indexes = ((('user', 'kind'), False),)

    class PasswordResetRequest(Model):
        email = CharField(index=True)
        ip = CharField(default='', index=True)
        created_at = DateTimeField(index=True)

        class Meta:
            database = db
            table_name = 'password_reset_request'

    class RecoveryCode(Model):
        user = ForeignKeyField(User, on_delete='CASCADE')
        code_hash = CharField(unique=True)
        created_at = DateTimeField()
        used_at = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = 'recovery_code'

    return AccountToken, PasswordResetRequest, RecoveryCode


def up(migrator, db):
    db.create_tables(_models(db))
    migrator.migrate(
        migrator.add_column('user', 'password_set_at', DateTimeField(null=True)),
        migrator.add_column('user', 'two_factor_secret', CharField(default='')),
        migrator.add_column('user', 'two_factor_enabled_at', DateTimeField(null=True)),
        migrator.add_column('user', 'two_factor_last_step', IntegerField(default=0)),
        migrator.add_column('company', 'require_two_factor', BooleanField(default=False)),
    )
    db.execute_sql('UPDATE "user" SET password_set_at = created_at')


def down(migrator, db):
    migrator.migrate(
        migrator.drop_column('company', 'require_two_factor'),
        migrator.drop_column('user', 'two_factor_last_step'),
        migrator.drop_column('user', 'two_factor_enabled_at'),
        migrator.drop_column('user', 'two_factor_secret'),
        migrator.drop_column('user', 'password_set_at'),
    )
    db.drop_tables(list(reversed(_models(db))))
