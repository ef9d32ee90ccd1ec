"""Documents kept with a load (rate confirmation, BOL, proof of delivery), merged behind its invoice."""
import hashlib
import io
import re

from webapp.models import LoadDocument
from webapp.models import StoredFile
from webapp.models import db
from webapp.services import audit
from webapp.services.sql import chunks

# Kinds of document kept with a load, in the order they are merged behind the invoice.



# Kinds of document kept with a load, in the order they are merged behind the invoice.
DOCUMENT_KINDS = {
    "rate_confirmation": "Rate confirmation",
    "bol": "Signed BOL",
    "pod": "Proof of delivery",
    "other": "Other",
}


# --- documents ----------------------------------------------------------------------

class DocumentError(ValueError):
    """The uploaded document is refused; the message says why."""


def check_pdf(data, filename, max_bytes):
    """Refuse what is not a readable, unencrypted PDF of at most MAX_BYTES."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    name = filename or "The file"
    if not data:
        raise DocumentError(f"{name} is empty.")
    if max_bytes and len(data) > max_bytes:
        raise DocumentError(f"{name} is {len(data) / 1048576:.1f} MB; the limit is "
                            f"{max_bytes // 1048576} MB.")
    if b"%PDF-" not in data[:1024]:
        raise DocumentError(f"{name} is not a PDF. Upload the rate confirmation or signed "
                            "BOL / proof of delivery as a PDF file.")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise DocumentError(f"{name} is password-protected; upload an unprotected copy so it "
                                "can be merged behind the invoice.")
        if len(reader.pages) < 1:
            raise DocumentError(f"{name} has no pages.")
    except DocumentError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError,
            AssertionError, RecursionError, OSError):
        raise DocumentError(f"{name} looks like a PDF but cannot be opened; it may be damaged. "
                            "Save or scan it again and upload the new file.")


def add_document(load, actor, kind, filename, data, max_bytes):
    """Keep a PDF with the load; returns the LoadDocument."""
    if kind not in DOCUMENT_KINDS:
        raise DocumentError("Choose what the document is (rate confirmation, BOL, proof of delivery).")
    filename = (re.sub(r"[\x00-\x1f/\\]+", "_", (filename or "").strip()) or "document.pdf")[-120:]
    check_pdf(data, filename, max_bytes)
    with db.atomic():
        stored = StoredFile.create(company=load.company_id, filename=filename,
                                   content_type="application/pdf", size=len(data),
                                   sha256=hashlib.sha256(data).hexdigest(), data=data)
        document = LoadDocument.create(load=load.id, kind=kind, file=stored, uploaded_by=actor)
        audit.record(audit.LOAD_DOCUMENT_ADD, "load", load.id, actor=actor, company=load.company_id,
                     details={"kind": kind, "file": filename, "document": document.id})
    return document


def document_of(load, document_id):
    """One document of LOAD with its bytes, or None."""
    return (LoadDocument.select(LoadDocument, StoredFile)
            .join(StoredFile)
            .where((LoadDocument.load == load.id) & (LoadDocument.id == document_id))
            .first())


def remove_document(load, actor, document_id):
    """Delete one document (and its stored bytes) of LOAD; False when it was not there."""
    document = (LoadDocument.select(LoadDocument, StoredFile.id, StoredFile.filename)
                .join(StoredFile)
                .where((LoadDocument.load == load.id) & (LoadDocument.id == document_id))
                .first())
    if document is None:
        return False
    with db.atomic():
        LoadDocument.delete().where(LoadDocument.id == document.id).execute()
        StoredFile.delete().where(StoredFile.id == document.file.id).execute()
        audit.record(audit.LOAD_DOCUMENT_REMOVE, "load", load.id, actor=actor, company=load.company_id,
                     details={"kind": document.kind, "file": document.file.filename})
    return True


def documents_for_merge(load_ids):
    """{load_id: [pdf bytes, ...]} for the batch file: rate confirmation, BOL, POD, other."""
    order = {kind: n for n, kind in enumerate(DOCUMENT_KINDS)}
    found = {}
    for chunk in chunks(load_ids):
        rows = (LoadDocument.select(LoadDocument.id, LoadDocument.load, LoadDocument.kind,
                                    StoredFile.data)
                .join(StoredFile)
                .where(LoadDocument.load.in_(chunk))
                .tuples())
        for doc_id, load_id, kind, data in rows:
            found.setdefault(load_id, []).append((order.get(kind, len(order)), doc_id, bytes(data)))
    return {load_id: [data for _, _, data in sorted(docs)] for load_id, docs in found.items()}
