"""Customers (debtors): list with search, sort and pages; create; edit; tenancy."""
import logging
import re

import pytest

from webapp.models import DIRECT
from webapp.models import FACTORING
from webapp.models import AuditLog
from webapp.models import Company
from webapp.models import Customer
from webapp.models import User
from webapp.services import customers
from webapp.services.validation import Invalid


def _demo():
    return Company.get(Company.name == "Demo Trucking")


def _customer(name, company="Demo Trucking"):
    return Customer.get((Customer.company == Company.get(Company.name == company)) & (Customer.name == name))


def _names(html):
    return re.findall(r'<td><a href="/customers/\d+/edit">([^<]+)</a></td>', html)


def _form(**over):
    data = {"name": "Acme Brokerage", "mc_number": "mc-100200", "address_line1": "5 Dock St",
            "city": "Tulsa", "state": "ok", "postal_code": "74103", "payment_terms_days": "45",
            "invoicing_method": FACTORING}
    data.update(over)
    return data


# --- services -----------------------------------------------------------------------

def test_clean_customer_normalises(dbconn):
    values = customers.clean_customer(_form(), _demo())
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
def test_clean_customer_names_each_bad_field(dbconn, over, field, message):
    with pytest.raises(Invalid) as info:
        customers.clean_customer(_form(**over), _demo())
    assert message in info.value.errors[field]


def test_terms_of_zero_and_365_are_accepted(dbconn):
    assert customers.clean_customer(_form(payment_terms_days="0"), _demo())["payment_terms_days"] == 0
    assert customers.clean_customer(_form(payment_terms_days="365"), _demo())["payment_terms_days"] == 365


def test_create_and_update_are_audited(dbconn):
    admin = User.get(User.email == "admin@demo.test")
    customer = customers.create_customer(_demo(), _form(), actor=admin)
    customers.update_customer(customer, _form(payment_terms_days="15", invoicing_method=DIRECT), actor=admin)
    saved = Customer.get_by_id(customer.id)
    assert (saved.payment_terms_days, saved.invoicing_method) == (15, DIRECT)
    log = AuditLog.get(AuditLog.action == "customer.update")
    assert log.before == '{"invoicing_method": "factoring", "payment_terms_days": 45}'


def test_same_name_in_another_company_is_fine(dbconn):
    admin = User.get(User.email == "other@demo.test")
    other = Company.get(Company.name == "Other Carrier Co")
    assert customers.create_customer(other, _form(name="Summit Freight Brokerage"), actor=admin).id


# --- views --------------------------------------------------------------------------

def test_list_is_sorted_by_name_and_shows_terms_and_method(client, auth):
    auth.login("dispatch")
    html = client.get("/customers/").get_data(as_text=True)
    names = _names(html)
    assert names[0] == "Blue Ridge Logistics" and names == sorted(names)
    assert "MC-482913" in html and "45 days" in html and "Direct" in html
    assert "Other Carrier" not in html


def test_search_by_name_or_mc_number(client, auth):
    auth.login("admin")
    assert _names(client.get("/customers/?q=lakes").get_data(as_text=True)) == ["Great Lakes Shippers Co"]
    assert _names(client.get("/customers/?q=771204").get_data(as_text=True)) == ["Blue Ridge Logistics"]
    assert _names(client.get("/customers/?q=mc 4829").get_data(as_text=True)) == ["Summit Freight Brokerage"]
    html = client.get("/customers/?q=zzz").get_data(as_text=True)
    assert _names(html) == [] and "No customer matches" in html


def test_search_treats_wildcards_as_text(client, auth):
    auth.login("admin")
    assert _names(client.get("/customers/?q=%25").get_data(as_text=True)) == []


def test_sort_by_terms_descending(client, auth):
    auth.login("admin")
    names = _names(client.get("/customers/?sort=terms&dir=desc").get_data(as_text=True))
    assert names[:2] == ["Lone Star Building Supply", "Great Lakes Shippers Co"]


def test_list_paginates_with_a_bounded_number_of_queries(client, auth, dbconn):
    demo = _demo()
    Customer.insert_many([{"company": demo.id, "name": f"Bulk Broker {n:03d}", "mc_number": f"MC-9{n:05d}"}
                          for n in range(410)]).execute()
    auth.login("admin")
    client.get("/customers/")
    counts = {}
    for per_page in (25, 200):
        logger = logging.getLogger("peewee")

        class Counter(logging.Handler):
            n = 0

            def emit(self, record):
                Counter.n += 1

        handler, level = Counter(), logger.level
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
        try:
            html = client.get(f"/customers/?per_page={per_page}&page=2").get_data(as_text=True)
        finally:
            logger.removeHandler(handler)
            logger.setLevel(level)
        counts[per_page] = Counter.n
        assert len(_names(html)) == per_page
    assert "Page 2 of 17" in client.get("/customers/?per_page=25&page=2").get_data(as_text=True)
    assert 0 < counts[25] == counts[200] <= 6


def test_search_box_gets_only_the_list_with_htmx(client, auth):
    auth.login("admin")
    html = client.get("/customers/?q=summit",
                      headers={"HX-Request": "true", "HX-Target": "customer-list"}).get_data(as_text=True)
    assert html.lstrip().startswith('<div id="customer-list">') and "<html" not in html
    assert _names(html) == ["Summit Freight Brokerage"]
    page = client.get("/customers/?q=summit").get_data(as_text=True)
    assert "<html" in page and 'hx-target="#customer-list"' in page


def test_create_a_customer(client, auth, dbconn):
    auth.login("admin")
    form = client.get("/customers/new").get_data(as_text=True)
    assert '<label for="f-payment_terms_days">Payment terms (days)' in form
    assert '<option value="factoring" selected>Factoring</option>' in form
    response = client.post("/customers/new", data=_form())
    assert response.status_code == 303
    created = _customer("Acme Brokerage")
    assert (created.mc_number, created.state, created.payment_terms_days) == ("MC-100200", "OK", 45)
    assert "Customer Acme Brokerage added." in client.get(response.headers["Location"]).get_data(as_text=True)


def test_duplicate_name_is_a_clear_message_not_a_500(client, auth, dbconn):
    auth.login("admin")
    response = client.post("/customers/new", data=_form(name="Blue Ridge Logistics", payment_terms_days="900"))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "A customer named Blue Ridge Logistics already exists." in html
    assert "The payment terms should be from 0 to 365." in html
    assert Customer.select().where(Customer.name == "Blue Ridge Logistics").count() == 1


def test_edit_a_customer(client, auth, dbconn):
    summit = _customer("Summit Freight Brokerage")
    auth.login("admin")
    form = client.get(f"/customers/{summit.id}/edit").get_data(as_text=True)
    assert 'value="Summit Freight Brokerage"' in form and 'value="MC-482913"' in form
    response = client.post(f"/customers/{summit.id}/edit",
                           data=_form(name="Summit Freight Brokerage", invoicing_method=DIRECT))
    assert response.status_code == 303
    assert _customer("Summit Freight Brokerage").invoicing_method == DIRECT


def test_renaming_onto_another_customer_is_refused(client, auth, dbconn):
    summit = _customer("Summit Freight Brokerage")
    auth.login("admin")
    response = client.post(f"/customers/{summit.id}/edit", data=_form(name="Pacific Coast Produce"))
    assert response.status_code == 400
    assert "A customer named Pacific Coast Produce already exists." in response.get_data(as_text=True)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_customer_of_another_company_is_404(client, auth, dbconn, method):
    summit = _customer("Summit Freight Brokerage")
    auth.login("other")
    response = client.open(f"/customers/{summit.id}/edit", method=method,
                           data=_form() if method == "POST" else None)
    assert response.status_code == 404
    assert "Summit" not in response.get_data(as_text=True)
    assert _customer("Summit Freight Brokerage").city == "Dallas"


def test_other_tenant_list_never_shows_demo_customers(client, auth):
    auth.login("other")
    html = client.get("/customers/?q=Summit").get_data(as_text=True)
    assert _names(html) == []
