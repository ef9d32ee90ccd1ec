"""Without JavaScript a refused upload comes back to the page it was sent from, with the message
(webapp/errors.py): a file past MAX_UPLOAD_BYTES (413) and a document the rules refuse."""
import io

from tests.helpers import in_db
from tests.helpers import pdf_bytes
from tests.helpers import snapshot
from webapp.models import Load


def _load(app, world):
    with in_db(app):
        return Load.get_by_id(world.eligible(1)[0])


def test_a_too_large_upload_goes_back_to_its_page_with_the_message_and_changes_nothing(app, client, auth, world):
    load = _load(app, world)
    auth.login("admin")
    app.config["MAX_CONTENT_LENGTH"] = 2048
    page = f"http://localhost/loads/{load.id}?next=/accounting/factoring-upload/"
    with in_db(app):
        before = snapshot()
    response = client.post(f"/loads/{load.id}/documents", headers={"Referer": page},
                           data={"kind": "pod", "file": (io.BytesIO(pdf_bytes(pages=30)), "big.pdf")},
                           content_type="multipart/form-data")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/loads/{load.id}?next=/accounting/factoring-upload/"
    again = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "That file is too large: the limit is" in again
    assert load.load_number in again  # the load is still in view
    with in_db(app):
        assert snapshot() == before


def test_a_too_large_upload_from_elsewhere_gets_the_error_page(app, client, auth, world):
    load = _load(app, world)
    auth.login("admin")
    app.config["MAX_CONTENT_LENGTH"] = 2048
    response = client.post(f"/loads/{load.id}/documents", headers={"Referer": "https://elsewhere.example/x"},
                           data={"kind": "pod", "file": (io.BytesIO(pdf_bytes(pages=30)), "big.pdf")},
                           content_type="multipart/form-data")
    assert response.status_code == 413
    assert "too large" in response.get_data(as_text=True)


def test_htmx_keeps_its_413_fragment(app, client, auth, world):
    load = _load(app, world)
    auth.login("admin")
    app.config["MAX_CONTENT_LENGTH"] = 2048
    response = client.post(f"/loads/{load.id}/documents", headers={"HX-Request": "true",
                                                                  "Referer": f"http://localhost/loads/{load.id}"},
                           data={"kind": "pod", "file": (io.BytesIO(pdf_bytes(pages=30)), "big.pdf")},
                           content_type="multipart/form-data")
    assert response.status_code == 413 and "too large" in response.get_data(as_text=True)
