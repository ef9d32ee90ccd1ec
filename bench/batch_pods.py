"""A 1,000-load batch whose loads each carry a two-page proof of delivery, beside its floor.

Set-up, not timed: a two-page PDF proof of delivery of its own for each of 1,000 eligible loads,
kept with the load through the product's document storage (services/loads/documents.add_document,
what an upload does: a StoredFile and a LoadDocument of kind 'pod'). Timed: submitting the batch
until its ZIP is stored, the batch file merging each load's POD behind its invoice.

The floor, in the same run: reportlab drawing each invoice's text on a bare page (as
floors.reportlab_pages does), then pypdf merging the same stored POD pages behind it.
"""
import io
import zipfile

from pypdf import PdfReader
from pypdf import PdfWriter
from reportlab.lib.pagesizes import letter
from reportlab.pdfgen import canvas

from bench import floors
from bench import product
from bench.stats import Figure
from bench.stats import Timer
from bench.stats import ms

LOADS = 1000
POD_PAGES = 2
TARGET = 2.0  # the batch at most this many times its floor (issue 14)


def pod_pdf(load_number, consignee):
    """A two-page proof of delivery of LOAD_NUMBER, as a carrier's app makes one: the delivery
    receipt with its pieces, then the page signed by CONSIGNEE (compressed, like most PDFs)."""
    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=letter, invariant=1, pageCompression=1)
    page.setTitle(f"POD {load_number}")
    page.setFont("Helvetica-Bold", 16)
    page.drawString(54, 730, "PROOF OF DELIVERY")
    page.setFont("Helvetica", 10)
    page.drawString(54, 710, f"Load {load_number} · Consignee {consignee}")
    y = 680
    for n in range(1, 13):
        page.drawString(54, y, f"Piece {n:02d}   pallet, shrink-wrapped   {40 + n * 3} lb   received in good order")
        page.line(54, y - 4, 558, y - 4)
        y -= 22
    page.showPage()
    page.setFont("Helvetica", 10)
    page.drawString(54, 730, f"Load {load_number}: received the goods above, complete and undamaged.")
    path = page.beginPath()
    path.moveTo(80, 600)
    for k in range(12):
        path.curveTo(95 + 30 * k, 640, 105 + 30 * k, 570, 110 + 30 * k, 600)
    page.drawPath(path)
    page.line(54, 585, 400, 585)
    page.drawString(54, 570, f"Signed: {consignee}")
    page.showPage()
    page.save()
    return out.getvalue()


def attach_pods(load_ids, actor):
    """Keep a POD of its own with each of LOAD_IDS as an upload would; the kept bytes, in order."""
    from webapp.models import Load
    from webapp.services.loads import documents

    kept = {}
    for load in Load.select().where(Load.id.in_(load_ids)):
        document = documents.add_document(load, actor, "pod", f"pod-{load.load_number}.pdf",
                                          pod_pdf(load.load_number, f"Receiving dock {load.id % 97}"), None)
        kept[load.id] = bytes(document.file.data)
    return [kept[i] for i in load_ids]


def floor(rows, pods):
    """Each invoice's text drawn on a bare page, then the same POD pages merged behind it by pypdf."""
    size = 0
    for row, pod in zip(rows, pods):
        invoice = io.BytesIO()
        page = canvas.Canvas(invoice, pagesize=letter, invariant=1)
        page.setFont(floors.FONT, 10)
        y = 740
        for text in floors.invoice_text(row):
            page.drawString(54, y, text)
            y -= 14
        page.showPage()
        page.save()
        writer = PdfWriter()
        writer.append(PdfReader(io.BytesIO(invoice.getvalue())))
        writer.append(PdfReader(io.BytesIO(pod)))
        out = io.BytesIO()
        writer.write(out)
        size += out.tell()
    return size


def _pages_of_one_invoice(batch):
    """The pages of the batch's first invoice PDF (the invoice and its POD behind it)."""
    archive = zipfile.ZipFile(io.BytesIO(bytes(batch.file.data)))
    name = next(n for n in archive.namelist() if n.startswith("invoice_"))
    return len(PdfReader(io.BytesIO(archive.read(name))).pages)


def measure(bench):
    """Add the figure: the batch with its PODs beside the floor measured in the same run."""
    from webapp.models import Batch
    from webapp.models import Company
    from webapp.models import Subsidiary
    from webapp.models import User

    ids = bench.eligible_ids(LOADS)
    company = Company.get_by_id(bench.facts["company_id"])
    subsidiary = Subsidiary.get_by_id(bench.facts["eligible_subsidiary_id"])
    actor = User.get(User.email == bench.facts["billing_email"])
    pods = attach_pods(ids, actor)
    rows = floors.invoice_rows(bench.floor_db, ids)
    with Timer() as base:
        floor(rows, pods)
    with Timer() as t:
        batch_id = bench.profiled("batch-pods-1000", product.submit_batch, company, subsidiary, ids, actor)
    batch = Batch.get_by_id(batch_id)
    if batch.status != "ready":
        raise RuntimeError(f"the batch ended {batch.status}: {batch.error}")
    pages = _pages_of_one_invoice(batch)
    if pages != 1 + POD_PAGES:
        raise RuntimeError(f"an invoice of the batch has {pages} pages, not the invoice and its {POD_PAGES}-page POD")
    ratio, cpu_ratio = t.seconds / base.seconds, t.cpu / base.cpu
    per = ms(t.seconds) / len(ids)
    bench.add(Figure(f"Submit a {len(ids):,}-load batch, each load with a {POD_PAGES}-page POD, until its ZIP is stored",
                     f"{t.seconds:.2f} s ({per:.2f} ms per invoice, {ratio:.1f} × floor; CPU {t.cpu:.2f} s, "
                     f"{cpu_ratio:.1f} × floor)",
                     f"{base.seconds:.2f} s (CPU {base.cpu:.2f} s; reportlab page + pypdf merge of the POD)",
                     f"≤ {TARGET:g} × floor", ratio <= TARGET,
                     values={"seconds": t.seconds, "cpu_seconds": t.cpu, "ms_per_invoice": per,
                             "floor_seconds": base.seconds, "floor_cpu_seconds": base.cpu, "ratio": ratio,
                             "cpu_ratio": cpu_ratio, "batch_id": batch_id, "zip_bytes": batch.file.size,
                             "pod_bytes": sum(len(p) for p in pods) // len(pods)},
                     cpu_met=cpu_ratio <= TARGET))
