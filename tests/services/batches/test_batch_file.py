"""The batch file (services/batches/batch_file.py): invoice and schedule PDFs read back, schedule.csv, the ZIP, determinism."""
import csv
import datetime
import io
import zipfile

import pytest
from pypdf import PdfReader

from tests.helpers import INVOICE_DAY
from tests.helpers import invoice_customer as _customer
from tests.helpers import invoice_load as _load
from tests.helpers import invoice_subsidiary as _subsidiary
from tests.helpers import submit_batch
from tests.helpers import text_pdf
from webapp.models import Batch
from webapp.models import Customer
from webapp.models import ImportantInfo
from webapp.models import Load
from webapp.models import LoadDocument
from webapp.models import LoadLine
from webapp.models import StoredFile
from webapp.ops.demo import CAPITAL_DEPOT_NOA
from webapp.services.batches import batch_file
from webapp.services.money import format_cents
from webapp.services.money import format_money

DAY = INVOICE_DAY


def _text(pdf):
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


LINES = [LoadLine(kind="linehaul", description="Linehaul", amount_cents=250000, position=0),
         LoadLine(kind="fuel", description="Fuel surcharge", amount_cents=37500, position=1),
         LoadLine(kind="accessorial", description="Detention (2 h)", amount_cents=30750, position=2)]


def _invoice(load=None, customer=None, subsidiary=None, info=None):
    return batch_file.render_invoice(load or _load(), customer or _customer(), subsidiary or _subsidiary(),
                                     LINES, info or {"noa": CAPITAL_DEPOT_NOA})


def test_invoice_carries_the_noa_with_its_lines_the_ids_and_the_total():
    text = _text(_invoice())
    lines = [line.strip() for line in text.splitlines()]
    for noa_line in CAPITAL_DEPOT_NOA.splitlines():
        if noa_line.strip():
            assert noa_line.strip() in lines, noa_line
    assert "NOTICE OF ASSIGNMENT" in lines
    assert "MC-1234567 · USDOT 3456789" in text  # the subsidiary
    assert "MC-482913" in lines  # the customer's MC in the bill-to
    assert "INVOICE" in lines
    assert "INV-DT-5005" in text and "DT-1005" in text and "PO-448812" in text
    assert "Dallas, TX · 11/18/2026" in text and "Memphis, TN · 11/20/2026" in text
    assert "$2,500.00" in text and "$375.00" in text and "$307.50" in text
    assert "TOTAL DUE" in lines and "$3,182.50" in lines
    assert "12/20/2026" in text  # due date: invoice date + Net 30


def test_invoice_prints_remit_to_terms_and_footer_when_present():
    info = {"noa": CAPITAL_DEPOT_NOA, "remit_to": "Capital Depot\nP.O. Box 4410",
            "invoice_terms": "Late payments accrue 1.5% per month.", "invoice_footer": "Thank you!"}
    text = _text(_invoice(info=info))
    assert "REMIT TO" in text
    assert "Late payments accrue 1.5% per month." in text
    assert "Thank you!" in text


def test_noa_without_its_own_title_gets_one():
    text = _text(_invoice(info={"noa": "Pay Capital Depot only.\nP.O. Box 1"}))
    assert "NOTICE OF ASSIGNMENT" in text
    assert "Pay Capital Depot only." in text


def test_text_outside_latin1_renders_or_degrades_visibly():
    customer = _customer(name="Hernández & Söhne “Imports” 🚚 Łódź")
    info = {"noa": "Assigned to Capital Depot — payez 💸 à Capital Depot\n\u200dline two"}
    text = _text(_invoice(customer=customer, info=info))
    assert "Hernández & Söhne “Imports”" in text
    assert "Łódź" in text if batch_file.wide_fonts() else "?ód?" in text
    assert "Assigned to Capital Depot — payez" in text
    assert "line two" in text


def test_without_a_wide_font_unsupported_characters_become_question_marks(monkeypatch):
    monkeypatch.setattr(batch_file, "wide_fonts", lambda: None)
    assert batch_file.clean("Łódź “ok” é 🚚") == "?ód? “ok” é ?"
    text = _text(_invoice(customer=_customer(name="Zürich “Łódź” 🚚")))
    assert "Zürich “?ód?” ?" in text


def test_without_a_wide_font_the_log_says_which_characters_and_what_to_install(monkeypatch, caplog):
    monkeypatch.setattr(batch_file, "wide_fonts", lambda: None)
    with caplog.at_level("WARNING", logger="webapp.services.batches.batch_file"):
        _invoice(customer=_customer(name="Łódź Logistics"))
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings and "U+0141" in warnings[0] and "fonts-dejavu-core" in warnings[0]
    caplog.clear()
    with caplog.at_level("WARNING", logger="webapp.services.batches.batch_file"):
        _invoice(customer=_customer(name="Hernández & Söhne"))  # all Windows-1252: nothing to say
    assert not [r for r in caplog.records if r.levelname == "WARNING"]


def _font_names(pdf):
    reader = PdfReader(io.BytesIO(pdf))
    return {str(font["/BaseFont"]) for font in reader.pages[0]["/Resources"]["/Font"].values()}


def test_plain_invoices_embed_no_font_and_others_embed_the_wide_one():
    plain = _invoice(customer=_customer(name="Hernández & Söhne “Imports” — Zürich"))
    assert _font_names(plain) == {"/Helvetica", "/Helvetica-Bold"}
    assert len(plain) < 10_000
    if batch_file.wide_fonts() is None:
        pytest.skip("no wide-coverage font installed (fonts-dejavu-core)")
    wide = _invoice(customer=_customer(name="Łódź Logistics"))
    assert any("DejaVu" in name for name in _font_names(wide))
    assert "Łódź Logistics" in _text(wide)


def test_user_text_is_drawn_as_written():
    text = _text(_invoice(customer=_customer(name="<script>alert(1)</script> & Co")))
    assert "<script>alert(1)</script> & Co" in text


def test_pdfs_are_the_same_bytes_every_time():
    assert _invoice() == _invoice()
    rows = [batch_file.ScheduleRow("INV-1", "L-1", DAY, "A", "MC-1", 100, 30, DAY)]
    one = batch_file.render_schedule(_subsidiary(), "Capital Depot", 7, DAY, rows)
    assert one == batch_file.render_schedule(_subsidiary(), "Capital Depot", 7, DAY, rows)


def _through_reportlab(pagesize, pages, title, author, creator):
    """The same pages written by reportlab's canvas, as the pens did before base_pdf."""
    from reportlab.pdfgen import canvas
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=pagesize, invariant=1, pageCompression=0)
    page.setTitle(title)
    page.setAuthor(author)
    page.setCreator(creator)
    for font in ("Helvetica", "Helvetica-Bold"):  # both named up front, as the pens did
        page._doc.getInternalFontName(font)
    for code in pages:
        for operator in code:
            page.addLiteral(operator)
        page.showPage()
    page.save()
    return buffer.getvalue()


@pytest.mark.parametrize("epoch", ["", "1767225600"])
def test_base_font_pdfs_are_the_bytes_reportlabs_canvas_writes(monkeypatch, epoch):
    from webapp.services.batches import base_pdf
    monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch)
    written = []
    write = base_pdf.write

    def spy(*args):
        written.append((args, write(*args)))
        return written[-1][1]

    monkeypatch.setattr(base_pdf, "write", spy)
    subsidiary = _subsidiary(legal_name="Müller (Transport) — Ltd \\ Co")
    _invoice(subsidiary=subsidiary)
    batch_file.render_schedule(subsidiary, "Capital Depot", 7, DAY, _rows(400))  # 16 pages: the page tree wraps
    assert len(written) == 2 and len(written[1][0][1]) > 10
    for args, data in written:
        assert data == _through_reportlab(*args)


def _rows(n=3):
    return [batch_file.ScheduleRow(f"INV-{i}", f"DT-{i}", DAY, f"Customer {i}", f"MC-{i}", 100000 + i,
                                   30, DAY + datetime.timedelta(days=30)) for i in range(1, n + 1)]


def test_schedule_pdf_has_the_header_table_totals_and_signature_line():
    rows = _rows(40)  # more than one page
    pdf = batch_file.render_schedule(_subsidiary(), "Capital Depot", 7, DAY, rows)
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) >= 2
    text = _text(pdf)
    assert "SCHEDULE OF ACCOUNTS" in text
    assert "Demo Freight LLC" in text and "MC-1234567 · USDOT 3456789" in text
    assert "Capital Depot" in text and "0007" in text
    assert "40 invoices" in text
    total = sum(r.amount_cents for r in rows)
    assert format_money(total) in text
    assert all(f"INV-{i}" in text for i in range(1, 41))
    assert "Authorized signature" in text


def test_schedule_csv_has_every_invoice_and_a_total_row():
    rows = _rows(3)
    data = batch_file.schedule_csv(rows)
    assert data.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert table[0] == ["Invoice Number", "Load Number", "Invoice Date", "Customer", "Customer MC",
                        "Amount", "Terms", "Due Date"]
    assert table[1] == ["INV-1", "DT-1", "2026-11-20", "Customer 1", "MC-1", "1000.01", "Net 30", "2026-12-20"]
    assert table[-1][0] == "Total" and table[-1][1] == "3 invoices"
    assert table[-1][5] == "3000.06"


def test_schedule_csv_cells_cannot_run_as_formulas():
    rows = [batch_file.ScheduleRow("=HYPERLINK(\"http://x\")", "+1-2", DAY, "@SUM(A1)", "-cmd|' /C calc'!A0",
                                   500, 30, DAY)]
    table = list(csv.reader(io.StringIO(batch_file.schedule_csv(rows).decode("utf-8-sig"))))
    invoice, load, _, customer, mc, amount = table[1][:6]
    assert invoice.startswith("'=") and load.startswith("'+") and customer.startswith("'@") and mc.startswith("'-")
    assert amount == "5.00"


def test_zip_name_and_invoice_names():
    assert batch_file.zip_filename("Capital Depot", "Demo Freight LLC", 7) == \
        "capital-depot_demo-freight-llc_batch-0007.zip"
    assert batch_file.zip_filename("Capital Depot", "Hernández & Söhne, Inc.", 12) == \
        "capital-depot_hernandez-sohne-inc_batch-0012.zip"
    assert batch_file.invoice_filename("INV/7 ../x") == "invoice_INV-7-x.pdf"
    assert batch_file.invoice_filename("A", taken={"invoice_A.pdf"}) == "invoice_A-2.pdf"


def test_zip_bytes_repeat_and_entries_are_stamped_with_the_batch_time():
    when = datetime.datetime(2026, 11, 25, 14, 5, 9)
    entries = [("schedule.csv", b"a,b\r\n"), ("invoice_1.pdf", b"%PDF-1.4 x")]
    one = batch_file.build_zip(entries, when)
    assert one == batch_file.build_zip(entries, when)
    archive = zipfile.ZipFile(io.BytesIO(one))
    assert archive.namelist() == ["schedule.csv", "invoice_1.pdf"]
    assert {info.date_time for info in archive.infolist()} == {(2026, 11, 25, 14, 5, 8)}  # 2-second DOS clock
    assert archive.read("schedule.csv") == b"a,b\r\n"


def test_documents_are_merged_behind_the_invoice():
    merged = batch_file.merge_pdfs(_invoice(), [text_pdf(2), text_pdf(1)])
    reader = PdfReader(io.BytesIO(merged))
    assert len(reader.pages) == 4
    assert "INVOICE" in reader.pages[0].extract_text()
    assert "Proof of delivery page 2" in reader.pages[2].extract_text()


def test_an_unreadable_document_is_named():
    with pytest.raises(ValueError, match="document 2 of 2 is not a readable PDF"):
        batch_file.merge_pdfs(_invoice(), [text_pdf(1), b"%PDF-1.4 garbage"])


# --- the batch file of a real batch ---------------------------------------------------

def _zip_of(batch):
    stored = StoredFile.get_by_id(Batch.get_by_id(batch.id).file_id)
    return zipfile.ZipFile(io.BytesIO(bytes(stored.data)))


def test_batch_zip_holds_schedule_and_one_invoice_per_load_with_its_amount(in_app, submitted_batch):
    batch, loads = submitted_batch
    ids = [load.id for load in loads]
    archive = _zip_of(batch)
    loads = {load.invoice_number: load for load in Load.select().where(Load.id.in_(ids))}
    assert sorted(archive.namelist()) == sorted(
        ["schedule.csv", "schedule.pdf"] + [f"invoice_{n}.pdf" for n in loads])
    for number, load in loads.items():
        text = _text(archive.read(f"invoice_{number}.pdf"))
        assert load.load_number in text
        assert format_money(load.total_cents) in text
        assert "Capital Depot Funding, LLC" in text
        assert load.customer.mc_number in text
    table = list(csv.reader(io.StringIO(archive.read("schedule.csv").decode("utf-8-sig"))))
    assert len(table) == 1 + 3 + 1
    assert table[-1][5] == format_cents(Batch.get_by_id(batch.id).total_cents)
    schedule = _text(archive.read("schedule.pdf"))
    assert f"{batch.number:04d}" in schedule and format_money(batch.total_cents) in schedule


def test_load_documents_are_inside_the_invoice_pdf_of_the_batch(in_app, world):
    ids = world.eligible(1)
    LoadDocument.delete().where((LoadDocument.load == ids[0]) & (LoadDocument.kind == "pod")).execute()
    data = text_pdf(2)
    stored = StoredFile.create(company=world.company, filename="pod.pdf", content_type="application/pdf",
                               size=len(data), sha256="x", data=data)
    LoadDocument.create(load=ids[0], kind="pod", file=stored)
    batch = submit_batch(world.company, world.freight, ids, world.billing)
    load = Load.get_by_id(ids[0])
    pdf = _zip_of(batch).read(f"invoice_{load.invoice_number}.pdf")
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 4  # the invoice, the demo's rate confirmation, the POD's two pages
    assert "Rate confirmation: load" in reader.pages[1].extract_text()
    assert "Proof of delivery page 1" in reader.pages[2].extract_text()


def test_a_noa_with_emoji_and_a_customer_with_accents_never_crash_the_job(in_app, world):
    ImportantInfo.update(text="NOTICE OF ASSIGNMENT\nPay only Capital Depot 🏦 — “thanks”").where(
        ImportantInfo.subsidiary == world.freight).execute()
    ids = world.eligible(3)
    hernandez = (Load.select().join(Customer)
                 .where(Load.id.in_(world.eligible()) & Customer.name.startswith("Hern")).first())
    ids = list({*ids, hernandez.id})
    batch = submit_batch(world.company, world.freight, ids, world.billing)
    assert Batch.get_by_id(batch.id).status == "ready"
    text = _text(_zip_of(batch).read(f"invoice_{hernandez.invoice_number}.pdf"))
    assert "Hernández & Söhne Imports" in text
    assert "Pay only Capital Depot" in text and "“thanks”" in text


@pytest.mark.parametrize("company_zone, subsidiary_zone, printed", [
    ("America/Chicago", "", "11/16/2026"),  # 8:30 PM on 11/16 in Texas: the subsidiary's day
    ("America/Chicago", "UTC", "11/17/2026"),  # the subsidiary's own zone wins
    ("Pacific/Honolulu", "", "11/16/2026"),
])
def test_the_schedule_is_dated_in_the_subsidiarys_time_zone(in_app, world, company_zone, subsidiary_zone, printed):
    from webapp.models import Company
    from webapp.models import Subsidiary
    from webapp.services import batches

    Company.update(time_zone=company_zone).where(Company.id == world.company.id).execute()
    Subsidiary.update(time_zone=subsidiary_zone).where(Subsidiary.id == world.freight.id).execute()
    batch = batches.create_batch(world.company, world.freight, world.eligible(1), world.billing)
    evening = datetime.datetime(2026, 11, 17, 2, 30)  # UTC
    Batch.update(created_at=evening).where(Batch.id == batch.id).execute()
    batches.run_batch(batch.id)
    archive = _zip_of(batch)
    lines = _text(archive.read("schedule.pdf")).splitlines()
    assert lines[lines.index("DATE") + 1] == printed
    local = {"11/16/2026": (2026, 11, 16), "11/17/2026": (2026, 11, 17)}[printed]
    assert archive.infolist()[0].date_time[:3] == local
