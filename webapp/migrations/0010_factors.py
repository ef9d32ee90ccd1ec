"""Factors as records (services/factors.py).

factor: a factoring company as one carrier agreed with it (addresses, terms in basis points,
required documents, batch file format). factor_fee_tier: a tiered fee's rows.
subsidiary_factor: a subsidiary sells to a factor from a date. batch.factor_id: the factor a
batch was sent to.

Until now every batch went to Capital Depot (batch.provider = 'capital_depot'). So every
company that has batches gets a Capital Depot record with its terms (100 % minus a flat
2.50 % fee, no reserve, non-recourse), every batch is linked to it, and each of those
companies' subsidiaries with a Notice of Assignment or a batch is assigned to it from the
date of its first batch (or today, when it has none yet).
"""
import datetime

from peewee import *

CAPITAL_DEPOT = dict(
    name="Capital Depot",
    remit_to="Capital Depot Funding, LLC\nP.O. Box 4410\nDallas, TX 75208",
    submission_email="",
    advance_bp=9750, fee_kind="flat", fee_bp=250, reserve_bp=0, recourse_days=0,
    requires_rate_confirmation=True, requires_proof_of_delivery=True,
    batch_format="capital_depot_zip", attachment_limit_mb=20, active=True,
)


def _now():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def _models(db):
    class Company(Model):
        class Meta:
            database = db
            table_name = 'company'

    class Subsidiary(Model):
        class Meta:
            database = db
            table_name = 'subsidiary'

    class User(Model):
        class Meta:
            database = db
            table_name = 'user'

    class Factor(Model):
        company = ForeignKeyField(Company, on_delete='CASCADE')
        name = CharField()
        remit_to = TextField(default='')
        submission_email = CharField(default='')
        advance_bp = IntegerField(default=0)
        fee_kind = CharField(default='flat')
        fee_bp = IntegerField(default=0)
        reserve_bp = IntegerField(default=0)
        recourse_days = IntegerField(default=0)
        requires_rate_confirmation = BooleanField(default=True)
        requires_proof_of_delivery = BooleanField(default=True)
        batch_format = CharField(default='capital_depot_zip')
        attachment_limit_mb = IntegerField(default=20)
        active = BooleanField(default=True)
        created_at = DateTimeField()

        class Meta:
            database = db
            table_name = 'factor'
            indexes = ((('company', 'name'), True),)

    class FactorFeeTier(Model):
        factor = ForeignKeyField(Factor, on_delete='CASCADE')
        up_to_days = IntegerField()
        fee_bp = IntegerField()

        class Meta:
            database = db
            table_name = 'factor_fee_tier'
            indexes = ((('factor', 'up_to_days'), True),)

    class SubsidiaryFactor(Model):
        subsidiary = ForeignKeyField(Subsidiary, on_delete='CASCADE')
        factor = ForeignKeyField(Factor, on_delete='RESTRICT')
        from_date = DateField()
        created_by = ForeignKeyField(User, null=True, on_delete='SET NULL')
        created_at = DateTimeField()

        class Meta:
            database = db
            table_name = 'subsidiary_factor'
            indexes = ((('subsidiary', 'from_date'), True),)

    return Factor, FactorFeeTier, SubsidiaryFactor


def _param(db, sql):
    return sql.replace("%s", db.param)


def link_existing_batches(db, Factor, today=None):
    """Capital Depot for every company with batches; its batches and subsidiaries linked to it."""
    today = today or datetime.date.today()
    now = _now()
    companies = [row[0] for row in db.execute_sql(
        "SELECT DISTINCT company_id FROM batch ORDER BY company_id").fetchall()]
    for company_id in companies:
        found = db.execute_sql(_param(db, "SELECT id FROM factor WHERE company_id = %s AND name = %s"),
                               (company_id, CAPITAL_DEPOT["name"])).fetchone()
        if found:
            factor_id = found[0]
        else:
            factor_id = Factor.insert(company=company_id, created_at=now, **CAPITAL_DEPOT).execute()
        db.execute_sql(_param(db, "UPDATE batch SET factor_id = %s WHERE company_id = %s AND factor_id IS NULL"),
                       (factor_id, company_id))
        firsts = dict(db.execute_sql(_param(db, (
            "SELECT subsidiary_id, MIN(created_at) FROM batch WHERE company_id = %s GROUP BY subsidiary_id")),
            (company_id,)).fetchall())
        noa = {row[0] for row in db.execute_sql(_param(db, (
            "SELECT s.id FROM subsidiary s JOIN important_info i ON i.subsidiary_id = s.id "
            "WHERE s.company_id = %s AND i.kind = 'noa'")), (company_id,)).fetchall()}
        for subsidiary_id in sorted(set(firsts) | noa):
            assigned = db.execute_sql(_param(db, "SELECT 1 FROM subsidiary_factor WHERE subsidiary_id = %s"),
                                      (subsidiary_id,)).fetchone()
            if assigned:
                continue
            first = firsts.get(subsidiary_id)
            if isinstance(first, str):  # SQLite hands back text
                first = datetime.datetime.fromisoformat(first)
            from_date = first.date() if first else today
            db.execute_sql(_param(db, (
                "INSERT INTO subsidiary_factor (subsidiary_id, factor_id, from_date, created_at) "
                "VALUES (%s, %s, %s, %s)")), (subsidiary_id, factor_id, from_date, now))


def up(migrator, db):
    Factor, FactorFeeTier, SubsidiaryFactor = _models(db)
    db.create_tables([Factor, FactorFeeTier, SubsidiaryFactor])
    migrator.migrate(migrator.add_column(
        'batch', 'factor_id', ForeignKeyField(Factor, null=True, field=Factor.id, on_delete='RESTRICT')))
    link_existing_batches(db, Factor)


def down(migrator, db):
    from playhouse.migrate import make_index_name
    migrator.migrate(migrator.drop_index('batch', make_index_name('batch', ['factor_id'])))
    migrator.migrate(migrator.drop_column('batch', 'factor_id'))
    migrator.migrate(migrator.drop_table('subsidiary_factor'))
    migrator.migrate(migrator.drop_table('factor_fee_tier'))
    migrator.migrate(migrator.drop_table('factor'))
