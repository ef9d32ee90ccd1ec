"""Running counts of the loads (services/tallies), kept by the database itself.

Nine tables of sums, each kept by triggers on load (ledger_balance: on ledger_entry) in the
same transaction as every INSERT, UPDATE and DELETE of a row, whatever code path writes it (a
view, a report, an import, a bulk UPDATE, a cascade):

- load_tally: loads and their face total per company, subsidiary, billing status and
  invoicing method (the lists' counts, the home page's stages);
- open_tally: Financed invoices with a balance (purchased − paid) per subsidiary, debtor,
  factor and day (the invoice date, else the purchase date); open_day_tally: the same per
  subsidiary, factor and day (no debtor: the home page's and aging by subsidiary's few rows);
  open_debtor_tally: per debtor alone (aging's largest debtors);
- pay_days_tally: Completed invoices per debtor and days from the invoice date to the final
  payment (load.paid_on, the latest payment's date, kept by triggers on payment);
- fund_days_tally: purchased invoices per factor, subsidiary, week of the purchase and days
  from the batch's submission to the purchase;
- batch_tally: each batch's loads per billing status (the batches still waiting for a report);
- ledger_balance: the ledger's all-time sums per subsidiary, factor and kind, kept by triggers
  on ledger_entry (the reserve balance, the chargebacks: one row each, however long the
  history).

Each trigger takes the old row's share away and adds the new row's: a share depends only on
the load's own columns, and on its batch's factor and submission time, which never change
once the batch exists. Days are counted from 1970-01-01 so that SQLite and PostgreSQL do the
same integer arithmetic. The tables are filled from the loads there are. Three indexes of load
serve the reports beside them: open invoices oldest first (company, status, invoice date),
whether a batch still has loads waiting for a report (batch, status), and the invoices paid in
full this month (company, status, latest payment); one of ledger_total (company, month, kind)
serves this month's and this year's sums.
"""
import re

from peewee import *

SQLITE, POSTGRES = "sqlite", "postgres"


def _day(dialect, expr):
    """Days since 1970-01-01 of the date (or timestamp) EXPR."""
    if dialect == SQLITE:
        return f"CAST(julianday(date({expr})) - 2440587.5 AS INTEGER)"
    return f"(CAST({expr} AS date) - DATE '1970-01-01')"


def _greatest(dialect, a, b):
    return f"MAX({a}, {b})" if dialect == SQLITE else f"GREATEST({a}, {b})"


def _factor(r):
    return f"COALESCE((SELECT factor_id FROM batch WHERE id = {r}.batch_id), 0)"


def tallies(dialect):
    """(table, [(key column, expression)], [(sum column, expression)], condition) of each
    tally of load; expressions name the row as {r}."""
    day = _day(dialect, "COALESCE({r}.invoice_date, {r}.purchase_date)")
    purchase_day = _day(dialect, "{r}.purchase_date")
    submitted_day = _day(dialect, "(SELECT created_at FROM batch WHERE id = {r}.batch_id)")
    return [
        ("load_tally",
         [("company_id", "{r}.company_id"), ("subsidiary_id", "{r}.subsidiary_id"),
          ("billing_status", "{r}.billing_status"), ("invoicing_method", "{r}.invoicing_method")],
         [("n", "1"), ("total_cents", "{r}.total_cents")],
         "1 = 1"),
        ("open_tally",
         [("company_id", "{r}.company_id"), ("subsidiary_id", "{r}.subsidiary_id"),
          ("customer_id", "{r}.customer_id"), ("factor_key", _factor("{r}")), ("day_n", day)],
         [("n", "1"), ("open_cents", "{r}.purchase_amount_cents - {r}.paid_cents")],
         "{r}.billing_status = 'financed' AND {r}.purchase_amount_cents > {r}.paid_cents "
         "AND COALESCE({r}.invoice_date, {r}.purchase_date) IS NOT NULL"),
        ("open_day_tally",
         [("company_id", "{r}.company_id"), ("subsidiary_id", "{r}.subsidiary_id"), ("factor_key", _factor("{r}")),
          ("day_n", day)],
         [("n", "1"), ("open_cents", "{r}.purchase_amount_cents - {r}.paid_cents")],
         "{r}.billing_status = 'financed' AND {r}.purchase_amount_cents > {r}.paid_cents "
         "AND COALESCE({r}.invoice_date, {r}.purchase_date) IS NOT NULL"),
        ("open_debtor_tally",
         [("company_id", "{r}.company_id"), ("customer_id", "{r}.customer_id")],
         [("n", "1"), ("open_cents", "{r}.purchase_amount_cents - {r}.paid_cents")],
         "{r}.billing_status = 'financed' AND {r}.purchase_amount_cents > {r}.paid_cents "
         "AND COALESCE({r}.invoice_date, {r}.purchase_date) IS NOT NULL"),
        ("pay_days_tally",
         [("company_id", "{r}.company_id"), ("customer_id", "{r}.customer_id"),
          ("days", f"{_day(dialect, '{r}.paid_on')} - {_day(dialect, '{r}.invoice_date')}")],
         [("n", "1")],
         "{r}.billing_status = 'completed' AND {r}.invoice_date IS NOT NULL AND {r}.paid_on IS NOT NULL"),
        ("debtor_days_tally",
         [("company_id", "{r}.company_id"), ("customer_id", "{r}.customer_id")],
         [("n", "1"), ("days_total", f"{_day(dialect, '{r}.paid_on')} - {_day(dialect, '{r}.invoice_date')}")],
         "{r}.billing_status = 'completed' AND {r}.invoice_date IS NOT NULL AND {r}.paid_on IS NOT NULL"),
        ("fund_days_tally",
         [("company_id", "{r}.company_id"), ("factor_key", _factor("{r}")), ("subsidiary_id", "{r}.subsidiary_id"),
          # The Monday on or before (1970-01-01 was a Thursday), in integer division: no "%".
          ("week_n", f"{purchase_day} - (({purchase_day} + 3) - 7 * (({purchase_day} + 3) / 7))"),
          ("days", _greatest(dialect, "0", f"{purchase_day} - {submitted_day}"))],
         [("n", "1")],
         "{r}.purchase_date IS NOT NULL AND {r}.batch_id IS NOT NULL"),
        ("batch_tally",
         [("company_id", "{r}.company_id"), ("batch_key", "{r}.batch_id"), ("billing_status", "{r}.billing_status")],
         [("n", "1")],
         "{r}.batch_id IS NOT NULL"),
    ]


def ledger_tallies(dialect):
    """The same for ledger_entry: its all-time sums by subsidiary, factor and kind."""
    return [
        ("ledger_balance",
         [("company_id", "{r}.company_id"), ("subsidiary_id", "{r}.subsidiary_id"),
          ("factor_key", "COALESCE({r}.factor_id, 0)"), ("kind", "{r}.kind")],
         [("n", "1"), ("amount_cents", "{r}.amount_cents")],
         "1 = 1"),
    ]


def sources(dialect):
    """(source table, its tallies) of every tally."""
    return [('"load"', tallies(dialect)), ("ledger_entry", ledger_tallies(dialect))]


def _fill(expr, r):
    return expr.replace("{r}", r)


def _add(table, keys, sums, cond, r="NEW"):
    cols = ", ".join([k for k, _ in keys] + [s for s, _ in sums])
    values = ", ".join(_fill(e, r) for _, e in keys + sums)
    conflict = ", ".join(k for k, _ in keys)
    update = ", ".join(f"{s} = {table}.{s} + excluded.{s}" for s, _ in sums)
    return (f"INSERT INTO {table} ({cols}) SELECT {values} WHERE {_fill(cond, r)} "
            f"ON CONFLICT ({conflict}) DO UPDATE SET {update};")


def _take(table, keys, sums, cond, r="OLD"):
    match = " AND ".join(f"{k} = {_fill(e, r)}" for k, e in keys)
    # The share in parentheses: "open_cents - (purchase - paid)", not "open_cents - purchase - paid"
    # (migration 0021 puts these triggers back on the databases made before, and recounts).
    setting = ", ".join(f"{s} = {s} - ({_fill(e, r)})" for s, e in sums)
    statements = f"UPDATE {table} SET {setting} WHERE {match} AND {_fill(cond, r)};"
    if table in ("open_tally", "open_day_tally", "open_debtor_tally", "batch_tally"):   # keep no empty row
        statements += f" DELETE FROM {table} WHERE {match} AND n = 0;"
    return statements


def _changed(columns):
    return " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in columns)


def _columns_of(keys, sums, cond):
    text = " ".join(e for _, e in keys + sums) + " " + cond
    return sorted(set(re.findall(r"\{r\}\.(\w+)", text)))


def _triggers(dialect, source, table, keys, sums, cond):
    columns = _columns_of(keys, sums, cond)
    add, take = _add(table, keys, sums, cond), _take(table, keys, sums, cond)
    if dialect == SQLITE:
        changed = _changed(columns).replace("IS DISTINCT FROM", "IS NOT")
        return [
            f'CREATE TRIGGER {table}_insert AFTER INSERT ON {source} BEGIN {add} END',
            f'CREATE TRIGGER {table}_delete AFTER DELETE ON {source} BEGIN {take} END',
            f'CREATE TRIGGER {table}_update AFTER UPDATE OF {", ".join(columns)} ON {source} '
            f'WHEN {changed} BEGIN {take} {add} END',
        ]
    return [
        f"CREATE FUNCTION {table}_keep() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"IF TG_OP IN ('UPDATE', 'DELETE') THEN {take} END IF; "
        f"IF TG_OP IN ('UPDATE', 'INSERT') THEN {add} END IF; "
        f"RETURN NULL; END $$",
        f'CREATE TRIGGER {table}_insert_delete AFTER INSERT OR DELETE ON {source} '
        f"FOR EACH ROW EXECUTE FUNCTION {table}_keep()",
        f'CREATE TRIGGER {table}_update AFTER UPDATE OF {", ".join(columns)} ON {source} '
        f"FOR EACH ROW WHEN ({_changed(columns)}) EXECUTE FUNCTION {table}_keep()",
    ]


def trigger_sql(dialect):
    """The statements that create every trigger of the tallies on DIALECT."""
    out = []
    for source, items in sources(dialect):
        for table, keys, sums, cond in items:
            out += _triggers(dialect, source, table, keys, sums, cond)
    # load.paid_on: the latest payment's date, whatever writes or removes a payment.
    latest = 'UPDATE "load" SET paid_on = (SELECT MAX(payment_date) FROM payment WHERE load_id = {r}.load_id) ' \
             'WHERE id = {r}.load_id;'
    if dialect == SQLITE:
        out += [
            f"CREATE TRIGGER payment_paid_on_insert AFTER INSERT ON payment BEGIN {_fill(latest, 'NEW')} END",
            f"CREATE TRIGGER payment_paid_on_delete AFTER DELETE ON payment BEGIN {_fill(latest, 'OLD')} END",
            f"CREATE TRIGGER payment_paid_on_update AFTER UPDATE OF payment_date, load_id ON payment "
            f"BEGIN {_fill(latest, 'OLD')} {_fill(latest, 'NEW')} END",
        ]
    else:
        out += [
            "CREATE FUNCTION payment_paid_on_keep() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF TG_OP IN ('UPDATE', 'DELETE') THEN {_fill(latest, 'OLD')} END IF; "
            f"IF TG_OP IN ('UPDATE', 'INSERT') THEN {_fill(latest, 'NEW')} END IF; "
            "RETURN NULL; END $$",
            "CREATE TRIGGER payment_paid_on AFTER INSERT OR DELETE OR UPDATE OF payment_date, load_id "
            "ON payment FOR EACH ROW EXECUTE FUNCTION payment_paid_on_keep()",
        ]
    return out


def fill_sql(dialect):
    """The statements that fill every tally from the loads and ledger rows there are."""
    out = []
    for source, items in sources(dialect):
        row = source.strip('"')
        for table, keys, sums, cond in items:
            cols = ", ".join([k for k, _ in keys] + [s for s, _ in sums])
            key_exprs = [_fill(e, row) for _, e in keys]
            sum_exprs = [f"SUM({_fill(e, row)})" for _, e in sums]
            out.append(f'INSERT INTO {table} ({cols}) SELECT {", ".join(key_exprs + sum_exprs)} FROM {source} '
                       f"WHERE {_fill(cond, row)} GROUP BY {', '.join(key_exprs)}")
    return out


def _models(db):
    def stub(name):
        return type(name, (Model,), {"Meta": type("Meta", (), {"database": db, "table_name": name})})

    Company, Subsidiary, Customer = stub("company"), stub("subsidiary"), stub("customer")

    class LoadTally(Model):
        company = ForeignKeyField(Company, on_delete='CASCADE')
        subsidiary = ForeignKeyField(Subsidiary, on_delete='CASCADE')
        billing_status = CharField()
        invoicing_method = CharField()
        n = IntegerField(default=0)
        total_cents = BigIntegerField(default=0)

        class Meta:
            database = db
            table_name = 'load_tally'
            indexes = ((('company', 'subsidiary', 'billing_status', 'invoicing_method'), True),)

    class OpenTally(Model):
        company = ForeignKeyField(Company, on_delete='CASCADE')
        subsidiary = ForeignKeyField(Subsidiary, on_delete='CASCADE')
        customer = ForeignKeyField(Customer, on_delete='CASCADE')
        factor_key = IntegerField(default=0)
        day_n = IntegerField()
        n = IntegerField(default=0)
        open_cents = BigIntegerField(default=0)

        class Meta:
            database = db
            table_name = 'open_tally'
            indexes = ((('company', 'subsidiary', 'customer', 'factor_key', 'day_n'), True),
                       (('company', 'day_n', 'customer', 'open_cents'), False),
                       (('company', 'customer', 'day_n', 'n', 'open_cents'), False),
                       (('company', 'subsidiary', 'day_n', 'n', 'open_cents'), False))

    class OpenDayTally(Model):
        company = ForeignKeyField(Company, on_delete='CASCADE')
        subsidiary = ForeignKeyField(Subsidiary, on_delete='CASCADE')
        factor_key = IntegerField(default=0)
        day_n = IntegerField()
        n = IntegerField(default=0)
        open_cents = BigIntegerField(default=0)

        class Meta:
            database = db
            table_name = 'open_day_tally'
            indexes = ((('company', 'subsidiary', 'factor_key', 'day_n'), True),
                       (('company', 'factor_key', 'day_n'), False))

    class OpenDebtorTally(Model):
        company = ForeignKeyField(Company, on_delete='CASCADE')
        customer = ForeignKeyField(Customer, on_delete='CASCADE')
        n = IntegerField(default=0)
        open_cents = BigIntegerField(default=0)

        class Meta:
            database = db
            table_name = 'open_debtor_tally'
            indexes = ((('company', 'customer'), True), (('company', 'open_cents'), False))

    class PayDaysTally(Model):
        company = ForeignKeyField(Company, on_delete='CASCADE')
        customer = ForeignKeyField(Customer, on_delete='CASCADE')
        days = IntegerField()
        n = IntegerField(default=0)

        class Meta:
            database = db
            table_name = 'pay_days_tally'
            indexes = ((('company', 'customer', 'days'), True),)

    class DebtorDaysTally(Model):
        company = ForeignKeyField(Company, on_delete='CASCADE')
        customer = ForeignKeyField(Customer, on_delete='CASCADE')
        n = IntegerField(default=0)
        days_total = BigIntegerField(default=0)

        class Meta:
            database = db
            table_name = 'debtor_days_tally'
            indexes = ((('company', 'customer'), True),)

    class FundDaysTally(Model):
        company = ForeignKeyField(Company, on_delete='CASCADE')
        factor_key = IntegerField(default=0)
        subsidiary = ForeignKeyField(Subsidiary, on_delete='CASCADE')
        week_n = IntegerField()
        days = IntegerField()
        n = IntegerField(default=0)

        class Meta:
            database = db
            table_name = 'fund_days_tally'
            indexes = ((('company', 'factor_key', 'subsidiary', 'week_n', 'days'), True),)

    class BatchTally(Model):
        company = ForeignKeyField(Company, on_delete='CASCADE')
        batch_key = IntegerField()
        billing_status = CharField()
        n = IntegerField(default=0)

        class Meta:
            database = db
            table_name = 'batch_tally'
            indexes = ((('company', 'batch_key', 'billing_status'), True),
                       (('company', 'billing_status', 'batch_key'), False))

    class LedgerBalance(Model):
        company = ForeignKeyField(Company, on_delete='CASCADE')
        subsidiary = ForeignKeyField(Subsidiary, on_delete='CASCADE')
        factor_key = IntegerField(default=0)
        kind = CharField()
        n = IntegerField(default=0)
        amount_cents = BigIntegerField(default=0)

        class Meta:
            database = db
            table_name = 'ledger_balance'
            indexes = ((('company', 'subsidiary', 'factor_key', 'kind'), True),)

    return [LoadTally, OpenTally, OpenDayTally, OpenDebtorTally, PayDaysTally, DebtorDaysTally, FundDaysTally,
            BatchTally, LedgerBalance]


def _dialect(db):
    return POSTGRES if isinstance(db, PostgresqlDatabase) else SQLITE


def up(migrator, db):
    dialect = _dialect(db)
    migrator.migrate(
        migrator.add_column('load', 'paid_on', DateField(null=True)),
        migrator.add_index('load', ('company_id', 'billing_status', 'invoice_date'), False),
        migrator.add_index('load', ('batch_id', 'billing_status'), False),
        migrator.add_index('load', ('company_id', 'billing_status', 'paid_on'), False),
        migrator.add_index('ledger_total', ('company_id', 'month', 'kind'), False),
    )
    db.execute_sql('UPDATE "load" SET paid_on = (SELECT MAX(payment_date) FROM payment '
                   'WHERE payment.load_id = "load".id)')
    db.create_tables(_models(db))
    for statement in fill_sql(dialect) + trigger_sql(dialect):
        db.execute_sql(statement)


def down(migrator, db):
    dialect = _dialect(db)
    for source, items in sources(dialect):
        for table, _k, _s, _c in items:
            suffixes = ("insert", "delete", "update") if dialect == SQLITE else ("insert_delete", "update")
            for suffix in suffixes:
                db.execute_sql(f'DROP TRIGGER IF EXISTS {table}_{suffix}' + ('' if dialect == SQLITE else f' ON {source}'))
            if dialect == POSTGRES:
                db.execute_sql(f"DROP FUNCTION IF EXISTS {table}_keep()")
    if dialect == SQLITE:
        for suffix in ("insert", "delete", "update"):
            db.execute_sql(f"DROP TRIGGER IF EXISTS payment_paid_on_{suffix}")
    else:
        db.execute_sql("DROP TRIGGER IF EXISTS payment_paid_on ON payment")
        db.execute_sql("DROP FUNCTION IF EXISTS payment_paid_on_keep()")
    for table in ('ledger_balance', 'batch_tally', 'fund_days_tally', 'debtor_days_tally', 'pay_days_tally',
                  'open_debtor_tally', 'open_day_tally', 'open_tally', 'load_tally'):
        migrator.migrate(migrator.drop_table(table))
    migrator.migrate(
        migrator.drop_index('ledger_total', 'ledger_total_company_id_month_kind'),
        migrator.drop_index('load', 'load_company_id_billing_status_paid_on'),
        migrator.drop_index('load', 'load_batch_id_billing_status'),
        migrator.drop_index('load', 'load_company_id_billing_status_invoice_date'),
        migrator.drop_column('load', 'paid_on'),
    )
