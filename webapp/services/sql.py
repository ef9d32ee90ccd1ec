"""SQL the services share: a plain SELECT, ids in chunks, the write transaction, bulk UPDATE and INSERT,
SELECT over an IN list, a row as a JSON array.

One copy of each. The bulk statements are plain SQL because building thousands of
expression nodes in Python costs more than the database's own work.
"""
import functools

from peewee import SQL
from peewee import BooleanField
from peewee import DateField
from peewee import DateTimeField
from peewee import TimeField

from webapp.database import is_postgres
from webapp.models import db

# Rows (or ids) per statement: well under SQLite's bound-parameter limit.
CHUNK = 500


def chunks(items, size=CHUNK):
    """ITEMS in lists of at most SIZE."""
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start:start + size]


def write_transaction():
    """A transaction that takes SQLite's write lock at once, so two writers queue instead of
    deadlocking on the lock upgrade; inside a transaction already, a savepoint."""
    if is_postgres() or db.transaction_depth():
        return db.atomic()
    return db.atomic("IMMEDIATE")


class V:
    """Column N (1-based) of the VALUES list of a bulk UPDATE."""

    def __init__(self, n):
        self.n = n


def bulk_update(model, rows, types, sets, where, key=None):
    """UPDATE MODEL from a VALUES list, chunk by chunk; returns the rows changed.

    Each row of ROWS is (key value, value 2, value 3, ...); TYPES are their SQL types
    (PostgreSQL guesses text for a VALUES column, so every reference is cast there).
    SETS and WHERE are (field, V(n) or a constant) pairs; the row matches on
    KEY (the primary key unless given) = value 1.
    """
    pg = is_postgres()
    mark = db.param
    table = model._meta.table_name
    key = key or model._meta.primary_key

    def ref(n):
        return f"CAST(v.column{n} AS {types[n - 1]})" if pg else f"v.column{n}"

    def part(field, value, params):
        if isinstance(value, V):
            return f'"{field.column_name}" = {ref(value.n)}'
        if value is None:
            return f'"{field.column_name}" = NULL'
        params.append(field.db_value(value))
        return f'"{field.column_name}" = {mark}'

    total = 0
    width = len(types)
    for chunk in chunks(rows):
        set_params, where_params = [], []
        set_sql = ", ".join(part(f, v, set_params) for f, v in sets)
        where_sql = " AND ".join([f'"{table}"."{key.column_name}" = {ref(1)}']
                                 + [f'"{table}".' + part(f, v, where_params) for f, v in where])
        values_sql = ", ".join(["(" + ", ".join([mark] * width) + ")"] * len(chunk))
        params = set_params + [value for row in chunk for value in row] + where_params
        cursor = db.execute_sql(
            f'UPDATE "{table}" SET {set_sql} FROM (VALUES {values_sql}) AS v WHERE {where_sql}', params)
        total += cursor.rowcount
    return total


def stamp(moment):
    """MOMENT (a naive UTC datetime) as the text the database stores for it: a bulk write
    passes it on thousands of rows, and the driver would convert the same datetime on each."""
    return moment.isoformat(" ")


def bulk_insert(model, fields, rows):
    """INSERT ROWS (tuples already as the database takes them) in multi-row statements."""
    mark = db.param
    columns = ", ".join(f'"{f.column_name}"' for f in fields)
    one = "(" + ", ".join([mark] * len(fields)) + ")"
    for chunk in chunks(rows):
        params = [v for row in chunk for v in row]
        db.execute_sql(f'INSERT INTO "{model._meta.table_name}" ({columns}) VALUES {", ".join([one] * len(chunk))}',
                       params)


def _in_chunks(sql, values, params):
    """SQL and its parameters for each chunk of VALUES (see select_in)."""
    mark = db.param
    for chunk in chunks(values):
        yield sql.format(marks=", ".join([mark] * len(chunk)), p=mark), list(params) + list(chunk)


def select(sql, params=()):
    """The rows (tuples, as the driver gives them) of SQL, which holds "{p}" for each of
    PARAMS. Plain SQL for a small query run on every page: building it from expression nodes
    and converting each value back costs several times what the database takes."""
    return db.execute_sql(sql.format(p=db.param), params).fetchall()


_CONVERTED = (DateField, DateTimeField, TimeField, BooleanField)


def plain_rows(query, made=None):
    """The rows of a peewee SELECT as tuples of what the driver gives, but for dates, times and
    booleans, converted as peewee would (SQLite keeps them as text and 0/1). For a page of rows:
    peewee's conversion of every value costs several times the query itself. MADE is QUERY's
    (SQL, params) when the caller has them already."""
    convert = [(i, column.python_value) for i, column in enumerate(query.selected_columns)
               if isinstance(column, _CONVERTED)]
    rows = db.execute_sql(*(made or query.sql())).fetchall()
    if not convert:
        return rows
    out = []
    for row in rows:
        row = list(row)
        for i, python_value in convert:
            row[i] = python_value(row[i])
        out.append(row)
    return out


class Around:
    """A query of fixed shape around a subquery, its SQL made once per kind of database:
    BUILD(node) returns the peewee query with NODE where the subquery goes (it may take no
    parameters of its own). rows(subquery) runs it with SUBQUERY's SQL in place (SUBQUERY: a
    peewee query, or its (SQL, params) already made)."""

    MARK = "__SUBQUERY__"

    def __init__(self, build):
        self.build = build
        self.made = {}

    def rows(self, subquery):
        kind = type(db.obj)
        if kind not in self.made:
            query = self.build(SQL(f"({self.MARK})"))
            text, params = query.sql()
            if params:
                raise ValueError("the query around a subquery may take no parameters of its own")
            self.made[kind] = (query, text)
        query, text = self.made[kind]
        inner, params = subquery if isinstance(subquery, tuple) else subquery.sql()
        return plain_rows(query, (text.replace(self.MARK, inner), params))


def columns(model, alias):
    """The SQL list of every column of MODEL under ALIAS, in the order instance() reads them."""
    return ", ".join(f'"{alias}"."{f.column_name}"' for f in model._meta.sorted_fields)


def instance(model, values):
    """A MODEL instance from VALUES, one per column of columns(MODEL) (None when the row's
    primary key is None: the empty side of an outer join); see instance_reader."""
    return instance_reader(model)(values)


@functools.lru_cache(maxsize=None)
def instance_reader(model):
    """instance() for many rows: a function of one row's values (columns(MODEL) order) to a MODEL
    instance, as peewee makes it from a SELECT (no dirty fields), converting only the dates, times
    and booleans (as plain_rows does: the driver gives the other columns as peewee would). For a
    thousand rows: peewee's conversion of each value cost several times the query."""
    fields = model._meta.sorted_fields
    names = [f.name for f in fields]
    convert = [(f.name, f.python_value) for f in fields if isinstance(f, _CONVERTED)]
    keyed = fields[0].primary_key

    def read(values):
        if keyed and values[0] is None:
            return None
        data = dict(zip(names, values))
        for name, python_value in convert:
            if data[name] is not None:
                data[name] = python_value(data[name])
        obj = model(__no_default__=True)
        obj.__data__ = data
        return obj
    return read


def joined_instances(query, model, other, attr):
    """The rows of QUERY, a select of MODEL's columns then OTHER's (Model.select(MODEL, OTHER)
    with OTHER joined), as MODEL instances holding their OTHER at ATTR, as peewee makes them; read
    as plain rows (instance_reader)."""
    first, second = instance_reader(model), instance_reader(other)
    width = len(model._meta.sorted_fields)
    if len(query.selected_columns) != width + len(other._meta.sorted_fields):
        raise ValueError("joined_instances reads every column of both models, in order")
    out = []
    for row in db.execute_sql(*query.sql()).fetchall():
        obj = first(row[:width])
        setattr(obj, attr, second(row[width:]))
        obj._dirty.clear()
        out.append(obj)
    return out


def select_in(sql, values, params=()):
    """The rows of SQL for VALUES, chunk by chunk: SQL holds "{marks}" where the IN list goes
    and "{p}" for each of PARAMS (given before the list). Plain SQL: an IN list of thousands of
    values costs more to build as expression nodes than the database takes to run it."""
    return [row for text, args in _in_chunks(sql, values, params) for row in db.execute_sql(text, args).fetchall()]


def execute_in(sql, values, params=()):
    """Run SQL (an INSERT ... SELECT, an UPDATE) for VALUES as select_in does; returns the rows changed."""
    return sum(db.execute_sql(text, args).rowcount for text, args in _in_chunks(sql, values, params))


def json_array(fields, table=None):
    """SQL of one row's FIELDS as a JSON array (text), built by the database: dates as ISO
    text, booleans true/false (SQLite keeps them as 0/1). TABLE qualifies the columns."""
    prefix = f'"{table}".' if table else ""
    if is_postgres():
        return "json_build_array(" + ", ".join(f'{prefix}"{f.column_name}"' for f in fields) + ")::text"

    def one(field):
        column = f'{prefix}"{field.column_name}"'
        if field.field_type == "BOOL":
            return f"json(CASE WHEN {column} THEN 'true' ELSE 'false' END)"
        return column
    return "json_array(" + ", ".join(one(f) for f in fields) + ")"
