"""A factor's default subject and cover message for "Email to <factor>" (Management > Factors),
and its submission address: one address, on one line, refused otherwise when it is saved."""
import html as htmllib

import pytest

from tests.views.factors.test_factors import BASE
from tests.views.factors.test_factors import _depot
from tests.views.factors.test_factors import _form
from webapp.models import Factor


def _edit(client, factor, **overrides):
    data = _form(name=factor.name, submission_email="batches@capitaldepot.example")
    data.update(overrides)
    return client.post(f"{BASE}/{factor.id}/edit", data=data)


def test_the_cover_template_is_saved_and_fills_the_email_form(client, auth, world, dbconn, submitted_batch):
    auth.login("admin")
    depot = _depot(world.company)
    response = _edit(client, depot, cover_subject="{company} batch {batch_number}",
                     cover_message="Dear {factor},\n\n{count} invoices of {subsidiary}, {total}.\n\n{sender}")
    assert response.status_code == 303
    depot = Factor.get_by_id(depot.id)
    assert depot.cover_subject == "{company} batch {batch_number}"
    auth.logout()
    auth.login("billing")
    batch = submitted_batch.batch
    page = htmllib.unescape(client.get(f"/reports/factoring/batches/{batch.id}/email").get_data(as_text=True))
    assert f'value="Demo Trucking batch {batch.number}"' in page
    assert "Dear Capital Depot,\n\n3 invoices of Demo Freight LLC, $" in page
    assert "Blair Billing" in page


@pytest.mark.parametrize("overrides, field, message", [
    (dict(cover_subject="Batch\r\nBcc: thief@elsewhere.test"), "cover_subject", "no line breaks"),
    (dict(cover_subject="Batch {number}"), "cover_subject", "Unknown placeholder {number}"),
    (dict(cover_message="Hello {name}"), "cover_message", "Unknown placeholder {name}"),
    (dict(submission_email="batches@capitaldepot.example\r\nBcc: thief@elsewhere.test"), "submission_email",
     "no line breaks"),
    (dict(submission_email="batches@capitaldepot.example;thief@elsewhere.test"), "submission_email",
     "one address only"),
    (dict(submission_email="batches@capitaldepot.example thief@elsewhere.test"), "submission_email",
     "one address only"),
])
def test_a_bad_cover_or_address_is_refused_and_changes_nothing(client, auth, world, dbconn, overrides, field, message):
    auth.login("admin")
    depot = _depot(world.company)
    before = {name: getattr(depot, name) for name in ("submission_email", "cover_subject", "cover_message")}
    response = _edit(client, depot, **overrides)
    assert response.status_code == 400
    page = htmllib.unescape(response.get_data(as_text=True))
    assert f'id="f-{field}-error"' in page and message in page
    depot = Factor.get_by_id(depot.id)
    assert {name: getattr(depot, name) for name in before} == before
