"""Two report confirmations at the same moment (services/reports/uploads.py): one wins, none doubles."""

import pytest

from tests.helpers import at_once
from tests.helpers import csv_bytes
from tests.helpers import payment_rows
from tests.helpers import purchase_csv
from tests.helpers import reload
from webapp.database import connection
from webapp.models import FINANCED
from webapp.models import UPLOAD_APPLIED
from webapp.models import AuditLog
from webapp.models import Load
from webapp.models import Payment
from webapp.models import ReportUpload
from webapp.models import db
from webapp.services import reports as report_apply
from webapp.services.reports.parsing import PAYMENT_COLUMNS


def race(*jobs):
    """Run JOBS at once, each in its own thread with its own connection; return their outcomes."""
    def outcome(result):
        if isinstance(result, report_apply.ReportRefused):
            return result.message
        if isinstance(result, BaseException):  # a crash is a failure of the test, shown as such
            return f"crash: {result!r}"
        return "applied"
    return [outcome(result) for result in at_once(jobs, each=connection)]


@pytest.fixture
def ready(make_batch, world, dbconn):
    """A submitted batch of five loads, and the billing user."""
    batch, loads = make_batch(count=5)
    return batch, loads, world.billing


def test_same_upload_confirmed_twice_at_once_applies_once(ready):
    batch, loads, user = ready
    upload = report_apply.preview(batch, "purchase", purchase_csv(loads), user, "p.csv").upload
    db.close()
    outcomes = race(lambda: report_apply.apply(upload, user), lambda: report_apply.apply(upload, user))
    db.connect(reuse_if_open=True)
    assert sorted(o == "applied" for o in outcomes) == [False, True], outcomes
    loser = next(o for o in outcomes if o != "applied")
    assert "already applied on" in loser and "Blair Billing" in loser
    assert {x.billing_status for x in reload(loads)} == {FINANCED}
    assert AuditLog.select().where(AuditLog.upload == upload.id).count() == len(loads)


def test_same_bytes_uploaded_twice_and_confirmed_at_once_applies_once(ready):
    batch, loads, user = ready
    data = purchase_csv(loads)
    first = report_apply.preview(batch, "purchase", data, user, "a.csv").upload
    second = report_apply.preview(batch, "purchase", data, user, "b.csv").upload
    load_audits = AuditLog.select().where(AuditLog.object_type == "load").count()  # the submission's
    db.close()
    outcomes = race(lambda: report_apply.apply(first, user), lambda: report_apply.apply(second, user))
    db.connect(reuse_if_open=True)
    assert sorted(o == "applied" for o in outcomes) == [False, True], outcomes
    assert ReportUpload.select().where(ReportUpload.status == UPLOAD_APPLIED).count() == 1
    assert AuditLog.select().where(AuditLog.object_type == "load").count() == load_audits + len(loads)


def test_two_payment_files_sharing_a_payment_never_record_it_twice(ready):
    batch, loads, user = ready
    report_apply.apply(report_apply.preview(batch, "purchase", purchase_csv(loads), user).upload, user)
    shared = payment_rows(loads[:1], amounts=[1000], final="no")
    one = csv_bytes(PAYMENT_COLUMNS, shared + payment_rows(loads[1:2], final="no", amounts=[2000]))
    two = csv_bytes(PAYMENT_COLUMNS, shared + payment_rows(loads[2:3], final="no", amounts=[3000]))
    first = report_apply.preview(batch, "payment", one, user, "one.csv").upload
    second = report_apply.preview(batch, "payment", two, user, "two.csv").upload
    db.close()
    outcomes = race(lambda: report_apply.apply(first, user), lambda: report_apply.apply(second, user))
    db.connect(reuse_if_open=True)
    assert not any(o and o.startswith("crash") for o in outcomes), outcomes
    # The later one either skipped the shared payment as already recorded, or was refused whole.
    assert Payment.select().where(Payment.load == loads[0].id).count() == 1
    assert Load.get_by_id(loads[0].id).paid_cents == 1000
    for upload, load, amount in ((first, loads[1], 2000), (second, loads[2], 3000)):
        applied = ReportUpload.get_by_id(upload.id).status == UPLOAD_APPLIED
        assert Load.get_by_id(load.id).paid_cents == (amount if applied else 0)
