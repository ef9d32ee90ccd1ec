"""New Load and Edit (webapp/loads): lines and totals, the form's messages, locked past Queued."""
import pytest

from tests.helpers import LOAD_LINES
from tests.helpers import load_form
from tests.helpers import post_form
from webapp.models import COMPLETED
from webapp.models import DIRECT
from webapp.models import FACTORING
from webapp.models import FINANCED
from webapp.models import INVOICED
from webapp.models import QUEUED
from webapp.models import AuditLog
from webapp.models import Customer
from webapp.models import Load
from webapp.models import LoadLine
from webapp.services import loads as service
from webapp.services.validation import Invalid


def test_dispatch_creates_a_load_total_from_lines_and_audited(client, auth, world, dbconn):
    auth.login("dispatch")
    response = client.post("/loads/new", data=post_form(load_form(world), LOAD_LINES))
    assert response.status_code == 303
    load = Load.get(Load.load_number == "NEW-1")
    assert load.total_cents == 2817_50
    assert load.billing_status == QUEUED and load.invoicing_method == FACTORING
    assert load.pickup_state == "TX"
    assert [(x.kind, x.description, x.amount_cents) for x in service.lines_of(load)] == [
        ("linehaul", "Linehaul", 2450_00), ("fuel", "Fuel surcharge", 367_50)]
    entry = AuditLog.get((AuditLog.object_type == "load") & (AuditLog.object_id == load.id))
    assert entry.action == "load.create" and entry.actor.email == "dispatch@demo.test"


def test_invoicing_method_defaults_from_the_customer(client, auth, world, dbconn):
    direct = world.customer("Midwest Grain Cooperative")
    auth.login("admin")
    client.post("/loads/new", data=post_form(load_form(world, customer_id=str(direct.id)), LOAD_LINES))
    assert Load.get(Load.load_number == "NEW-1").invoicing_method == DIRECT
    client.post("/loads/new", data=post_form(
        load_form(world, customer_id=str(direct.id), load_number="NEW-2", invoice_number="",
              invoicing_method="factoring"), LOAD_LINES))
    created = Load.get(Load.load_number == "NEW-2")
    assert created.invoicing_method == FACTORING and created.invoice_number is None


@pytest.mark.parametrize("overrides, lines, field, message", [
    ({"load_number": "DT-1001"}, LOAD_LINES, "load_number", "Load DT-1001 already exists."),
    ({"invoice_number": "INV-DT-5001"}, LOAD_LINES, "invoice_number", "already used by another load"),
    ({"load_number": " "}, LOAD_LINES, "load_number", "Enter the load number."),
    ({"customer_id": ""}, LOAD_LINES, "customer", "Choose the customer"),
    ({"subsidiary_id": "999999"}, LOAD_LINES, "subsidiary", "Choose the subsidiary"),
    ({"pickup_state": "Texas"}, LOAD_LINES, "pickup_state", "not a two-letter state code"),
    ({"invoice_date": "2026-13-45"}, LOAD_LINES, "invoice_date", "is not a date"),
    ({"delivery_date": "2026-11-01"}, LOAD_LINES, "delivery_date", "before the pickup date"),
    ({"invoicing_method": "barter"}, LOAD_LINES, "invoicing_method", "not an invoicing method"),
    ({}, [("linehaul", "", "")], "lines", "at least one line item"),
    ({}, [("linehaul", "", "12.x")], "lines", "line 1: '12.x' is not an amount"),
    ({}, [("linehaul", "", "100"), ("accessorial", "Credit", "(12.50)")], "lines",
     "line 2: '(12.50)' is negative"),
    ({}, [("linehaul", "Linehaul", "0")], "lines", "line 1: enter an amount above zero"),
])
def test_create_refuses_bad_input_with_a_message(client, auth, world, dbconn, overrides, lines, field, message):
    before = Load.select().count()
    with pytest.raises(Invalid) as caught:
        service.create_load(world.company, None, load_form(world, **overrides), lines)
    assert message in caught.value.errors[field]
    auth.login("admin")
    response = client.post("/loads/new", data=post_form(load_form(world, **overrides), lines))
    assert response.status_code == 422
    assert message.replace("'", "&#39;") in response.get_data(as_text=True)
    assert Load.select().count() == before


def test_create_refuses_another_tenants_customer(client, auth, world, dbconn):
    foreign = Customer.get(Customer.name == "Prairie Wind Brokers")
    auth.login("admin")
    response = client.post("/loads/new", data=post_form(load_form(world, customer_id=str(foreign.id)),
                                                         LOAD_LINES))
    assert response.status_code == 422
    assert not Load.select().where(Load.load_number == "NEW-1").exists()


def test_form_without_js_has_blank_line_rows_and_add_line_button(client, auth):
    auth.login("dispatch")
    html = client.get("/loads/new").get_data(as_text=True)
    assert html.count('name="line_amount"') == 3
    assert 'hx-get="/loads/line-row"' in html
    row = client.get("/loads/line-row", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert row.strip().startswith("<tr") and 'name="line_amount"' in row


def test_edit_queued_load_saves_and_audits_before_after(client, auth, dbconn):
    load = Load.get(Load.load_number == "DT-1001")
    assert load.billing_status == QUEUED
    auth.login("dispatch")
    form = client.get(f"/loads/{load.id}/edit").get_data(as_text=True)
    assert 'value="DT-1001"' in form
    data = service.blank_form(load)
    data.update(customer_reference="PO-CHANGED", delivery_state="KY")
    response = client.post(f"/loads/{load.id}/edit", data=post_form(
        data, [("linehaul", "Linehaul", "1000.00"), ("accessorial", "Lumper", "85")]))
    assert response.status_code == 303
    fresh = Load.get_by_id(load.id)
    assert (fresh.customer_reference, fresh.delivery_state, fresh.total_cents) == ("PO-CHANGED", "KY", 1085_00)
    assert LoadLine.select().where(LoadLine.load == load.id).count() == 2
    entry = (AuditLog.select().where((AuditLog.object_id == load.id) & (AuditLog.action == "load.update"))
             .get())
    assert '"customer_reference": "PO-CHANGED"' in entry.after
    assert "customer_reference" in entry.before and "total_cents" in entry.before
    html = client.get(f"/loads/{load.id}").get_data(as_text=True)
    assert "Edited" in html and "Dana Dispatch" in html and "PO-CHANGED" in html


# The batch (a fixture) whose loads are in each status past Queued.
BATCH_IN = {INVOICED: "submitted_batch", FINANCED: "financed_batch", COMPLETED: "completed_batch"}


@pytest.mark.parametrize("status", [INVOICED, FINANCED, COMPLETED])
def test_edit_is_locked_past_queued(client, auth, dbconn, request, status):
    load = request.getfixturevalue(BATCH_IN[status]).loads[0]
    assert load.billing_status == status
    auth.login("admin")
    response = client.get(f"/loads/{load.id}/edit", follow_redirects=True)
    assert "only Queued loads can be edited" in response.get_data(as_text=True)
    data = service.blank_form(Load.get_by_id(load.id))
    data["customer_reference"] = "SNEAKY"
    response = client.post(f"/loads/{load.id}/edit", data=post_form(data, LOAD_LINES))
    assert response.status_code == 303
    assert Load.get_by_id(load.id).customer_reference != "SNEAKY"
