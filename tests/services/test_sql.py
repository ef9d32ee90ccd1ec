"""services/sql's plain reads: select, plain_rows (values converted as peewee would) and
instance (a model built from a row), checked against what peewee's own path gives."""
import datetime

import pytest

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


def test_around_runs_its_query_made_once_with_each_subquery_in_place(dbconn):
    around = sql.Around(lambda ids: Load.select(Load.id, Load.delivery_date).where(Load.id.in_(ids))
                        .order_by(Load.id.desc()))
    for company in (1, 2):
        ids = Load.select(Load.id).where(Load.company == company).order_by(Load.id).limit(5)
        expected = list(Load.select(Load.id, Load.delivery_date).where(Load.id.in_(ids))
                        .order_by(Load.id.desc()).tuples())
        assert [tuple(row) for row in around.rows(ids)] == expected and expected
    assert len(around.made) == 1


def test_around_refuses_a_query_with_parameters_of_its_own(dbconn):
    around = sql.Around(lambda ids: Load.select(Load.id).where(Load.id.in_(ids) & (Load.company == 1)))
    with pytest.raises(ValueError):
        around.rows(Load.select(Load.id))
