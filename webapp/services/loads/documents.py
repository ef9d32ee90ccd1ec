"""Documents kept with a load (rate confirmation, BOL, proof of delivery), merged behind its invoice.

A document is a PDF or an image: JPEG or PNG (a phone photo of the signed BOL) or TIFF of
one or more pages (a fax scan). An image is kept as it was uploaded and becomes PDF pages
(image_to_pdf: one page a frame, turned by its EXIF orientation, scaled to fit a Letter page)
whenever it is merged; at upload it goes through exactly that, so an image the merge could not
use (damaged, truncated, too many pixels) is refused there with a message.

Every PDF goes through prepare_pdf at upload: it is refused when it is too large, has too
many pages (counted without walking more of the page tree than the limit), is encrypted or
cannot be opened and re-saved; what is kept is a new file made of its pages with the active
content (JavaScript, Launch and other actions, additional actions, embedded files, the form)
removed. At merge each is read again with the same checks (open_for_merge) and its pages,
cleaned once more, go straight behind the invoice (merge_opened). At upload the result is
also put through those two steps, so a document the merge would fail on is refused there,
with a message.
"""
import hashlib
import io
import re
import warnings
from dataclasses import dataclass

from webapp.database import is_postgres
from webapp.models import Load
from webapp.models import LoadDocument
from webapp.models import StoredFile
from webapp.models import db
from webapp.services import audit
from webapp.services import previews
from webapp.services.sql import chunks
from webapp.services.sql import write_transaction

# Kinds of document kept with a load, in the order they are merged behind the invoice.
DOCUMENT_KINDS = {
    "rate_confirmation": "Rate confirmation",
    "bol": "Signed BOL",
    "pod": "Proof of delivery",
    "other": "Other",
}

# Limits, checked at upload before a file is kept and again when the batch file is built.
MAX_PAGES_PER_DOCUMENT = 200
MAX_DOCUMENTS_PER_LOAD = 10
# Pages of the documents merged behind one invoice (the invoice's own pages not counted).
MAX_PAGES_PER_INVOICE = 300
# /Pages nodes (not pages) walked while counting; a real tree of 200 pages needs a handful.
_MAX_PAGE_TREE_NODES = 1000
_MAX_PAGE_TREE_DEPTH = 64
# A PDF's reason for failing, as shown to a person, is cut to this many characters.
_MAX_REASON = 160

_DAMAGED_ADVICE = "Save or scan it again and upload the new file."


# --- documents ----------------------------------------------------------------------

class DocumentError(ValueError):
    """The uploaded document is refused; the message says why.

    PREDICATE is the same reason without the file's name ("has 99,000 pages; a document
    may have at most 200"), for the batch file's message, which names the document its own way.
    """

    def __init__(self, message, predicate=None):
        super().__init__(message)
        self.predicate = predicate or message


def _refuse(name, predicate, advice=""):
    return DocumentError(f"{name} {predicate}." + (f" {advice}" if advice else ""), predicate)


def _why(exc):
    """A non-empty, one-line, bounded reason for EXC (its type's name when it has no message)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= _MAX_REASON else text[:_MAX_REASON - 1] + "\u2026"


@dataclass(frozen=True)
class PreparedPdf:
    """A document as the merge uses it: DATA is the re-saved file with its active content
    removed; CHANGED is true when that differs in substance from the upload (something
    was removed, or the file needed repair to be read)."""
    data: bytes
    pages: int
    changed: bool


# --- counting pages without walking all of them ----------------------------------------

def _count_pages(reader, limit):
    """(pages, exact) of READER's page tree, walking at most LIMIT + 1 of its pages.

    A declared /Count above LIMIT is believed at once; otherwise the tree is walked,
    classifying nodes as pypdf does (so an accepted count is what len(reader.pages) finds)
    and stopping with (LIMIT + 1, False) as soon as there are more pages than LIMIT.
    A tree that refers to itself or has far more entries than pages raises PdfReadError.
    """
    from pypdf.errors import PdfReadError
    from pypdf.generic import ArrayObject
    from pypdf.generic import DictionaryObject

    root = reader.root_object  # the trailer's /Root, or the catalog pypdf finds in a damaged file
    tree = root.get("/Pages") if isinstance(root, DictionaryObject) else None
    tree = tree.get_object() if tree is not None else None
    if not isinstance(tree, DictionaryObject):
        raise PdfReadError("it has no page tree")
    declared = tree.get("/Count")
    declared = declared.get_object() if declared is not None else None
    if isinstance(declared, int) and declared > limit:
        return int(declared), True
    pages = entries = 0
    stack = [(tree, 0, frozenset())]
    while stack:
        node, depth, ancestors = stack.pop()
        node = node.get_object()
        entries += 1
        if entries > limit + _MAX_PAGE_TREE_NODES:
            raise PdfReadError("its page tree is too large")
        if not isinstance(node, DictionaryObject) or not node:
            continue
        if "/Type" in node:
            kind = node["/Type"]
        else:
            kind = "/Page" if "/Kids" not in node else "/Pages"
        if kind == "/Page":
            pages += 1
            if pages > limit:
                return pages, False
        elif kind == "/Pages":
            if id(node) in ancestors or depth >= _MAX_PAGE_TREE_DEPTH:
                raise PdfReadError("its page tree refers to itself or is too deep")
            kids = node.get("/Kids")
            kids = kids.get_object() if kids is not None else None
            if isinstance(kids, ArrayObject):
                inside = ancestors | {id(node)}
                stack.extend((kid, depth + 1, inside) for kid in reversed(kids))
    return pages, True


def _open(data, strict):
    """A PdfReader of DATA whose pages are counted (bounded); raises DocumentError for
    encryption and the page limits, anything else for a file that cannot be read."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data), strict=strict)
    if reader.is_encrypted:
        raise DocumentError("encrypted", "is password-protected")
    count, exact = _count_pages(reader, MAX_PAGES_PER_DOCUMENT)
    if count > MAX_PAGES_PER_DOCUMENT:
        raise DocumentError("too many pages", f"has {'' if exact else 'more than '}"
                            f"{count if exact else MAX_PAGES_PER_DOCUMENT:,} pages; a document may "
                            f"have at most {MAX_PAGES_PER_DOCUMENT}")
    if count < 1:
        raise DocumentError("no pages", "has no pages")
    return reader, count


def page_count(data):
    """The pages of a stored document, counted without walking more than the limit allows
    (a number above MAX_PAGES_PER_DOCUMENT for a larger one); 0 when it cannot be read."""
    try:
        if image_kind(data):
            return _image_frames(bytes(data))
        from pypdf import PdfReader
        return _count_pages(PdfReader(io.BytesIO(bytes(data)), strict=False), MAX_PAGES_PER_DOCUMENT)[0]
    except Exception:
        return 0


# --- active content --------------------------------------------------------------------

# Keys that hold scripts, actions run on events (opening, a page, a field), embedded files,
# the interactive form or a portfolio; removed wherever they are.
_ACTIVE_KEYS = ("/AA", "/JS", "/JavaScript", "/OpenAction", "/EmbeddedFiles", "/EF", "/AcroForm",
                "/XFA", "/Collection", "/RichMediaContent", "/RichMediaSettings")
# The types of action (PDF 32000-1, 12.6.4); only going to a page of the document and
# opening a web or mail link are kept.
_ACTION_TYPES = frozenset({
    "/GoTo", "/GoToR", "/GoToE", "/GoToDp", "/Launch", "/Thread", "/URI", "/Sound", "/Movie",
    "/Hide", "/Named", "/SubmitForm", "/ResetForm", "/ImportData", "/JavaScript", "/SetOCGState",
    "/Rendition", "/Trans", "/GoTo3DView", "/RichMediaExecute", "/ECMAScript"})
_SAFE_URI = re.compile(r"(?i)(https?|mailto):")
# Annotations that play, embed or run something: dropped with what they hold.
_ACTIVE_ANNOTATIONS = frozenset({"/FileAttachment", "/Screen", "/Movie", "/Sound", "/RichMedia",
                                 "/3D"})


def _resolve(obj):
    return obj.get_object() if obj is not None else None


def _uri_text(value):
    value = _resolve(value)
    raw = bytes(value) if isinstance(value, bytes) else str(value or "").encode("latin-1", "replace")
    return re.sub(rb"[\x00-\x20]+", b"", raw).decode("latin-1")


def _active_action(obj):
    """True for an action dictionary other than GoTo or a web/mail URI (or an array holding one)."""
    from pypdf.generic import ArrayObject
    from pypdf.generic import DictionaryObject

    obj = _resolve(obj)
    if isinstance(obj, ArrayObject):
        return any(_active_action(item) for item in obj)
    if not isinstance(obj, DictionaryObject):
        return False
    kind = obj.get("/S")
    if kind not in _ACTION_TYPES:
        return obj.get("/Type") == "/Action"
    if kind == "/GoTo":
        return False
    return not (kind == "/URI" and _SAFE_URI.match(_uri_text(obj.get("/URI"))))


def _active_annotation(obj):
    from pypdf.generic import DictionaryObject

    obj = _resolve(obj)
    if not isinstance(obj, DictionaryObject):
        return False
    if obj.get("/Subtype") in _ACTIVE_ANNOTATIONS:
        return True
    return obj.get("/Subtype") == "/Link" and _active_action(obj.get("/A"))


def _strip_active(root, remove=True):
    """Remove (or with REMOVE false, only look for) the active content reachable from ROOT,
    a pypdf object of a reader or writer, in place. True when there was some."""
    from pypdf.generic import ArrayObject
    from pypdf.generic import DictionaryObject
    from pypdf.generic import IndirectObject

    found = False
    seen = set()
    stack = [root]
    while stack:
        obj = stack.pop()
        if isinstance(obj, IndirectObject):
            if (obj.idnum, obj.generation) in seen:
                continue
            seen.add((obj.idnum, obj.generation))
            obj = obj.get_object()
        if not isinstance(obj, (DictionaryObject, ArrayObject)) or id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, ArrayObject):
            stack.extend(obj)
            continue
        for key in _ACTIVE_KEYS:
            if key in obj:
                found = True
                if remove:
                    del obj[key]
        for key in ("/A", "/Next", "/PA"):
            if key in obj and _active_action(obj[key]):
                found = True
                if remove:
                    del obj[key]
        annots = _resolve(obj.get("/Annots"))
        if isinstance(annots, ArrayObject) and any(_active_annotation(a) for a in annots):
            found = True
            if remove:
                annots[:] = [a for a in annots if not _active_annotation(a)]
        if _active_action(obj):
            # An action reached some other way: emptied, so nothing of it can run.
            found = True
            if remove:
                obj.clear()
        stack.extend(obj.values())
    return found


def _drop_unreachable(writer):
    """Forget the objects of WRITER that nothing written refers to (what _strip_active
    detached), so they are not written out."""
    from pypdf.generic import ArrayObject
    from pypdf.generic import DictionaryObject
    from pypdf.generic import IndirectObject

    objects = writer._objects
    reachable = set()
    info = writer._info
    stack = [writer.root_object.indirect_reference, getattr(info, "indirect_reference", None) or info]
    while stack:
        obj = stack.pop()
        if isinstance(obj, IndirectObject):
            if obj.idnum in reachable:
                continue
            reachable.add(obj.idnum)
            obj = obj.get_object()
        if isinstance(obj, DictionaryObject):
            stack.extend(obj.values())
        elif isinstance(obj, ArrayObject):
            stack.extend(obj)
    for n in range(len(objects)):
        if n + 1 not in reachable:
            objects[n] = None


def _rebuild(data, strict):
    """DATA opened, its active content removed and its pages written to a new PDF:
    (bytes, pages, something removed)."""
    from pypdf import PdfReader
    from pypdf import PdfWriter

    reader, pages = _open(data, strict)
    removed = _strip_active(reader.root_object)
    if len(reader.pages) != pages:
        raise DocumentError("pages", "has a damaged page tree")
    writer = PdfWriter()
    writer.append(reader, import_outline=False)
    if _strip_active(writer.root_object):
        removed = True
        _drop_unreachable(writer)
    out = io.BytesIO()
    writer.write(out)
    saved = out.getvalue()
    again = PdfReader(io.BytesIO(saved), strict=False)
    if len(again.pages) != pages:
        raise DocumentError("pages", "lost pages when it was saved again")
    if _strip_active(again.root_object, remove=False):
        raise DocumentError("active", "holds active content that could not be removed")
    return saved, pages, removed


def _check_head(data, name, max_bytes):
    """Refuse DATA when it is empty, larger than MAX_BYTES or not a PDF."""
    if not data:
        raise _refuse(name, "is empty")
    if max_bytes and len(data) > max_bytes:
        raise DocumentError(f"{name} is {len(data) / 1048576:.1f} MB; the limit is "
                            f"{max_bytes // 1048576} MB.",
                            f"is {len(data) / 1048576:.1f} MB; the limit is {max_bytes // 1048576} MB")
    if b"%PDF-" not in data[:1024]:
        raise DocumentError(f"{name} is not a PDF, JPEG, PNG or TIFF file. Upload the rate "
                            "confirmation or signed BOL / proof of delivery as a PDF or a photo "
                            "or scan of it.", "is not a PDF, JPEG, PNG or TIFF file")


def _refusal(name, exc):
    """The DocumentError that refuses NAME because reading it raised EXC, with advice."""
    if isinstance(exc, DocumentError):
        advice = {"is password-protected": "Upload an unprotected copy so it can be merged behind "
                                           "the invoice.",
                  "has no pages": _DAMAGED_ADVICE}
        if exc.predicate.startswith("has ") and "at most" in exc.predicate:
            advice[exc.predicate] = "Upload only the pages the factor needs, or split the file."
        return _refuse(name, exc.predicate, advice.get(exc.predicate, _DAMAGED_ADVICE))
    why = _why(exc)
    return DocumentError(f"{name} looks like a PDF but cannot be opened; it may be damaged "
                         f"({why}). {_DAMAGED_ADVICE}", f"is not a readable PDF ({why})")


def prepare_pdf(data, name, max_bytes=None):
    """DATA as the batch file merges it (a PreparedPdf), or DocumentError saying why not.

    The file is read strictly first; one that needs repair to be read is read leniently
    (as the merge would) and then counts as changed, so the repaired copy is what is kept.
    """
    name = name or "The file"
    data = bytes(data or b"")
    _check_head(data, name, max_bytes)
    repaired = False
    try:
        try:
            saved, pages, removed = _rebuild(data, strict=True)
        except DocumentError:
            raise
        except Exception:
            repaired = True
            saved, pages, removed = _rebuild(data, strict=False)
    except Exception as exc:
        raise _refusal(name, exc) from None
    return PreparedPdf(data=saved, pages=pages, changed=removed or repaired)


# --- images: photos and fax scans become PDF pages ------------------------------------

# What a file's first bytes say it is: (content type, name in a message).
_IMAGE_SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "PNG"),
    (b"II*\x00", "image/tiff", "TIFF"),
    (b"MM\x00*", "image/tiff", "TIFF"),
)
# An image may have at most this many pixels a page (a 12-megapixel phone photo has 12
# million; 60 million is a 600 dpi scan of a tabloid page). Checked from the header, before
# any pixel is decoded, so a small file that claims a huge picture costs nothing.
MAX_IMAGE_PIXELS = 60_000_000
# The page an image is drawn on (Letter, points) and the margin around it.
_PAGE = (612, 792)
_MARGIN = 18
# Pixels per inch the picture is kept at on the page: legible, and a photo of a few MB
# stays a few hundred KB behind the invoice.
_IMAGE_DPI = 200


def image_kind(data):
    """(content type, format name) of an image DATA begins with, else None (a PDF or other)."""
    head = bytes(data[:16])
    for signature, content_type, label in _IMAGE_SIGNATURES:
        if head.startswith(signature):
            return content_type, label
    return None


def content_type_of(data):
    """The content type a kept document is stored with."""
    kind = image_kind(data)
    return kind[0] if kind else "application/pdf"


def _open_image(data):
    """A Pillow image of DATA whose size was checked (nothing decoded yet); ValueError otherwise."""
    from PIL import Image

    try:
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:
        raise ValueError(f"is a picture of too many pixels; at most {MAX_IMAGE_PIXELS:,} a page") from None
    width, height = image.size
    if width < 1 or height < 1:
        raise ValueError("has no picture in it")
    if width * height > MAX_IMAGE_PIXELS:
        raise ValueError(f"is a picture of {width:,} × {height:,} pixels; at most "
                         f"{MAX_IMAGE_PIXELS:,} pixels a page")
    return image


def _image_frames(data):
    """The pages (frames) of an image, counted without decoding them (bounded)."""
    image = _open_image(data)
    return min(getattr(image, "n_frames", 1), MAX_PAGES_PER_DOCUMENT + 1)


def _page_image(frame):
    """One frame turned upright (EXIF orientation), in RGB or grey, at most _IMAGE_DPI on the page."""
    from PIL import Image
    from PIL import ImageOps

    frame.load()  # decodes it: a truncated or damaged file fails here
    upright = ImageOps.exif_transpose(frame)
    if upright.mode in ("1", "L", "I;16", "I", "F"):
        upright = upright.convert("L")
    elif upright.mode != "RGB":
        if "A" in upright.getbands() or upright.mode == "P":
            rgba = upright.convert("RGBA")
            upright = Image.new("RGB", rgba.size, (255, 255, 255))
            upright.paste(rgba, mask=rgba.getchannel("A"))
        else:
            upright = upright.convert("RGB")
    width, height = upright.size
    landscape = width > height
    page_w, page_h = (_PAGE[1], _PAGE[0]) if landscape else _PAGE
    box_w, box_h = page_w - 2 * _MARGIN, page_h - 2 * _MARGIN
    most_w, most_h = int(box_w / 72 * _IMAGE_DPI), int(box_h / 72 * _IMAGE_DPI)
    if width > most_w or height > most_h:
        upright = upright.copy()
        upright.thumbnail((most_w, most_h), Image.LANCZOS)
    return upright, (page_w, page_h), (box_w, box_h)


def image_to_pdf(data, name="The image"):
    """An image (JPEG, PNG, TIFF of one or more pages) as PDF bytes: one page a frame, each
    turned upright by its EXIF orientation and scaled to fit a Letter page (landscape for a
    wide picture), centred. DocumentError saying why for an image that cannot be used."""

    label = (image_kind(data) or ("", "image"))[1]
    with warnings.catch_warnings():
        # Pillow warns of damaged EXIF data and large pictures: each is answered below instead.
        warnings.simplefilter("ignore")
        return _image_to_pdf(data, name, label)


def _image_to_pdf(data, name, label):
    from PIL import Image
    from PIL import ImageSequence
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    try:
        image = _open_image(data)
        frames = getattr(image, "n_frames", 1)
        if frames > MAX_PAGES_PER_DOCUMENT:
            raise ValueError(f"has {frames:,} pages; a document may have at most {MAX_PAGES_PER_DOCUMENT}")
        out = io.BytesIO()
        pdf = canvas.Canvas(out, pagesize=_PAGE, invariant=1, pageCompression=1)
        for frame in ImageSequence.Iterator(image):
            picture, page, box = _page_image(frame)
            encoded = io.BytesIO()
            picture.save(encoded, "JPEG", quality=85, optimize=True)
            scale = min(box[0] / picture.width, box[1] / picture.height)
            draw_w, draw_h = picture.width * scale, picture.height * scale
            pdf.setPageSize(page)
            pdf.drawImage(ImageReader(io.BytesIO(encoded.getvalue())), (page[0] - draw_w) / 2,
                          (page[1] - draw_h) / 2, width=draw_w, height=draw_h)
            pdf.showPage()
        pdf.save()
        return out.getvalue()
    except ValueError as exc:
        predicate = str(exc) if str(exc).startswith(("is ", "has ")) else \
            f"is a {label} file that cannot be read ({_why(exc)})"
        raise _refuse(name, predicate, "" if "at most" in predicate else _DAMAGED_ADVICE) from None
    except (OSError, SyntaxError, Image.DecompressionBombError, EOFError, KeyError, IndexError,
            TypeError, ZeroDivisionError) as exc:
        raise _refuse(name, f"is a {label} file that cannot be read; it may be damaged or cut "
                      f"short ({_why(exc)})", _DAMAGED_ADVICE) from None


def prepare_document(data, name, max_bytes=None):
    """A kept document (PDF or image) as the merge uses it: an image first becomes PDF pages
    (image_to_pdf), then it is a PDF like the others (prepare_pdf)."""
    name = name or "The file"
    data = bytes(data or b"")
    if max_bytes and len(data) > max_bytes:
        return prepare_pdf(data, name, max_bytes)  # refuses it, with the size in the message
    if image_kind(data):
        return prepare_pdf(image_to_pdf(data, name), name)
    return prepare_pdf(data, name, max_bytes)


def check_pdf(data, filename, max_bytes):
    """Refuse what is not a readable, unencrypted PDF of at most MAX_BYTES and
    MAX_PAGES_PER_DOCUMENT pages that the merge can use; returns its PreparedPdf."""
    return prepare_pdf(data, filename or "The file", max_bytes)


class MergeDocument(bytes):
    """A document's bytes for the batch file, knowing what it is: LABEL names it in a message
    ("proof of delivery 'scan.pdf'")."""

    def __new__(cls, data, kind="", filename=""):
        document = super().__new__(cls, data)
        kind_label = DOCUMENT_KINDS.get(kind, "")
        kind_label = "document" if kind in ("", "other") or not kind_label else \
            kind_label[0].lower() + kind_label[1:]
        document.kind = kind
        document.filename = filename
        document.label = f"{kind_label} '{filename}'" if filename else kind_label
        return document


def open_for_merge(data, name):
    """A kept document (PDF or image) as the batch file merges it: (a PdfReader of it with its
    active content removed, its pages), or DocumentError saying why not, as prepare_document.

    Read leniently, as the merge always read it (the strict read at upload only tells whether
    the file needed repair); not saved again: its pages go straight behind the invoice.
    """
    name = name or "The file"
    data = bytes(data or b"")
    if image_kind(data):
        data = image_to_pdf(data, name)
    _check_head(data, name, None)
    try:
        reader, pages = _open(data, strict=False)
        _strip_active(reader.root_object)
        if len(reader.pages) != pages:
            raise DocumentError("pages", "has a damaged page tree")
    except Exception as exc:
        raise _refusal(name, exc) from None
    return reader, pages


def merge_opened(first, readers):
    """FIRST (PDF bytes) followed by every page of each of READERS (from open_for_merge), the
    whole cleaned once more: the last step of the batch file's merge, also tried at upload.

    A document that cannot be appended (pypdf reads the last of it only here) raises
    DocumentError whose INDEX says which.
    """
    from pypdf import PdfReader
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(first)))
    for n, reader in enumerate(readers):
        try:
            writer.append(reader, import_outline=False)
        except Exception as exc:
            error = DocumentError("merge", f"is not a readable PDF ({_why(exc)})")
            error.index = n
            raise error from exc
    if _strip_active(writer.root_object):
        _drop_unreachable(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


_BLANK = None


def _blank_pdf():
    """One blank page, standing in for the invoice when a document is tried at upload."""
    global _BLANK
    if _BLANK is None:
        from pypdf import PdfWriter
        writer = PdfWriter()
        writer.add_blank_page(width=612, height=792)
        out = io.BytesIO()
        writer.write(out)
        _BLANK = out.getvalue()
    return _BLANK


def _try_merge(kept, filename):
    """Put KEPT (the bytes to be stored) through the batch file's steps for one document, as
    merge_pdfs will: open_for_merge, then merge_opened behind a stand-in invoice."""
    try:
        merge_opened(_blank_pdf(), [open_for_merge(kept, filename)[0]])
    except DocumentError as exc:
        raise _refuse(filename, exc.predicate, _DAMAGED_ADVICE) from None


def _lock_load(load):
    """Serialise adding documents to one load (PostgreSQL; SQLite's IMMEDIATE lock does it)."""
    if is_postgres():
        Load.select(Load.id).where(Load.id == load.id).for_update().execute()


def _check_room(load, filename, pages):
    """Refuse a document the load has no room for (documents per load, pages per invoice)."""
    rows = list(LoadDocument.select(LoadDocument.id, StoredFile.data).join(StoredFile)
                .where(LoadDocument.load == load.id).tuples())
    if len(rows) >= MAX_DOCUMENTS_PER_LOAD:
        raise DocumentError(f"Load {load.load_number} already has {len(rows)} documents; a load may "
                            f"have at most {MAX_DOCUMENTS_PER_LOAD}. Remove one before adding another.")
    kept = sum(page_count(data) for _, data in rows)
    if kept + pages > MAX_PAGES_PER_INVOICE:
        raise DocumentError(f"{filename} has {pages:,} pages and the documents already on load "
                            f"{load.load_number} have {kept:,}; at most {MAX_PAGES_PER_INVOICE} pages "
                            "of documents can be merged behind one invoice. Upload only the pages "
                            "the factor needs.")


def add_document(load, actor, kind, filename, data, max_bytes):
    """Keep a PDF or an image (JPEG, PNG, TIFF) with the load; returns the LoadDocument.

    What is kept is the upload itself when preparing it for the merge changed nothing of
    substance, else the prepared (re-saved, cleaned) file; either way the merge reads
    exactly the bytes that were tried here.
    """
    if kind not in DOCUMENT_KINDS:
        raise DocumentError("Choose what the document is (rate confirmation, BOL, proof of delivery).")
    filename = previews.clean_filename(re.sub(r"[\x00-\x1f/\\]+", "_", (filename or "").strip()),
                                       "document.pdf")
    prepared = prepare_document(data, filename, max_bytes)
    # An image is kept as it came (it becomes PDF pages at every merge); a PDF as prepared.
    kept = bytes(data) if image_kind(data) or not prepared.changed else prepared.data
    _try_merge(kept, filename)
    with write_transaction():
        _lock_load(load)
        _check_room(load, filename, prepared.pages)
        stored = StoredFile.create(company=load.company_id, filename=filename,
                                   content_type=content_type_of(kept), size=len(kept),
                                   sha256=hashlib.sha256(kept).hexdigest(), data=kept)
        document = LoadDocument.create(load=load.id, kind=kind, file=stored, uploaded_by=actor)
        audit.record(audit.LOAD_DOCUMENT_ADD, "load", load.id, actor=actor, company=load.company_id,
                     details={"kind": kind, "file": filename, "document": document.id,
                              "pages": prepared.pages, "cleaned": prepared.changed})
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
    """{load_id: [MergeDocument, ...]} for the batch file: rate confirmation, BOL, POD, other.

    Each is the stored bytes (a bytes) knowing its kind and file name, so that a merge
    error can name it.
    """
    order = {kind: n for n, kind in enumerate(DOCUMENT_KINDS)}
    found = {}
    for chunk in chunks(load_ids):
        rows = (LoadDocument.select(LoadDocument.id, LoadDocument.load, LoadDocument.kind,
                                    StoredFile.filename, StoredFile.data)
                .join(StoredFile)
                .where(LoadDocument.load.in_(chunk))
                .tuples())
        for doc_id, load_id, kind, filename, data in rows:
            found.setdefault(load_id, []).append(
                (order.get(kind, len(order)), doc_id, MergeDocument(bytes(data), kind, filename)))
    return {load_id: [data for _, _, data in sorted(docs, key=lambda d: d[:2])]
            for load_id, docs in found.items()}
