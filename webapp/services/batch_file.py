"""The batch file the factor receives: invoice PDFs, the schedule of accounts, the ZIP.

Plain functions of model instances and values; no database access, no request.
Every output is deterministic (same input, same bytes): PDFs are drawn with
reportlab's invariant mode and ZIP entries carry a fixed timestamp, so a file
generated twice is identical and its SHA-256 means something.
"""
import contextvars
import datetime
import io
import os
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import landscape
from reportlab.lib.pagesizes import letter
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import inch
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import KeepTogether
from reportlab.platypus import Paragraph
from reportlab.platypus import SimpleDocTemplate
from reportlab.platypus import Spacer
from reportlab.platypus import Table
from reportlab.platypus import TableStyle

from webapp.models import INFO_NOA
from webapp.models import LINE_KINDS
from webapp.services.parsing import format_cents
from webapp.services.parsing import write_csv

# A TrueType font with wide coverage when the system has one (Debian: fonts-dejavu-core);
# otherwise the PDF base fonts, which draw Windows-1252 only.
FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu")

INK = colors.HexColor("#1f2933")
MUTED = colors.HexColor("#52606d")
LINE = colors.HexColor("#bcccdc")
SHADE = colors.HexColor("#f0f4f8")
ACCENT = colors.HexColor("#102a43")


def _in_cp1252(codepoint):
    try:
        chr(codepoint).encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


@dataclass(frozen=True)
class FontSet:
    """The fonts of one document and the test of which characters they can draw."""

    regular: str
    bold: str
    has_glyph: object


# The PDF base fonts: nothing embedded (an invoice of about 4 KB), Windows-1252 only.
BASE_FONTS = FontSet("Helvetica", "Helvetica-Bold", _in_cp1252)
_wide = []
_current = contextvars.ContextVar("batch_file_fonts", default=BASE_FONTS)


def wide_fonts():
    """DejaVu Sans (embedded, wide coverage) when installed, registered once; else None."""
    if not _wide:
        found = None
        for folder in FONT_DIRS:
            regular = os.path.join(folder, "DejaVuSans.ttf")
            bold = os.path.join(folder, "DejaVuSans-Bold.ttf")
            if os.path.exists(regular) and os.path.exists(bold):
                pdfmetrics.registerFont(TTFont("FD-Sans", regular))
                pdfmetrics.registerFont(TTFont("FD-Sans-Bold", bold))
                pdfmetrics.registerFontFamily("FD-Sans", normal="FD-Sans", bold="FD-Sans-Bold",
                                              italic="FD-Sans", boldItalic="FD-Sans-Bold")
                glyphs = frozenset(pdfmetrics.getFont("FD-Sans").face.charToGlyph) & frozenset(
                    pdfmetrics.getFont("FD-Sans-Bold").face.charToGlyph)
                found = FontSet("FD-Sans", "FD-Sans-Bold", glyphs.__contains__)
                break
        _wide.append(found)
    return _wide[0]


def _invisible(ch):
    return unicodedata.category(ch) in ("Cc", "Cf") or 0xFE00 <= ord(ch) <= 0xFE0F


def fonts_for(texts):
    """The base fonts when every character of TEXTS is in Windows-1252, else the wide font.

    Most invoices need nothing else, and then nothing is embedded (a tenth of the size).
    """
    for text in texts:
        for ch in unicodedata.normalize("NFC", text or ""):
            if ch not in "\r\n\t" and not _invisible(ch) and not _in_cp1252(ord(ch)):
                return wide_fonts() or BASE_FONTS
    return BASE_FONTS


def fonts():
    """(regular, bold, glyph test) of the document being drawn."""
    current = _current.get()
    return current.regular, current.bold, current.has_glyph


class _drawing_with:
    """Draw one document with FONTS (a context variable: each worker thread has its own)."""

    def __init__(self, fontset):
        self.fontset = fontset

    def __enter__(self):
        self.token = _current.set(self.fontset)

    def __exit__(self, *exc):
        _current.reset(self.token)


def _texts(*objects, fields=()):
    """The string values of FIELDS on OBJECTS (for fonts_for)."""
    return [str(getattr(o, f, "") or "") for o in objects for f in fields]


def clean(text):
    """TEXT with every character the font cannot draw replaced by a visible '?'.

    Line breaks are kept, tabs become spaces, control and invisible format
    characters (zero-width joiners, emoji variation selectors) are dropped.
    """
    has_glyph = fonts()[2]
    text = unicodedata.normalize("NFC", "" if text is None else str(text))
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")
    out = []
    for ch in text:
        if ch == "\n":
            out.append(ch)
        elif _invisible(ch):
            continue
        elif has_glyph(ord(ch)):
            out.append(ch)
        else:
            out.append("?")
    return "".join(out)


def markup(text):
    """Paragraph markup for user text: escaped, line breaks and indentation kept."""
    lines = []
    for line in escape(clean(text)).split("\n"):
        stripped = line.lstrip(" ")
        lines.append("&nbsp;" * (len(line) - len(stripped)) + stripped)
    return "<br/>".join(lines)


def money(cents):
    """Integer cents as $1,234.56 (negative as -$12.50)."""
    sign = "-" if cents < 0 else ""
    cents = abs(int(cents))
    return f"{sign}${cents // 100:,}.{cents % 100:02d}"


def long_date(value):
    """A date as Nov 25, 2026 (unambiguous for a reader anywhere); blank for None."""
    return value.strftime("%b %d, %Y").replace(" 0", " ") if value else ""


def short_date(value):
    """A date as 11/25/2026 (tables of the schedule); blank for None."""
    return value.strftime("%m/%d/%Y") if value else ""


def mc_label(value):
    """'MC-123456' or '123456' shown as 'MC-123456' / 'MC 123456'; a dash when missing."""
    value = (value or "").strip()
    if not value:
        return "MC —"
    return value if value.upper().startswith("MC") else f"MC {value}"


def terms_label(days):
    """Payment terms as 'Net 30'."""
    return f"Net {int(days)}" if days else "Due on receipt"


def due_date(invoice_date, days):
    """The invoice date plus the customer's terms."""
    return invoice_date + datetime.timedelta(days=int(days or 0)) if invoice_date else None


def _styles():
    regular, bold, _ = fonts()
    base = ParagraphStyle("base", fontName=regular, fontSize=9.5, leading=12.5, textColor=INK)
    return {
        "base": base,
        "small": ParagraphStyle("small", parent=base, fontSize=8, leading=10, textColor=MUTED),
        "label": ParagraphStyle("label", parent=base, fontName=bold, fontSize=7.5, leading=10,
                                textColor=MUTED),
        "company": ParagraphStyle("company", parent=base, fontName=bold, fontSize=15, leading=18,
                                  textColor=ACCENT),
        "title": ParagraphStyle("title", parent=base, fontName=bold, fontSize=24, leading=28,
                                alignment=TA_RIGHT, textColor=ACCENT),
        "h2": ParagraphStyle("h2", parent=base, fontName=bold, fontSize=12, leading=15,
                             textColor=ACCENT, spaceAfter=4),
        "right": ParagraphStyle("right", parent=base, alignment=TA_RIGHT),
        "label_right": ParagraphStyle("label_right", parent=base, fontName=bold, fontSize=7.5,
                                      leading=10, textColor=MUTED, alignment=TA_RIGHT),
        "bold": ParagraphStyle("bold", parent=base, fontName=bold),
        "cell": ParagraphStyle("cell", parent=base, fontSize=8.5, leading=11),
        "cell_right": ParagraphStyle("cell_right", parent=base, fontSize=8.5, leading=11,
                                     alignment=TA_RIGHT),
        "bold_right": ParagraphStyle("bold_right", parent=base, fontName=bold, alignment=TA_RIGHT),
        "noa": ParagraphStyle("noa", parent=base, fontName=bold, fontSize=10, leading=13.5,
                              borderWidth=1.6, borderColor=ACCENT, borderPadding=(10, 12, 10, 12),
                              backColor=colors.HexColor("#fff8e1"), leftIndent=12, rightIndent=12,
                              spaceBefore=24, spaceAfter=20),
        "footer": ParagraphStyle("footer", parent=base, fontSize=8, leading=10.5, textColor=MUTED,
                                 alignment=TA_CENTER),
    }


def _address_lines(obj):
    """Street, second line and 'City, ST 12345' of a subsidiary or customer."""
    lines = [getattr(obj, "address_line1", ""), getattr(obj, "address_line2", "")]
    city_state = ", ".join(p for p in (obj.city, obj.state) if p)
    lines.append(" ".join(p for p in (city_state, obj.postal_code) if p))
    return [line for line in lines if line]


def _ids_line(subsidiary):
    parts = []
    if subsidiary.mc_number:
        parts.append(mc_label(subsidiary.mc_number))
    if subsidiary.usdot_number:
        parts.append(f"USDOT {subsidiary.usdot_number}")
    return " · ".join(parts)


def _subsidiary_block(subsidiary, st):
    out = [Paragraph(markup(subsidiary.legal_name or subsidiary.name), st["company"])]
    lines = _address_lines(subsidiary)
    contact = " · ".join(p for p in (subsidiary.phone, subsidiary.email) if p)
    if contact:
        lines.append(contact)
    ids = _ids_line(subsidiary)
    if lines:
        out.append(Paragraph(markup("\n".join(lines)), st["base"]))
    if ids:
        out.append(Paragraph(markup(ids), st["bold"]))
    return out


def _place(city, state, date):
    where = ", ".join(p for p in (city, state) if p) or "—"
    return f"{where} · {long_date(date)}" if date else where


def _meta_table(rows, st, width):
    data = [[Paragraph(escape(k), st["label"]), Paragraph(markup(v), st["right"])] for k, v in rows]
    table = Table(data, colWidths=[width * 0.42, width * 0.58], hAlign="RIGHT")
    table.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LINEBELOW", (0, 0), (-1, -2), 0.4, LINE),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
        ("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 0),
    ]))
    return table


def _boxed(title, body, st):
    """A titled block (Bill To, Load, Remit To) as a list of paragraphs."""
    return [Paragraph(escape(title).upper(), st["label"]), Spacer(0, 2)] + body


def _noa_paragraph(text, st):
    """The Notice of Assignment, prominent, with its own line breaks; titled if it is not."""
    body = clean(text).strip("\n")
    first, _, rest = body.partition("\n")
    if first.strip().lower().startswith("notice of assignment"):
        html = f"<font size='12'>{escape(first.strip())}</font><br/>{markup(rest)}"
    else:
        html = f"<font size='12'>NOTICE OF ASSIGNMENT</font><br/><br/>{markup(body)}"
    return Paragraph(html, st["noa"])


def _page_footer(label):
    regular = fonts()[0]

    def draw(canvas, doc):
        canvas.saveState()
        canvas.setFont(regular, 7.5)
        canvas.setFillColor(MUTED)
        canvas.drawString(doc.leftMargin, 0.45 * inch, clean(label))
        canvas.drawRightString(doc.pagesize[0] - doc.rightMargin, 0.45 * inch, f"Page {doc.page}")
        canvas.restoreState()
    return draw


def _document(buffer, pagesize, title, author):
    return SimpleDocTemplate(
        buffer, pagesize=pagesize, invariant=1, title=clean(title), author=clean(author),
        creator="Factor Desk", leftMargin=0.6 * inch, rightMargin=0.6 * inch,
        topMargin=0.55 * inch, bottomMargin=0.75 * inch)


def render_invoice(load, customer, subsidiary, lines, info):
    """One invoice PDF (bytes) for LOAD billed by SUBSIDIARY to CUSTOMER.

    LINES are the load's LoadLine rows (a single freight line is printed when there
    are none); INFO maps important-info kinds to their text (the NOA is required).
    """
    texts = (_texts(subsidiary, customer, load, fields=_TEXT_FIELDS)
             + [line.description or "" for line in lines] + [str(v or "") for v in info.values()])
    with _drawing_with(fonts_for(texts)):
        return _render_invoice(load, customer, subsidiary, lines, info)


_TEXT_FIELDS = ("name", "legal_name", "mc_number", "usdot_number", "address_line1", "address_line2", "city",
                "state", "postal_code", "phone", "email", "load_number", "invoice_number",
                "customer_reference", "pickup_city", "pickup_state", "delivery_city", "delivery_state")


def _render_invoice(load, customer, subsidiary, lines, info):
    st = _styles()
    buffer = io.BytesIO()
    doc = _document(buffer, letter, f"Invoice {load.invoice_number}",
                    subsidiary.legal_name or subsidiary.name)
    width = doc.width
    due = due_date(load.invoice_date, customer.payment_terms_days)
    story = []

    meta = _meta_table([
        ("INVOICE NO.", load.invoice_number or ""),
        ("INVOICE DATE", long_date(load.invoice_date)),
        ("TERMS", terms_label(customer.payment_terms_days)),
        ("DUE DATE", long_date(due)),
        ("LOAD NO.", load.load_number),
    ], st, width * 0.36)
    head = Table([[_subsidiary_block(subsidiary, st), [Paragraph("INVOICE", st["title"]), Spacer(0, 6), meta]]],
                 colWidths=[width * 0.6, width * 0.4])
    head.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"), ("ALIGN", (1, 0), (1, 0), "RIGHT"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 0),
        ("LINEBELOW", (0, 0), (-1, 0), 2, ACCENT), ("BOTTOMPADDING", (0, 0), (-1, 0), 10),
    ]))
    story += [head, Spacer(0, 12)]

    bill_to = [Paragraph(markup(customer.name), st["bold"])]
    address = _address_lines(customer)
    if address:
        bill_to.append(Paragraph(markup("\n".join(address)), st["base"]))
    bill_to.append(Paragraph(markup(mc_label(customer.mc_number)), st["base"]))
    load_facts = [
        Paragraph(f"<b>Load</b> {markup(load.load_number)}", st["base"]),
        Paragraph(f"<b>Reference / PO</b> {markup(load.customer_reference or '—')}", st["base"]),
        Paragraph(f"<b>Pickup</b> {markup(_place(load.pickup_city, load.pickup_state, load.pickup_date))}",
                  st["base"]),
        Paragraph(f"<b>Delivery</b> "
                  f"{markup(_place(load.delivery_city, load.delivery_state, load.delivery_date))}",
                  st["base"]),
    ]
    cells = [_boxed("Bill To", bill_to, st), _boxed("Load Details", load_facts, st)]
    if info.get("remit_to", "").strip():
        cells.append(_boxed("Remit To", [Paragraph(markup(info["remit_to"].strip()), st["base"])], st))
    parties = Table([cells], colWidths=[width / len(cells)] * len(cells))
    parties.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (0, -1), 0), ("RIGHTPADDING", (-1, 0), (-1, -1), 0),
        ("LEFTPADDING", (1, 0), (-1, -1), 12),
    ]))
    story += [parties, Spacer(0, 16)]

    items = [[Paragraph("DESCRIPTION", st["label"]), Paragraph("AMOUNT", st["label_right"])]]
    ordered = sorted(lines, key=lambda line: (line.position, line.id or 0))
    if not ordered:
        items.append([Paragraph("Freight charges", st["base"]), Paragraph(money(load.total_cents), st["right"])])
    for line in ordered:
        label = line.description or LINE_KINDS.get(line.kind, line.kind)
        items.append([Paragraph(markup(label), st["base"]), Paragraph(money(line.amount_cents), st["right"])])
    items.append([Paragraph("TOTAL DUE", st["bold"]), Paragraph(money(load.total_cents), st["bold_right"])])
    table = Table(items, colWidths=[width * 0.75, width * 0.25], repeatRows=1)
    table.setStyle(TableStyle([
        ("BACKGROUND", (0, 0), (-1, 0), SHADE),
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, LINE),
        ("LINEBELOW", (0, 1), (-1, -3), 0.4, LINE),
        ("LINEABOVE", (0, -1), (-1, -1), 1.2, ACCENT),
        ("BACKGROUND", (0, -1), (-1, -1), SHADE),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 5), ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
    ]))
    story.append(table)

    terms = info.get("invoice_terms", "").strip()
    story.append(Spacer(0, 8))
    story.append(Paragraph(
        f"<b>Terms:</b> {terms_label(customer.payment_terms_days)}, due {long_date(due) or 'on receipt'}.",
        st["base"]))
    if terms:
        story.append(Paragraph(markup(terms), st["small"]))

    story.append(_noa_paragraph(info.get(INFO_NOA, ""), st))

    footer = info.get("invoice_footer", "").strip()
    if footer:
        story += [Spacer(0, 6), Paragraph(markup(footer), st["footer"])]

    label = f"{subsidiary.legal_name or subsidiary.name} · Invoice {load.invoice_number}"
    doc.build(story, onFirstPage=_page_footer(label), onLaterPages=_page_footer(label))
    return buffer.getvalue()


@dataclass
class ScheduleRow:
    """One invoice of the schedule of accounts."""

    invoice_number: str
    load_number: str
    invoice_date: datetime.date
    customer_name: str
    customer_mc: str
    amount_cents: int
    terms_days: int
    due_date: datetime.date


SCHEDULE_CSV_HEADERS = ["Invoice Number", "Load Number", "Invoice Date", "Customer", "Customer MC",
                        "Amount", "Terms", "Due Date"]


def schedule_csv(rows):
    """schedule.csv bytes (UTF-8 with a BOM for Excel): one row per invoice and a total row."""
    body = [[r.invoice_number, r.load_number, r.invoice_date.isoformat() if r.invoice_date else "",
             r.customer_name, r.customer_mc, format_cents(r.amount_cents), terms_label(r.terms_days),
             r.due_date.isoformat() if r.due_date else ""] for r in rows]
    total = sum(r.amount_cents for r in rows)
    body.append(["Total", f"{len(rows)} invoices", "", "", "", format_cents(total), "", ""])
    return write_csv(SCHEDULE_CSV_HEADERS, body).encode("utf-8-sig")


def render_schedule(subsidiary, provider_label, batch_number, batch_date, rows):
    """schedule.pdf bytes: the schedule of accounts with its totals and a signature line."""
    texts = _texts(subsidiary, fields=_TEXT_FIELDS) + [provider_label] + [
        f"{r.invoice_number}{r.load_number}{r.customer_name}{r.customer_mc}" for r in rows]
    with _drawing_with(fonts_for(texts)):
        return _render_schedule(subsidiary, provider_label, batch_number, batch_date, rows)


def _render_schedule(subsidiary, provider_label, batch_number, batch_date, rows):
    st = _styles()
    buffer = io.BytesIO()
    doc = _document(buffer, landscape(letter), f"Schedule of Accounts — batch {batch_number}",
                    subsidiary.legal_name or subsidiary.name)
    width = doc.width
    total = sum(r.amount_cents for r in rows)

    meta = _meta_table([
        ("FACTOR", provider_label),
        ("BATCH NO.", f"{batch_number:04d}"),
        ("DATE", long_date(batch_date)),
        ("INVOICES", str(len(rows))),
        ("TOTAL", money(total)),
    ], st, width * 0.32)
    head = Table([[_subsidiary_block(subsidiary, st),
                   [Paragraph("SCHEDULE OF ACCOUNTS", st["title"]), Spacer(0, 6), meta]]],
                 colWidths=[width * 0.5, width * 0.5])
    head.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"), ("ALIGN", (1, 0), (1, 0), "RIGHT"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 0),
        ("LINEBELOW", (0, 0), (-1, 0), 2, ACCENT), ("BOTTOMPADDING", (0, 0), (-1, 0), 10),
    ]))
    story = [head, Spacer(0, 12)]

    headers = ["#", "INVOICE NO.", "LOAD NO.", "INVOICE DATE", "CUSTOMER (DEBTOR)", "CUSTOMER MC",
               "TERMS", "DUE DATE", "AMOUNT"]
    data = [[Paragraph(h, st["label_right" if h == "AMOUNT" else "label"]) for h in headers]]
    for n, r in enumerate(rows, start=1):
        cell = st["cell"]
        data.append([
            Paragraph(str(n), st["small"]), Paragraph(markup(r.invoice_number), cell),
            Paragraph(markup(r.load_number), cell), Paragraph(short_date(r.invoice_date), cell),
            Paragraph(markup(r.customer_name), cell), Paragraph(markup(r.customer_mc or "—"), cell),
            Paragraph(terms_label(r.terms_days), cell), Paragraph(short_date(r.due_date), cell),
            Paragraph(money(r.amount_cents), st["cell_right"]),
        ])
    data.append([Paragraph("", st["base"]), Paragraph(f"{len(rows)} invoices", st["bold"])]
                + [Paragraph("", st["base"])] * 5
                + [Paragraph("TOTAL", st["bold"]), Paragraph(money(total), st["bold_right"])])
    fractions = [0.04, 0.125, 0.095, 0.095, 0.245, 0.105, 0.07, 0.095, 0.13]
    table = Table(data, colWidths=[width * f for f in fractions], repeatRows=1)
    table.setStyle(TableStyle([
        ("BACKGROUND", (0, 0), (-1, 0), SHADE),
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, LINE),
        ("LINEBELOW", (0, 1), (-1, -3), 0.4, LINE),
        ("LINEABOVE", (0, -1), (-1, -1), 1.2, ACCENT),
        ("BACKGROUND", (0, -1), (-1, -1), SHADE),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 4), ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
    ]))
    story.append(table)

    name = subsidiary.legal_name or subsidiary.name
    statement = Paragraph(
        f"{markup(name)} submits the {len(rows)} invoices listed above, totalling {money(total)}, "
        f"to {markup(provider_label)} for purchase. The invoices and their supporting documents "
        "are enclosed in this batch file.", st["base"])
    sign = Table([
        ["", "", "", "", ""],
        [Paragraph("Authorized signature", st["small"]), "", Paragraph("Name and title", st["small"]), "",
         Paragraph("Date", st["small"])],
    ], colWidths=[width * 0.36, width * 0.05, width * 0.3, width * 0.05, width * 0.24], rowHeights=[34, 14])
    sign.setStyle(TableStyle([
        ("LINEBELOW", (0, 0), (0, 0), 0.8, INK), ("LINEBELOW", (2, 0), (2, 0), 0.8, INK),
        ("LINEBELOW", (4, 0), (4, 0), 0.8, INK),
        ("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 0),
    ]))
    story.append(KeepTogether([Spacer(0, 16), statement, Spacer(0, 10), sign]))

    label = f"{name} · Schedule of Accounts · Batch {batch_number:04d} · {provider_label}"
    doc.build(story, onFirstPage=_page_footer(label), onLaterPages=_page_footer(label))
    return buffer.getvalue()


def merge_pdfs(first, documents):
    """FIRST (PDF bytes) followed by every page of each of DOCUMENTS (PDF bytes).

    A document that is not a readable PDF raises ValueError saying which one.
    """
    if not documents:
        return first
    from pypdf import PdfReader
    from pypdf import PdfWriter
    from pypdf.errors import PyPdfError

    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(first)))
    for n, data in enumerate(documents, start=1):
        try:
            writer.append(PdfReader(io.BytesIO(data)))
        except (PyPdfError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"its document {n} of {len(documents)} is not a readable PDF ({exc})") from exc
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def slug(text):
    """Lower-case ASCII words joined by dashes: 'Demo Freight, LLC' -> 'demo-freight-llc'."""
    ascii_text = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "x"


def zip_filename(provider_label, subsidiary_name, batch_number):
    """capital-depot_demo-freight-llc_batch-0007.zip"""
    return f"{slug(provider_label)}_{slug(subsidiary_name)}_batch-{batch_number:04d}.zip"


def invoice_filename(invoice_number, taken=()):
    """invoice_<invoice number>.pdf, safe as a file name and not among TAKEN."""
    safe = re.sub(r"[^A-Za-z0-9_-]+", "-", invoice_number or "").strip("-") or "invoice"
    name = f"invoice_{safe}.pdf"
    n = 2
    while name in taken:
        name = f"invoice_{safe}-{n}.pdf"
        n += 1
    return name


def build_zip(entries, when):
    """ZIP bytes of ENTRIES [(name, bytes)], every entry stamped WHEN (so the bytes repeat)."""
    stamp = (max(when.year, 1980), when.month, when.day, when.hour, when.minute, when.second)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            entry = zipfile.ZipInfo(name, date_time=stamp)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.create_system = 3
            entry.external_attr = 0o644 << 16
            archive.writestr(entry, data)
    return out.getvalue()
