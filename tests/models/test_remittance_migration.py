"""Migration 0016 (uploads with no batch: remittances) keeps every row that points to an upload
while SQLite rebuilds report_upload, and goes down and up again."""
import datetime

from playhouse.migrations import Runner

from tests.models.test_migrations_match_models import _restore_proxy  # noqa: F401 (fixture)
from tests.models.test_migrations_match_models import empty_databases  # noqa: F401 (fixture)
from webapp import database
from webapp.models import AuditLog
from webapp.models import Batch
from webapp.models import Company
from webapp.models import Customer
from webapp.models import Load
from webapp.models import Payment
from webapp.models import ReportUpload
from webapp.models import StoredFile
from webapp.models import Subsidiary


def _pointers(db):
    """(payment.upload_id, audit_log.upload_id) as the database holds them."""
    return (db.execute_sql("SELECT upload_id FROM payment").fetchall(),
            db.execute_sql("SELECT upload_id FROM audit_log").fetchall())


def test_rows_pointing_to_an_upload_survive_the_migration_down_and_up(empty_databases):  # noqa: F811
    db = empty_databases._open("round_trip_0016")
    with db.connection_context():
        runner = Runner(db, directory=database.MIGRATIONS_DIR)
        runner.up()
        company = Company.create(name="C")
        sub = Subsidiary.create(company=company, name="S")
        load = Load.create(company=company, subsidiary=sub, customer=Customer.create(company=company, name="D"),
                           load_number="L-1")
        batch = Batch.create(company=company, subsidiary=sub, number=1)
        stored = StoredFile.create(company=company, filename="r.csv", sha256="x", data=b"x")
        upload = ReportUpload.create(company=company, batch=batch, kind="payment", file=stored, sha256="x")
        ReportUpload.create(company=company, batch=None, subsidiary=sub, kind="payment", file=stored, sha256="y")
        Payment.create(company=company, load=load, upload=upload, payment_date=datetime.date(2026, 11, 30),
                       amount_cents=100)
        AuditLog.create(action="load.status", object_type="load", object_id=load.id, upload=upload)
        expected = ([(upload.id,)], [(upload.id,)])
        assert _pointers(db) == expected

        runner.down(target="0016_remittance_uploads")
        assert _pointers(db) == expected
        assert {"subsidiary_id", "factor_id"}.isdisjoint(c.name for c in db.get_columns("report_upload"))
        assert db.execute_sql("SELECT COUNT(*) FROM report_upload").fetchone()[0] == 1  # the remittance left

        runner.up()
        assert _pointers(db) == expected
        columns = {c.name: c for c in db.get_columns("report_upload")}
        assert columns["batch_id"].null and {"subsidiary_id", "factor_id"} <= set(columns)
