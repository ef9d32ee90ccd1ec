"""A Payment Report row of Kind chargeback (issue 10, item 5): the factor charged the invoice
back. The load leaves the factor in the same transaction as the rest of the file, and the
report's undo puts it back."""
import pytest

from tests.helpers import csv_bytes
from tests.helpers import payment_rows
from tests.helpers import reload
from tests.helpers import snapshot
from webapp.models import CHARGED_BACK
from webapp.models import COMPLETED
from webapp.models import DIRECT
from webapp.models import FINANCED
from webapp.models import AuditLog
from webapp.models import Chargeback
from webapp.models import ReportUpload
from webapp.services import reports
from webapp.services.ledger import invariants
from webapp.services.reports.parsing import PAYMENT_COLUMNS


def _file(loads, kinds, amounts=None):
    rows = payment_rows(loads, amounts=amounts)
    for row, kind in zip(rows, kinds):
        row += [""] * (len(PAYMENT_COLUMNS) - len(row))
        row[PAYMENT_COLUMNS.index("Kind")] = kind
        if kind:
            row[PAYMENT_COLUMNS.index("Notes")] = "Debtor insolvent"
    return csv_bytes(PAYMENT_COLUMNS, rows)


@pytest.fixture
def financed(make_batch, world, dbconn):
    made = make_batch("financed", count=3)
    return made.batch, made.loads, world.billing


def test_a_chargeback_row_charges_the_load_back_beside_the_payments(financed):
    batch, loads, user = financed
    result = reports.preview(batch, "payment", _file(loads, ["", "chargeback", ""],
                                                     amounts=[loads[0].total_cents, 50_000, loads[2].total_cents]),
                             user, "remit.csv")
    assert result.ok, [str(e) for e in result.errors]
    assert result.counts["chargeback"] == 1 and result.totals["chargeback"] == 50_000
    reports.apply(result.upload, user)
    fresh = reload(loads)
    assert [x.billing_status for x in fresh] == [COMPLETED, CHARGED_BACK, COMPLETED]
    assert fresh[1].invoicing_method == DIRECT and fresh[1].paid_cents == 0
    charge = Chargeback.get(Chargeback.load == loads[1].id)
    assert (charge.amount_cents, charge.upload_id, charge.reason) == (50_000, result.upload.id, "Debtor insolvent")
    assert AuditLog.get((AuditLog.action == "load.chargeback") & (AuditLog.object_id == loads[1].id)).upload_id \
        == result.upload.id
    assert invariants.problems(batch.company_id) == []

    reports.reverse(ReportUpload.get_by_id(result.upload.id), user, "wrong remittance")
    fresh = reload(loads)
    assert [x.billing_status for x in fresh] == [FINANCED] * 3
    assert fresh[1].invoicing_method == loads[1].invoicing_method
    assert Chargeback.get_by_id(charge.id).undone_at is not None
    assert invariants.problems(batch.company_id) == []


@pytest.mark.parametrize("kinds, message", [
    (["chargeback", "", ""], None),
    (["refund", "", ""], "'refund' is not a kind of row"),
])
def test_a_kind_that_is_not_one_is_named(financed, kinds, message):
    batch, loads, user = financed
    result = reports.preview(batch, "payment", _file(loads, kinds), user, "remit.csv")
    if message is None:
        assert result.ok
    else:
        assert not result.ok and message in str(result.errors[0])


def test_a_chargeback_of_a_completed_load_or_a_payment_after_it_is_refused(make_batch, world, dbconn):
    batch, loads = make_batch("completed", count=2)
    user = world.billing
    before = snapshot(previews=False)
    result = reports.preview(batch, "payment", _file(loads[:1], ["chargeback"], amounts=[100]), user, "cb.csv")
    assert not result.ok
    assert "is Completed: only a Financed invoice can be charged back" in str(result.errors[0])
    assert snapshot(previews=False) == before  # a preview changes no load

    other, more = make_batch("financed", count=1)
    rows = _file(more + more, ["chargeback", ""], amounts=[100, 200])
    result = reports.preview(other, "payment", rows, user, "cb2.csv")
    assert not result.ok
    assert "is charged back on row 2 of this file; a payment cannot follow it" in str(result.errors[0])
