"""Load documents (services/loads/documents.py): what is refused, and the bytes merged behind an invoice."""
import io

import pytest
from pypdf import PdfReader
from pypdf import PdfWriter

from tests.helpers import pdf_bytes
from webapp.models import Load
from webapp.models import LoadDocument
from webapp.services import loads as service


def encrypted_pdf():
    writer = PdfWriter()
    writer.add_blank_page(width=612, height=792)
    writer.encrypt("secret")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _load(number="DT-1001"):
    """A demo load without its demo paperwork (each test adds the documents it needs)."""
    load = Load.get(Load.load_number == number)
    LoadDocument.delete().where(LoadDocument.load == load.id).execute()
    return load


def test_password_protected_pdf_is_refused(dbconn):
    with pytest.raises(service.DocumentError, match="password-protected"):
        service.add_document(_load(), None, "pod", "locked.pdf", encrypted_pdf(), 10 * 1024 * 1024)


def test_unknown_kind_is_refused(dbconn):
    with pytest.raises(service.DocumentError, match="Choose what the document is"):
        service.add_document(_load(), None, "selfie", "x.pdf", pdf_bytes(), None)


def test_documents_for_merge_returns_bytes_per_load_in_packet_order(dbconn):
    first, second, bare = _load("DT-1001"), _load("DT-1002"), _load("DT-1003")
    pod = pdf_bytes(pages=1)
    ratecon = pdf_bytes(pages=2)
    other = pdf_bytes(pages=3)
    service.add_document(first, None, "pod", "pod.pdf", pod, None)
    service.add_document(first, None, "other", "misc.pdf", other, None)
    service.add_document(first, None, "rate_confirmation", "rc.pdf", ratecon, None)
    service.add_document(second, None, "pod", "pod2.pdf", pod, None)
    merged = service.documents_for_merge([first.id, second.id, bare.id])
    assert set(merged) == {first.id, second.id}
    assert merged[first.id] == [ratecon, pod, other]
    assert [len(PdfReader(io.BytesIO(b)).pages) for b in merged[first.id]] == [2, 1, 3]
    assert merged[second.id] == [pod]
    assert service.documents_for_merge([]) == {}
