"""The ledger of money with the factor (services/ledger), chargebacks, and the status
"Charged back".

chargeback: an invoice a recourse factor charged back (amount, date, reason, who or which
report row; undone_at when undone). ledger_entry: one append-only row per money event (kind,
signed cents, date, cause: upload and row, or person; reversal_of for an undo).
ledger_total: running sums by company, subsidiary, factor, kind and month, kept with the rows.
load.billing_status may now be 'charged_back' (the CHECK constraint is widened: on
PostgreSQL dropped and added again, on SQLite by the schema edit SQLite documents for a
change that leaves the stored rows as they are).

The rows the applied reports imply are carried over: for every Financed or Completed load
with a purchase, its face, advance, fee and reserve (dated on the purchase, caused by the
Purchase Report row that financed it); for every payment, what was collected, the reserve
released and the fee adjustment (its Payment Report row); for every load with a short pay or
an overpay, that amount (the row that completed it). The totals are then summed from them.
"""
import datetime

from peewee import *

OLD_CHECK = "billing_status in ('queued', 'invoiced', 'financed', 'completed')"
NEW_CHECK = "billing_status in ('queued', 'invoiced', 'financed', 'completed', 'charged_back')"
CARRIED = "Carried over from the applied reports (migration 0015)"


def _now():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def _models(db):
    def stub(name):
        return type(name, (Model,), {"Meta": type("Meta", (), {"database": db, "table_name": name})})

    Company, Subsidiary, Factor, Load, Batch, ReportUpload = (
        stub("company"), stub("subsidiary"), stub("factor"), stub("load"), stub("batch"), stub("report_upload"))
    User = type("User", (Model,), {"Meta": type("Meta", (), {"database": db, "table_name": "user"})})

    class Chargeback(Model):
        company = ForeignKeyField(Company, on_delete='CASCADE')
        load = ForeignKeyField(Load, on_delete='RESTRICT')
        batch = ForeignKeyField(Batch, null=True, on_delete='SET NULL')
        upload = ForeignKeyField(ReportUpload, null=True, on_delete='SET NULL')
        row_number = IntegerField(null=True)
        chargeback_date = DateField()
        amount_cents = IntegerField()
        reserve_applied_cents = IntegerField(default=0)
        reason = TextField(default='')
        previous_invoicing_method = CharField(default='factoring')
        created_by = ForeignKeyField(User, null=True, on_delete='SET NULL')
        created_at = DateTimeField()
        undone_at = DateTimeField(null=True)
        undone_by = ForeignKeyField(User, null=True, on_delete='SET NULL', backref='chargebacks_undone')
        undo_reason = TextField(default='')

        class Meta:
            database = db
            table_name = 'chargeback'

    class LedgerEntry(Model):
        company = ForeignKeyField(Company, on_delete='CASCADE')
        subsidiary = ForeignKeyField(Subsidiary, on_delete='RESTRICT')
        factor = ForeignKeyField(Factor, null=True, on_delete='RESTRICT')
        load = ForeignKeyField(Load, null=True, on_delete='RESTRICT')
        batch = ForeignKeyField(Batch, null=True, on_delete='RESTRICT')
        kind = CharField()
        amount_cents = IntegerField()
        entry_date = DateField()
        upload = ForeignKeyField(ReportUpload, null=True, on_delete='SET NULL')
        row_number = IntegerField(null=True)
        actor = ForeignKeyField(User, null=True, on_delete='SET NULL')
        chargeback = ForeignKeyField(Chargeback, null=True, on_delete='RESTRICT')
        reversal_of = ForeignKeyField('self', null=True, unique=True, on_delete='RESTRICT')
        reason = TextField(default='')
        created_at = DateTimeField()

        class Meta:
            database = db
            table_name = 'ledger_entry'
            indexes = (
                (('company', 'entry_date'), False),
                (('load', 'kind'), False),
                (('batch', 'kind'), False),
            )

    class LedgerTotal(Model):
        company = ForeignKeyField(Company, on_delete='CASCADE')
        subsidiary = ForeignKeyField(Subsidiary, on_delete='CASCADE')
        factor_key = IntegerField(default=0)
        kind = CharField()
        month = DateField()
        amount_cents = IntegerField(default=0)
        entries = IntegerField(default=0)

        class Meta:
            database = db
            table_name = 'ledger_total'
            indexes = ((('company', 'subsidiary', 'factor_key', 'kind', 'month'), True),)

    return Chargeback, LedgerEntry, LedgerTotal


def _is_postgres(db):
    return isinstance(db, PostgresqlDatabase)


def _set_status_check(db, old, new):
    """Widen (or narrow back) the CHECK on load.billing_status."""
    if _is_postgres(db):
        names = [row[0] for row in db.execute_sql(
            "SELECT conname FROM pg_constraint WHERE conrelid = 'load'::regclass AND contype = 'c' "
            "AND pg_get_constraintdef(oid) LIKE '%%billing_status%%'").fetchall()]
        for name in names:
            db.execute_sql(f'ALTER TABLE load DROP CONSTRAINT "{name}"')
        db.execute_sql(f"ALTER TABLE load ADD CONSTRAINT load_billing_status_check CHECK ({new})")
        return
    # SQLite keeps a table's CHECK in the CREATE TABLE text of sqlite_master. Widening the
    # allowed values changes no stored row, the case SQLite's ALTER TABLE documentation says
    # may be done by editing that text (writable_schema) and bumping schema_version.
    sql = db.execute_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'load'").fetchone()[0]
    if new in sql:
        return
    if old not in sql:
        raise RuntimeError("load.billing_status's CHECK is not the one this migration knows: " + sql)
    version = db.execute_sql("PRAGMA schema_version").fetchone()[0]
    db.execute_sql("PRAGMA writable_schema = ON")
    db.execute_sql("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'load'",
                   (sql.replace(old, new),))
    db.execute_sql(f"PRAGMA schema_version = {int(version) + 1}")
    db.execute_sql("PRAGMA writable_schema = OFF")


def _month(db, column):
    if _is_postgres(db):
        return f"CAST(date_trunc('month', {column}) AS date)"
    return f"date({column}, 'start of month')"


# The load's latest status change to STATUS by a report: its upload, row and who applied it.
_CAUSE = ("LEFT JOIN audit_log a ON a.id = (SELECT MAX(x.id) FROM audit_log x WHERE x.object_type = 'load' "
          "AND x.object_id = l.id AND x.action = 'load.status' AND x.after = '{status}' "
          "AND x.upload_id IS NOT NULL)")


def carry_over(db, now=None):
    """Write the ledger rows the applied reports imply, then their totals. Returns the rows written."""
    now = now or _now()
    p = db.param
    columns = ("company_id, subsidiary_id, factor_id, load_id, batch_id, kind, amount_cents, entry_date, "
               "upload_id, row_number, actor_id, reason, created_at")
    bought = "l.billing_status IN ('financed', 'completed') AND l.purchase_amount_cents IS NOT NULL"
    for kind, amount in (("purchased", "l.purchase_amount_cents"), ("advance", "l.advance_cents"),
                         ("fee", "l.fee_cents"), ("reserve_held", "l.reserve_cents")):
        db.execute_sql(
            f"INSERT INTO ledger_entry ({columns}) "
            f"SELECT l.company_id, l.subsidiary_id, b.factor_id, l.id, l.batch_id, '{kind}', {amount}, "
            f"COALESCE(l.purchase_date, l.invoice_date, {p}), a.upload_id, a.row_number, a.actor_id, {p}, {p} "
            f"FROM load l LEFT JOIN batch b ON b.id = l.batch_id {_CAUSE.format(status='financed')} "
            f"WHERE {bought} AND {amount} IS NOT NULL AND {amount} <> 0 ORDER BY l.id",
            (now.date(), CARRIED, now))
    for kind, amount in (("collected", "pm.amount_cents"), ("reserve_released", "pm.reserve_released_cents"),
                         ("fee_adjustment", "pm.fee_adjustment_cents")):
        db.execute_sql(
            f"INSERT INTO ledger_entry ({columns}) "
            f"SELECT l.company_id, l.subsidiary_id, b.factor_id, l.id, l.batch_id, '{kind}', {amount}, "
            f"pm.payment_date, pm.upload_id, pm.row_number, u.uploaded_by_id, {p}, {p} "
            "FROM payment pm JOIN load l ON l.id = pm.load_id LEFT JOIN batch b ON b.id = l.batch_id "
            "LEFT JOIN report_upload u ON u.id = pm.upload_id "
            f"WHERE {amount} <> 0 ORDER BY pm.id",
            (CARRIED, now))
    for kind, amount in (("short_pay", "l.short_pay_cents"), ("overpay", "l.overpay_cents")):
        db.execute_sql(
            f"INSERT INTO ledger_entry ({columns}) "
            f"SELECT l.company_id, l.subsidiary_id, b.factor_id, l.id, l.batch_id, '{kind}', {amount}, "
            f"COALESCE((SELECT MAX(pm.payment_date) FROM payment pm WHERE pm.load_id = l.id), {p}), "
            f"a.upload_id, a.row_number, a.actor_id, {p}, {p} "
            f"FROM load l LEFT JOIN batch b ON b.id = l.batch_id {_CAUSE.format(status='completed')} "
            f"WHERE {amount} <> 0 ORDER BY l.id",
            (now.date(), CARRIED, now))
    recount_totals(db)
    return db.execute_sql("SELECT COUNT(*) FROM ledger_entry").fetchone()[0]


def recount_totals(db):
    """ledger_total summed afresh from every ledger_entry row."""
    db.execute_sql("DELETE FROM ledger_total")
    month = _month(db, "entry_date")
    db.execute_sql(
        "INSERT INTO ledger_total (company_id, subsidiary_id, factor_key, kind, month, amount_cents, entries) "
        f"SELECT company_id, subsidiary_id, COALESCE(factor_id, 0), kind, {month}, SUM(amount_cents), COUNT(*) "
        f"FROM ledger_entry GROUP BY company_id, subsidiary_id, COALESCE(factor_id, 0), kind, {month}")


def up(migrator, db):
    Chargeback, LedgerEntry, LedgerTotal = _models(db)
    db.create_tables([Chargeback, LedgerEntry, LedgerTotal])
    _set_status_check(db, OLD_CHECK, NEW_CHECK)
    carry_over(db)


def down(migrator, db):
    db.execute_sql("UPDATE load SET billing_status = 'financed' WHERE billing_status = 'charged_back'")
    _set_status_check(db, NEW_CHECK, OLD_CHECK)
    migrator.migrate(migrator.drop_table('ledger_total'))
    migrator.migrate(migrator.drop_table('ledger_entry'))
    migrator.migrate(migrator.drop_table('chargeback'))
