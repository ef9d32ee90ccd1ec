"""Two confirmations at the same moment: one wins, the other is refused, nothing is doubled."""
import threading

import pytest

from tests.report_helpers import billing_user
from tests.report_helpers import csv_bytes
from tests.report_helpers import make_batch
from tests.report_helpers import payment_rows
from tests.report_helpers import purchase_csv
from tests.report_helpers import reload
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
    barrier = threading.Barrier(len(jobs))
    outcomes = [None] * len(jobs)

    def run(index, job):
        db.connect(reuse_if_open=True)
        try:
            barrier.wait(timeout=10)
            job()
            outcomes[index] = "applied"
        except report_apply.ReportRefused as exc:
            outcomes[index] = exc.message
        except Exception as exc:  # a crash is a failure of the test, shown as such
            outcomes[index] = f"crash: {exc!r}"
        finally:
            db.close()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    return outcomes


@pytest.fixture
def ready(dbconn):
    batch, loads = make_batch(5)
    user = billing_user()
    return batch, loads, user


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
    db.close()
    outcomes = race(lambda: report_apply.apply(first, user), lambda: report_apply.apply(second, user))
    db.connect(reuse_if_open=True)
    assert sorted(o == "applied" for o in outcomes) == [False, True], outcomes
    assert ReportUpload.select().where(ReportUpload.status == UPLOAD_APPLIED).count() == 1
    assert AuditLog.select().where(AuditLog.object_type == "load").count() == len(loads)


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
