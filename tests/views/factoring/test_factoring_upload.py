"""Accounting > Factoring Upload (webapp/factoring): the lists, the Billing gate, Submit Batch, progress."""
import re

import pytest

from tests.helpers import count_queries
from tests.helpers import in_db
from webapp.models import BATCH_READY
from webapp.models import INVOICED
from webapp.models import Batch
from webapp.models import BatchLoad
from webapp.models import Load
from webapp.models import db
from webapp.services import batches

URL = "/accounting/factoring-upload/"
SUBMIT = "/accounting/factoring-upload/submit"
HX = {"HX-Request": "true"}


@pytest.fixture
def demo(app, world):
    """The demo world and what the page lists of it: the eligible loads of both subsidiaries, the
    loads kept apart, the load numbers."""
    with in_db(app):
        world.ids = world.eligible()
        world.logistics_ids = world.eligible(subsidiary=world.logistics)
        world.apart = [(load.id, load.load_number) for load in batches.incomplete_loads(world.company, world.freight)]
        world.numbers = {load.id: load.load_number for load in Load.select().where(Load.id.in_(world.ids))}
    return world


def test_billing_sees_the_eligible_loads_the_loads_apart_and_submit_batch(client, auth, demo):
    auth.login("billing")
    page = client.get(URL).get_data(as_text=True)
    assert "Factoring Upload" in page
    assert ">Submit Batch</button>" in page
    for load_id in demo.ids[:5]:
        assert f'name="load_id" value="{load_id}"' in page
    assert "Cannot go to the factor as they stand" in page
    for load_id, number in demo.apart:
        assert number in page
        assert f'value="{load_id}"' not in page  # no checkbox for a load that cannot go
    assert "has no MC number" in page
    assert "Reason incomplete" in page


def test_without_billing_there_is_no_button_and_the_post_is_refused(client, auth, demo, app):
    auth.login("dispatch")
    page = client.get(URL).get_data(as_text=True)
    assert "Submit Batch</button>" not in page
    assert 'name="load_id"' not in page
    assert "needs the <strong>Billing</strong> permission" in page
    response = client.post(f"{SUBMIT}?subsidiary_id={demo.freight.id}", data={"load_id": demo.ids[:2]})
    assert response.status_code == 403
    with in_db(app):
        assert Batch.select().count() == 0


def test_subsidiary_without_noa_says_so_links_to_company_profile_and_refuses(client, auth, demo, app):
    auth.login("billing")
    page = client.get(f"{URL}?subsidiary_id={demo.logistics.id}").get_data(as_text=True)
    assert "Demo Logistics Inc has no Notice of Assignment." in page
    assert f'href="/management/company-profile/?subsidiary_id={demo.logistics.id}"' in page
    assert re.search(r'<button type="submit" class="btn btn-primary btn-submit" id="submit-batch" data-submit-batch disabled', page)
    response = client.post(f"{SUBMIT}?subsidiary_id={demo.logistics.id}",
                           data={"load_id": demo.logistics_ids[:2]}, headers=HX)
    assert "no Notice of Assignment" in response.get_data(as_text=True)
    with in_db(app):
        assert Batch.select().count() == 0


def test_htmx_submit_swaps_in_the_progress_then_the_result(client, auth, demo, app):
    auth.login("billing")
    chosen = demo.ids[:3]
    response = client.post(f"{SUBMIT}?subsidiary_id={demo.freight.id}", data={"load_id": chosen}, headers=HX)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="factoring-workspace">')
    assert "Batch #1 submitted: 3 loads" in html
    assert 'data-testid="batch-line"' in html
    # the immediate queue has already run the job: the line shows the result and stops polling
    assert 'data-state="ready"' in html and ">Ready to send</span>" in html
    assert "/reports/factoring/batches/1/download" in html
    for load_id in chosen:
        assert f'name="load_id" value="{load_id}"' not in html  # gone from the list
    with in_db(app):
        assert Load.select().where(Load.id.in_(chosen), Load.billing_status == INVOICED).count() == 3


def test_plain_form_submit_redirects_with_303_and_the_page_shows_the_batch(client, auth, demo):
    auth.login("billing")
    response = client.post(f"{SUBMIT}?subsidiary_id={demo.freight.id}", data={"load_id": demo.ids[:2]})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"{URL}?subsidiary_id={demo.freight.id}")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Batch #1 submitted: 2 loads." in page
    assert "Batches needing action" in page
    assert "Batch #1</a>" in page


def test_progress_component_polls_while_the_job_runs_and_stops_when_done(client, auth, demo, app):
    with in_db(app):
        batch = batches.create_batch(demo.company, demo.freight, demo.ids[:2], demo.billing)
        Batch.update(status="running", progress_done=1).where(Batch.id == batch.id).execute()
    auth.login("billing")
    url = f"/reports/factoring/batches/{batch.id}/progress"
    html = client.get(url, headers=HX).get_data(as_text=True)
    assert 'hx-trigger="every 1s"' in html and f'hx-get="{url}"' in html
    assert "Generating invoice 2 of 2" in html
    assert "<progress" in html
    page = client.get(f"{URL}?subsidiary_id={demo.freight.id}").get_data(as_text=True)
    assert "Generating invoice 2 of 2" in page  # coming back to the page shows it
    with in_db(app):
        Batch.update(status="pending").where(Batch.id == batch.id).execute()
        assert batches.run_batch(batch.id) == BATCH_READY
    html = client.get(url, headers=HX).get_data(as_text=True)
    assert "hx-trigger" not in html
    assert ">Ready to send</span>" in html and ">Download</a>" in html and "Mark as sent</button>" in html
    assert client.get(url).status_code == 303  # without htmx: the batch page


def test_another_tenants_load_ids_are_refused_and_nothing_is_created(client, auth, demo, app):
    with in_db(app):
        theirs = [load.id for load in Load.select(Load.id).where(Load.company == demo.other_company).limit(3)]
    auth.login("billing")
    response = client.post(f"{SUBMIT}?subsidiary_id={demo.freight.id}",
                           data={"load_id": demo.ids[:1] + theirs}, headers=HX)
    assert "are not loads of Demo Freight LLC" in response.get_data(as_text=True)
    with in_db(app):
        assert Batch.select().count() == 0
        assert Load.select().where(Load.batch.is_null(False)).count() == 0


def test_another_tenants_subsidiary_is_not_found(client, auth, demo):
    auth.login("billing")
    assert client.get(f"{URL}?subsidiary_id={demo.other_sub.id}").status_code == 404
    assert client.post(f"{SUBMIT}?subsidiary_id={demo.other_sub.id}", data={"load_id": demo.ids[:1]}).status_code == 404


def test_double_submit_gets_a_message_naming_the_loads_and_the_batch(client, auth, demo, app):
    auth.login("billing")
    chosen = demo.ids[:2]
    url = f"{SUBMIT}?subsidiary_id={demo.freight.id}"
    client.post(url, data={"load_id": chosen}, headers=HX)
    html = client.post(url, data={"load_id": chosen}, headers=HX).get_data(as_text=True)
    assert "already in batch #1" in html
    assert all(demo.numbers[i] in html for i in chosen)
    assert 'href="/reports/factoring/batches/1"' in html
    response = client.post(url, data={"load_id": chosen})  # the same without htmx
    assert response.status_code == 303
    assert "already in batch #1" in client.get(response.headers["Location"]).get_data(as_text=True)
    with in_db(app):
        assert Batch.select().count() == 1


def test_all_that_match_the_filter_submits_the_filter_server_side(client, auth, demo, app):
    with in_db(app):
        customer_id = Load.get_by_id(demo.ids[0]).customer_id
        expected = {i for i in demo.ids if Load.get_by_id(i).customer_id == customer_id}
    auth.login("billing")
    url = f"{SUBMIT}?subsidiary_id={demo.freight.id}&customer_id={customer_id}"
    response = client.post(url, data={"select_all": "1"})
    assert response.status_code == 303
    with in_db(app):
        batch = Batch.get()
        assert {bl.load_id for bl in BatchLoad.select().where(BatchLoad.batch == batch)} == expected


def test_filters_and_sorting_on_the_page(client, auth, demo, app):
    auth.login("billing")
    number = demo.numbers[demo.ids[0]]
    page = client.get(f"{URL}?subsidiary_id={demo.freight.id}&q={number}").get_data(as_text=True)
    assert page.count('name="load_id"') == 1
    page = client.get(f"{URL}?subsidiary_id={demo.freight.id}&sort=amount&dir=desc").get_data(as_text=True)
    amounts = [int(c) for c in re.findall(r'data-cents="(\d+)"', page)]
    assert amounts == sorted(amounts, reverse=True)
    page = client.get(f"{URL}?subsidiary_id={demo.freight.id}&date_from=not-a-date").get_data(as_text=True)
    assert "is not a date" in page


def test_select_all_matching_is_offered_when_the_list_has_several_pages(client, auth, demo):
    auth.login("billing")
    page = client.get(f"{URL}?subsidiary_id={demo.freight.id}&per_page=25").get_data(as_text=True)
    assert f"Select all {len(demo.ids)} loads that match" in page
    assert page.count('name="load_id"') == 25


def test_the_page_runs_a_bounded_number_of_queries_whatever_the_page_size(client, auth, demo):
    auth.login("billing")
    client.get(URL)  # warm up the session and the user
    with count_queries() as small:
        client.get(f"{URL}?subsidiary_id={demo.freight.id}&per_page=25")
    with count_queries() as large:
        client.get(f"{URL}?subsidiary_id={demo.freight.id}&per_page=200")
    assert small.count == large.count
    assert large.count <= 16


def test_the_counts_and_the_loads_apart_follow_the_delivery_dates(client, auth, demo, app):
    with in_db(app):
        every = list(batches.eligible_loads(demo.company, demo.freight))
        apart = list(batches.incomplete_loads(demo.company, demo.freight))
    dated = sorted({load.delivery_date for load in every + apart if load.delivery_date})
    start, end = dated[len(dated) // 4], dated[3 * len(dated) // 4]
    shown = [load for load in every if load.delivery_date and start <= load.delivery_date <= end]
    kept_apart = [load for load in apart if load.delivery_date and start <= load.delivery_date <= end]
    assert shown and len(shown) < len(every)
    auth.login("billing")
    page = client.get(f"{URL}?subsidiary_id={demo.freight.id}&per_page=200"
                      f"&date_from={start:%m/%d/%Y}&date_to={end.isoformat()}").get_data(as_text=True)
    assert f'data-match-count="{len(shown)}" data-match-total="{sum(l.total_cents for l in shown)}"' in page
    assert sorted(int(i) for i in re.findall(r'name="load_id" value="(\d+)"', page)) == sorted(l.id for l in shown)
    if kept_apart:
        assert f'as they stand <span class="muted count">{len(kept_apart)}</span>' in page
    else:
        assert "Cannot go to the factor as they stand" not in page


def test_no_load_apart_means_no_list_of_them_and_no_query_for_it(client, auth, demo, app):
    number = demo.numbers[demo.ids[0]]
    auth.login("billing")
    client.get(URL)
    statements = []

    def seen(event):
        statements.append(event.sql)

    db.obj.query_hooks.append(seen)
    try:
        page = client.get(f"{URL}?subsidiary_id={demo.freight.id}&q={number}").get_data(as_text=True)
    finally:
        db.obj.query_hooks.remove(seen)
    assert "Ready to submit <span class=\"muted count\">1 load ·" in page
    assert "Cannot go to the factor as they stand" not in page
    # One pass over the candidates counts both; the page of rows is the only other read of them.
    assert len([sql for sql in statements if 'FROM "load"' in sql and '"invoicing_method" = ' in sql]) == 2
