"""The batch file the factor receives: invoice PDFs, the schedule of accounts, the ZIP.

Plain functions of model instances and values; no database access, no request.
Every output is deterministic (same input, same bytes): PDFs are drawn with
reportlab's invariant mode and ZIP entries carry a fixed timestamp, so a file
generated twice is identical and its SHA-256 means something.
"""
import contextvars
import datetime
import functools
import io
import os
import re
import unicodedata
import zipfile
from dataclasses import dataclass

from reportlab.lib import colors
from reportlab.lib.pagesizes import landscape
from reportlab.lib.pagesizes import letter
from reportlab.lib.units import inch
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from webapp.models import INFO_NOA
from webapp.models import LINE_KINDS
from webapp.services.money import format_cents
from webapp.services.money import format_money
from webapp.services.tables import write_csv

# A TrueType font with wide coverage when the system has one (Debian: fonts-dejavu-core);
# otherwise the PDF base fonts, which draw Windows-1252 only.
FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu")

INK = colors.HexColor("#1f2933")
MUTED = colors.HexColor("#52606d")
LINE = colors.HexColor("#bcccdc")
SHADE = colors.HexColor("#f0f4f8")
ACCENT = colors.HexColor("#102a43")


@functools.lru_cache(maxsize=4096)
def _in_cp1252(codepoint):
    try:
        chr(codepoint).encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


# Characters dropped from drawn text: controls (but the line break), invisible format
# characters (zero-width joiners...) and emoji variation selectors.
_INVISIBLE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064"
                        "\ufe00-\ufe0f\ufeff]")


def _plain(text):
    """True when TEXT is all Windows-1252 and has nothing to drop (the common case)."""
    try:
        text.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return not _INVISIBLE.search(text)


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
        text = unicodedata.normalize("NFC", text or "")
        if _plain(text):
            continue
        for ch in text:
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
    if _plain(text):
        return text
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


# --- drawing: straight on the canvas (platypus' paragraphs cost ten times more per invoice) ---

PAGE_MARGIN_X = 0.6 * inch
PAGE_TOP = 0.55 * inch
PAGE_BOTTOM = 0.75 * inch
NOA_FILL = colors.HexColor("#fff8e1")


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


def _place(city, state, date):
    where = ", ".join(p for p in (city, state) if p) or "—"
    return f"{where} · {long_date(date)}" if date else where


def wrap(text, font, size, width):
    """TEXT cleaned and broken into lines that fit WIDTH; its own line breaks and indentation kept."""
    return list(_wrap("" if text is None else str(text), font, size, round(width, 2), _current.get()))


@functools.lru_cache(maxsize=2048)
def _wrap(text, font, size, width, fontset):
    """wrap(), remembered: a batch repeats its header, NOA and customers on every invoice."""
    out = []
    for raw in clean(text).split("\n"):
        body = raw.lstrip(" ")
        indent = raw[:len(raw) - len(body)]
        if not body:
            out.append("")
            continue
        room = max(width - stringWidth(indent, font, size), width / 2)
        for piece in simpleSplit(body, font, size, room) or [""]:
            while stringWidth(piece, font, size) > room and len(piece) > 1:  # one unbreakable word
                cut = len(piece) - 1
                while cut > 1 and stringWidth(piece[:cut], font, size) > room:
                    cut -= 1
                out.append(indent + piece[:cut])
                piece = piece[cut:]
            out.append(indent + piece)
    return tuple(out)


class _Pen:
    """Draws top-down on a canvas and turns the page, with a footer, when the space runs out."""

    def __init__(self, buffer, pagesize, title, author, footer):
        self.fonts = _current.get()
        self.c = canvas.Canvas(buffer, pagesize=pagesize, invariant=1, pageCompression=0)
        self.c.setTitle(clean(title))
        self.c.setAuthor(clean(author))
        self.c.setCreator("Factor Desk")
        self.width, self.height = pagesize
        self.x0, self.x1 = PAGE_MARGIN_X, self.width - PAGE_MARGIN_X
        self.y = self.height - PAGE_TOP
        self.page = 1
        self.footer = clean(footer)
        self.on_new_page = None
        self._font = self._color = None

    def font(self, bold=False):
        return self.fonts.bold if bold else self.fonts.regular

    def text(self, x, y, value, size=9.5, bold=False, color=INK, align="left"):
        font = (self.font(bold), size)
        if font != self._font:
            self.c.setFont(*font)
            self._font = font
        if color is not self._color:
            self.c.setFillColor(color)
            self._color = color
        if align == "right":
            self.c.drawRightString(x, y, value)
        elif align == "center":
            self.c.drawCentredString(x, y, value)
        else:
            self.c.drawString(x, y, value)

    def block(self, x, y, lines, size=9.5, bold=False, color=INK, leading=12.5):
        """LINES drawn downward from baseline Y in one text object; returns the next baseline."""
        if not lines:
            return y
        text = self.c.beginText(x, y)
        text.setFont(self.font(bold), size, leading)
        text.setFillColor(color)
        for line in lines:
            text.textLine(line)
        self.c.drawText(text)
        self._font = self._color = None
        return y - leading * len(lines)

    def width_of(self, value, size=9.5, bold=False):
        return stringWidth(value, self.font(bold), size)

    def rule(self, y, weight=0.4, color=LINE, x0=None, x1=None):
        self.c.setStrokeColor(color)
        self.c.setLineWidth(weight)
        self.c.line(self.x0 if x0 is None else x0, y, self.x1 if x1 is None else x1, y)

    def band(self, top, height, fill=SHADE):
        self.c.setFillColor(fill)
        self._color = fill
        self.c.rect(self.x0, top - height, self.x1 - self.x0, height, stroke=0, fill=1)

    def need(self, height):
        """Turn the page unless HEIGHT fits above the bottom margin."""
        if self.y - height < PAGE_BOTTOM:
            self.turn()
            return True
        return False

    def _draw_footer(self):
        self.text(self.x0, 0.45 * inch, self.footer, size=7.5, color=MUTED)
        self.text(self.x1, 0.45 * inch, f"Page {self.page}", size=7.5, color=MUTED, align="right")

    def turn(self):
        self._draw_footer()
        self.c.showPage()
        self._font = self._color = None
        self.page += 1
        self.y = self.height - PAGE_TOP
        if self.on_new_page:
            self.on_new_page()

    def close(self):
        self._draw_footer()
        self.c.save()


def _header(pen, subsidiary, title, meta, right_width):
    """Subsidiary block on the left, TITLE and the META rows on the right, then a rule."""
    top = pen.y
    name_lines = wrap(subsidiary.legal_name or subsidiary.name, pen.font(True), 15,
                      pen.x1 - pen.x0 - right_width - 12)
    y = top - 14
    for line in name_lines:
        pen.text(pen.x0, y, line, size=15, bold=True, color=ACCENT)
        y -= 18
    y += 4
    lines = _address_lines(subsidiary)
    contact = " · ".join(p for p in (subsidiary.phone, subsidiary.email) if p)
    if contact:
        lines.append(contact)
    wrapped = [part for line in lines for part in wrap(line, pen.font(), 9.5, pen.x1 - pen.x0 - right_width - 12)]
    y = pen.block(pen.x0, y, wrapped)
    ids = _ids_line(subsidiary)
    if ids:
        pen.text(pen.x0, y, clean(ids), bold=True)
        y -= 12.5
    left_bottom = y

    pen.text(pen.x1, top - 20, title, size=24, bold=True, color=ACCENT, align="right")
    y = top - 40
    label_x = pen.x1 - right_width
    for n, (label, value) in enumerate(meta):
        pen.text(label_x, y, label, size=7.5, bold=True, color=MUTED)
        pen.text(pen.x1, y, clean(value), align="right")
        if n < len(meta) - 1:
            pen.rule(y - 5, x0=label_x)
        y -= 15
    bottom = min(left_bottom, y) - 2
    pen.rule(bottom, weight=2, color=ACCENT)
    pen.y = bottom - 20


def _column(pen, x, width, title, items):
    """A titled block (Bill To, Load Details, Remit To); ITEMS are (label or '', text, bold)."""
    y = pen.y
    pen.text(x, y, title.upper(), size=7.5, bold=True, color=MUTED)
    y -= 13
    for label, value, bold in items:
        indent = pen.width_of(label + " ", bold=True) if label else 0
        lines = wrap(value, pen.font(bold), 9.5, width - indent)
        if label:
            pen.text(x, y, label, bold=True)
        for n, line in enumerate(lines):
            pen.text(x + (indent if n == 0 else 0), y, line, bold=bold)
            y -= 12.5
    return y


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
    buffer = io.BytesIO()
    company = subsidiary.legal_name or subsidiary.name
    pen = _Pen(buffer, letter, f"Invoice {load.invoice_number}", company,
               f"{company} · Invoice {load.invoice_number}")
    due = due_date(load.invoice_date, customer.payment_terms_days)
    _header(pen, subsidiary, "INVOICE", [
        ("INVOICE NO.", load.invoice_number or ""),
        ("INVOICE DATE", long_date(load.invoice_date)),
        ("TERMS", terms_label(customer.payment_terms_days)),
        ("DUE DATE", long_date(due)),
        ("LOAD NO.", load.load_number),
    ], right_width=190)

    columns = [
        ("Bill To", [("", customer.name, True)] + [("", a, False) for a in _address_lines(customer)]
         + [("", mc_label(customer.mc_number), False)]),
        ("Load Details", [
            ("Load", load.load_number, False),
            ("Reference / PO", load.customer_reference or "—", False),
            ("Pickup", _place(load.pickup_city, load.pickup_state, load.pickup_date), False),
            ("Delivery", _place(load.delivery_city, load.delivery_state, load.delivery_date), False),
        ]),
    ]
    if (info.get("remit_to") or "").strip():
        columns.append(("Remit To", [("", info["remit_to"].strip(), False)]))
    span = (pen.x1 - pen.x0) / len(columns)
    bottoms = [_column(pen, pen.x0 + n * span, span - 14, title, items) for n, (title, items) in enumerate(columns)]
    pen.y = min(bottoms) - 14

    amount_x = pen.x1 - 6
    desc_width = (pen.x1 - pen.x0) * 0.72

    def items_header():
        pen.band(pen.y, 18)
        pen.rule(pen.y - 18, weight=0.8)
        pen.text(pen.x0 + 6, pen.y - 12, "DESCRIPTION", size=7.5, bold=True, color=MUTED)
        pen.text(amount_x, pen.y - 12, "AMOUNT", size=7.5, bold=True, color=MUTED, align="right")
        pen.y -= 18

    pen.need(60)
    items_header()
    ordered = sorted(lines, key=lambda line: (line.position, line.id or 0))
    rows = [(line.description or LINE_KINDS.get(line.kind, line.kind), line.amount_cents) for line in ordered]
    if not rows:
        rows = [("Freight charges", load.total_cents)]
    for label, cents in rows:
        parts = wrap(label, pen.font(), 9.5, desc_width)
        height = 12.5 * len(parts) + 9
        if pen.need(height + 22):
            items_header()
        y = pen.y - 15
        for part in parts:
            pen.text(pen.x0 + 6, y, part)
            y -= 12.5
        pen.text(amount_x, pen.y - 15, format_money(cents), align="right")
        pen.y -= height
        pen.rule(pen.y)
    pen.band(pen.y, 22)
    pen.rule(pen.y, weight=1.2, color=ACCENT)
    pen.text(pen.x0 + 6, pen.y - 15, "TOTAL DUE", bold=True)
    pen.text(amount_x, pen.y - 15, format_money(load.total_cents), bold=True, align="right")
    pen.y -= 22 + 18

    terms = f"{terms_label(customer.payment_terms_days)}, due {long_date(due) or 'on receipt'}."
    pen.need(14)
    pen.text(pen.x0 + 6, pen.y, "Terms:", bold=True)
    pen.text(pen.x0 + 6 + pen.width_of("Terms: ", bold=True), pen.y, terms)
    pen.y -= 11
    for line in wrap(info.get("invoice_terms", "").strip(), pen.font(), 8, pen.x1 - pen.x0 - 12):
        if line or info.get("invoice_terms", "").strip():
            pen.need(10)
            pen.text(pen.x0 + 6, pen.y, line, size=8, color=MUTED)
            pen.y -= 10
    pen.y -= 14

    _notice_box(pen, info.get(INFO_NOA, ""))

    footer = (info.get("invoice_footer") or "").strip()
    if footer:
        pen.y -= 4
        for line in wrap(footer, pen.font(), 8, pen.x1 - pen.x0):
            pen.need(10.5)
            pen.text((pen.x0 + pen.x1) / 2, pen.y, line, size=8, color=MUTED, align="center")
            pen.y -= 10.5
    pen.close()
    return buffer.getvalue()


def _notice_box(pen, text):
    """The Notice of Assignment in a bordered, shaded box, with its own line breaks; titled if it is not."""
    body = clean(text).strip("\n")
    first, _, rest = body.partition("\n")
    if first.strip().lower().startswith("notice of assignment"):
        title, body = first.strip(), rest.strip("\n")
    else:
        title = "NOTICE OF ASSIGNMENT"
    pad = 12
    inner = pen.x1 - pen.x0 - 2 * pad
    rows = [(title, 12, 22)] + [(line, 10, 13.5) for line in wrap(body, pen.font(True), 10, inner)]
    total = sum(step for _, _, step in rows) + 2 * pad
    if total > pen.y - PAGE_BOTTOM and total <= pen.height - PAGE_TOP - PAGE_BOTTOM:
        pen.turn()  # keep the notice in one piece when it fits on a page
    while rows:
        room = pen.y - PAGE_BOTTOM - 2 * pad
        take, used = 0, 0
        while take < len(rows) and used + rows[take][2] <= room:
            used += rows[take][2]
            take += 1
        if take == 0:
            pen.turn()
            continue
        height = used + 2 * pad
        pen.c.setFillColor(NOA_FILL)
        pen._color = NOA_FILL
        pen.c.setStrokeColor(ACCENT)
        pen.c.setLineWidth(1.6)
        pen.c.rect(pen.x0, pen.y - height, pen.x1 - pen.x0, height, stroke=1, fill=1)
        y = pen.y - pad
        chunk = rows[:take]
        if chunk[0][1] == 12:  # the title
            pen.text(pen.x0 + pad, y - 12, chunk[0][0], size=12, bold=True)
            y -= chunk[0][2]
            chunk = chunk[1:]
        pen.block(pen.x0 + pad, y - 10, [line for line, _, _ in chunk], size=10, bold=True, leading=13.5)
        pen.y -= height + 14
        rows = rows[take:]
        if rows:
            pen.turn()


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


SCHEDULE_COLUMNS = [  # (header, share of the width, right-aligned)
    ("#", 0.04, False), ("INVOICE NO.", 0.125, False), ("LOAD NO.", 0.095, False),
    ("INVOICE DATE", 0.095, False), ("CUSTOMER (DEBTOR)", 0.245, False), ("CUSTOMER MC", 0.105, False),
    ("TERMS", 0.07, False), ("DUE DATE", 0.095, False), ("AMOUNT", 0.13, True),
]


def _render_schedule(subsidiary, provider_label, batch_number, batch_date, rows):
    buffer = io.BytesIO()
    name = subsidiary.legal_name or subsidiary.name
    total = sum(r.amount_cents for r in rows)
    pen = _Pen(buffer, landscape(letter), f"Schedule of Accounts — batch {batch_number:04d}", name,
               f"{name} · Schedule of Accounts · Batch {batch_number:04d} · {provider_label}")
    _header(pen, subsidiary, "SCHEDULE OF ACCOUNTS", [
        ("FACTOR", provider_label),
        ("BATCH NO.", f"{batch_number:04d}"),
        ("DATE", long_date(batch_date)),
        ("INVOICES", str(len(rows))),
        ("TOTAL", format_money(total)),
    ], right_width=220)

    full = pen.x1 - pen.x0
    edges = []
    x = pen.x0
    for header, share, right in SCHEDULE_COLUMNS:
        edges.append((x, full * share, right))
        x += full * share

    def cell(n, y, value, bold=False, size=8.5, color=INK):
        left, width, right = edges[n]
        if right:
            pen.text(left + width - 6, y, value, size=size, bold=bold, color=color, align="right")
        else:
            pen.text(left + 6, y, value, size=size, bold=bold, color=color)

    def table_header():
        pen.band(pen.y, 24)
        pen.rule(pen.y - 24, weight=0.8)
        for n, (header, _, _) in enumerate(SCHEDULE_COLUMNS):
            words = header.split(" ")
            if len(words) > 1 and pen.width_of(header, size=7.5, bold=True) > edges[n][1] - 12:
                cell(n, pen.y - 10, " ".join(words[:-1]), bold=True, size=7.5, color=MUTED)
                cell(n, pen.y - 19, words[-1], bold=True, size=7.5, color=MUTED)
            else:
                cell(n, pen.y - 14.5, header, bold=True, size=7.5, color=MUTED)
        pen.y -= 24

    pen.on_new_page = table_header
    table_header()
    font = pen.font()
    for n, r in enumerate(rows, start=1):
        values = [str(n), r.invoice_number, r.load_number, short_date(r.invoice_date), r.customer_name,
                  r.customer_mc or "—", terms_label(r.terms_days), short_date(r.due_date), format_money(r.amount_cents)]
        wrapped = [wrap(v, font, 8.5, edges[i][1] - 12)[:3] or [""] for i, v in enumerate(values)]
        height = 11 * max(len(w) for w in wrapped) + 8
        pen.need(height)
        for i, parts in enumerate(wrapped):
            y = pen.y - 12.5
            for part in parts:
                cell(i, y, part, color=MUTED if i == 0 else INK)
                y -= 11
        pen.y -= height
        pen.rule(pen.y)
    pen.need(24)
    pen.band(pen.y, 22)
    pen.rule(pen.y, weight=1.2, color=ACCENT)
    cell(1, pen.y - 14.5, f"{len(rows)} invoices", bold=True, size=9.5)
    cell(7, pen.y - 14.5, "TOTAL", bold=True, size=9.5)
    cell(8, pen.y - 14.5, format_money(total), bold=True, size=9.5)
    pen.y -= 22 + 22
    pen.on_new_page = None

    statement = wrap(f"{name} submits the {len(rows)} invoices listed above, totalling {format_money(total)}, "
                     f"to {provider_label} for purchase. The invoices and their supporting documents are "
                     "enclosed in this batch file.", pen.font(), 9.5, full)
    pen.need(12.5 * len(statement) + 70)
    for line in statement:
        pen.text(pen.x0, pen.y, line)
        pen.y -= 12.5
    pen.y -= 34
    for left, share, label in ((0, 0.36, "Authorized signature"), (0.41, 0.3, "Name and title"),
                               (0.76, 0.24, "Date")):
        x = pen.x0 + full * left
        pen.rule(pen.y, weight=0.8, color=INK, x0=x, x1=x + full * share)
        pen.text(x, pen.y - 11, label, size=8, color=MUTED)
    pen.y -= 20
    pen.close()
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
