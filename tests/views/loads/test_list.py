"""The Loads list (webapp/loads): filters, sorting, pages, htmx fragments, bounded queries, tenancy."""
import re

import pytest

from tests.helpers import count_queries
from webapp.models import BILLING_STATUSES
from webapp.models import DIRECT
from webapp.models import FACTORING
from webapp.models import FINANCED
from webapp.models import INVOICED
from webapp.models import QUEUED
from webapp.models import Batch
from webapp.models import Load
from webapp.models import Subsidiary
from webapp.models import db
from webapp.services import tallies
from webapp.services.loads import listing as load_listing


def _load_numbers(html):
    """Load numbers of the list's rows, in order."""
    return re.findall(r'<a href="/loads/\d+" hx-boost="false">([^<]+)</a>', html)


def test_list_shows_columns_of_the_company_in_view(client, auth):
    auth.login("dispatch")
    html = client.get("/loads/?per_page=200").get_data(as_text=True)
    assert "DT-1001" in html and "INV-DT-5001" in html
    assert "Demo Freight LLC" in html and "Summit Freight Brokerage" in html
    assert re.search(r"\$\d{1,3},\d{3}\.\d{2}", html)
    assert 'class="badge status-queued"' in html
    assert "OC-1001" not in html  # another tenant's load


def test_home_status_link_filters_queued(client, auth, world, dbconn):
    auth.login("admin")
    html = client.get("/loads/?status=queued&per_page=200").get_data(as_text=True)
    numbers = _load_numbers(html)
    expected = Load.select().where((Load.company == world.company) & (Load.billing_status == QUEUED)).count()
    assert len(numbers) == expected > 0
    tbody = html.split("<tbody>")[1]
    assert "status-invoiced" not in tbody and "status-completed" not in tbody


@pytest.mark.parametrize("args, check", [
    ("subsidiary={sub}", lambda l: l.subsidiary.name == "Demo Logistics Inc"),
    ("customer={customer}", lambda l: l.customer.name == "Blue Ridge Logistics"),
    ("method=direct", lambda l: l.invoicing_method == DIRECT),
    ("status=financed", lambda l: l.billing_status == FINANCED),
    ("q=dt-102", lambda l: "DT-102" in l.load_number),
    ("q=INV-DT-5003", lambda l: l.invoice_number == "INV-DT-5003"),
    ("q=inv-dt-5003", lambda l: l.invoice_number == "INV-DT-5003"),
    ("q=5003", lambda l: "5003" in l.invoice_number or "5003" in l.load_number),
    ("status=queued&method=factoring&subsidiary={sub}",
     lambda l: (l.billing_status, l.invoicing_method, l.subsidiary.name)
     == (QUEUED, FACTORING, "Demo Logistics Inc")),
])
def test_list_filters(client, auth, world, dbconn, args, check):
    demo = world.company
    args = args.format(sub=world.logistics.id,
                       customer=world.customer("Blue Ridge Logistics").id)
    # The demo's past batches are not in the test data: give two loads a later status.
    Load.update(billing_status=FINANCED).where(
        (Load.company == demo) & Load.load_number.in_(["DT-1003", "DT-1013"])).execute()
    auth.login("admin")
    numbers = _load_numbers(client.get(f"/loads/?per_page=200&{args}").get_data(as_text=True))
    everything = list(Load.select().where(Load.company == demo))
    expected = sorted(l.load_number for l in everything if check(l))
    assert expected, "the demo data should hold loads for this filter"
    assert sorted(numbers) == expected


def test_search_matching_very_many_loads_still_filters(client, auth, dbconn, monkeypatch):
    monkeypatch.setattr(load_listing, "SEARCH_IDS", 5)
    auth.login("admin")
    numbers = _load_numbers(client.get("/loads/?per_page=200&q=dt-10").get_data(as_text=True))
    assert len(numbers) == 72 and all(n.startswith("DT-10") for n in numbers)


def test_a_capped_count_pages_on_with_next_and_no_last_page(client, auth, dbconn, monkeypatch):
    # A search counts with a bound (here 10 rows, so that the demo's 72 loads pass it).
    monkeypatch.setattr(load_listing, "bounded_count", lambda query: tallies.bounded_count(query, bound=10))
    auth.login("admin")
    first = client.get("/loads/?per_page=25&q=dt-10").get_data(as_text=True)
    assert "1–25 of 25+" in first and "Page 1 of 2+" in first and 'rel="next"' in first
    shown, number, html = _load_numbers(first), 1, first
    while 'rel="next"' in html:
        number += 1
        html = client.get(f"/loads/?per_page=25&q=dt-10&page={number}").get_data(as_text=True)
        shown += _load_numbers(html)
    # The last page knows the exact count.
    assert number == 3 and "51–72 of 72" in html and "Page 3 of 3<" in html
    assert len(shown) == len(set(shown)) == 72


def test_the_unfiltered_count_comes_from_the_running_totals(client, auth, world, dbconn):
    auth.login("admin")
    statements = []

    def seen(event):
        statements.append(event.sql)

    db.obj.query_hooks.append(seen)
    try:
        html = client.get("/loads/?status=queued&per_page=25").get_data(as_text=True)
    finally:
        db.obj.query_hooks.remove(seen)
    queued = Load.select().where((Load.company == world.company) & (Load.billing_status == QUEUED)).count()
    assert f"of {queued:,}<" in html
    assert [sql for sql in statements if "load_tally" in sql]
    assert not [sql for sql in statements if "COUNT(" in sql and 'FROM "load"' in sql]


def test_filter_by_another_tenants_subsidiary_shows_nothing(client, auth, dbconn):
    other_sub = Subsidiary.get(Subsidiary.name == "Other Carrier Transport")
    auth.login("admin")
    html = client.get(f"/loads/?subsidiary={other_sub.id}").get_data(as_text=True)
    assert _load_numbers(html) == []
    assert "No loads match these filters" in html


@pytest.mark.parametrize("sort, key", [
    ("total", lambda l: (l.total_cents, l.id)),
    ("load", lambda l: (l.load_number, l.id)),
    ("delivery", lambda l: (l.delivery_date, l.id)),
    ("customer", lambda l: (l.customer.name, l.id)),
    ("status", lambda l: (list(BILLING_STATUSES).index(l.billing_status), l.id)),
])
@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_list_sorts(client, auth, world, dbconn, sort, key, direction):
    auth.login("admin")
    html = client.get(f"/loads/?sort={sort}&dir={direction}&per_page=200").get_data(as_text=True)
    loads = {l.load_number: l for l in Load.select().where(Load.company == world.company)}
    shown = [loads[n] for n in _load_numbers(html)]
    values = [key(l)[0] for l in shown]
    assert values == sorted(values, reverse=(direction == "desc"))
    assert 'aria-sort="{}"'.format("descending" if direction == "desc" else "ascending") in html


@pytest.mark.parametrize("direction", ["asc", "desc"])
@pytest.mark.parametrize("extra", ["", "&status=queued"])
def test_customer_sort_pages_join_up_in_name_order(client, auth, world, dbconn, direction, extra):
    auth.login("admin")
    shown, number, more = [], 1, True
    while more:
        html = client.get(f"/loads/?sort=customer&dir={direction}&per_page=25&page={number}{extra}"
                          ).get_data(as_text=True)
        shown += _load_numbers(html)
        number, more = number + 1, 'rel="next"' in html
    query = Load.select().where(Load.company == world.company)
    if extra:
        query = query.where(Load.billing_status == QUEUED)
    loads = list(query)
    by_name = sorted(loads, key=lambda l: -l.id)
    by_name.sort(key=lambda l: l.customer.name, reverse=(direction == "desc"))
    assert shown == [l.load_number for l in by_name]
    assert number > 2


def test_list_paginates(client, auth):
    auth.login("admin")
    first = _load_numbers(client.get("/loads/?per_page=25").get_data(as_text=True))
    second_html = client.get("/loads/?per_page=25&page=2").get_data(as_text=True)
    second = _load_numbers(second_html)
    assert len(first) == len(second) == 25
    assert not set(first) & set(second)
    assert "26–50 of 72" in second_html


def test_list_for_htmx_is_the_table_fragment(client, auth):
    auth.login("admin")
    response = client.get("/loads/?status=queued", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in html and 'id="loads-filters"' not in html
    assert "<table" in html and _load_numbers(html)
    assert "HX-Request" in response.headers.get("Vary", "")
    whole = client.get("/loads/?status=queued").get_data(as_text=True)
    assert '<form id="loads-filters"' in whole and 'hx-push-url="true"' in whole


def test_history_restore_gets_the_whole_page(client, auth):
    auth.login("admin")
    html = client.get("/loads/", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
                      ).get_data(as_text=True)
    assert "<html" in html


def test_list_runs_the_same_few_queries_whatever_the_page_size(client, auth, world, dbconn):
    demo = world.company
    sub, customer = world.freight, world.customer("Summit Freight Brokerage")
    batch = Batch.create(company=demo, subsidiary=sub, number=900, load_count=0)
    Load.insert_many([
        {"company": demo.id, "subsidiary": sub.id, "customer": customer.id,
         "load_number": f"BULK-{n:04d}", "invoice_number": f"INV-BULK-{n:04d}",
         "total_cents": 1000_00 + n, "billing_status": INVOICED if n % 2 else QUEUED,
         "batch": batch.id if n % 2 else None}
        for n in range(250)]).execute()
    auth.login("admin")
    client.get("/loads/")  # warm the session and the company lookups
    with count_queries() as small:
        small_response = client.get("/loads/?per_page=25&sort=customer")
    with count_queries() as large:
        large_response = client.get("/loads/?per_page=200&sort=customer")
    assert small_response.status_code == large_response.status_code == 200
    small_html, large_html = small_response.get_data(as_text=True), large_response.get_data(as_text=True)
    assert len(_load_numbers(small_html)) == 25 and len(_load_numbers(large_html)) == 200
    assert "#900" in large_html
    assert small.count == large.count <= 8


def test_other_tenant_never_sees_demo_loads(client, auth):
    auth.login("other")
    html = client.get("/loads/?per_page=200&q=DT").get_data(as_text=True)
    assert _load_numbers(html) == []
