"""The Customers pages (webapp/customers): list with search, sort and pages; create; edit; tenancy."""
import re

import pytest

from tests.helpers import count_queries
from tests.helpers import customer_form
from webapp.models import DIRECT
from webapp.models import Customer


def _names(html):
    return re.findall(r'<td><a href="/customers/\d+/edit">([^<]+)</a></td>', html)


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


def test_list_paginates_with_a_bounded_number_of_queries(client, auth, world, dbconn):
    demo = world.company
    Customer.insert_many([{"company": demo.id, "name": f"Bulk Broker {n:03d}", "mc_number": f"MC-9{n:05d}"}
                          for n in range(410)]).execute()
    auth.login("admin")
    client.get("/customers/")
    counts = {}
    for per_page in (25, 200):
        with count_queries() as counter:
            html = client.get(f"/customers/?per_page={per_page}&page=2").get_data(as_text=True)
        counts[per_page] = counter.count
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


def test_create_a_customer(client, auth, world, dbconn):
    auth.login("admin")
    form = client.get("/customers/new").get_data(as_text=True)
    assert '<label for="f-payment_terms_days">Payment terms (days)' in form
    assert '<option value="factoring" selected>Factoring</option>' in form
    response = client.post("/customers/new", data=customer_form())
    assert response.status_code == 303
    created = world.customer("Acme Brokerage")
    assert (created.mc_number, created.state, created.payment_terms_days) == ("MC-100200", "OK", 45)
    assert "Customer Acme Brokerage added." in client.get(response.headers["Location"]).get_data(as_text=True)


def test_duplicate_name_is_a_clear_message_not_a_500(client, auth, dbconn):
    auth.login("admin")
    response = client.post("/customers/new", data=customer_form(name="Blue Ridge Logistics", payment_terms_days="900"))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "A customer named Blue Ridge Logistics already exists." in html
    assert "The payment terms should be from 0 to 365." in html
    assert Customer.select().where(Customer.name == "Blue Ridge Logistics").count() == 1


def test_edit_a_customer(client, auth, world, dbconn):
    summit = world.customer("Summit Freight Brokerage")
    auth.login("admin")
    form = client.get(f"/customers/{summit.id}/edit").get_data(as_text=True)
    assert 'value="Summit Freight Brokerage"' in form and 'value="MC-482913"' in form
    response = client.post(f"/customers/{summit.id}/edit",
                           data=customer_form(name="Summit Freight Brokerage", invoicing_method=DIRECT))
    assert response.status_code == 303
    assert world.customer("Summit Freight Brokerage").invoicing_method == DIRECT


def test_renaming_onto_another_customer_is_refused(client, auth, world, dbconn):
    summit = world.customer("Summit Freight Brokerage")
    auth.login("admin")
    response = client.post(f"/customers/{summit.id}/edit", data=customer_form(name="Pacific Coast Produce"))
    assert response.status_code == 400
    assert "A customer named Pacific Coast Produce already exists." in response.get_data(as_text=True)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_customer_of_another_company_is_404(client, auth, world, dbconn, method):
    summit = world.customer("Summit Freight Brokerage")
    auth.login("other")
    response = client.open(f"/customers/{summit.id}/edit", method=method,
                           data=customer_form() if method == "POST" else None)
    assert response.status_code == 404
    assert "Summit" not in response.get_data(as_text=True)
    assert world.customer("Summit Freight Brokerage").city == "Dallas"


def test_other_tenant_list_never_shows_demo_customers(client, auth):
    auth.login("other")
    html = client.get("/customers/?q=Summit").get_data(as_text=True)
    assert _names(html) == []
