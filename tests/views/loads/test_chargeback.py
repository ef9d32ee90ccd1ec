"""Chargebacks on the load page (webapp/loads): a Billing user records one on a Financed load and
undoes it; without Billing the form is not shown and the endpoints refuse; bad input is named
and changes nothing."""
from tests.helpers import snapshot
from webapp.models import CHARGED_BACK
from webapp.models import DIRECT
from webapp.models import FINANCED
from webapp.models import Load


def _form(**overrides):
    form = {"amount": "100.00", "chargeback_date": "2026-11-30", "reason": "Debtor did not pay in 90 days"}
    form.update(overrides)
    return form


def test_a_billing_user_records_a_chargeback_and_undoes_it(client, auth, financed_batch, dbconn):
    batch, loads = financed_batch
    load = loads[0]
    auth.login("billing")
    page = client.get(f"/loads/{load.id}").get_data(as_text=True)
    assert "Record chargeback" in page and "as the ledger holds it" in page
    response = client.post(f"/loads/{load.id}/chargeback", data=_form())
    assert response.status_code == 303
    fresh = Load.get_by_id(load.id)
    assert (fresh.billing_status, fresh.invoicing_method) == (CHARGED_BACK, DIRECT)
    page = client.get(f"/loads/{load.id}").get_data(as_text=True)
    for text in ("Charged back", "Debtor did not pay in 90 days", "$100.00", "Undo chargeback", "Recorded by"):
        assert text in page, text
    response = client.post(f"/loads/{load.id}/chargeback/undo", data={"undo_reason": "Wrong load"})
    assert response.status_code == 303
    assert Load.get_by_id(load.id).billing_status == FINANCED
    assert "Chargeback undone" in client.get(f"/loads/{load.id}").get_data(as_text=True)


def test_bad_input_is_named_and_changes_nothing(client, auth, financed_batch, dbconn):
    batch, loads = financed_batch
    auth.login("billing")
    before = snapshot()
    response = client.post(f"/loads/{loads[0].id}/chargeback", data=_form(amount="abc", reason=""))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Enter the amount charged back in dollars and cents" in html
    assert "Say why the factor charged the invoice back." in html
    assert snapshot() == before


def test_a_load_not_financed_is_refused_with_the_reason(client, auth, completed_batch, dbconn):
    batch, loads = completed_batch
    auth.login("billing")
    before = snapshot()
    response = client.post(f"/loads/{loads[0].id}/chargeback", data=_form())
    assert response.status_code == 422
    assert "is Completed: only a Financed invoice" in response.get_data(as_text=True)
    assert snapshot() == before


def test_without_billing_no_form_and_the_endpoint_refuses(client, auth, financed_batch, dbconn):
    batch, loads = financed_batch
    auth.login("dispatch")
    assert "Record chargeback" not in client.get(f"/loads/{loads[0].id}").get_data(as_text=True)
    before = snapshot()
    assert client.post(f"/loads/{loads[0].id}/chargeback", data=_form()).status_code == 403
    assert snapshot() == before


def test_another_tenants_load_is_not_found(client, auth, make_batch, world, dbconn):
    batch, loads = make_batch("financed", subsidiary=world.other_sub)
    auth.login("billing")
    assert client.post(f"/loads/{loads[0].id}/chargeback", data=_form()).status_code == 404
    assert Load.get_by_id(loads[0].id).billing_status == FINANCED
