"""The benchmark's dataset: what grows with the scale, and a small one that keeps every ledger
invariant, built through the store on the database the tests run on (SQLite, or PostgreSQL with
TEST_DATABASE_URL: there through a cached database and a file copy of it, as `make bench` does)."""
import os

import pytest

from bench import dataset
from bench import store
from tests import backing_services
from webapp.models import db

SMALL = dataset.Spec(loads=3_000, tenants=(("Small Trucking", 3, 0.8), ("Small Haulers", 2, 0.2)),
                     customers_per_tenant=30, eligible=300, big_batch=40, past_batches=40, batch_size=(5, 20))


def test_two_million_keeps_the_open_pipeline_and_adds_history_and_tenants():
    base = dataset.plan_tenants(dataset.Spec.at(200_000))
    big = dataset.plan_tenants(dataset.Spec.at(2_000_000))
    assert (len(base), len(big)) == (2, 11)   # the benchmark company and ten others
    assert dataset.Spec.at(2_000_000).total_loads() == 2_000_000
    assert dataset.Spec.at(200_000).total_loads() == 200_000
    # The benchmark company: the same open batches, ten times the Completed ones.
    assert (big[0].open, big[0].financed) == (base[0].open, base[0].financed)
    assert big[0].completed == 10 * base[0].completed
    assert big[0].loads == 10 * base[0].loads
    # Every other tenant is the size of the base's second one.
    assert {(t.loads, t.completed, t.open) for t in big[1:]} == {(base[1].loads, base[1].completed, base[1].open)}
    assert len({t.name for t in big}) == 11


def test_a_scale_below_the_base_is_refused():
    with pytest.raises(ValueError):
        dataset.Spec.at(100_000)


@pytest.fixture
def built(tmp_path):
    """The SMALL dataset built by the store of the tests' database; yields (store, facts, run copy URL)."""
    if db.obj is not None and not db.is_closed():
        db.close()
    pg_url = os.environ.get("TEST_DATABASE_URL", "")
    if pg_url.startswith("postgres"):
        backing_services.ensure_postgres(pg_url)
        place = store.PostgresStore(pg_url, 3_000, prefix=f"fd_test_bench_{os.getpid()}", spec=SMALL)
    else:
        place = store.SqliteStore(3_000, folder=str(tmp_path), spec=SMALL)
    facts = place.dataset_facts(log=lambda _message: None)
    url = place.fresh_run_copy()
    yield place, facts, url
    if not db.is_closed():
        db.close()
    place.drop_run_copy()
    if isinstance(place, store.PostgresStore):
        place._run(f'DROP DATABASE IF EXISTS "{place.name}" WITH (FORCE)')


def test_every_ledger_invariant_holds_on_the_dataset(built):
    from bench.app import make_app
    from webapp.database import connection
    from webapp.models import CHARGED_BACK
    from webapp.models import Chargeback
    from webapp.models import LedgerEntry
    from webapp.models import Load
    from webapp.models import Payment
    from webapp.services.ledger import invariants

    _place, facts, url = built
    make_app(url)
    with connection():
        assert invariants.problems() == []
        kinds = {k for (k,) in LedgerEntry.select(LedgerEntry.kind).distinct().tuples()}
        assert {"purchased", "advance", "fee", "reserve_held", "collected", "reserve_released", "short_pay",
                "overpay", "chargeback"} <= kinds
        assert Chargeback.select().count() == Load.select().where(Load.billing_status == CHARGED_BACK).count() > 0
        assert Payment.select().where(Payment.final == False).count() > 0  # noqa: E712 - partly paid invoices
    assert facts["counts"]["ledger_entries"] > 0 and facts["counts"]["loads"] == SMALL.total_loads()


def test_the_cached_dataset_is_reused_and_each_run_gets_its_own_copy(built):
    place, facts, url = built
    assert facts["reused"] is False
    again = place.dataset_facts(log=lambda _message: None)
    assert again["reused"] is True and again["stamp"] == facts["stamp"]
    cached = place.name if isinstance(place, store.PostgresStore) else place.path
    assert str(os.getpid()) in url and cached not in url
