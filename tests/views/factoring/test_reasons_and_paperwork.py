"""Factoring Upload's "Cannot go to the factor": each reason links to the form that fixes it;
the documents link opens the load's documents and leads back."""
import io
import re

from tests.helpers import in_db
from tests.helpers import pdf_bytes
from webapp.models import Customer
from webapp.models import Load
from webapp.models import LoadDocument

URL = "/accounting/factoring-upload/"


def test_each_reason_links_to_the_form_that_fixes_it(app, client, auth, world):
    with in_db(app):
        load_id = world.eligible(1)[0]
        LoadDocument.delete().where((LoadDocument.load == load_id) & (LoadDocument.kind == "pod")).execute()
        load = Load.get_by_id(load_id)
        no_mc = Customer.get((Customer.company == world.company) & (Customer.mc_number == ""))
    auth.login("billing")
    page = client.get(f"{URL}?subsidiary_id={world.freight.id}").get_data(as_text=True)
    section = page[page.index("Cannot go to the factor"):]
    assert "Capital Depot requires the proof of delivery (or signed BOL); it has none." in section
    back = f"/accounting/factoring-upload/?subsidiary_id={world.freight.id}"
    link = re.search(rf'href="(/loads/{load_id}\?next=[^"#]+#documents)"[^>]*>Add the documents of {load.load_number}',
                     section)
    assert link, "the documents reason links to the load's documents"
    assert f'href="/customers/{no_mc.id}/edit">Add the customer' in section

    documents = client.get(link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert f'href="{back}"' in documents.replace("&amp;", "&") and "Back to where you were" in documents
    response = client.post(f"/loads/{load_id}/documents",
                           data={"kind": "pod", "next": back, "file": (io.BytesIO(pdf_bytes()), "pod.pdf")},
                           content_type="multipart/form-data")
    assert response.status_code == 303
    assert "next=" in response.headers["Location"]
    page = client.get(f"{URL}?subsidiary_id={world.freight.id}").get_data(as_text=True)
    assert f'name="load_id" value="{load_id}"' in page  # it can go now


def test_a_next_address_off_the_site_is_never_offered_as_the_way_back(app, client, auth, world):
    with in_db(app):
        load_id = world.eligible(1)[0]
    auth.login("billing")
    page = client.get(f"/loads/{load_id}?next=https://evil.example/").get_data(as_text=True)
    assert "evil.example" not in page and "Back to where you were" not in page
