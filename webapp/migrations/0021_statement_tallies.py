"""PostgreSQL: the running counts of migration 0018 kept by statement-level triggers.

0018's per-row plpgsql triggers ran nine tallies' worth of statements for every load a
statement wrote (a 5,000-load report apply spent most of its seven seconds in them). Here
each of load, ledger_entry and payment has one trigger per event, FOR EACH STATEMENT, that
reads the statement's rows from its transition tables (REFERENCING NEW TABLE / OLD TABLE):
per tally, one upsert of the summed shares of the new rows less the old rows' (GROUP BY the
tally's keys, only the keys whose sums changed), then, for the tallies that keep no empty row,
one DELETE of the rows it emptied. The tallies, their keys, sums and conditions are 0018's own
(tallies(), ledger_tallies()): one definition of each.

PostgreSQL allows no column list (UPDATE OF) on a trigger with transition tables, so the
UPDATE trigger fires on every UPDATE of load; it first looks whether any column a tally reads
changed, and returns at once when none did. load.paid_on (the latest payment's date) is one
UPDATE per statement on payment of the loads whose payments it touched, only where the date
changes (that UPDATE of load then fires load's trigger).

load's index (company, billing status) gains the id at its end, on both databases: the Loads
list sorted by status pages by (status, id), which SQLite's index held already (an index ends
with the rowid there) and PostgreSQL's did not.

SQLite has no statement-level triggers and keeps 0018's per-row ones, but they are made again:
0018 took an old row's share away as "open_cents - purchase - paid" (no parentheses), which
drifted the tallies whose share is a difference whenever a key held more than one load; those
four tallies are counted again from the loads on both databases. `down` restores 0018's
per-row triggers on PostgreSQL.
"""
import importlib

from peewee import PostgresqlDatabase

_tallies = importlib.import_module("webapp.migrations.0018_tallies")
POSTGRES = _tallies.POSTGRES

KEEP_NO_EMPTY_ROW = ("open_tally", "open_day_tally", "open_debtor_tally", "batch_tally")
EVENTS = ("insert", "update", "delete")


def _fill(expr, r):
    return _tallies._fill(expr, r)


def _shares(keys, sums, cond, rows, sign=""):
    """SELECT of each row's share in ROWS (a transition table), its keys as k0.. and its sums as s0.."""
    exprs = [f"{_fill(e, 'r')} AS k{i}" for i, (_, e) in enumerate(keys)]
    exprs += [f"{sign}({_fill(e, 'r')}) AS s{i}" for i, (_, e) in enumerate(sums)]
    return f"SELECT {', '.join(exprs)} FROM {rows} r WHERE {_fill(cond, 'r')}"


def _grouped(keys, sums, *shares):
    ks = ", ".join(f"k{i}" for i in range(len(keys)))
    ss = ", ".join(f"SUM(s{i}) AS s{i}" for i in range(len(sums)))
    changed = " OR ".join(f"SUM(s{i}) <> 0" for i in range(len(sums)))
    return f"SELECT {ks}, {ss} FROM ({' UNION ALL '.join(shares)}) d GROUP BY {ks} HAVING {changed}"


def _upsert(table, keys, sums, *shares):
    cols = ", ".join([k for k, _ in keys] + [s for s, _ in sums])
    conflict = ", ".join(k for k, _ in keys)
    update = ", ".join(f"{s} = {table}.{s} + excluded.{s}" for s, _ in sums)
    return (f"INSERT INTO {table} ({cols}) {_grouped(keys, sums, *shares)} "
            f"ON CONFLICT ({conflict}) DO UPDATE SET {update};")


def _subtract(table, keys, sums, cond):
    """The old rows' shares taken away (DELETE): only from rows there are, as 0018 did (a
    cascade from a deleted company leaves no tally row to take from)."""
    setting = ", ".join(f"{s} = {table}.{s} - d.s{i}" for i, (s, _) in enumerate(sums))
    match = " AND ".join(f"{table}.{k} = d.k{i}" for i, (k, _) in enumerate(keys))
    return (f"UPDATE {table} SET {setting} FROM ({_grouped(keys, sums, _shares(keys, sums, cond, 'old_rows'))}) d "
            f"WHERE {match};")


def _drop_emptied(table, keys, sums, cond, keep_empty=None):
    if keep_empty is None:
        keep_empty = table not in KEEP_NO_EMPTY_ROW
    if keep_empty:
        return ""
    ks = ", ".join(f"{_fill(e, 'r')} AS k{i}" for i, (_, e) in enumerate(keys))
    match = " AND ".join(f"{table}.{k} = d.k{i}" for i, (k, _) in enumerate(keys))
    return (f"DELETE FROM {table} USING (SELECT DISTINCT {ks} FROM old_rows r WHERE {_fill(cond, 'r')}) d "
            f"WHERE {match} AND {table}.n = 0;")


def _statements(event, table, keys, sums, cond, keep_empty=None):
    """The body of EVENT's trigger for one tally. KEEP_EMPTY: whether its rows at zero stay
    (None: as KEEP_NO_EMPTY_ROW says for 0018's tables)."""
    if event == "insert":
        return _upsert(table, keys, sums, _shares(keys, sums, cond, "new_rows"))
    if event == "delete":
        return _subtract(table, keys, sums, cond) + " " + _drop_emptied(table, keys, sums, cond, keep_empty)
    return (_upsert(table, keys, sums, _shares(keys, sums, cond, "new_rows"),
                    _shares(keys, sums, cond, "old_rows", sign="-"))
            + " " + _drop_emptied(table, keys, sums, cond, keep_empty))


def _referencing(event):
    return {"insert": "REFERENCING NEW TABLE AS new_rows",
            "update": "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
            "delete": "REFERENCING OLD TABLE AS old_rows"}[event]


def _changed_rows(columns, first="new_rows", second="old_rows"):
    """The rows of FIRST (id and COLUMNS) that SECOND does not hold as they are: the rows an
    UPDATE changed in COLUMNS. A set difference (hashed) rather than a join on id: the planner
    knows nothing of a transition table and would loop over one for each row of the other."""
    cols = ", ".join(["id"] + list(columns))
    return f"SELECT {cols} FROM {first} EXCEPT ALL SELECT {cols} FROM {second}"


def _unchanged_guard(columns):
    """Return at once from an UPDATE that changed none of COLUMNS in any row."""
    return f"IF NOT EXISTS ({_changed_rows(columns)}) THEN RETURN NULL; END IF;"


def _name(source):
    return source.strip('"')


def tally_trigger_sql():
    """The functions and statement-level triggers of every tally, per source table and event."""
    out = []
    for source, items in _tallies.sources(POSTGRES):
        columns = sorted({c for _t, keys, sums, cond in items for c in _tallies._columns_of(keys, sums, cond)})
        for event in EVENTS:
            body = " ".join(_statements(event, *item) for item in items)
            if event == "update":
                body = _unchanged_guard(columns) + " " + body
            function = f"{_name(source)}_tallies_{event}"
            out += [
                f"CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {body} "
                f"RETURN NULL; END $$",
                f"CREATE TRIGGER {function} AFTER {event.upper()} ON {source} {_referencing(event)} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
            ]
    return out


def paid_on_trigger_sql():
    """load.paid_on of the loads whose payments a statement wrote or removed, once per statement."""
    touched = {
        "insert": "SELECT load_id FROM new_rows",
        "delete": "SELECT load_id FROM old_rows",
        "update": f"SELECT load_id FROM ({_changed_rows(('load_id', 'payment_date'))}) c UNION ALL "
                  f"SELECT load_id FROM ({_changed_rows(('load_id', 'payment_date'), 'old_rows', 'new_rows')}) c",
    }
    out = []
    for event in EVENTS:
        latest = (f'UPDATE "load" SET paid_on = t.latest FROM (SELECT m.load_id, '
                  f"(SELECT MAX(p.payment_date) FROM payment p WHERE p.load_id = m.load_id) AS latest "
                  f'FROM (SELECT DISTINCT load_id FROM ({touched[event]}) u) m) t '
                  f'WHERE "load".id = t.load_id AND "load".paid_on IS DISTINCT FROM t.latest;')
        function = f"payment_paid_on_{event}"
        out += [
            f"CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {latest} "
            f"RETURN NULL; END $$",
            f"CREATE TRIGGER {function} AFTER {event.upper()} ON payment {_referencing(event)} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
        ]
    return out


def _drop_row_triggers(db):
    """0018's per-row triggers and their functions (PostgreSQL)."""
    for source, items in _tallies.sources(POSTGRES):
        for table, _k, _s, _c in items:
            for suffix in ("insert_delete", "update"):
                db.execute_sql(f"DROP TRIGGER IF EXISTS {table}_{suffix} ON {source}")
            db.execute_sql(f"DROP FUNCTION IF EXISTS {table}_keep()")
    db.execute_sql("DROP TRIGGER IF EXISTS payment_paid_on ON payment")
    db.execute_sql("DROP FUNCTION IF EXISTS payment_paid_on_keep()")


def _drop_statement_triggers(db):
    for source in [s for s, _ in _tallies.sources(POSTGRES)] + ["payment"]:
        prefix = "payment_paid_on" if source == "payment" else f"{_name(source)}_tallies"
        for event in EVENTS:
            db.execute_sql(f"DROP TRIGGER IF EXISTS {prefix}_{event} ON {source}")
            db.execute_sql(f"DROP FUNCTION IF EXISTS {prefix}_{event}()")


# The tallies whose share is a difference ("purchase - paid", "paid on - invoiced"): 0018's
# triggers took an old row's share away as "sum - a - b" (no parentheses), so a key holding more
# than one load drifted whenever one of them changed or left. They are counted again here.
RECOUNTED = ("open_tally", "open_day_tally", "open_debtor_tally", "debtor_days_tally")


def _recount(db, dialect):
    tables = [table for _source, items in _tallies.sources(dialect) for table, _k, _s, _c in items]
    for table, statement in zip(tables, _tallies.fill_sql(dialect)):
        if table in RECOUNTED:
            db.execute_sql(f"DELETE FROM {table}")
            db.execute_sql(statement)


def _drop_sqlite_triggers(db):
    for source, items in _tallies.sources(_tallies.SQLITE):
        for table, _k, _s, _c in items:
            for suffix in ("insert", "delete", "update"):
                db.execute_sql(f"DROP TRIGGER IF EXISTS {table}_{suffix}")
    for suffix in ("insert", "delete", "update"):
        db.execute_sql(f"DROP TRIGGER IF EXISTS payment_paid_on_{suffix}")


def _indexes_up(migrator):
    # load (company, status) becomes (company, status, id): the Loads list sorted by status pages
    # by (status, id), which SQLite's index held already (it ends with the rowid) and
    # PostgreSQL's did not (it sorted the 160,000 loads of a status for each page).
    migrator.migrate(
        migrator.drop_index('load', 'load_company_id_billing_status'),
        migrator.add_index('load', ('company_id', 'billing_status', 'id'), False),
    )


def _indexes_down(migrator):
    migrator.migrate(
        migrator.drop_index('load', 'load_company_id_billing_status_id'),
        migrator.add_index('load', ('company_id', 'billing_status'), False),
    )


def up(migrator, db):
    _indexes_up(migrator)
    if isinstance(db, PostgresqlDatabase):
        _drop_row_triggers(db)
        for statement in tally_trigger_sql() + paid_on_trigger_sql():
            db.execute_sql(statement)
        _recount(db, POSTGRES)
    else:
        # SQLite has no statement-level triggers: 0018's per-row ones, made again with the
        # shares taken away in parentheses.
        _drop_sqlite_triggers(db)
        for statement in _tallies.trigger_sql(_tallies.SQLITE):
            db.execute_sql(statement)
        _recount(db, _tallies.SQLITE)


def down(migrator, db):
    """PostgreSQL: 0018's per-row triggers again (as 0018 makes them now: with the parentheses).
    SQLite keeps the triggers it has, which are 0018's."""
    _indexes_down(migrator)
    if not isinstance(db, PostgresqlDatabase):
        return
    _drop_statement_triggers(db)
    for statement in _tallies.trigger_sql(POSTGRES):
        db.execute_sql(statement)
