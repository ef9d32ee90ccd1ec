"""Purchase and Payment Reports against the database: preview, then apply once.

preview() stores the file and says what every row will do, without changing any
load. apply() parses the stored bytes again, validates them again against the
database as it is now, and writes everything in one transaction with bulk SQL:
conditional UPDATEs (the load must still be in the status the preview saw), one
audit row per status change pointing to the upload and its row. A second apply
of the same file for the same batch is impossible: a partial unique index on
report_upload(batch, kind, sha256) WHERE status = 'applied' guards it.
"""
import json

from peewee import JOIN
from peewee import IntegrityError

from webapp.models import BATCH_CANCELLED
from webapp.models import BATCH_FAILED
from webapp.models import BATCH_READY
from webapp.models import REPORT_KINDS
from webapp.models import REPORT_PURCHASE
from webapp.models import UPLOAD_APPLIED
from webapp.models import UPLOAD_PREVIEW
from webapp.models import Batch
from webapp.models import ReportUpload
from webapp.models import User
from webapp.models import db
from webapp.models import utcnow
from webapp.services import previews
from webapp.services.reports.checking import evaluate
from webapp.services.reports.parsing import parse_report
from webapp.services.reports.writing import WriteConflict
from webapp.services.reports.writing import write_payment
from webapp.services.reports.writing import write_purchase
from webapp.services.sql import chunks
from webapp.services.sql import write_transaction


class ReportRefused(Exception):
    """The upload or its confirmation is refused; MESSAGE says why for a person.

    PREVIEW, when set, is the fresh preview that shows the rows at fault.
    """

    def __init__(self, message, preview=None, *, status=422):
        super().__init__(message)
        self.message = message
        self.preview = preview
        self.status = status



# --- entry points -----------------------------------------------------------

def preview(batch, kind, data, actor, filename="", sheet=None):
    """Store the file and return what it would do. Loads are not touched.

    A file that cannot be read at all (PDF, empty, the other report, already
    applied) is refused with ReportRefused and nothing is stored; a workbook of
    several sheets is kept even then, so that another sheet can be chosen.
    """
    if kind not in REPORT_KINDS:
        raise ValueError(f"unknown report kind {kind!r}")
    refusal = batch_refusal(batch)
    if refusal:
        raise ReportRefused(refusal, status=409)
    parsed = parse_report(kind, data, sheet=sheet, filename=filename)
    if parsed.file_error and not parsed.rows and len(parsed.sheets) < 2:
        raise ReportRefused(parsed.file_error.message)
    applied = _applied_twin(batch.id, kind, parsed.sha256)
    if applied is not None:
        raise ReportRefused(already_applied_message(applied), status=409)
    result = evaluate(batch, kind, parsed)
    with db.atomic():
        _prune_previews(batch.company_id)
        default = "Purchase_Report.csv" if kind == REPORT_PURCHASE else "Payments_Report.csv"
        stored = previews.keep(batch.company_id, previews.clean_filename(filename, default, 200), data,
                              previews.REPORT, sha256=parsed.sha256)
        result.upload = ReportUpload.create(
            company=batch.company_id, batch=batch.id, kind=kind, status=UPLOAD_PREVIEW, file=stored,
            filename=stored.filename, sha256=parsed.sha256, uploaded_by=actor,
            row_count=len(parsed.rows), summary=json.dumps(result.summary(), default=str))
    return result


def review(upload):
    """The preview of a stored, unconfirmed upload, checked again against the database now."""
    result = evaluate(upload.batch, upload.kind, _parse_stored(upload))
    result.upload = upload
    return result


def choose_sheet(upload, sheet):
    """Read another sheet of a stored, unconfirmed workbook upload; the choice is kept for
    the confirmation. Returns the preview of that sheet."""
    if upload.status != UPLOAD_PREVIEW:
        raise ReportRefused("This upload is no longer waiting for confirmation.", status=409)
    parsed = parse_report(upload.kind, stored_bytes(upload), sheet=sheet, filename=upload.filename)
    if sheet not in parsed.sheets:
        raise ReportRefused(f"The workbook has no sheet named '{sheet}' that holds anything.")
    result = evaluate(upload.batch, upload.kind, parsed)
    (ReportUpload.update(summary=json.dumps(result.summary(), default=str), row_count=len(parsed.rows))
     .where(ReportUpload.id == upload.id).execute())
    upload.summary = json.dumps(result.summary(), default=str)
    result.upload = upload
    return result


def _parse_stored(upload):
    """The stored upload parsed again, on the sheet its preview read."""
    sheet = (json.loads(upload.summary) if upload.summary else {}).get("sheet")
    return parse_report(upload.kind, stored_bytes(upload), sheet=sheet, filename=upload.filename)


def apply(upload, actor):
    """Apply a previewed upload: everything in one transaction, or nothing.

    Returns the Preview it applied. Raises ReportRefused when the file has errors
    now, was already applied, or the batch changed underneath.
    """
    batch = upload.batch
    parsed = _parse_stored(upload)
    try:
        with write_transaction():
            # Claim the upload first: a second confirmation waits here, then finds it applied.
            claimed = (ReportUpload.update(status=UPLOAD_APPLIED, applied_at=utcnow())
                       .where((ReportUpload.id == upload.id) & (ReportUpload.status == UPLOAD_PREVIEW))
                       .execute())
            if claimed != 1:
                raise _AlreadyApplied()
            refusal = batch_refusal(Batch.get_by_id(batch.id))
            if refusal:
                raise ReportRefused(refusal, status=409)
            result = evaluate(batch, upload.kind, parsed)
            result.upload = upload
            if not result.ok:
                raise ReportRefused("The file has errors against the batch as it is now; nothing was "
                                    "applied. Correct the rows below and upload the file again.", result)
            if upload.kind == REPORT_PURCHASE:
                write_purchase(result, upload, actor)
            else:
                write_payment(result, upload, actor)
            (ReportUpload.update(summary=json.dumps(result.summary(), default=str),
                                 row_count=len(parsed.rows))
             .where(ReportUpload.id == upload.id).execute())
    except _AlreadyApplied:
        applied = _applied_twin(batch.id, upload.kind, upload.sha256)
        raise ReportRefused(already_applied_message(applied) if applied else
                            "This upload is no longer waiting for confirmation.", status=409)
    except (IntegrityError, WriteConflict):
        applied = _applied_twin(batch.id, upload.kind, upload.sha256)
        if applied is not None:
            raise ReportRefused(already_applied_message(applied), status=409)
        raise ReportRefused("Someone else changed this batch while you were confirming; nothing was "
                            "applied. Upload the file again to see what it would do now.", status=409)
    upload.status = UPLOAD_APPLIED
    return result


def stored_bytes(upload):
    """The uploaded file's bytes."""
    return previews.data_of(upload.file_id)


def batch_refusal(batch):
    """Why reports cannot be uploaded on BATCH now, or None."""
    if batch.status == BATCH_READY:
        return None
    if batch.status == BATCH_CANCELLED:
        return f"Batch {batch.number} was cancelled; reports cannot be uploaded on it."
    if batch.status == BATCH_FAILED:
        return f"Batch {batch.number} failed to submit; retry it before uploading reports."
    return (f"Batch {batch.number} is still being submitted; upload reports once it shows "
            "Submitted.")


def already_applied_message(upload):
    """'This file was already applied on DATE by USER.'"""
    who = upload.uploaded_by.display_name if upload.uploaded_by_id else "a user no longer here"
    when = upload.applied_at.strftime("%Y-%m-%d %H:%M UTC") if upload.applied_at else "an earlier date"
    return f"This file was already applied on {when} by {who} ({upload.filename or 'same content'})."


class _AlreadyApplied(Exception):
    pass


def _applied_twin(batch_id, kind, sha256):
    return (ReportUpload.select(ReportUpload, User)
            .join(User, JOIN.LEFT_OUTER, on=(ReportUpload.uploaded_by == User.id))
            .where((ReportUpload.batch == batch_id) & (ReportUpload.kind == kind)
                   & (ReportUpload.sha256 == sha256) & (ReportUpload.status == UPLOAD_APPLIED))
            .first())


def _prune_previews(company_id):
    """Forget unconfirmed previews older than previews.PREVIEW_MAX_AGE (and their kept files)."""
    cutoff = utcnow() - previews.PREVIEW_MAX_AGE
    stale = list(ReportUpload.select(ReportUpload.id, ReportUpload.file)
                 .where((ReportUpload.company == company_id) & (ReportUpload.status == UPLOAD_PREVIEW)
                        & (ReportUpload.created_at < cutoff)).tuples())
    if not stale:
        return
    ids = [u for u, _ in stale]
    files = [f for _, f in stale]
    for chunk in chunks(ids):
        ReportUpload.delete().where(ReportUpload.id.in_(chunk)).execute()
    previews.forget(files)
