"""The database the migrations build is the database the models declare.

One database is built by running webapp/migrations (database.migrate(), as
`flask init-db` does), another by db.create_tables(ALL_MODELS) with the partial
indexes added at the bottom of webapp/models.py. Their tables, columns, indexes
and foreign keys, as the database itself reports them, must be the same.
SQLite always; PostgreSQL too when TEST_DATABASE_URL is set.

Index names are not compared: 0001's frozen models name theirs after the legacy
table names (loadline_load_id), the models after the real ones (load_line_load_id).
"""
import os
import re
from collections import Counter
from collections import namedtuple

import pytest

from tests import backing_services
from webapp import database
from webapp.models import ALL_MODELS
from webapp.models import db

# The Runner's record of applied migrations: not part of the app's schema.
HISTORY_TABLE = "schema_migration"

Column = namedtuple("Column", "type null primary_key default")
Index = namedtuple("Index", "columns unique where")
ForeignKey = namedtuple("ForeignKey", "column target_table target_column on_delete on_update")


def _describe(item):
    """One schema item (Column, Index, ForeignKey) as a line of SQL-ish text."""
    if item is None:
        return "(absent)"
    if isinstance(item, Column):
        return " ".join(filter(None, (
            item.type, "NULL" if item.null else "NOT NULL", "PRIMARY KEY" if item.primary_key else "",
            f"DEFAULT {item.default}" if item.default is not None else "")))
    if isinstance(item, Index):
        columns = ", ".join(str(column) for column in item.columns)
        where = f" WHERE {item.where}" if item.where else ""
        return f"{'UNIQUE ' if item.unique else ''}({columns}){where}"
    return (f"{item.column} -> {item.target_table}.{item.target_column} "
            f"ON DELETE {item.on_delete} ON UPDATE {item.on_update}")


def _wrapped(text):
    """True when the whole of TEXT sits inside one pair of parentheses."""
    if not (text.startswith("(") and text.endswith(")")):
        return False
    depth = 0
    for position, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0:
            return position == len(text) - 1
    return False


def normalise_where(sql, table):
    """The WHERE clause of a CREATE INDEX statement, in one spelling; None when it has none.

    Quoting, the table qualifier, spacing and enclosing parentheses are how peewee
    and hand-written SQL differ; what the condition says is left alone, so that
    `live` and `live = 1` stay different.
    """
    match = re.search(r"\sWHERE\s(.*)$", sql or "", re.IGNORECASE | re.DOTALL)
    if match is None:
        return None
    text = match.group(1).replace('"', "")
    text = re.sub(rf"\b{re.escape(table)}\.", "", text)
    text = re.sub(r"\s*(<>|!=|<=|>=|=|<|>)\s*", r" \1 ", text)
    text = " ".join(text.split())
    while _wrapped(text):
        text = text[1:-1].strip()
    return text


def introspect(built):
    """The app's tables in the database BUILT: {table: {"columns", "indexes", "foreign keys"}}."""
    schema = {}
    with built.connection_context():
        for table in built.get_tables():
            if table == HISTORY_TABLE:
                continue
            schema[table] = {
                "columns": {column.name: Column(column.full_type or column.data_type, column.null,
                                                column.primary_key, column.default)
                            for column in built.get_columns(table)},
                "indexes": Counter(Index(tuple(index.columns), index.unique,
                                         normalise_where(index.sql, table))
                                   for index in built.get_indexes(table)),
                "foreign keys": Counter(ForeignKey(key.column, key.dest_table, key.dest_column,
                                                   key.on_delete, key.on_update)
                                        for key in built.get_foreign_keys(table)),
            }
    return schema


def schema_differences(migrated, modelled):
    """How two introspected schemas differ, one readable line per difference (empty: the same)."""
    lines = []
    for table in sorted(migrated.keys() - modelled.keys()):
        lines.append(f"table {table}: only in the migrations")
    for table in sorted(modelled.keys() - migrated.keys()):
        lines.append(f"table {table}: only in the models")
    for table in sorted(migrated.keys() & modelled.keys()):
        ours, theirs = migrated[table], modelled[table]
        for name in sorted(ours["columns"].keys() | theirs["columns"].keys()):
            column, declared = ours["columns"].get(name), theirs["columns"].get(name)
            if column != declared:
                lines.append(f"column {table}.{name}: migrations {_describe(column)}; "
                             f"models {_describe(declared)}")
        for kind, label in (("indexes", "index"), ("foreign keys", "foreign key")):
            for item in sorted(ours[kind] - theirs[kind], key=str):
                lines.append(f"{label} on {table} {_describe(item)}: only in the migrations")
            for item in sorted(theirs[kind] - ours[kind], key=str):
                lines.append(f"{label} on {table} {_describe(item)}: only in the models")
    return lines


def assert_same_schema(migrated, modelled):
    """Fail with every difference listed when the two schemas are not the same."""
    differences = schema_differences(migrated, modelled)
    assert not differences, ("the migrations and the models build different databases:\n  "
                             + "\n  ".join(differences))


class EmptyDatabases:
    """Fresh empty databases on one backend, made on demand and removed at the end."""

    def __init__(self, directory, pg_url=None):
        """Make them as files in DIRECTORY, or on PG_URL's server when it is given."""
        self.directory, self.pg_url = directory, pg_url
        self.opened, self.pg_names = [], []

    def url(self, label):
        """The URL of a new empty database called after LABEL."""
        if self.pg_url is None:
            return "sqlite:///" + str(self.directory / f"{label}.db")
        name = backing_services.pg_name(f"fd_test_schema_{label}")
        self.pg_names.append(name)
        return backing_services.recreate_pg_database(self.pg_url, name)

    def _open(self, label):
        """Open a new empty database the way the app does (same pragmas), bound to the models' proxy."""
        opened = database.open_database(self.url(label))
        self.opened.append(opened)
        return opened

    def migrated(self, label="migrated"):
        """A new database built by running every migration."""
        opened = self._open(label)
        database.migrate()
        return opened

    def from_models(self, label="models"):
        """A new database built from the model declarations."""
        opened = self._open(label)
        with opened.connection_context():
            opened.create_tables(ALL_MODELS)
        return opened

    def remove(self):
        """Close every database opened here; drop the PostgreSQL ones."""
        for opened in self.opened:
            database.release(opened)
        if self.pg_names:
            backing_services.drop_pg_databases(self.pg_url, self.pg_names)


@pytest.fixture
def _restore_proxy():
    """Put the models' database proxy back as it was: open_database() rebinds it."""
    previous = db.obj
    yield
    db.initialize(previous)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_databases(request, tmp_path, _restore_proxy):
    """Empty databases on SQLite, then on PostgreSQL when TEST_DATABASE_URL is set."""
    pg_url = None
    if request.param == "postgresql":
        pg_url = os.environ.get("TEST_DATABASE_URL")
        if not pg_url:
            pytest.skip("PostgreSQL runs when TEST_DATABASE_URL is set")
        backing_services.need("PostgreSQL", lambda: backing_services.pg_server_available(pg_url))
    databases = EmptyDatabases(tmp_path, pg_url)
    yield databases
    databases.remove()


@pytest.fixture
def sqlite_databases(tmp_path, _restore_proxy):
    """Empty SQLite databases, for the tests of the comparison itself."""
    databases = EmptyDatabases(tmp_path)
    yield databases
    databases.remove()


def test_migrations_build_the_database_the_models_declare(empty_databases):
    """Tables, columns, indexes and foreign keys are the same whichever way the schema is built."""
    migrated = introspect(empty_databases.migrated())
    modelled = introspect(empty_databases.from_models())
    assert set(modelled) == {model._meta.table_name for model in ALL_MODELS}
    assert_same_schema(migrated, modelled)


def test_comparison_reports_a_dropped_partial_index(sqlite_databases):
    """A database that lacks batch_load_one_live is reported, index columns and WHERE clause named."""
    complete = sqlite_databases.from_models("complete")
    damaged = sqlite_databases.from_models("damaged")
    with damaged.connection_context():
        damaged.execute_sql("DROP INDEX batch_load_one_live")

    differences = schema_differences(introspect(damaged), introspect(complete))
    assert differences == ["index on batch_load UNIQUE (load_id) WHERE live: only in the models"]
    with pytest.raises(AssertionError, match="batch_load UNIQUE \\(load_id\\) WHERE live"):
        assert_same_schema(introspect(damaged), introspect(complete))


def test_comparison_reports_a_column_and_a_where_clause_that_differ(sqlite_databases):
    """An extra column and a partial index whose condition says something else are both reported."""
    complete = sqlite_databases.from_models("complete")
    changed = sqlite_databases.from_models("changed")
    with changed.connection_context():
        changed.execute_sql("ALTER TABLE load ADD COLUMN note TEXT")
        changed.execute_sql("DROP INDEX report_upload_applied_once")
        changed.execute_sql("CREATE UNIQUE INDEX report_upload_applied_once ON report_upload "
                            "(batch_id, kind, sha256) WHERE status = 'preview'")

    assert schema_differences(introspect(changed), introspect(complete)) == [
        "column load.note: migrations TEXT NULL; models (absent)",
        "index on report_upload UNIQUE (batch_id, kind, sha256) WHERE status = 'preview': "
        "only in the migrations",
        "index on report_upload UNIQUE (batch_id, kind, sha256) WHERE status = 'applied': "
        "only in the models",
    ]


def test_where_clauses_are_compared_without_quoting_or_parentheses():
    """peewee's `WHERE ("status" = 'applied')` is the hand-written `WHERE status = 'applied'`."""
    peewee = ('CREATE UNIQUE INDEX "x" ON "report_upload" ("batch_id") '
              'WHERE ("report_upload"."status" = \'applied\')')
    by_hand = "CREATE UNIQUE INDEX x ON report_upload (batch_id) WHERE status='applied'"
    assert normalise_where(peewee, "report_upload") == normalise_where(by_hand, "report_upload") \
        == "status = 'applied'"
    assert normalise_where("CREATE INDEX x ON t (a)", "t") is None
    assert normalise_where('CREATE INDEX x ON t (a) WHERE ("live" = 1)', "t") != \
        normalise_where("CREATE INDEX x ON t (a) WHERE live", "t")
