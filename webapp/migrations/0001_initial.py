"""Initial schema: a frozen copy of the models as first released."""
from peewee import *


def up(migrator, db):
    class Partner(Model):
        name = CharField(unique=True)
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'partner'
    db.create_tables([Partner])

    class Company(Model):
        name = CharField(unique=True)
        partner = ForeignKeyField(Partner, null=True, on_delete='SET NULL')
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'company'
    db.create_tables([Company])

    class User(Model):
        email = CharField(unique=True)
        name = CharField(default='')
        password_hash = CharField()
        role = CharField(default='user', constraints=[Check("role in ('admin', 'partner_admin', 'support', 'user')")])
        company = ForeignKeyField(Company, null=True, on_delete='RESTRICT')
        partner = ForeignKeyField(Partner, null=True, on_delete='RESTRICT')
        billing = BooleanField(default=False)
        active = BooleanField(default=True)
        session_version = IntegerField(default=1)
        created_at = DateTimeField()
        last_login_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'user'
    db.create_tables([User])

    class Subsidiary(Model):
        company = ForeignKeyField(Company, on_delete='CASCADE')
        name = CharField()
        legal_name = CharField(default='')
        mc_number = CharField(default='')
        usdot_number = CharField(default='')
        address_line1 = CharField(default='')
        address_line2 = CharField(default='')
        city = CharField(default='')
        state = CharField(default='')
        postal_code = CharField(default='')
        phone = CharField(default='')
        email = CharField(default='')
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'subsidiary'
            indexes = ((('company', 'name'), True),)
    db.create_tables([Subsidiary])

    class StoredFile(Model):
        company = ForeignKeyField(Company, on_delete='CASCADE')
        filename = CharField()
        content_type = CharField(default='application/octet-stream')
        size = IntegerField(default=0)
        sha256 = CharField(index=True)
        data = BlobField()
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'stored_file'
    db.create_tables([StoredFile])

    class Batch(Model):
        company = ForeignKeyField(Company, on_delete='CASCADE')
        subsidiary = ForeignKeyField(Subsidiary, on_delete='RESTRICT')
        number = IntegerField()
        provider = CharField(default='capital_depot')
        status = CharField(index=True, default='pending')
        progress_done = IntegerField(default=0)
        progress_total = IntegerField(default=0)
        error = TextField(default='')
        attempts = IntegerField(default=0)
        heartbeat_at = DateTimeField(null=True)
        load_count = IntegerField(default=0)
        total_cents = IntegerField(default=0)
        created_by = ForeignKeyField(User, null=True, on_delete='SET NULL')
        created_at = DateTimeField(index=True)
        completed_at = DateTimeField(null=True)
        file = ForeignKeyField(StoredFile, null=True, on_delete='SET NULL')
        file_name = CharField(default='')
        file_sha256 = CharField(default='')
        class Meta:
            database = db
            table_name = 'batch'
            indexes = ((('company', 'number'), True),)
    db.create_tables([Batch])

    class ReportUpload(Model):
        company = ForeignKeyField(Company, on_delete='CASCADE')
        batch = ForeignKeyField(Batch, on_delete='CASCADE')
        kind = CharField()
        status = CharField(default='preview')
        file = ForeignKeyField(StoredFile, on_delete='RESTRICT')
        filename = CharField(default='')
        sha256 = CharField()
        uploaded_by = ForeignKeyField(User, null=True, on_delete='SET NULL')
        created_at = DateTimeField()
        applied_at = DateTimeField(null=True)
        row_count = IntegerField(default=0)
        summary = TextField(default='')
        class Meta:
            database = db
            table_name = 'report_upload'
    db.create_tables([ReportUpload])

    class AuditLog(Model):
        company = ForeignKeyField(Company, null=True, on_delete='CASCADE')
        actor = ForeignKeyField(User, null=True, on_delete='SET NULL')
        action = CharField()
        object_type = CharField()
        object_id = IntegerField(null=True)
        before = TextField(default='')
        after = TextField(default='')
        details = TextField(default='')
        batch = ForeignKeyField(Batch, null=True, on_delete='SET NULL')
        upload = ForeignKeyField(ReportUpload, null=True, on_delete='SET NULL')
        row_number = IntegerField(null=True)
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'audit_log'
            indexes = ((('object_type', 'object_id'), False),)
    db.create_tables([AuditLog])

    class Customer(Model):
        company = ForeignKeyField(Company, on_delete='CASCADE')
        name = CharField()
        mc_number = CharField(default='')
        address_line1 = CharField(default='')
        city = CharField(default='')
        state = CharField(default='')
        postal_code = CharField(default='')
        payment_terms_days = IntegerField(default=30)
        invoicing_method = CharField(default='factoring')
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'customer'
            indexes = ((('company', 'name'), True),)
    db.create_tables([Customer])

    class Load(Model):
        company = ForeignKeyField(Company, on_delete='CASCADE')
        subsidiary = ForeignKeyField(Subsidiary, on_delete='RESTRICT')
        customer = ForeignKeyField(Customer, on_delete='RESTRICT')
        load_number = CharField()
        invoice_number = CharField(null=True)
        invoice_date = DateField(null=True)
        customer_reference = CharField(default='')
        pickup_city = CharField(default='')
        pickup_state = CharField(default='')
        pickup_date = DateField(null=True)
        delivery_city = CharField(default='')
        delivery_state = CharField(default='')
        delivery_date = DateField(null=True)
        total_cents = IntegerField(default=0)
        invoicing_method = CharField(default='factoring')
        billing_status = CharField(default='queued', constraints=[Check("billing_status in ('queued', 'invoiced', 'financed', 'completed')")])
        batch = ForeignKeyField(Batch, null=True, on_delete='SET NULL')
        status_reason = TextField(default='')
        factor_hold = BooleanField(default=False)
        purchase_date = DateField(null=True)
        purchase_amount_cents = IntegerField(null=True)
        advance_cents = IntegerField(null=True)
        fee_cents = IntegerField(null=True)
        reserve_cents = IntegerField(null=True)
        factor_reference = CharField(default='')
        amount_warning = TextField(default='')
        paid_cents = IntegerField(default=0)
        short_pay_cents = IntegerField(default=0)
        overpay_cents = IntegerField(default=0)
        created_at = DateTimeField()
        updated_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'load'
            indexes = ((('company', 'load_number'), True), (('company', 'invoice_number'), True), (('company', 'subsidiary', 'billing_status', 'invoicing_method'), False), (('company', 'billing_status'), False), (('company', 'customer'), False), (('company', 'delivery_date'), False))
    db.create_tables([Load])

    class BatchLoad(Model):
        batch = ForeignKeyField(Batch, on_delete='CASCADE')
        load = ForeignKeyField(Load, on_delete='CASCADE')
        live = BooleanField(default=True)
        amount_cents = IntegerField(default=0)
        invoice_number = CharField(default='')
        removed_reason = TextField(default='')
        class Meta:
            database = db
            table_name = 'batch_load'
            indexes = ((('batch', 'load'), True),)
    db.create_tables([BatchLoad])

    class ImportantInfo(Model):
        subsidiary = ForeignKeyField(Subsidiary, on_delete='CASCADE')
        kind = CharField()
        text = TextField()
        updated_by = ForeignKeyField(User, null=True, on_delete='SET NULL')
        updated_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'important_info'
            indexes = ((('subsidiary', 'kind'), True),)
    db.create_tables([ImportantInfo])

    class LoadDocument(Model):
        load = ForeignKeyField(Load, on_delete='CASCADE')
        kind = CharField(default='pod')
        file = ForeignKeyField(StoredFile, on_delete='CASCADE')
        uploaded_by = ForeignKeyField(User, null=True, on_delete='SET NULL')
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'load_document'
    db.create_tables([LoadDocument])

    class LoadLine(Model):
        load = ForeignKeyField(Load, on_delete='CASCADE')
        kind = CharField(default='linehaul')
        description = CharField(default='')
        amount_cents = IntegerField()
        position = IntegerField(default=0)
        class Meta:
            database = db
            table_name = 'load_line'
    db.create_tables([LoadLine])

    class LoginAttempt(Model):
        email = CharField(index=True)
        ip = CharField(default='')
        success = BooleanField(default=False)
        created_at = DateTimeField(index=True)
        class Meta:
            database = db
            table_name = 'login_attempt'
    db.create_tables([LoginAttempt])

    class Payment(Model):
        company = ForeignKeyField(Company, on_delete='CASCADE')
        load = ForeignKeyField(Load, on_delete='CASCADE')
        upload = ForeignKeyField(ReportUpload, null=True, on_delete='SET NULL')
        row_number = IntegerField(null=True)
        payment_date = DateField()
        amount_cents = IntegerField()
        reference = CharField(default='')
        method = CharField(default='')
        reserve_released_cents = IntegerField(default=0)
        fee_adjustment_cents = IntegerField(default=0)
        final = BooleanField(default=True)
        notes = TextField(default='')
        additional = BooleanField(default=False)
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'payment'
            indexes = ((('load', 'payment_date', 'amount_cents', 'reference'), True),)
    db.create_tables([Payment])

    # A load is in at most one live batch; a report file is applied once per batch.
    db.execute_sql(
        "CREATE UNIQUE INDEX batch_load_one_live ON batch_load (load_id) WHERE live")
    db.execute_sql(
        "CREATE UNIQUE INDEX report_upload_applied_once ON report_upload "
        "(batch_id, kind, sha256) WHERE status = 'applied'")


def down(migrator, db):
    migrator.migrate(migrator.drop_table('payment'))
    migrator.migrate(migrator.drop_table('login_attempt'))
    migrator.migrate(migrator.drop_table('load_line'))
    migrator.migrate(migrator.drop_table('load_document'))
    migrator.migrate(migrator.drop_table('important_info'))
    migrator.migrate(migrator.drop_table('batch_load'))
    migrator.migrate(migrator.drop_table('load'))
    migrator.migrate(migrator.drop_table('customer'))
    migrator.migrate(migrator.drop_table('audit_log'))
    migrator.migrate(migrator.drop_table('report_upload'))
    migrator.migrate(migrator.drop_table('batch'))
    migrator.migrate(migrator.drop_table('stored_file'))
    migrator.migrate(migrator.drop_table('subsidiary'))
    migrator.migrate(migrator.drop_table('user'))
    migrator.migrate(migrator.drop_table('company'))
    migrator.migrate(migrator.drop_table('partner'))
