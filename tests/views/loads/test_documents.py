"""A load's documents (webapp/loads): upload, list, download, remove; refusals; tenancy."""
import io

import pytest

from tests.helpers import pdf_bytes
from webapp.models import AuditLog
from webapp.models import Load
from webapp.models import LoadDocument
from webapp.models import StoredFile
from webapp.services import loads as service


def _load(number="DT-1001"):
    """A demo load without its demo paperwork (each test adds the documents it needs)."""
    load = Load.get(Load.load_number == number)
    LoadDocument.delete().where(LoadDocument.load == load.id).execute()
    return load


def _post(client, load, data, name="pod.pdf", kind="pod", htmx=False):
    return client.post(f"/loads/{load.id}/documents",
                       data={"kind": kind, "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data",
                       headers={"HX-Request": "true"} if htmx else {})


def test_upload_list_download_and_remove_a_pdf(client, auth, dbconn):
    load = _load()
    data = pdf_bytes()
    auth.login("dispatch")
    response = _post(client, load, data, "Signed BOL 1001.pdf", kind="bol")
    assert response.status_code == 303
    page = client.get(f"/loads/{load.id}").get_data(as_text=True)
    assert "Signed BOL 1001.pdf" in page and "Document added" in page
    document = LoadDocument.get(LoadDocument.load == load.id)
    assert document.kind == "bol" and bytes(document.file.data) == data

    download = client.get(f"/loads/{load.id}/documents/{document.id}")
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    assert download.data == data and "attachment" in download.headers["Content-Disposition"]

    response = client.post(f"/loads/{load.id}/documents/{document.id}/delete")
    assert response.status_code == 303
    assert not LoadDocument.select().where(LoadDocument.load == load.id).exists()
    assert not StoredFile.select().where(StoredFile.id == document.file_id).exists()
    assert AuditLog.select().where((AuditLog.object_id == load.id)
                                   & (AuditLog.action == "load.document_remove")).exists()


def test_htmx_upload_answers_with_the_documents_section(client, auth, dbconn):
    load = _load()
    auth.login("admin")
    response = _post(client, load, pdf_bytes(), "ratecon.pdf", kind="rate_confirmation", htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.strip().startswith('<section class="card" id="documents">')
    assert "ratecon.pdf" in html and "Rate confirmation" in html


@pytest.mark.parametrize("data, name, message", [
    (b"Load,Amount\n1,2\n", "pod.csv", "is not a PDF, JPEG, PNG or TIFF file"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "scan.png", "is a PNG file that cannot be read"),
    (b"%PDF-1.7\nthis is not really a pdf\n%%EOF", "broken.pdf", "cannot be opened"),
    (b"", "empty.pdf", "is empty"),
])
def test_refused_documents_get_a_message_and_change_nothing(client, auth, dbconn, data, name, message):
    load = _load()
    files = StoredFile.select().count()
    auth.login("admin")
    response = _post(client, load, data, name, htmx=True)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    response = _post(client, load, data, name)
    assert response.status_code == 303
    assert message in client.get(response.headers["Location"]).get_data(as_text=True)
    assert StoredFile.select().count() == files
    assert not LoadDocument.select().where(LoadDocument.load == load.id).exists()


def test_document_above_the_size_limit_is_refused(app, client, auth, dbconn):
    with pytest.raises(service.DocumentError, match="the limit is"):
        service.add_document(_load(), None, "pod", "big.pdf", pdf_bytes(), 100)
    app.config["MAX_CONTENT_LENGTH"] = 1024
    auth.login("admin")
    response = _post(client, _load(), pdf_bytes(pages=20), "big.pdf", htmx=True)
    assert response.status_code == 413
    assert "too large" in response.get_data(as_text=True)
    assert not LoadDocument.select().where(LoadDocument.load == _load().id).exists()


def test_documents_of_another_tenants_load_are_404(client, auth, dbconn):
    foreign = _load("OC-1001")
    document = service.add_document(foreign, None, "pod", "theirs.pdf", pdf_bytes(), None)
    auth.login("admin")
    assert client.get(f"/loads/{foreign.id}/documents/{document.id}").status_code == 404
    assert client.post(f"/loads/{foreign.id}/documents/{document.id}/delete").status_code == 404
    assert _post(client, foreign, pdf_bytes()).status_code == 404
    # Nor through one of our own loads.
    own = _load()
    assert client.get(f"/loads/{own.id}/documents/{document.id}").status_code == 404
    assert LoadDocument.select().where(LoadDocument.id == document.id).exists()
