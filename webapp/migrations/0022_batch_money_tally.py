"""A batch's money and counts kept as it changes, and the indexes that let Reports > Factoring,
the home page and the batch page read one page of batches or of a batch's loads.

batch_money_tally holds, per (company, batch, billing status), the batch's live loads (those
whose load.batch_id is the batch) and what the batch page and every batch's status line read of
them: their face total, what is still owed on the Financed ones (purchase amount, else face,
less paid), how many carry a payment, how many the factor holds, and how many need a look (held,
short or over paid, or an amount warning). It is kept by triggers on load built like those of
migration 0018 (the same take-the-old-row's-share, add-the-new-row's machinery; on PostgreSQL
per statement, as migration 0021 keeps 0018's), in the same transaction as every write, so a batch of 5,000 loads is summed from five rows instead of its
5,000 loads; rows at zero are removed.

The indexes: batch (company, status, number) for the failed batches of the home page, batch
(company, subsidiary, number) for Reports > Factoring of one subsidiary and its count, batch
(company, total_cents), (company, load_count) and (company, created_at) for its sorts by total,
count and date (and the latest batch's factor, which Upload Payment Report proposes), batch
(company, subsidiary, created_at) for one subsidiary's newest batches (Factoring Upload's box:
with the index on created_at alone SQLite would walk every batch of the company), and
report_upload (company, batch, status, applied_at) for the remittances applied lately.
"""
import importlib

from peewee import *

TALLIES = importlib.import_module("webapp.migrations.0018_tallies")
STATEMENTS = importlib.import_module("webapp.migrations.0021_statement_tallies")
SQLITE, POSTGRES = TALLIES.SQLITE, TALLIES.POSTGRES
TABLE = "batch_money_tally"

# A Financed invoice's balance: its purchase amount (its face before the purchase) less paid.
_FACE = "COALESCE({r}.purchase_amount_cents, {r}.total_cents)"
_LOOK = ("{r}.factor_hold OR {r}.short_pay_cents > 0 OR {r}.overpay_cents > 0 "
         "OR {r}.amount_warning <> ''")


def tally():
    """(table, keys, sums, condition) of batch_money_tally, in 0018's form (rows named {r})."""
    return (TABLE,
            [("company_id", "{r}.company_id"), ("batch_key", "{r}.batch_id"),
             ("billing_status", "{r}.billing_status")],
            [("n", "1"), ("total_cents", "{r}.total_cents"),
             ("open_cents", f"CASE WHEN {{r}}.billing_status = 'financed' AND {_FACE} > {{r}}.paid_cents "
                            f"THEN {_FACE} - {{r}}.paid_cents ELSE 0 END"),
             ("paid_n", "CASE WHEN {r}.paid_cents > 0 THEN 1 ELSE 0 END"),
             ("held_n", "CASE WHEN {r}.factor_hold THEN 1 ELSE 0 END"),
             ("look_n", f"CASE WHEN {_LOOK} THEN 1 ELSE 0 END")],
            "{r}.batch_id IS NOT NULL")


def _take():
    table, keys, sums, cond = tally()
    match = " AND ".join(f"{k} = {TALLIES._fill(e, 'OLD')}" for k, e in keys)
    return TALLIES._take(table, keys, sums, cond) + f" DELETE FROM {table} WHERE {match} AND n = 0;"


def _statement_trigger_sql():
    """PostgreSQL: one statement-level trigger per event of load, as 0021 keeps 0018's tallies
    (the statement's rows read from its transition tables, rows at zero removed)."""
    table, keys, sums, cond = tally()
    out = []
    for event in STATEMENTS.EVENTS:
        body = STATEMENTS._statements(event, table, keys, sums, cond, keep_empty=False)
        if event == "update":
            body = STATEMENTS._unchanged_guard(TALLIES._columns_of(keys, sums, cond)) + " " + body
        function = f"{TABLE}_{event}"
        out += [
            f"CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {body} "
            f"RETURN NULL; END $$",
            f'CREATE TRIGGER {function} AFTER {event.upper()} ON "load" {STATEMENTS._referencing(event)} '
            f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
        ]
    return out


def trigger_sql(dialect):
    """The statements that create batch_money_tally's triggers on DIALECT."""
    if dialect == POSTGRES:
        return _statement_trigger_sql()
    table, keys, sums, cond = tally()
    statements = TALLIES._triggers(dialect, '"load"', table, keys, sums, cond)
    # 0018's triggers keep empty rows of its own tables only: remove this one's too.
    plain = TALLIES._take(table, keys, sums, cond)
    return [s.replace(plain, _take()) for s in statements]


def fill_sql(dialect):
    """The statement that fills batch_money_tally from the loads there are."""
    table, keys, sums, cond = tally()
    cols = ", ".join([k for k, _ in keys] + [s for s, _ in sums])
    key_exprs = [TALLIES._fill(e, "load") for _, e in keys]
    sum_exprs = [f"SUM({TALLIES._fill(e, 'load')})" for _, e in sums]
    return [f'INSERT INTO {table} ({cols}) SELECT {", ".join(key_exprs + sum_exprs)} FROM "load" '
            f'WHERE {TALLIES._fill(cond, "load")} GROUP BY {", ".join(key_exprs)}']


def _model(db):
    class Company(Model):
        class Meta:
            database = db
            table_name = 'company'

    class BatchMoneyTally(Model):
        company = ForeignKeyField(Company, on_delete='CASCADE')
        batch_key = IntegerField()
        billing_status = CharField()
        n = IntegerField(default=0)
        total_cents = BigIntegerField(default=0)
        open_cents = BigIntegerField(default=0)
        paid_n = IntegerField(default=0)
        held_n = IntegerField(default=0)
        look_n = IntegerField(default=0)

        class Meta:
            database = db
            table_name = TABLE
            indexes = ((('company', 'batch_key', 'billing_status'), True),)

    return BatchMoneyTally


def _dialect(db):
    return POSTGRES if isinstance(db, PostgresqlDatabase) else SQLITE


def up(migrator, db):
    dialect = _dialect(db)
    migrator.migrate(
        migrator.add_index('batch', ('company_id', 'status', 'number'), False),
        migrator.add_index('batch', ('company_id', 'subsidiary_id', 'number'), False),
        migrator.add_index('batch', ('company_id', 'total_cents'), False),
        migrator.add_index('batch', ('company_id', 'load_count'), False),
        migrator.add_index('batch', ('company_id', 'created_at'), False),
        migrator.add_index('batch', ('company_id', 'subsidiary_id', 'created_at'), False),
        migrator.add_index('report_upload', ('company_id', 'batch_id', 'status', 'applied_at'), False),
    )
    db.create_tables([_model(db)])
    for statement in fill_sql(dialect) + trigger_sql(dialect):
        db.execute_sql(statement)


def down(migrator, db):
    dialect = _dialect(db)
    if dialect == SQLITE:
        for suffix in ("insert", "delete", "update"):
            db.execute_sql(f"DROP TRIGGER IF EXISTS {TABLE}_{suffix}")
    else:
        for event in STATEMENTS.EVENTS:
            db.execute_sql(f'DROP TRIGGER IF EXISTS {TABLE}_{event} ON "load"')
            db.execute_sql(f"DROP FUNCTION IF EXISTS {TABLE}_{event}()")
    migrator.migrate(migrator.drop_table(TABLE))
    migrator.migrate(
        migrator.drop_index('report_upload', 'report_upload_company_id_batch_id_status_applied_at'),
        migrator.drop_index('batch', 'batch_company_id_subsidiary_id_created_at'),
        migrator.drop_index('batch', 'batch_company_id_created_at'),
        migrator.drop_index('batch', 'batch_company_id_load_count'),
        migrator.drop_index('batch', 'batch_company_id_total_cents'),
        migrator.drop_index('batch', 'batch_company_id_subsidiary_id_number'),
        migrator.drop_index('batch', 'batch_company_id_status_number'),
    )
