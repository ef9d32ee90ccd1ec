"""The invoice and the schedule hold whatever the forms accept, whole and legible.

Read back from the PDF itself: every word is printed, no two text runs overlap, nothing is
drawn off the page; the Notice of Assignment is never split or cut, and a text that cannot fit
the one-page invoice is refused when it is saved (and, saved before the limit, fails the batch
instead of printing half).
"""
import datetime
import io
import re
from dataclasses import dataclass

import pytest
from pypdf import PdfReader
from reportlab.lib.pagesizes import letter
from reportlab.pdfbase import pdfmetrics

from tests.helpers import INVOICE_DAY
from tests.helpers import invoice_customer
from tests.helpers import invoice_load as _load
from tests.helpers import invoice_subsidiary as _subsidiary
from tests.helpers import submit_batch
from webapp.models import BATCH_FAILED
from webapp.models import INFO_NOA
from webapp.models import QUEUED
from webapp.models import Batch
from webapp.models import ImportantInfo
from webapp.models import Load
from webapp.models import LoadLine
from webapp.ops.demo import CAPITAL_DEPOT_NOA
from webapp.services import subsidiaries
from webapp.services.batches import batch_file
from webapp.services.validation import Invalid

DAY = INVOICE_DAY

# The review's example: one paragraph, so its first line (the whole notice) was taken as the title.
PARAGRAPH_NOA = ("Notice of Assignment: This invoice has been assigned and sold to Capital Depot Funding, LLC, "
                 "and is payable only to Capital Depot Funding, LLC, P.O. Box 4410, Dallas, TX 75208. Payment "
                 "to any other party will not discharge your obligation.")

# 64 characters, the longest load and invoice numbers the load form and the import accept.
IDS = {
    "digits": ("INV-" + "7" * 60, "LOAD-" + "0123456789" * 5 + "012345678"),
    "widest": ("INV-" + "W" * 60, "LOAD-" + "M" * 59),
    "words": ("INV 2026 " + "WWWWW " * 8 + "WWWWWWW", "LOAD " + "MMMMM " * 8 + "MMMMMMMMM W"),
}
assert all(len(number) == 64 for pair in IDS.values() for number in pair)

WIDE = "Łódź"  # a character outside Windows-1252 puts the whole invoice in the wide font


def _fonts(request):
    if request.param == "wide" and batch_file.wide_fonts() is None:
        pytest.skip("no wide-coverage font installed (fonts-dejavu-core)")
    return request.param


@pytest.fixture(params=["base", "wide"])
def fonts(request):
    return _fonts(request)


def _customer(fonts, **kw):
    return invoice_customer(**{"name": "Summit Freight Brokerage" + (f" {WIDE}" if fonts == "wide" else ""), **kw})


def _lines(n, description="Line item"):
    return [LoadLine(kind="accessorial", description=f"{description} {i + 1}", amount_cents=25000, position=i)
            for i in range(n)]


# --- reading the PDF back -------------------------------------------------------------------

@dataclass
class Run:
    """One drawn string and the box its glyphs take (points, from the page's bottom left)."""

    text: str
    x0: float
    y0: float
    x1: float
    y1: float


def _font_name(base_font):
    name = str(base_font).lstrip("/").split("+", 1)[-1]  # embedded subsets: AAAAAA+DejaVuSans
    return {"DejaVuSans": "FD-Sans", "DejaVuSans-Bold": "FD-Sans-Bold"}.get(name, name)


def _pages(pdf):
    """[(width, height, [Run])] of each page, through pypdf's text visitor (position, font, size)."""
    pages = []
    for page in PdfReader(io.BytesIO(pdf)).pages:
        runs, pending = [], []

        def finish():
            text, x, y, font, size = pending.pop()
            drawn = text.rstrip("\n").rstrip(" ")
            if not drawn.strip():
                return
            ascent, descent = pdfmetrics.getAscentDescent(font, size)
            runs.append(Run(drawn, x, y + descent, x + pdfmetrics.stringWidth(drawn, font, size), y + ascent))

        def visit(text, cm, tm, font_dict, font_size):
            if not text.strip() and not pending:
                return  # pypdf's own separators between strings (drawn strings start where they are)
            if not pending:
                a, b, c, d, e, f = cm
                x, y = tm[4] * a + tm[5] * c + e, tm[4] * b + tm[5] * d + f
                pending.append([text, x, y, _font_name(font_dict["/BaseFont"]), font_size * tm[0] * a])
            else:
                pending[0][0] += text  # the same string in another subset of an embedded font
            if pending[0][0].endswith("\n"):
                finish()

        page.extract_text(visitor_text=visit)
        if pending:
            finish()
        pages.append((float(page.mediabox.width), float(page.mediabox.height), runs))
    return pages


def _squash(text):
    return re.sub(r"\s+", "", text)


def _check_layout(pdf):
    """Every run inside the page and apart from every other; returns the pages' runs."""
    pages = _pages(pdf)
    for number, (width, height, runs) in enumerate(pages, start=1):
        assert runs, f"page {number} is empty"
        outside = [r.text for r in runs if r.x0 < 0 or r.y0 < 0 or r.x1 > width or r.y1 > height]
        assert not outside, f"drawn off page {number}: {outside}"
        overlaps = [(a.text, b.text) for i, a in enumerate(runs) for b in runs[i + 1:]
                    if min(a.x1, b.x1) - max(a.x0, b.x0) > 0.01 and min(a.y1, b.y1) - max(a.y0, b.y0) > 0.01]
        assert not overlaps, f"text runs overlap on page {number}: {overlaps[:5]}"
    return pages


def _printed(pages):
    """All the text drawn, in drawing order, without white space (to find a wrapped value whole)."""
    return _squash("".join(r.text for _, _, runs in pages for r in runs))


def _words_of(pdf):
    return set("\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).split())


# --- the review's invoice ----------------------------------------------------------------------

@pytest.mark.parametrize("ids", list(IDS), ids=list(IDS))
def test_a_one_paragraph_noa_and_64_character_numbers_print_whole_and_apart(fonts, ids):
    invoice_number, load_number = IDS[ids]
    info = {INFO_NOA: PARAGRAPH_NOA, "remit_to": "Capital Depot Funding, LLC\nP.O. Box 4410\nDallas, TX 75208",
            "invoice_terms": "Late payments accrue 1.5% per month.", "invoice_footer": "Thank you for your business!"}
    pdf = batch_file.render_invoice(_load(invoice_number=invoice_number, load_number=load_number),
                                    _customer(fonts), _subsidiary(), _lines(3), info)
    pages = _check_layout(pdf)
    assert len(pages) == 1
    words = _words_of(pdf)
    missing = [word for word in PARAGRAPH_NOA.split() if word not in words]
    assert not missing, f"NOA words not printed: {missing}"
    printed = _printed(pages)
    assert _squash(PARAGRAPH_NOA) in printed  # in order, nothing between: the remit address and the legal line
    assert printed.count(_squash(invoice_number)) >= 2  # the header and the page footer
    assert printed.count(_squash(load_number)) >= 2  # the header and Load Details
    if ids == "words":
        assert set(invoice_number.split()) <= words and set(load_number.split()) <= words
    assert "Page1" in printed


def test_the_demo_noa_keeps_its_title_and_lines():
    pdf = batch_file.render_invoice(_load(), _customer("base"), _subsidiary(), _lines(3), {INFO_NOA: CAPITAL_DEPOT_NOA})
    text = [line.strip() for page in PdfReader(io.BytesIO(pdf)).pages for line in page.extract_text().splitlines()]
    for line in CAPITAL_DEPOT_NOA.splitlines():
        if line.strip():
            assert line.strip() in text, line
    assert text.count("NOTICE OF ASSIGNMENT") == 1  # its own first line is the title: no second one
    _check_layout(pdf)


def test_a_paragraph_noa_is_titled_and_wrapped():
    pdf = batch_file.render_invoice(_load(), _customer("base"), _subsidiary(), _lines(1), {INFO_NOA: PARAGRAPH_NOA})
    lines = [line.strip() for line in PdfReader(io.BytesIO(pdf)).pages[0].extract_text().splitlines()]
    assert "NOTICE OF ASSIGNMENT" in lines  # the paragraph is the text, under the usual title
    assert any(line.startswith("Notice of Assignment: This invoice") for line in lines)
    assert any(line.endswith("will not discharge your obligation.") for line in lines)


# --- every field at its longest ----------------------------------------------------------------

def _longest(fonts):
    """A subsidiary, customer and load with every printed field at the longest the forms accept."""
    words = lambda n, word: (" ".join([word] * (n // (len(word) + 1) + 1)))[:n].strip()  # noqa: E731
    sub = _subsidiary(name=words(120, "Wide"), legal_name=words(196, "WWWW") + (WIDE if fonts == "wide" else "WWWW"),
                      address_line1=words(200, "Logistics"), address_line2="M" * 200, city=words(100, "Fort"),
                      state="TX", postal_code="76177-1234", phone="+1 (817) 555-0100 ext. 12345",
                      email=("w" * 60 + "@" + "m" * 60 + ".example"), mc_number="MC-12345678", usdot_number="12345678")
    customer = _customer(fonts, name="W" * 200, address_line1=words(200, "Commerce"), city=words(100, "Dallas"),
                         mc_number="MC-87654321", payment_terms_days=365)
    load = _load(invoice_number="INV-" + "W" * 60, load_number="LOAD-" + "M" * 59, customer_reference="P" * 100,
                 pickup_city="W" * 100, delivery_city=words(100, "Memphis"), total_cents=-(10 ** 13 - 1))
    lines = [LoadLine(kind="linehaul", description="W" * 200, amount_cents=-(10 ** 13 - 1), position=0),
             LoadLine(kind="fuel", description=words(200, "Fuel surcharge"), amount_cents=10 ** 13 - 1, position=1)]
    return sub, customer, load, lines


def test_every_field_at_its_longest_prints_whole_and_apart(fonts):
    sub, customer, load, lines = _longest(fonts)
    info = _info_at_limits()
    pdf = batch_file.render_invoice(load, customer, sub, lines, info)
    pages = _check_layout(pdf)
    printed = _printed(pages)
    for value in (sub.legal_name, sub.address_line1, sub.address_line2, sub.email, customer.name,
                  customer.address_line1, load.invoice_number, load.load_number, load.customer_reference,
                  load.pickup_city, load.delivery_city, lines[0].description, lines[1].description,
                  "-$99,999,999,999.99", "$99,999,999,999.99", *info.values()):
        assert _squash(value) in printed, value[:40]
    noa = {line.strip() for line in CAPITAL_DEPOT_NOA.splitlines() if line.strip()}
    noa_pages = {n for n, (_, _, runs) in enumerate(pages) for r in runs if r.text.strip() in noa}
    assert len(noa_pages) == 1  # never split


def test_the_page_footer_keeps_clear_of_the_page_number_with_the_longest_name_and_number(fonts):
    sub, customer, load, _ = _longest(fonts)
    pdf = batch_file.render_invoice(load, customer, sub, _lines(1), {INFO_NOA: PARAGRAPH_NOA})
    pages = _check_layout(pdf)
    footer = [r for r in pages[0][2] if r.y1 < batch_file.PAGE_BOTTOM]
    assert any(r.text.startswith("Page ") for r in footer)
    assert _squash(f"{sub.legal_name} · Invoice {load.invoice_number}") in _squash(
        "".join(r.text for r in footer if not r.text.startswith("Page ")))


# --- the schedule of accounts ------------------------------------------------------------------

@pytest.mark.parametrize("ids", list(IDS), ids=list(IDS))
def test_schedule_with_64_character_numbers_and_long_names_prints_every_character_apart(fonts, ids):
    invoice_number, load_number = IDS[ids]
    names = ["W" * 200, "Summit Freight Brokerage of the Greater Dallas Fort Worth Metroplex " * 2,
             "Hernández & Söhne Imports" + (f" {WIDE}" if fonts == "wide" else "")]
    rows = [batch_file.ScheduleRow(f"{invoice_number[:-3]}{n:03d}", f"{load_number[:-3]}{n:03d}", DAY,
                                   names[n % 3], "MC-12345678", 10 ** 13 - 1, 365 if n % 2 else 0,
                                   DAY + datetime.timedelta(days=30)) for n in range(30)]
    sub, _, _, _ = _longest(fonts)
    pdf = batch_file.render_schedule(sub, "Capital Depot " + "W" * 40, 9999, DAY, rows)
    pages = _check_layout(pdf)
    printed = _printed(pages)
    for row in rows:
        for value in (row.invoice_number, row.load_number, row.customer_name):
            assert _squash(value) in printed, value
    assert "$2,999,999,999,999.70" in printed  # the total, whole
    assert "Authorizedsignature" in printed


# --- the save limits: what fits on the invoice page --------------------------------------------

def _longest_accepted(kind, grow):
    """The longest text GROW(n) for n = 1, 2, ... that the save check accepts for KIND."""
    best = None
    for n in range(1, 2000):
        try:
            subsidiaries.clean_info(kind, grow(n))
        except Invalid:
            assert best is not None, f"{kind}: even the shortest text is refused"
            return best
        best = grow(n)
    raise AssertionError(f"{kind}: no limit")


def _info_at_limits():
    """Remit To, Invoice Terms and Invoice Footer at their limits, as a subsidiary may configure them."""
    return {
        INFO_NOA: CAPITAL_DEPOT_NOA,
        "remit_to": _longest_accepted("remit_to", lambda n: "\n".join(["Capital Depot Funding"] * n)),
        "invoice_terms": _longest_accepted("invoice_terms", lambda n: " ".join(["Late payments accrue."] * n)),
        "invoice_footer": _longest_accepted("invoice_footer", lambda n: " ".join(["Thank you!"] * n)),
    }


NOA_SHAPES = {  # texts that grow until the save check refuses them
    "lines": lambda n: "NOTICE OF ASSIGNMENT\n" + "\n".join(f"Line {i} of the notice." for i in range(n)),
    "paragraph": lambda n: " ".join(["Pay only Capital Depot Funding, LLC, P.O. Box 4410."] * n),
    "own title, paragraphs": lambda n: "Notice of Assignment\n\n" + "\n\n".join(
        ["This invoice is payable only to Capital Depot Funding, LLC at P.O. Box 4410, Dallas, TX 75208."] * n),
    "two-line title": lambda n: "Notice of Assignment " + "and sale of this account receivable " * 3 + "\n" + "\n".join(
        ["Pay Capital Depot."] * n),
    "widest letters": lambda n: " ".join(["WWWWWWWWW"] * n),
    "one long word": lambda n: "W" * (20 * n),
    "indented": lambda n: "\n".join(["        Capital Depot Funding, LLC, P.O. Box 4410, Dallas, TX 75208"] * n),
}


@pytest.mark.parametrize("shape", list(NOA_SHAPES), ids=list(NOA_SHAPES))
def test_the_longest_noa_the_save_accepts_fits_on_page_one_of_a_ten_item_invoice(fonts, shape):
    noa = _longest_accepted(INFO_NOA, NOA_SHAPES[shape])
    assert subsidiaries.printed_lines(INFO_NOA, noa) <= subsidiaries.INFO_LIMITS[INFO_NOA].lines
    info = dict(_info_at_limits(), **{INFO_NOA: noa})
    pdf = batch_file.render_invoice(_load(), _customer(fonts), _subsidiary(), _lines(10), info)
    pages = _check_layout(pdf)
    assert len(pages) == 1, f"{len(pages)} pages"
    printed = _printed(pages)
    for text in info.values():
        assert _squash(text) in printed


def test_a_noa_on_a_long_invoice_moves_whole_to_the_next_page():
    noa = _longest_accepted(INFO_NOA, NOA_SHAPES["lines"])
    pdf = batch_file.render_invoice(_load(), _customer("base"), _subsidiary(), _lines(40, "Stop"), {INFO_NOA: noa})
    pages = _check_layout(pdf)
    with_noa = [n for n, (_, _, runs) in enumerate(pages) if any(r.text.startswith("Line ") for r in runs)]
    assert len(with_noa) == 1
    assert _squash(noa) in _printed(pages)


def test_the_save_check_counts_the_lines_the_invoice_draws():
    """subsidiaries.INFO_LIMITS measures as batch_file draws: same widths, same sizes, same wrapping."""
    full = letter[0] - 2 * batch_file.PAGE_MARGIN_X
    limits = subsidiaries.INFO_LIMITS
    assert limits[INFO_NOA].width == pytest.approx(batch_file.noa_width())
    assert limits[INFO_NOA].size == batch_file.NOA_STYLES[0][1]
    assert subsidiaries.NOA_TITLE_SIZE == batch_file.NOA_STYLES[0][0]
    assert limits["remit_to"].width == pytest.approx(full / 3 - 14)  # the third of three columns
    assert limits["invoice_terms"].width == pytest.approx(full - 12)
    assert limits["invoice_footer"].width == pytest.approx(full)
    samples = [CAPITAL_DEPOT_NOA, PARAGRAPH_NOA, "x", "W" * 333, "a\n\n\nb", "   indented\n" * 3, " " * 300 + "far",
               "Notice of assignment\n\n\nbody", "word " * 150, "Zürich “quoted” — dash\tand tab"] + [
               shape(5) for shape in NOA_SHAPES.values()]
    with batch_file._drawing_with(batch_file.BASE_FONTS):
        pen = batch_file._Pen(io.BytesIO(), letter, "t", "a", "f")
        for text in samples:
            title, body, _ = batch_file._notice_layout(pen, text, batch_file.NOA_STYLES[0])
            assert subsidiaries.printed_lines(INFO_NOA, text) == len(title) + len(body), text[:30]
            for kind, font in (("remit_to", "Helvetica"), ("invoice_terms", "Helvetica"),
                               ("invoice_footer", "Helvetica")):
                limit = limits[kind]
                drawn = batch_file.wrap(text.strip(), font, limit.size, limit.width)  # as the invoice does
                assert subsidiaries.printed_lines(kind, text) == len(drawn), (kind, text[:30])


def test_a_5000_character_noa_is_refused_at_save_naming_the_limit(in_app, world):
    sub = world.logistics
    ImportantInfo.delete().where(ImportantInfo.subsidiary == sub).execute()
    text = ("Notice of Assignment\n" + "Pay Capital Depot only. " * 210)[:4999] + "."
    with pytest.raises(Invalid) as refused:
        subsidiaries.save_info(sub, INFO_NOA, text, actor=world.admin)
    message = refused.value.errors["text"]
    assert "5,000 characters; at most 1,100 are allowed" in message
    assert "at most 1,100 characters and 13 lines" in message
    assert not ImportantInfo.select().where(ImportantInfo.subsidiary == sub).exists()


@pytest.mark.parametrize("kind", list(subsidiaries.INFO_LIMITS))
def test_each_kind_refuses_more_lines_than_the_invoice_has_room_for(kind):
    limit = subsidiaries.INFO_LIMITS[kind]
    text = "\n".join(["ok"] * (limit.lines + 1))
    with pytest.raises(Invalid) as refused:
        subsidiaries.clean_info(kind, text)
    lines = limit.lines + 1 + (1 if kind == INFO_NOA else 0)  # the NOA's box adds its title
    assert f"it takes {lines} lines on the invoice" in refused.value.errors["text"]
    assert f"at most {limit.chars:,} characters and {limit.lines} line" in refused.value.errors["text"]
    assert subsidiaries.clean_info(kind, "\n".join(["ok"] * (limit.lines - (1 if kind == INFO_NOA else 0))))


@pytest.mark.parametrize("kind", list(subsidiaries.INFO_LIMITS))
def test_each_kind_refuses_more_characters_than_its_limit(kind):
    limit = subsidiaries.INFO_LIMITS[kind]
    with pytest.raises(Invalid) as refused:
        subsidiaries.clean_info(kind, "x" * (limit.chars + 1))
    assert f"{limit.chars + 1:,} characters; at most {limit.chars:,} are allowed" in refused.value.errors["text"]


# --- a text saved before the limits ------------------------------------------------------------

LEGACY_NOA = "Notice of Assignment\n" + "Pay Capital Depot Funding, LLC only; P.O. Box 4410, Dallas, TX.\n" * 80


def test_a_noa_too_long_for_a_page_is_refused_not_printed_half():
    with pytest.raises(ValueError) as refused:
        batch_file.render_invoice(_load(), _customer("base"), _subsidiary(), _lines(1), {INFO_NOA: LEGACY_NOA})
    assert "Notice of Assignment is too long to print on one invoice page" in str(refused.value)
    assert "at most 1,100 characters and 13 lines" in str(refused.value)


def test_a_batch_with_a_noa_saved_before_the_limit_fails_naming_it(in_app, world):
    ImportantInfo.update(text=LEGACY_NOA).where(
        (ImportantInfo.subsidiary == world.freight) & (ImportantInfo.kind == INFO_NOA)).execute()
    ids = world.eligible(1)
    batch = Batch.get_by_id(submit_batch(world.company, world.freight, ids, world.billing).id)
    assert batch.status == BATCH_FAILED  # not Ready with half a notice
    assert "Notice of Assignment is too long to print on one invoice page" in batch.error
    assert Load.get_by_id(ids[0]).billing_status == QUEUED
