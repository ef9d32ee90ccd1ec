"""A PDF drawn in the base fonts written out directly: the bytes reportlab's canvas writes.

The batch file's pens write their pages' operators themselves (batch_file._Pen); with the PDF
base fonts (Helvetica and Helvetica-Bold, nothing embedded) the rest of the file is a fixed
frame: the two fonts, one page object per page, the catalog, the document information, the
page tree, the page contents, the cross-reference table and the trailer. reportlab builds that
frame from an object graph in pure Python, which cost more than drawing the invoice; here it is
written from strings, byte for byte what canvas.Canvas(invariant=1, pageCompression=0) with
setTitle, setAuthor and setCreator writes for the same pages (tests/services/batches compares
the two), so a file is as deterministic as before and reads the same everywhere.

Used only for the base fonts: an embedded font's subsets belong to reportlab's document.
"""
import codecs
import functools
import hashlib
import os
import re

from reportlab.lib.rl_accel import fp_str
from reportlab.lib.utils import TimeStamp
from reportlab.pdfbase.pdfdoc import DummyDoc
from reportlab.pdfbase.pdfdoc import PDFDate
from reportlab.pdfbase.pdfdoc import PDFInfo
from reportlab.pdfbase.pdfdoc import PDFString
from reportlab.pdfbase.pdfdoc import pdfdocEnc

REGULAR = "Helvetica"
BOLD = "Helvetica-Bold"
# The fonts' names in the file, in the order reportlab's canvas registers them (its initial
# font, Helvetica, first).
NAMES = {REGULAR: "/F1", BOLD: "/F2"}
# What reportlab's canvas puts before each page's operators: no transformation, its initial font.
PREAMBLE = "1 0 0 1 0 0 cm  BT /F1 12 Tf 14.4 TL ET"

_HEAD = b"%PDF-1.3\n%\223\214\213\236 ReportLab Generated PDF document (opensource)\n"
_FONTS = (b"<<\n/F1 2 0 R /F2 3 0 R\n>>",
          b"<<\n/BaseFont /Helvetica /Encoding /WinAnsiEncoding /Name /F1 /Subtype /Type1 /Type /Font\n>>",
          b"<<\n/BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding /Name /F2 /Subtype /Type1 /Type /Font\n>>")
_PAGE = ("<<\n/Contents {contents} 0 R /MediaBox [ 0 0 {width} {height} ] /Parent {parent} 0 R /Resources <<\n"
         "/Font 1 0 R /ProcSet [ /PDF /Text /ImageB /ImageC /ImageI ]\n>> /Rotate 0 /Trans <<\n\n>> \n"
         "  /Type /Page\n>>")
_SIGNED = "% ReportLab generated PDF document -- digest (opensource)"
_DOC = DummyDoc()
# The ASCII characters reportlab's PDFDocEncoding codec refuses (it maps every other to itself).
_NOT_PDFDOC = re.compile("[\x18-\x1f]")


@functools.lru_cache(maxsize=4096)
def _string(text):
    """TEXT as a PDF string of the document information (reportlab's PDFString)."""
    return PDFString(text).format(_DOC)


@functools.lru_cache(maxsize=4)
def _stamp(source_date_epoch):
    """(the timestamp the signature starts from, the creation date as written): reportlab's
    invariant mode takes SOURCE_DATE_EPOCH when it is set, else 1 January 2000."""
    stamp = TimeStamp(1)
    return ascii(stamp.t).encode(), PDFDate(ts=stamp).format(_DOC)


def _array(items):
    """A PDF array as reportlab writes one: a line break every ten elements."""
    parts = list(items)
    for i in reversed(range(10, len(parts), 10)):
        parts.insert(i, "\n ")
    return "[ " + " ".join(parts) + " ]"


def _encoded(text):
    """TEXT encoded as reportlab encodes a page's content (PDFDocEncoding): a page's operators
    are printable ASCII (their strings escaped), which that codec leaves as they are, and its
    pure-Python character map took longer than writing the rest of the file."""
    if text.isascii() and not _NOT_PDFDOC.search(text):
        return text.encode("ascii")
    return pdfdocEnc(text)


def write(pagesize, pages, title, author, creator):
    """The PDF (bytes) of PAGES (each a list of operator strings) on PAGESIZE, with its title,
    author and creator (the text as the canvas takes it: already cleaned)."""
    count = len(pages)
    root, info, tree = count + 4, count + 5, count + 6
    width, height = fp_str(pagesize[0]), fp_str(pagesize[1])
    signature, date = _stamp(os.environ.get("SOURCE_DATE_EPOCH", "").strip())
    objects = list(_FONTS)
    objects += [_PAGE.format(contents=tree + n, width=width, height=height, parent=tree).encode()
                for n in range(1, count + 1)]
    objects.append(f"<<\n/PageMode /UseNone /Pages {tree} 0 R /Type /Catalog\n>>".encode())
    objects.append(b"<<\n/Author " + _string(author) + b" /CreationDate " + date + b" /Creator "
                   + _string(creator) + b" /Keywords () /ModDate " + date + b" /Producer "
                   + _string(PDFInfo.producer) + b" \n  /Subject (unspecified) /Title "
                   + _string(title) + b" /Trapped /False\n>>")
    kids = _array(f"{n} 0 R" for n in range(4, count + 4))
    objects.append(f"<<\n/Count {count} /Kids {kids} /Type /Pages\n>>".encode())
    for code in pages:
        stream = _encoded("\n".join([PREAMBLE, *code, " "]) + "\n")
        objects.append(b"<<\n/Length %d\n>>\nstream\n%sendstream" % (len(stream), stream))

    out = [_HEAD]
    offset = len(_HEAD)
    xref = ["xref", f"0 {len(objects) + 1}", "0000000000 65535 f "]
    for number, body in enumerate(objects, start=1):
        xref.append(f"{offset:010d} 00000 n ")
        piece = b"%d 0 obj\n%s\nendobj\n" % (number, body)
        out.append(piece)
        offset += len(piece)
    digest = hashlib.md5(b"a reportlab document", usedforsecurity=False)
    digest.update(signature)
    for text in (title, author, "unspecified", ""):
        digest.update(text.encode("utf8"))
    ident = b"<" + codecs.encode(digest.digest(), "hex") + b">"
    out.append(("\n".join(xref) + "\n").encode())
    out.append(b"trailer\n<<\n/ID \n[" + ident + ident + b"]\n" + _SIGNED.encode()
               + b"\n\n/Info %d 0 R\n/Root %d 0 R\n/Size %d\n>>\nstartxref\n%d\n%%%%EOF\n"
               % (info, root, len(objects) + 1, offset))
    return b"".join(out)
