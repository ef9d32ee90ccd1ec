"""services/sql's plain reads: select, plain_rows (values converted as peewee would) and
instance (a model built from a row), checked against what peewee's own path gives."""
import datetime

from webapp.models import Company
from webapp.models import Load
from webapp.models import User
from webapp.services import sql


def test_select_fills_the_marks_and_returns_tuples(dbconn):
    names = sql.select('SELECT name FROM company WHERE id IN ({p}, {p}) ORDER BY id', (1, 2))
    assert names == [tuple(row) for row in Company.select(Company.name).where(Company.id.in_([1, 2]))
                     .order_by(Company.id).tuples()]


def test_plain_rows_convert_dates_and_booleans_as_peewee_does(dbconn):
    query = (Load.select(Load.id, Load.load_number, Load.delivery_date, Load.factor_hold, Load.total_cents,
                         Load.created_at)
             .order_by(Load.id).limit(20))
    plain = [tuple(row) for row in sql.plain_rows(query)]
    assert plain == list(query.tuples())
    assert plain and all(isinstance(row[2], (datetime.date, type(None))) for row in plain)
    assert all(isinstance(row[3], bool) for row in plain)
    assert all(isinstance(row[5], datetime.datetime) for row in plain)


def test_instance_builds_the_model_of_a_row_and_none_for_an_empty_outer_join(dbconn):
    user = User.select().order_by(User.id).first()
    row = sql.select(f'SELECT {sql.columns(User, "u")} FROM "user" AS "u" WHERE "u"."id" = {{p}}', (user.id,))[0]
    built = sql.instance(User, row)
    assert built.__data__ == user.__data__
    assert built.company_id == user.company_id and not built._dirty
    assert sql.instance(Company, [None] * len(Company._meta.sorted_fields)) is None
