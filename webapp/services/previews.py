"""Files kept between a preview and its confirmation: the one upload-preview mechanism.

A load import and a Purchase or Payment Report both work the same way: the file
is read and checked, its bytes are kept in the database (every web node sees
them) under a purpose, the person sees what it would do, and on Confirm the kept
bytes are read and checked again against the database as it is then. Previews
left unconfirmed are forgotten after PREVIEW_MAX_AGE.
"""
import datetime
import hashlib

from webapp.models import StoredFile
from webapp.models import utcnow
from webapp.services.sql import chunks

PREVIEW_MAX_AGE = datetime.timedelta(days=2)

LOAD_IMPORT = "load-import"
REPORT = "report"


def content_type(purpose):
    """The content type that marks a kept file's purpose (a load import, a report)."""
    return f"text/csv; purpose={purpose}"


def clean_filename(filename, default, max_length=120):
    """The base name of an uploaded file as the browser sent it, printable, at most MAX_LENGTH
    characters (its end kept, where the extension is); DEFAULT when nothing is left."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    name = "".join(ch for ch in name if ch.isprintable())
    return name[-max_length:] or default


def keep(company_id, filename, data, purpose, sha256=None):
    """Keep the bytes of an uploaded file for its confirmation; returns the StoredFile."""
    return StoredFile.create(company=company_id, filename=filename, content_type=content_type(purpose),
                             size=len(data), sha256=sha256 or hashlib.sha256(data).hexdigest(), data=data)


def find(company_id, file_id, purpose):
    """The kept file FILE_ID of COMPANY_ID for PURPOSE, or None (confirmed already, or forgotten)."""
    if not file_id:
        return None
    return StoredFile.get_or_none((StoredFile.id == file_id) & (StoredFile.company == company_id)
                                  & (StoredFile.content_type == content_type(purpose)))


def data_of(file_id):
    """The kept bytes (PostgreSQL hands back a memoryview)."""
    data = StoredFile.select(StoredFile.data).where(StoredFile.id == file_id).scalar()
    return bytes(data) if data is not None else b""


def stale(company_id, purpose):
    """Ids of COMPANY_ID's files of PURPOSE kept longer than PREVIEW_MAX_AGE."""
    return [i for (i,) in StoredFile.select(StoredFile.id).where(
        (StoredFile.company == company_id) & (StoredFile.content_type == content_type(purpose))
        & (StoredFile.created_at < utcnow() - PREVIEW_MAX_AGE)).tuples()]


def forget(file_ids):
    """Delete kept files (inside the caller's transaction)."""
    for chunk in chunks(file_ids):
        StoredFile.delete().where(StoredFile.id.in_(chunk)).execute()
