"""Purchase and Payment Reports against the database: preview, then apply once.

preview() stores the file and says what every row will do, without changing any
load. apply() parses the stored bytes again, validates them again against the
database as it is now, and writes everything in one transaction with bulk SQL:
conditional UPDATEs (the load must still be in the status the preview saw), one
audit row per status change pointing to the upload and its row. A second apply
of the same file for the same batch is impossible: a partial unique index on
report_upload(batch, kind, sha256) WHERE status = 'applied' guards it.
"""
import contextlib
import gc
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
from webapp.models import Company
from webapp.models import ReportUpload
from webapp.models import User
from webapp.models import db
from webapp.models import utcnow
from webapp.services import local_time
from webapp.services import previews
from webapp.services.reports import mapping
from webapp.services.reports.checking import evaluate
from webapp.services.reports.checking import target_of
from webapp.services.reports.parsing import parse_table
from webapp.services.reports.parsing import read_report_table
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
    with _collector_paused():   # reading a workbook builds its every cell, as an apply does
        parsed = mapping.read(kind, data, batch.factor_id, sheet=sheet, filename=filename)
    if parsed.file_error and not parsed.rows and len(parsed.sheets) < 2 and not parsed.needs_mapping:
        raise ReportRefused(parsed.file_error.message)
    applied = applied_twin(kind, parsed.sha256, batch_id=batch.id)
    if applied is not None:
        raise ReportRefused(already_applied_message(applied), status=409)
    with _collector_paused():
        result = evaluate_with_mapping(batch, kind, parsed)
    with db.atomic():
        _prune_previews(batch.company_id)
        default = "Purchase_Report.csv" if kind == REPORT_PURCHASE else "Payments_Report.csv"
        stored = previews.keep(batch.company_id, previews.clean_filename(filename, default, 200), data,
                              previews.REPORT, sha256=parsed.sha256)
        result.upload = ReportUpload.create(
            company=batch.company_id, batch=batch.id, kind=kind, status=UPLOAD_PREVIEW, file=stored,
            filename=stored.filename, sha256=parsed.sha256, uploaded_by=actor,
            row_count=len(parsed.rows), summary=json.dumps(result.summary(), default=str),
            mapping=(parsed.saved_mapping or {}).get("id"))
    return result


def review(upload):
    """The preview of a stored, unconfirmed upload, checked again against the database now."""
    with _collector_paused():
        result = evaluate_with_mapping(target_of(upload), upload.kind, _parse_stored(upload))
    result.upload = upload
    return result


def evaluate_with_mapping(target, kind, parsed):
    """evaluate(), with what the preview says of the factor's columns: the saved mapping the
    file was read with, or the mapping step when the clerk must map them first."""
    result = evaluate(target, kind, parsed)
    result.mapping = parsed.saved_mapping
    if parsed.needs_mapping and parsed.table is not None:
        result.step = mapping.step_for(kind, parsed.table, notice=parsed.mapping_notice)
    return result


def _factor_id(upload):
    """The factor whose saved mappings read UPLOAD: its batch's, or its remittance's."""
    if upload.batch_id is not None:
        return upload.batch.factor_id
    return getattr(upload, "factor_id", None)


def mapping_step(upload):
    """The mapping step of a stored, unconfirmed upload: the mapping it was read with (or the
    one proposed), to change."""
    if upload.status != UPLOAD_PREVIEW:
        raise ReportRefused("This upload is no longer waiting for confirmation.", status=409)
    parsed = _parse_stored(upload)
    if parsed.table is None:
        raise ReportRefused(parsed.file_error.message if parsed.file_error else "The file cannot be read.")
    return mapping.step_for(upload.kind, parsed.table, choice=parsed.mapping,
                            notice=parsed.mapping_notice)


def map_columns(upload, choice, actor):
    """Save CHOICE ({our column: file key}) as the factor's mapping for the upload's header and
    read the file with it; returns the preview. A mapping that leaves a required field empty
    or gives one column two fields is refused (validation.Invalid naming each)."""
    if upload.status != UPLOAD_PREVIEW:
        raise ReportRefused("This upload is no longer waiting for confirmation.", status=409)
    summary = json.loads(upload.summary) if upload.summary else {}
    parsed = read_report_table(upload.kind, stored_bytes(upload), sheet=summary.get("sheet"),
                               filename=upload.filename, expected=set(choice.values()) - {""})
    if parsed.table is None:
        raise ReportRefused(parsed.file_error.message if parsed.file_error else "The file cannot be read.")
    with write_transaction():
        saved = mapping.save(company_id=upload.company_id, factor_id=_factor_id(upload), kind=upload.kind,
                             table=parsed.table, choice=choice, actor=actor)
        mapped = parse_table(upload.kind, parsed.table, parsed.sha256, mapping.columns_of(saved))
        mapped.saved_mapping = mapping.describe(saved)
        result = evaluate_with_mapping(target_of(upload), upload.kind, mapped)
        (ReportUpload.update(summary=json.dumps(result.summary(), default=str), row_count=len(mapped.rows),
                             mapping=saved.id)
         .where(ReportUpload.id == upload.id).execute())
    upload.summary, upload.mapping_id = json.dumps(result.summary(), default=str), saved.id
    result.upload = upload
    return result


def choose_sheet(upload, sheet):
    """Read another sheet of a stored, unconfirmed workbook upload; the choice is kept for
    the confirmation. Returns the preview of that sheet."""
    if upload.status != UPLOAD_PREVIEW:
        raise ReportRefused("This upload is no longer waiting for confirmation.", status=409)
    parsed = mapping.read(upload.kind, stored_bytes(upload), _factor_id(upload), sheet=sheet,
                          filename=upload.filename)
    if sheet not in parsed.sheets:
        raise ReportRefused(f"The workbook has no sheet named '{sheet}' that holds anything.")
    result = evaluate_with_mapping(target_of(upload), upload.kind, parsed)
    mapping_id = (parsed.saved_mapping or {}).get("id")
    (ReportUpload.update(summary=json.dumps(result.summary(), default=str), row_count=len(parsed.rows),
                         mapping=mapping_id)
     .where(ReportUpload.id == upload.id).execute())
    upload.summary, upload.mapping_id = json.dumps(result.summary(), default=str), mapping_id
    result.upload = upload
    return result


def _parse_stored(upload):
    """The stored upload parsed again, on the sheet its preview read."""
    summary = json.loads(upload.summary) if upload.summary else {}
    return mapping.read(upload.kind, stored_bytes(upload), _factor_id(upload), sheet=summary.get("sheet"),
                        filename=upload.filename, columns=summary.get("mapping"),
                        mapping_id=summary.get("mapping_id"))


def apply(upload, actor):
    """Apply a previewed upload: everything in one transaction, or nothing.

    Returns the Preview it applied. Raises ReportRefused when the file has errors
    now, was already applied, or the batch changed underneath.
    """
    with _collector_paused():
        return _apply(upload, actor)


@contextlib.contextmanager
def _collector_paused():
    """Python's cycle collector paused for the block. An apply (and a preview, reading every
    cell of a workbook) builds a few hundred thousand small objects (rows, outcomes, the rows
    it writes) that all live until it ends: the collector's passes over them free nothing and
    took a tenth of a 5,000-row apply, a third of a workbook's preview. What the
    block leaves behind is collected as usual once it is resumed."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def _apply(upload, actor):
    batch = upload.batch if upload.batch_id is not None else None  # None: a remittance
    target = target_of(upload)
    parsed = _parse_stored(upload)
    try:
        with write_transaction():
            # Claim the upload first: a second confirmation waits here, then finds it applied.
            claimed = (ReportUpload.update(status=UPLOAD_APPLIED, applied_at=utcnow())
                       .where((ReportUpload.id == upload.id) & (ReportUpload.status == UPLOAD_PREVIEW))
                       .execute())
            if claimed != 1:
                raise _AlreadyApplied()
            refusal = batch_refusal(Batch.get_by_id(batch.id)) if batch is not None else None
            if refusal:
                raise ReportRefused(refusal, status=409)
            result = evaluate_with_mapping(target, upload.kind, parsed)
            result.upload = upload
            if result.step is not None:
                raise ReportRefused("Map the file's columns to ours first; nothing was applied.", result)
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
        applied = _twin_of(upload)
        raise ReportRefused(already_applied_message(applied) if applied else
                            "This upload is no longer waiting for confirmation.", status=409)
    except (IntegrityError, WriteConflict):
        applied = _twin_of(upload)
        if applied is not None:
            raise ReportRefused(already_applied_message(applied), status=409)
        raise ReportRefused(f"Someone else changed {'this batch' if batch is not None else 'these loads'} while "
                            "you were confirming; nothing was applied. Upload the file again to see what it "
                            "would do now.", status=409)
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
        return f"Batch #{batch.number} was cancelled; reports cannot be uploaded on it."
    if batch.status == BATCH_FAILED:
        return f"Batch #{batch.number} failed: its file was not generated. Retry it before uploading reports."
    return (f"Batch #{batch.number} is still being generated; upload reports once its file is ready "
            "and sent.")


def already_applied_message(upload):
    """'This file was already applied on DATE by USER.'"""
    who = upload.uploaded_by.display_name if upload.uploaded_by_id else "a user no longer here"
    company = Company.get_or_none(Company.id == upload.company_id)
    when = (local_time.format_datetime(upload.applied_at, local_time.zone_name(company=company))
            if upload.applied_at else "an earlier date")
    return f"This file was already applied on {when} by {who} ({upload.filename or 'same content'})."


class _AlreadyApplied(Exception):
    pass


def applied_twin(kind, sha256, *, batch_id=None, company_id=None, subsidiary_id=None, factor_id=None):
    """The applied upload of the same file on the same batch (BATCH_ID), or, for a remittance
    (no batch), of the same company, subsidiary and factor; None when there is none."""
    if batch_id is not None:
        where = ReportUpload.batch == batch_id
    else:
        where = ((ReportUpload.company == company_id) & ReportUpload.batch.is_null()
                 & (ReportUpload.factor == factor_id)
                 & (ReportUpload.subsidiary.is_null() if subsidiary_id is None
                    else (ReportUpload.subsidiary == subsidiary_id)))
    return (ReportUpload.select(ReportUpload, User)
            .join(User, JOIN.LEFT_OUTER, on=(ReportUpload.uploaded_by == User.id))
            .where(where & (ReportUpload.kind == kind)
                   & (ReportUpload.sha256 == sha256) & (ReportUpload.status == UPLOAD_APPLIED))
            .first())


def _twin_of(upload):
    return applied_twin(upload.kind, upload.sha256, batch_id=upload.batch_id, company_id=upload.company_id,
                        subsidiary_id=upload.subsidiary_id, factor_id=upload.factor_id)


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
