"""A remittance across batches: a Payment Report uploaded on Reports > Factoring for a whole
subsidiary (or the company), from one factor.

preview() stores the file on an upload with no batch (its subsidiary, or none for the whole
company, and its factor) and checks every row against the Financed invoices of that factor
in any batch (checking.Scope). Review, the sheet choice and apply are those of every report
upload (services/reports/uploads.py): they check a remittance against its Scope, and apply
writes its payments, load changes and history in one transaction, each history row naming
the load's own batch. The same payment (load, date, amount, reference) is recorded once,
whichever way it came in: the preview skips one already recorded and the database's unique
index on payment refuses a second.
"""
import json

from peewee import JOIN
from peewee import fn

from webapp.models import REPORT_PAYMENT
from webapp.models import UPLOAD_APPLIED
from webapp.models import UPLOAD_PREVIEW
from webapp.models import Batch
from webapp.models import Factor
from webapp.models import ReportUpload
from webapp.models import Subsidiary
from webapp.models import User
from webapp.models import db
from webapp.services import previews
from webapp.services.reports import mapping
from webapp.services.reports import reversal
from webapp.services.reports.checking import Scope
from webapp.services.reports.summary import counts_text
from webapp.services.reports.summary import summary_of
from webapp.services.reports.uploads import ReportRefused
from webapp.services.reports.uploads import _collector_paused
from webapp.services.reports.uploads import _prune_previews
from webapp.services.reports.uploads import already_applied_message
from webapp.services.reports.uploads import applied_twin
from webapp.services.reports.uploads import evaluate_with_mapping


def scope_of(company, subsidiary, factor):
    """The Scope of a remittance of FACTOR for SUBSIDIARY (None: the whole COMPANY); refused
    when the factor or the subsidiary is not the company's."""
    if factor is None or factor.company_id != company.id:
        raise ReportRefused("Choose the factor that sent this Payment Report.")
    if subsidiary is not None and subsidiary.company_id != company.id:
        raise ReportRefused("Choose one of the company's subsidiaries, or all of them.")
    return Scope(company.id, factor, subsidiary)


def preview(company, subsidiary, factor, data, actor, filename="", sheet=None):
    """Store a remittance of FACTOR for SUBSIDIARY (None: every subsidiary of COMPANY) and return
    what it would do, grouped by batch. Loads are not touched.

    Refused with ReportRefused (nothing stored) when the file cannot be read at all or the same
    file was already applied for the same subsidiary and factor.
    """
    scope = scope_of(company, subsidiary, factor)
    with _collector_paused():   # as a single batch's preview
        parsed = mapping.read(REPORT_PAYMENT, data, factor.id, sheet=sheet, filename=filename)
    if parsed.file_error and not parsed.rows and len(parsed.sheets) < 2 and not parsed.needs_mapping:
        raise ReportRefused(parsed.file_error.message)
    applied = applied_twin(REPORT_PAYMENT, parsed.sha256, company_id=company.id,
                           subsidiary_id=subsidiary.id if subsidiary else None, factor_id=factor.id)
    if applied is not None:
        raise ReportRefused(already_applied_message(applied), status=409)
    with _collector_paused():
        result = evaluate_with_mapping(scope, REPORT_PAYMENT, parsed)
    with db.atomic():
        _prune_previews(company.id)
        stored = previews.keep(company.id, previews.clean_filename(filename, "Payments_Report.csv", 200), data,
                               previews.REPORT, sha256=parsed.sha256)
        result.upload = ReportUpload.create(
            company=company.id, batch=None, subsidiary=subsidiary.id if subsidiary else None, factor=factor.id,
            kind=REPORT_PAYMENT, status=UPLOAD_PREVIEW, file=stored, filename=stored.filename,
            sha256=parsed.sha256, uploaded_by=actor, row_count=len(parsed.rows),
            summary=json.dumps(result.summary(), default=str), mapping=(parsed.saved_mapping or {}).get("id"))
    return result


def upload_page(company, subsidiary=None, factor=None):
    """Reports > Factoring > Upload Payment Report: the subsidiaries and factors to choose from
    (the factor proposed: FACTOR, else the one the subsidiary's (or company's) latest batch went
    to, whose invoices a remittance pays, else the first active), and the remittances applied
    lately."""
    choices = list(Factor.select().where(Factor.company == company).order_by(fn.LOWER(Factor.name), Factor.id))
    if factor is None:
        latest = (Batch.select(Batch.factor).where((Batch.company == company) & Batch.factor.is_null(False))
                  .order_by(Batch.created_at.desc(), Batch.id.desc()))
        if subsidiary is not None:
            latest = latest.where(Batch.subsidiary == subsidiary)
        latest_id = latest.scalar()
        factor = next((f for f in choices if f.id == latest_id), None)
    if factor is None:
        factor = next((f for f in choices if f.active), choices[0] if choices else None)
    return {
        "subsidiaries": list(Subsidiary.select().where(Subsidiary.company == company).order_by(Subsidiary.name)),
        "subsidiary": subsidiary, "factors": choices, "factor": factor,
        "applied": applied_remittances(company),
    }


def applied_remittances(company, limit=20):
    """COMPANY's latest applied remittances (uploads with no batch), with who uploaded them, the
    subsidiary, the factor and the words for what they did."""
    uploads = list(ReportUpload.select(ReportUpload, User, Subsidiary, Factor)
                   .join(User, JOIN.LEFT_OUTER, on=(ReportUpload.uploaded_by == User.id))
                   .switch(ReportUpload).join(Subsidiary, JOIN.LEFT_OUTER, on=(ReportUpload.subsidiary == Subsidiary.id))
                   .switch(ReportUpload).join(Factor, JOIN.LEFT_OUTER, on=(ReportUpload.factor == Factor.id))
                   .where((ReportUpload.company == company) & ReportUpload.batch.is_null()
                          & (ReportUpload.status == UPLOAD_APPLIED))
                   .order_by(ReportUpload.applied_at.desc(), ReportUpload.id.desc()).limit(limit))
    for upload in uploads:
        upload.info = summary_of(upload)
        upload.counts_text = counts_text(upload.kind, upload.info.get("counts", {}))
    return uploads


def upload_context(upload, with_applied=False):
    """What a remittance upload's page shows besides its preview or result: the upload with who
    sent it, its subsidiary and factor, its Scope and its stored summary (WITH_APPLIED: also the
    company's remittances applied lately, for the upload page's list)."""
    upload = (ReportUpload.select(ReportUpload, User, Subsidiary, Factor)
              .join(User, JOIN.LEFT_OUTER, on=(ReportUpload.uploaded_by == User.id))
              .switch(ReportUpload).join(Subsidiary, JOIN.LEFT_OUTER, on=(ReportUpload.subsidiary == Subsidiary.id))
              .switch(ReportUpload).join(Factor, JOIN.LEFT_OUTER, on=(ReportUpload.factor == Factor.id))
              .where(ReportUpload.id == upload.id).get())
    info = summary_of(upload)
    scope = Scope(upload.company_id, upload.factor, upload.subsidiary if upload.subsidiary_id else None)
    context = {"upload": upload, "scope": scope, "result_info": info,
               "counts_text": counts_text(upload.kind, info.get("counts", {})), **reversal.details(upload)}
    if with_applied:
        context["applied"] = applied_remittances(upload.company_id)
    return context
