"""Photos and scans as load documents (services/loads/documents.py): JPEG, PNG and multi-page
TIFF become PDF pages, upright by their EXIF orientation and fitted to the page; a damaged,
truncated, huge or oversized image is refused at upload with a message and nothing is kept."""
import io
import struct
import zlib

import pytest
from PIL import Image
from pypdf import PdfReader

from tests.helpers import snapshot
from webapp.models import Load
from webapp.models import LoadDocument
from webapp.services import loads as service
from webapp.services.batches import batch_file
from webapp.services.loads import documents

LIMIT = 10 * 1024 * 1024


def _load(number="DT-1001"):
    load = Load.get(Load.load_number == number)
    LoadDocument.delete().where(LoadDocument.load == load.id).execute()
    return load


def jpeg(size=(400, 200), orientation=None, color=(200, 30, 30)):
    image = Image.new("RGB", size, color)
    out = io.BytesIO()
    if orientation:
        exif = Image.Exif()
        exif[0x0112] = orientation  # Orientation
        image.save(out, "JPEG", exif=exif.tobytes())
    else:
        image.save(out, "JPEG")
    return out.getvalue()


def png_with_alpha(size=(300, 300)):
    image = Image.new("RGBA", size, (0, 120, 0, 128))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def tiff(pages=3, size=(850, 1100)):
    frames = [Image.new("1", size, 1) for _ in range(pages)]
    out = io.BytesIO()
    frames[0].save(out, "TIFF", save_all=True, append_images=frames[1:], compression="group4")
    return out.getvalue()


def png_claiming(width, height):
    """A PNG header that claims WIDTH × HEIGHT pixels (its pixels never follow)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 10)) + \
        chunk(b"IEND", b"")


def _pages(pdf):
    return PdfReader(io.BytesIO(pdf)).pages


def test_a_photo_becomes_one_page_fitted_to_a_letter_page():
    pages = _pages(documents.image_to_pdf(jpeg((4000, 3000))))
    assert len(pages) == 1
    width, height = float(pages[0].mediabox.width), float(pages[0].mediabox.height)
    assert (width, height) == (792, 612)  # a wide photo on a landscape Letter page


def test_exif_orientation_turns_the_photo_upright():
    # Stored 400 × 200 with orientation 6 ("rotate 90° clockwise"): upright it is 200 × 400.
    page = _pages(documents.image_to_pdf(jpeg((400, 200), orientation=6)))[0]
    assert (float(page.mediabox.width), float(page.mediabox.height)) == (612, 792)
    image = next(iter(page.images)).image
    assert image.width < image.height
    without = _pages(documents.image_to_pdf(jpeg((400, 200))))[0]
    assert (float(without.mediabox.width), float(without.mediabox.height)) == (792, 612)


def test_a_multi_page_fax_tiff_gives_a_page_for_each_of_its_pages():
    assert len(_pages(documents.image_to_pdf(tiff(pages=3)))) == 3


def test_a_transparent_png_is_drawn_on_white():
    page = _pages(documents.image_to_pdf(png_with_alpha()))[0]
    image = next(iter(page.images)).image.convert("RGB")
    red, green, blue = image.getpixel((image.width // 2, image.height // 2))
    assert green > red and red > 100  # half-transparent green over white, not over black


def test_images_are_kept_as_uploaded_and_merged_behind_the_invoice_as_pages(dbconn):
    load = _load()
    photo, fax = jpeg((3000, 4000), orientation=3), tiff(pages=2)
    first = service.add_document(load, None, "pod", "bol-photo.jpg", photo, LIMIT)
    second = service.add_document(load, None, "rate_confirmation", "ratecon.tif", fax, LIMIT)
    assert bytes(first.file.data) == photo and first.file.content_type == "image/jpeg"
    assert second.file.content_type == "image/tiff"
    merged_documents = service.documents_for_merge([load.id])[load.id]
    invoice = documents._blank_pdf()
    merged = batch_file.merge_pdfs(invoice, merged_documents)
    assert len(_pages(merged)) == 1 + 2 + 1  # invoice, the fax's two pages, the photo


@pytest.mark.parametrize("data, name, message", [
    (jpeg()[:300], "cut.jpg", "JPEG file that cannot be read"),
    (b"\xff\xd8\xff\xe0" + b"\x00" * 64, "junk.jpg", "JPEG file that cannot be read"),
    (tiff()[:200], "fax.tif", "TIFF file that cannot be read"),
    (png_claiming(40_000, 40_000), "huge.png", "pixels"),
    (b"GIF89a" + b"\x00" * 40, "anim.gif", "is not a PDF, JPEG, PNG or TIFF file"),
])
def test_a_damaged_or_unusable_image_is_refused_at_upload_and_nothing_is_kept(dbconn, data, name, message):
    load = _load()
    before = snapshot()
    with pytest.raises(service.DocumentError, match=message) as refused:
        service.add_document(load, None, "pod", name, data, LIMIT)
    assert str(refused.value).startswith(name)
    assert snapshot() == before


def test_an_image_above_the_upload_limit_is_refused_with_the_limit(dbconn):
    load = _load()
    before = snapshot()
    with pytest.raises(service.DocumentError, match="the limit is 1 MB"):
        service.add_document(load, None, "pod", "big.jpg", jpeg((3000, 3000)) + b"\x00" * 1_100_000, 1024 * 1024)
    assert snapshot() == before
