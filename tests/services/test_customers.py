"""Customers (services/customers.py): the form's checks, create and update audited, names per company."""
import pytest

from tests.helpers import customer_form
from webapp.models import DIRECT
from webapp.models import AuditLog
from webapp.models import Customer
from webapp.services import customers
from webapp.services.validation import Invalid


def test_clean_customer_normalises(world, dbconn):
    values = customers.clean_customer(customer_form(), world.company)
    assert values["mc_number"] == "MC-100200" and values["state"] == "OK"
    assert values["payment_terms_days"] == 45


@pytest.mark.parametrize("over, field, message", [
    ({"name": ""}, "name", "Enter the name."),
    ({"name": "summit freight brokerage"}, "name", "A customer named summit freight brokerage already exists"),
    ({"payment_terms_days": "366"}, "payment_terms_days", "from 0 to 365"),
    ({"payment_terms_days": "-1"}, "payment_terms_days", "from 0 to 365"),
    ({"payment_terms_days": "thirty"}, "payment_terms_days", "whole number from 0 to 365"),
    ({"invoicing_method": "barter"}, "invoicing_method", "Choose the default invoicing method."),
    ({"mc_number": "12-AB"}, "mc_number", "MC-1234567"),
    ({"postal_code": "ABCDE"}, "postal_code", "ZIP"),
])
def test_clean_customer_names_each_bad_field(world, dbconn, over, field, message):
    with pytest.raises(Invalid) as info:
        customers.clean_customer(customer_form(**over), world.company)
    assert message in info.value.errors[field]


def test_terms_of_zero_and_365_are_accepted(world, dbconn):
    assert customers.clean_customer(customer_form(payment_terms_days="0"), world.company)["payment_terms_days"] == 0
    assert customers.clean_customer(customer_form(payment_terms_days="365"), world.company)["payment_terms_days"] == 365


def test_create_and_update_are_audited(world, dbconn):
    admin = world.admin
    customer = customers.create_customer(world.company, customer_form(), actor=admin)
    customers.update_customer(customer, customer_form(payment_terms_days="15", invoicing_method=DIRECT), actor=admin)
    saved = Customer.get_by_id(customer.id)
    assert (saved.payment_terms_days, saved.invoicing_method) == (15, DIRECT)
    log = AuditLog.get(AuditLog.action == "customer.update")
    assert log.before == '{"invoicing_method": "factoring", "payment_terms_days": 45}'


def test_same_name_in_another_company_is_fine(world, dbconn):
    admin = world.other
    other = world.other_company
    assert customers.create_customer(other, customer_form(name="Summit Freight Brokerage"), actor=admin).id
