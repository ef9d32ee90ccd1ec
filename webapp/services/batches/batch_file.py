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
import logging
import os
import re
import unicodedata
import zipfile
from dataclasses import dataclass

from reportlab.lib import colors
from reportlab.lib.pagesizes import landscape
from reportlab.lib.pagesizes import letter
from reportlab.lib.rl_accel import escapePDF
from reportlab.lib.rl_accel import fp_str
from reportlab.lib.units import inch
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from webapp.models import INFO_NOA
from webapp.models import LINE_KINDS
from webapp.services.batches import base_pdf
from webapp.services.loads import documents as load_documents
from webapp.services.local_time import format_date
from webapp.services.money import format_cents
from webapp.services.money import format_money
from webapp.services.subsidiaries import INFO_LIMITS
from webapp.services.tables import write_csv

# A TrueType font with wide coverage when the system has one (Debian: fonts-dejavu-core);
# otherwise the PDF base fonts, which draw Windows-1252 only.
FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu")

log = logging.getLogger(__name__)

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


@functools.lru_cache(maxsize=4096)
def _plain_nfc(text):
    """_plain of TEXT in its composed form, remembered: a batch asks it of the same subsidiary,
    customers and notice on every invoice."""
    return _plain(unicodedata.normalize("NFC", text))


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
    Without the wide font installed, the characters the base fonts lack print as '?': that
    is said in the log (with the characters and what to install), since the factor receives
    the invoice as it is.
    """
    for text in texts:
        if _plain_nfc(text or ""):
            continue
        for ch in unicodedata.normalize("NFC", text):
            if ch not in "\r\n\t" and not _invisible(ch) and not _in_cp1252(ord(ch)):
                wide = wide_fonts()
                if wide is None:
                    _warn_no_wide_font(texts)
                return wide or BASE_FONTS
    return BASE_FONTS


def _warn_no_wide_font(texts):
    missing = sorted({ch for text in texts for ch in unicodedata.normalize("NFC", text or "")
                      if ch not in "\r\n\t" and not _invisible(ch) and not _in_cp1252(ord(ch))})
    log.warning("font missing: %d character(s) will print as '?' (%s); install the DejaVu fonts "
                "(Debian: apt-get install fonts-dejavu-core) so that invoices print them",
                len(missing), " ".join(f"U+{ord(ch):04X}" for ch in missing[:20]))


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
    """A date as 11/25/2026, the one format of every screen and PDF; blank for None."""
    return format_date(value)


def short_date(value):
    """A date as 11/25/2026 (tables of the schedule); blank for None."""
    return format_date(value)


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
FOOTER_Y = 0.45 * inch
COLUMN_SIZES = (9.5, 8.5, 7.5)  # Bill To, Load Details, Remit To: smaller only when they would not fit
NOA_FILL = colors.HexColor("#fff8e1")
CREATOR = "Factor Desk"  # the PDFs' Creator


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
    """TEXT cleaned and broken into lines that fit WIDTH; its own line breaks and indentation kept.

    Every line fits: a word longer than the width is cut, an indentation wider than half the
    width is narrowed."""
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
        if not indent and stringWidth(body, font, size) <= width:  # the common case: it fits as it is
            out.append(body)
            continue
        room = width
        if indent:
            used = _width_of(indent, font, size)
            if used > width / 2:
                space = _width_of(" ", font, size)
                indent = " " * int(width / 2 / space)
                used = space * len(indent)
            room = width - used
        for piece in simpleSplit(body, font, size, room) or [""]:
            while len(piece) > 1 and stringWidth(piece, font, size) > room:  # one unbreakable word
                low, high = 1, len(piece) - 1  # the longest head that fits (at least one character)
                while low < high:
                    mid = (low + high + 1) // 2
                    if stringWidth(piece[:mid], font, size) <= room:
                        low = mid
                    else:
                        high = mid - 1
                out.append(indent + piece[:low])
                piece = piece[low:]
            out.append(indent + piece)
    return tuple(out)


@functools.lru_cache(maxsize=1024)
def _width_of(text, font, size):
    """stringWidth, remembered: labels, amounts and indentations repeat on every invoice."""
    return stringWidth(text, font, size)


def fit(text, font, size, width, min_size=None, max_lines=1):
    """(size, lines): TEXT wrapped to WIDTH at the largest size from SIZE down to MIN_SIZE (by
    half points) that needs at most MAX_LINES lines; when none does, wrapped at MIN_SIZE.

    For identifiers and amounts in a fixed cell: they shrink a little before they wrap."""
    min_size = size if min_size is None else min_size
    while True:
        lines = wrap(text, font, size, width)
        if len(lines) <= max_lines or size <= min_size:
            return size, lines
        size = max(min_size, size - 0.5)


# With the base fonts, a page's text, colours and rules are written into its content as the very
# operators reportlab's drawString, setFont, setFillColor, line and rect write, from remembered
# pieces: reportlab builds each from scratch in pure Python (half an invoice's cost), while a batch
# repeats its texts, colours and coordinates on every invoice. Same drawing (no transparency
# either: such a file says PDF 1.3, where setFillColor asked for 1.4). The file around them is
# written by base_pdf, as reportlab's canvas would write it (its object graph cost more than the
# drawing). An embedded font's codes belong to one document: with it, reportlab draws as usual.

@functools.lru_cache(maxsize=8192)
def _num(value):
    """fp_str of one number, remembered."""
    return fp_str(value)


@functools.lru_cache(maxsize=8192)
def _shown(text, font):
    """'(TEXT) Tj' in the base FONT (TEXT cleaned to Windows-1252), as reportlab writes it (nothing
    for an empty TEXT)."""
    face = pdfmetrics.getFont(font)
    return "".join(f"({escapePDF(data)}) Tj" for _, data in pdfmetrics.unicode2T1(text, [face]))


_RGB = {}


def _rgb(color):
    """COLOR's red, green and blue as reportlab writes them, remembered by the colour object itself
    (a Color hashes in pure Python: every operator of a page names one)."""
    known = _RGB.get(id(color))
    if known is None:
        if len(_RGB) > 64:
            _RGB.clear()
        known = _RGB[id(color)] = (color, fp_str(color.red, color.green, color.blue))  # kept: its id stays its own
    return known[1]


class _Pen:
    """Draws top-down on a canvas and turns the page, with a footer, when the space runs out.

    With the base fonts there is no canvas: the pen keeps each page's operators and close()
    writes the file around them (base_pdf, the bytes reportlab would write)."""

    def __init__(self, buffer, pagesize, title, author, footer):
        self.fonts = _current.get()
        self.buffer = buffer
        self.pagesize = pagesize
        self.title, self.author = clean(title), clean(author)
        self.width, self.height = pagesize
        self.x0, self.x1 = PAGE_MARGIN_X, self.width - PAGE_MARGIN_X
        self.y = self.height - PAGE_TOP
        self.page = 1
        self.footer = clean(footer)
        self._footer = None
        self.on_new_page = None
        self._font = self._color = None
        if self.fonts is BASE_FONTS:
            # {font: its name in this PDF}: the operators are written here.
            self.c = None
            self.names = base_pdf.NAMES
            self.pages = []
            self._code = []
            self.add = self._code.append
        else:
            self.c = canvas.Canvas(buffer, pagesize=pagesize, invariant=1, pageCompression=0)
            self.c.setTitle(self.title)
            self.c.setAuthor(self.author)
            self.c.setCreator(CREATOR)
            self.names = None
            self.add = self.c.addLiteral

    def font(self, bold=False):
        return self.fonts.bold if bold else self.fonts.regular

    def text(self, x, y, value, size=9.5, bold=False, color=INK, align="left"):
        font = (self.font(bold), size)
        if self.names is None:
            self._draw_string(x, y, value, font, color, align)
            return
        add = self.add
        if font != self._font:
            add(f"BT {self.names[font[0]]} {_num(size)} Tf {_num(size * 1.2)} TL ET")
            self._font = font
        if color is not self._color:
            add(f"{_rgb(color)} rg")
            self._color = color
        if align != "left":
            width = _width_of(value, *font)
            x -= width if align == "right" else 0.5 * width
        add(f"BT 1 0 0 1 {_num(x)} {_num(y)} Tm {_shown(value, font[0])} T* ET")

    def _draw_string(self, x, y, value, font, color, align):
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
        font = self.font(bold)
        if self.names is None:
            text = self.c.beginText(x, y)
            text.setFont(font, size, leading)
            text.setFillColor(color)
            for line in lines:
                text.textLine(line)
            self.c.drawText(text)
        else:
            shown = " ".join(f"{_shown(line, font)} T*" for line in lines)
            self.add(f"BT 1 0 0 1 {_num(x)} {_num(y)} Tm {self.names[font]} {_num(size)} Tf "
                     f"{_num(leading)} TL {_rgb(color)} rg {shown} ET")
        self._font = self._color = None
        return y - leading * len(lines)

    def width_of(self, value, size=9.5, bold=False):
        return _width_of(value, self.font(bold), size)

    def rule(self, y, weight=0.4, color=LINE, x0=None, x1=None):
        add = self.add
        add(f"{_rgb(color)} RG")
        add(f"{_num(weight)} w")
        y = _num(y)
        add(f"n {_num(self.x0 if x0 is None else x0)} {y} m {_num(self.x1 if x1 is None else x1)} {y} l S")

    def band(self, top, height, fill=SHADE, border=None, weight=0):
        """A box across the page from TOP down HEIGHT, filled with FILL (and outlined in BORDER)."""
        add = self.add
        add(f"{_rgb(fill)} rg")
        self._color = fill
        if border is not None:
            add(f"{_rgb(border)} RG")
            add(f"{_num(weight)} w")
        add(f"n {_num(self.x0)} {_num(top - height)} {_num(self.x1 - self.x0)} {_num(height)} re "
            f"{'f*' if border is None else 'B*'}")

    @property
    def at_top(self):
        """Nothing drawn on this page yet (below its running header, if any)."""
        return self.y >= self.height - PAGE_TOP - 0.01

    def need(self, height):
        """Turn the page unless HEIGHT fits above the bottom margin."""
        if self.y - height < PAGE_BOTTOM:
            self.turn()
            return True
        return False

    def _draw_footer(self):
        if self._footer is None:  # the same on every page: fitted once, beside the widest page number
            room = self.x1 - self.x0 - self.width_of("Page 9999", size=7.5) - 12
            self._footer = fit(self.footer, self.font(), 7.5, room, min_size=6)
        size, lines = self._footer
        leading = size + 1.5
        y = FOOTER_Y + (len(lines) - 1) * leading / 2  # more lines grow around the usual baseline
        for line in lines:
            self.text(self.x0, y, line, size=size, color=MUTED)
            y -= leading
        self.text(self.x1, FOOTER_Y, f"Page {self.page}", size=7.5, color=MUTED, align="right")

    def turn(self):
        self._draw_footer()
        self._end_page()
        self._font = self._color = None
        self.page += 1
        self.y = self.height - PAGE_TOP
        if self.on_new_page:
            self.on_new_page()

    def _end_page(self):
        if self.c is not None:
            self.c.showPage()
            return
        self.pages.append(self._code)
        self._code = []
        self.add = self._code.append

    def close(self):
        """Finish the last page and write the file into the buffer."""
        self._draw_footer()
        if self.c is not None:
            self.c.save()
            return
        self._end_page()
        self.buffer.write(base_pdf.write(self.pagesize, self.pages, self.title, self.author, CREATOR))


def _header(pen, subsidiary, title, meta, right_width):
    """Subsidiary block on the left, TITLE and the META rows on the right, then a rule.

    The left block keeps clear of the title and of the META column; a META value too long for
    its row shrinks a little, then wraps under itself, beside its label."""
    top = pen.y
    left_width = pen.x1 - pen.x0 - max(right_width, pen.width_of(title, size=24, bold=True)) - 12
    size, name_lines = fit(subsidiary.legal_name or subsidiary.name, pen.font(True), 15, left_width,
                           min_size=11, max_lines=2)
    y = top - 14
    for line in name_lines:
        pen.text(pen.x0, y, line, size=size, bold=True, color=ACCENT)
        y -= size + 3
    y += 4
    lines = _address_lines(subsidiary)
    contact = " · ".join(p for p in (subsidiary.phone, subsidiary.email) if p)
    if contact:
        lines.append(contact)
    wrapped = [part for line in lines for part in wrap(line, pen.font(), 9.5, left_width)]
    y = pen.block(pen.x0, y, wrapped)
    for line in wrap(_ids_line(subsidiary), pen.font(True), 9.5, left_width):
        if line:
            pen.text(pen.x0, y, line, bold=True)
            y -= 12.5
    left_bottom = y

    pen.text(pen.x1, top - 20, title, size=24, bold=True, color=ACCENT, align="right")
    y = top - 40
    label_x = pen.x1 - right_width
    for n, (label, value) in enumerate(meta):
        pen.text(label_x, y, label, size=7.5, bold=True, color=MUTED)
        room = right_width - pen.width_of(label, size=7.5, bold=True) - 10
        size, parts = fit(value, pen.font(), 9.5, room, min_size=8)
        for k, part in enumerate(parts):
            if k:
                y -= size + 2.5
            pen.text(pen.x1, y, part, size=size, align="right")
        if n < len(meta) - 1:
            pen.rule(y - 5, x0=label_x)
        y -= 15
    bottom = min(left_bottom, y) - 2
    pen.rule(bottom, weight=2, color=ACCENT)
    pen.y = bottom - 16


def _column_layout(pen, width, items, size):
    """[(label, indent, lines, bold, size)] of a column's ITEMS at SIZE, and the column's height.

    ITEMS are (label or '', text, bold[, most lines]): a text with a most shrinks to keep to it."""
    out = []
    for label, value, bold, *most in items:
        indent = pen.width_of(label + " ", size=size, bold=True) if label else 0
        if most:
            own, lines = fit(value, pen.font(bold), size, width - indent, min_size=size - 2, max_lines=most[0])
        else:
            own, lines = size, wrap(value, pen.font(bold), size, width - indent)
        out.append((label, indent, lines, bold, own))
    return out, 13 + sum((own + 3) * len(lines) for _, _, lines, _, own in out)


def _column(pen, x, title, layout):
    """A titled block (Bill To, Load Details, Remit To) laid out by _column_layout; returns its bottom."""
    y = pen.y
    pen.text(x, y, title.upper(), size=7.5, bold=True, color=MUTED)
    y -= 13
    for label, indent, lines, bold, size in layout:
        if label:
            pen.text(x, y, label, size=size, bold=True)
        for n, line in enumerate(lines):
            pen.text(x + (indent if n == 0 else 0), y, line, size=size, bold=bold)
            y -= size + 3
    return y


def _columns(pen, columns):
    """COLUMNS [(title, items)] side by side, in a smaller type when that keeps them (and the start
    of the line items) on the page: they cannot continue on the next one."""
    span = (pen.x1 - pen.x0) / len(columns)
    room = pen.y - PAGE_BOTTOM - 90
    for size in COLUMN_SIZES:
        layouts = [_column_layout(pen, span - 14, items, size) for _, items in columns]
        if max(height for _, height in layouts) <= room:
            break
    if max(height for _, height in layouts) > pen.y - PAGE_BOTTOM:
        raise ValueError(f"the {' / '.join(title for title, _ in columns)} blocks are too long to print "
                         "on the invoice page")
    bottoms = [_column(pen, pen.x0 + n * span, title, layout)
               for n, ((title, _), (layout, _)) in enumerate(zip(columns, layouts))]
    pen.y = min(bottoms) - 14


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
        columns.append(("Remit To", [("", info["remit_to"].strip(), False, INFO_LIMITS["remit_to"].lines)]))
    _columns(pen, columns)

    amount_x = pen.x1 - 6
    ordered = sorted(lines, key=lambda line: (line.position, line.id or 0))
    rows = [(line.description or LINE_KINDS.get(line.kind, line.kind), line.amount_cents) for line in ordered]
    if not rows:
        rows = [("Freight charges", load.total_cents)]
    amounts = max([pen.width_of(format_money(cents)) for _, cents in rows]
                  + [pen.width_of(format_money(load.total_cents), bold=True)])
    desc_width = min((pen.x1 - pen.x0) * 0.72, pen.x1 - pen.x0 - 12 - amounts - 18)

    def items_header():
        pen.band(pen.y, 18)
        pen.rule(pen.y - 18, weight=0.8)
        pen.text(pen.x0 + 6, pen.y - 12, "DESCRIPTION", size=7.5, bold=True, color=MUTED)
        pen.text(amount_x, pen.y - 12, "AMOUNT", size=7.5, bold=True, color=MUTED, align="right")
        pen.y -= 18

    pen.need(max(60, 18 + 12.5 * len(wrap(rows[0][0], pen.font(), 9.5, desc_width)) + 5.5 + 22))  # + its first row
    items_header()
    for label, cents in rows:
        parts = wrap(label, pen.font(), 9.5, desc_width)
        height = 12.5 * len(parts) + 5.5  # compact rows: ten of them leave the page to the NOA
        if pen.need(height + 22):
            items_header()
        y = pen.y - 12
        for part in parts:
            pen.text(pen.x0 + 6, y, part)
            y -= 12.5
        pen.text(amount_x, pen.y - 12, format_money(cents), align="right")
        pen.y -= height
        pen.rule(pen.y)
    pen.band(pen.y, 22)
    pen.rule(pen.y, weight=1.2, color=ACCENT)
    pen.text(pen.x0 + 6, pen.y - 15, "TOTAL DUE", bold=True)
    pen.text(amount_x, pen.y - 15, format_money(load.total_cents), bold=True, align="right")
    pen.y -= 22 + 14

    terms = f"{terms_label(customer.payment_terms_days)}, due {long_date(due) or 'on receipt'}."
    indent = pen.width_of("Terms: ", bold=True)
    pen.need(14)
    pen.text(pen.x0 + 6, pen.y, "Terms:", bold=True)
    for line in wrap(terms, pen.font(), 9.5, pen.x1 - pen.x0 - 12 - indent):
        pen.text(pen.x0 + 6 + indent, pen.y, line)
        pen.y -= 11
    size, lines = _configured(pen, info, "invoice_terms", 8, pen.x1 - pen.x0 - 12)
    for line in lines:
        pen.need(size + 2)
        pen.text(pen.x0 + 6, pen.y, line, size=size, color=MUTED)
        pen.y -= size + 2
    pen.y -= 14

    size, lines = _configured(pen, info, "invoice_footer", 8, pen.x1 - pen.x0)
    _notice_box(pen, info.get(INFO_NOA, ""), below=4 + (size + 2.5) * len(lines) if lines else 0)
    if lines:
        pen.y -= 4
        for line in lines:
            pen.need(size + 2.5)
            pen.text((pen.x0 + pen.x1) / 2, pen.y, line, size=size, color=MUTED, align="center")
            pen.y -= size + 2.5
    pen.close()
    return buffer.getvalue()


NOA_TITLE = "NOTICE OF ASSIGNMENT"
NOA_PAD = 12  # inside the box's border, left and right (the smaller styles take less above and below)
# (title size, text size, leading, padding), largest first: the box shrinks to stay on the page it starts on.
NOA_STYLES = ((12, 10, 13.5, 12), (11, 9, 12, 11), (10, 8, 10.5, 9))  # + the padding above and below


def noa_width(page_width=letter[0]):
    """The width the Notice of Assignment's lines wrap to on the invoice (points)."""
    return page_width - 2 * PAGE_MARGIN_X - 2 * NOA_PAD


def _notice_layout(pen, text, style):
    """(title lines, text lines, box height) of the Notice of Assignment drawn in STYLE.

    Its first line is the title when it starts with 'Notice of Assignment' and takes at most
    two lines at the title size; otherwise (a one-paragraph notice, or none) the box is titled
    NOTICE OF ASSIGNMENT. Every line wraps, the title's too."""
    title_size, size, leading, pad = style
    bold = pen.font(True)
    body = clean(text).strip("\n")
    first, _, rest = body.partition("\n")
    title = [NOA_TITLE]
    if first.strip().lower().startswith("notice of assignment"):
        own = wrap(first.strip(), bold, title_size, noa_width(pen.width))
        if len(own) <= 2:
            title, body = own, rest.strip("\n")
    lines = wrap(body, bold, size, noa_width(pen.width)) if body else []
    height = 2 * pad + _title_height(title_size, len(title)) + leading * len(lines)
    return title, lines, height


def _title_height(title_size, count):
    return (title_size + 3) * count + title_size * 7 / 12


def _configured(pen, info, kind, size, width):
    """(size, lines) of INFO's text of KIND: in no more lines than its save check counted (the wide
    font, wider than Helvetica, prints it a little smaller when it would take more)."""
    text = (info.get(kind) or "").strip()
    if not text:
        return size, []
    return fit(text, pen.font(), size, width, min_size=size - 1.5, max_lines=INFO_LIMITS[kind].lines)


def _notice_box(pen, text, below=0):
    """The Notice of Assignment in a bordered, shaded box, in one piece: where the invoice is (with
    BELOW points left under it for the invoice footer), a little smaller if that keeps it there,
    else on the next page; never split, never cut."""
    for new_page in (False, True):
        if new_page:
            if pen.at_top:
                break
            pen.turn()
        for style in NOA_STYLES:
            title, lines, height = _notice_layout(pen, text, style)
            if height + (14 + below if below else 0) <= pen.y - PAGE_BOTTOM:
                _draw_notice(pen, style, title, lines, height)
                return
    limit = INFO_LIMITS[INFO_NOA]
    raise ValueError(f"the Notice of Assignment is too long to print on one invoice page ({len(lines)} lines "
                     f"even at {NOA_STYLES[-1][1]} pt): shorten it to at most {limit.chars:,} characters and "
                     f"{limit.lines} lines in Management > Company Profile, then Retry")


def _draw_notice(pen, style, title, lines, height):
    title_size, size, leading, pad = style
    pen.band(pen.y, height, fill=NOA_FILL, border=ACCENT, weight=1.6)
    x, y = pen.x0 + NOA_PAD, pen.y - pad
    for line in title:
        pen.text(x, y - title_size, line, size=title_size, bold=True)
        y -= title_size + 3
    y -= title_size * 7 / 12
    pen.block(x, y - size, lines, size=size, bold=True, leading=leading)
    pen.y -= height + 14


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
        # Every character printed: a long value shrinks a little, then wraps within its cell.
        fitted = [fit(v, font, 8.5, edges[i][1] - 12, min_size=7, max_lines=2) for i, v in enumerate(values)]
        height = max(sum(size + 2.5 for _ in parts) for size, parts in fitted) + 8
        pen.need(height)
        for i, (size, parts) in enumerate(fitted):
            y = pen.y - 12.5
            for part in parts:
                cell(i, y, part, size=size, color=MUTED if i == 0 else INK)
                y -= size + 2.5
        pen.y -= height
        pen.rule(pen.y)
    count = f"{len(rows)} invoices"
    count_width = edges[7][0] - edges[1][0] - 12  # the total row's cells 1 to 6 are empty
    count_size, count_lines = fit(count, pen.font(True), 9.5, count_width, min_size=7)
    total_size, total_lines = fit(format_money(total), pen.font(True), 9.5, edges[8][1] - 12, min_size=6)
    band = max(22, 11 * max(len(count_lines), len(total_lines)) + 11)
    pen.need(band + 2)
    pen.band(pen.y, band)
    pen.rule(pen.y, weight=1.2, color=ACCENT)
    for n, line in enumerate(count_lines):
        pen.text(edges[1][0] + 6, pen.y - 14.5 - 11 * n, line, size=count_size, bold=True)
    cell(7, pen.y - 14.5, "TOTAL", bold=True, size=9.5)
    for n, line in enumerate(total_lines):
        cell(8, pen.y - 14.5 - 11 * n, line, bold=True, size=total_size)
    pen.y -= band - 22
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


class DocumentMergeError(ValueError):
    """A document could not be merged behind an invoice. DOCUMENT names it ("proof of delivery
    'scan.pdf'", "document 2 of 3", "the documents"); REASON says why, as a clause that is
    never empty ("it is not a readable PDF (EOF marker not found)")."""

    def __init__(self, document, predicate, reason=None):
        self.document = document
        self.predicate = predicate
        self.reason = reason or f"it {predicate}"
        super().__init__(f"{document} {predicate}")


def _merge_reason(exc):
    """EXC as a short reason that is never empty."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:159] + "\u2026"


def merge_pdfs(first, documents):
    """FIRST (PDF bytes) followed by every page of each of DOCUMENTS (PDF bytes).

    Each document is read with the checks of its upload (bounded, its active content removed:
    webapp.services.loads.documents.open_for_merge), then they are merged by the same code
    the upload tried (merge_opened). A document that cannot be merged, or documents
    beyond the limits, raise DocumentMergeError naming the document (by its label when it
    has one, else "document 2 of 3") and the reason.
    """
    if not documents:
        return first
    if len(documents) > load_documents.MAX_DOCUMENTS_PER_LOAD:
        raise DocumentMergeError(
            "the documents", f"are {len(documents)}; at most {load_documents.MAX_DOCUMENTS_PER_LOAD} "
            "can be merged behind one invoice",
            reason=f"there are {len(documents)} of them; at most "
                   f"{load_documents.MAX_DOCUMENTS_PER_LOAD} can be merged behind one invoice")
    labels = []
    readers = []
    pages = 0
    for n, data in enumerate(documents, start=1):
        label = getattr(data, "label", "") or f"document {n} of {len(documents)}"
        try:
            reader, count = load_documents.open_for_merge(data, label)
        except load_documents.DocumentError as exc:
            raise DocumentMergeError(label, exc.predicate) from exc
        except Exception as exc:
            raise DocumentMergeError(label, f"is not a readable PDF ({_merge_reason(exc)})") from exc
        pages += count
        if pages > load_documents.MAX_PAGES_PER_INVOICE:
            limit = load_documents.MAX_PAGES_PER_INVOICE
            raise DocumentMergeError(
                "the documents", f"have more than {limit} pages; at most {limit} can be merged "
                "behind one invoice",
                reason=f"with {label} they have {pages:,} pages; at most {limit} can be merged "
                       "behind one invoice")
        labels.append(label)
        readers.append(reader)
    try:
        return load_documents.merge_opened(first, readers)
    except load_documents.DocumentError as exc:
        index = getattr(exc, "index", None)
        if index is None:
            raise DocumentMergeError("the documents", exc.predicate, reason=f"they {exc.predicate}") from exc
        raise DocumentMergeError(labels[index], exc.predicate) from exc


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
