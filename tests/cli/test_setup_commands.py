"""The command line on an empty database: init-db, seed-demo, create-user.

On PostgreSQL (TEST_DATABASE_URL) the empty database is a fresh PostgreSQL one, so the
migrations are proven on both databases.
"""
import os

import pytest
from werkzeug.security import check_password_hash

from tests import backing_services
from tests.helpers import in_db
from webapp import create_app
from webapp.models import ALL_MODELS
from webapp.models import User
from webapp.models import db


@pytest.fixture
def empty_app(tmp_path):
    """An app on an empty database: nothing created, nothing migrated."""
    pg_url = os.environ.get("TEST_DATABASE_URL")
    if pg_url:
        url = backing_services.recreate_pg_database(pg_url, backing_services.pg_name("fd_test_cli"))
    else:
        url = "sqlite:///" + str(tmp_path / "empty.db")
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "QUEUE_URL": "immediate", "DATABASE_URL": url})
    yield app
    if not db.is_closed():
        db.close()


def _invoke(app, *args, **kwargs):
    return app.test_cli_runner().invoke(args=list(args), **kwargs)


def _counts(app):
    with in_db(app):
        return {model.__name__: model.select().count() for model in ALL_MODELS}


def test_init_db_creates_the_schema_then_has_nothing_to_do(empty_app):
    first = _invoke(empty_app, "init-db")
    assert first.exit_code == 0, first.output
    assert "Applied" in first.output and "0001_initial" in first.output
    with in_db(empty_app):
        assert all(model.table_exists() for model in ALL_MODELS)

    second = _invoke(empty_app, "init-db")
    assert second.exit_code == 0, second.output
    assert second.output.strip() == "Database is up to date."


def test_seed_demo_twice_duplicates_nothing(empty_app):
    first = _invoke(empty_app, "seed-demo")
    assert first.exit_code == 0, first.output
    assert "admin@demo.test" in first.output
    counts = _counts(empty_app)
    assert counts["Company"] == 2 and counts["User"] == 6 and counts["Load"] >= 60

    second = _invoke(empty_app, "seed-demo")
    assert second.exit_code == 0, second.output
    assert _counts(empty_app) == counts


def test_seed_demo_sends_past_batches_through_the_real_services(empty_app):
    from webapp.models import COMPLETED
    from webapp.models import FACTORING
    from webapp.models import FINANCED
    from webapp.models import INVOICED
    from webapp.models import QUEUED
    from webapp.models import BatchLoad
    from webapp.models import Load
    from webapp.models import Payment

    result = _invoke(empty_app, "seed-demo")
    assert result.exit_code == 0, result.output
    with in_db(empty_app):
        factoring = Load.select().where(Load.invoicing_method == FACTORING)
        statuses = {s for (s,) in factoring.select(Load.billing_status).distinct().tuples()}
        assert statuses == {QUEUED, INVOICED, FINANCED, COMPLETED}
        # Every factoring load past Queued sits in the live batch that its status came from.
        for load in factoring.where(Load.billing_status != QUEUED):
            live = BatchLoad.get_or_none((BatchLoad.load == load) & BatchLoad.live)
            assert live is not None and live.batch_id == load.batch_id, load.load_number
        completed = factoring.where(Load.billing_status == COMPLETED)
        assert all(Payment.select().where(Payment.load == load).count() == 1 for load in completed)
        # One short pay of the Capital Depot batch, one of the recourse factor's (ops/demo.py).
        assert sum(load.short_pay_cents for load in completed) == 50_00 + 75_00
        # The recourse history: a chargeback, and the ledger agreeing with every load.
        from webapp.models import CHARGED_BACK
        from webapp.services.ledger import invariants
        assert Load.select().where(Load.billing_status == CHARGED_BACK).count() == 1
        assert invariants.problems() == []


def test_the_demo_batch_sold_to_the_recourse_factor_is_that_factors_file(empty_app):
    """Its invoices name Lone Star Funding, as they did when they went out, not the subsidiary's
    factor of today; the subsidiary's notice is Capital Depot's again afterwards."""
    import io
    import zipfile

    from pypdf import PdfReader

    from webapp.models import INFO_NOA
    from webapp.models import Batch
    from webapp.models import Factor
    from webapp.models import ImportantInfo
    from webapp.ops import demo
    from webapp.services import batches

    assert _invoke(empty_app, "seed-demo").exit_code == 0
    with in_db(empty_app):
        batch = Batch.get(Batch.factor == Factor.get(Factor.name == "Lone Star Funding"))
        name, data, _ = batches.batch_file_bytes(batch)
        assert name.startswith("lone-star-funding_")
        archive = zipfile.ZipFile(io.BytesIO(data))
        invoices = [n for n in archive.namelist() if n.startswith("invoice_")]
        assert len(invoices) == 5
        for entry in invoices:
            text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(archive.read(entry))).pages)
            assert "Lone Star Funding" in text and "Capital Depot" not in text, entry
        notice = ImportantInfo.get((ImportantInfo.subsidiary == batch.subsidiary_id) & (ImportantInfo.kind == INFO_NOA))
        assert notice.text == demo.CAPITAL_DEPOT_NOA


def test_create_user_asks_for_the_password_twice(empty_app):
    assert _invoke(empty_app, "seed-demo").exit_code == 0
    result = _invoke(empty_app, "create-user", "New.Clerk@Demo.test", "--company", "Demo Trucking",
                     "--billing", "--name", "New Clerk", input="clerk-password-1\nclerk-password-1\n")
    assert result.exit_code == 0, result.output
    assert "Password" in result.output  # it prompted
    assert "clerk-password-1" not in result.output  # and did not echo
    assert "Created new.clerk@demo.test (User, Billing)" in result.output
    with in_db(empty_app):
        user = User.get(User.email == "new.clerk@demo.test")
        assert (user.role, user.billing, user.company.name) == ("user", True, "Demo Trucking")
        assert check_password_hash(user.password_hash, "clerk-password-1")


def test_create_user_refuses_a_mismatched_confirmation(empty_app):
    assert _invoke(empty_app, "seed-demo").exit_code == 0
    result = _invoke(empty_app, "create-user", "typo@demo.test", "--company", "Demo Trucking",
                     input="first-password\nsecond-password\n")
    assert result.exit_code != 0
    assert "do not match" in result.output
    with in_db(empty_app):
        assert not User.select().where(User.email == "typo@demo.test").exists()


@pytest.mark.parametrize("email, args, message", [
    ("new@demo.test", ["--company", "No Such Co"], "no company named 'No Such Co'"),
    ("new@demo.test", ["--role", "partner_admin"], "A Partner Admin needs a partner."),
    ("new@demo.test", ["--company", "Demo Trucking", "--password", "short"], "at least 12 characters"),
    ("new@demo.test", ["--company", "Demo Trucking", "--password", "password2024!"], "most common"),
    ("admin@demo.test", ["--company", "Demo Trucking"], "already exists"),
    ("not-an-email", ["--company", "Demo Trucking"], "valid email"),
])
def test_create_user_explains_what_is_wrong(empty_app, email, args, message):
    assert _invoke(empty_app, "seed-demo").exit_code == 0
    if "--password" not in args:
        args = args + ["--password", "long-enough-1"]
    result = _invoke(empty_app, "create-user", email, *args)
    assert result.exit_code != 0
    assert message in result.output
