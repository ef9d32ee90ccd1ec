"""Reports > Factoring: Purchase and Payment Report templates, uploads, preview, confirm.

Every page and fragment here shows the batch's reports section, so each render
carries the batch's BatchReports read model (services.reports.batch_reports).
"""
from urllib.parse import quote

from flask import Blueprint
from flask import Response
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for

from webapp.extensions import htmx
from webapp.models import REPORT_KINDS
from webapp.models import REPORT_PAYMENT
from webapp.models import REPORT_PURCHASE
from webapp.models import UPLOAD_APPLIED
from webapp.models import Batch
from webapp.models import ReportUpload
from webapp.permissions import actor
from webapp.permissions import billing_required
from webapp.permissions import get_scoped_or_404
from webapp.permissions import login_required
from webapp.services import reports
from webapp.services.reports import templates as report_templates

bp = Blueprint("report_uploads", __name__, url_prefix="/reports/factoring")

PREVIEW = "reports/uploads/_partials/preview.html"
RESULT = "reports/uploads/_partials/result.html"
REFUSED = "reports/uploads/_partials/refused.html"


# --- templates --------------------------------------------------------------------

@bp.route("/templates/Purchase_Report.csv")
@login_required
def purchase_template():
    """The Purchase Report template: headers only."""
    return _csv(report_templates.blank_template(REPORT_PURCHASE), "Purchase_Report.csv")


@bp.route("/templates/Payments_Report.csv")
@login_required
def payment_template():
    """The Payment Report template: headers only."""
    return _csv(report_templates.blank_template(REPORT_PAYMENT), "Payments_Report.csv")


@bp.route("/batches/<int:batch_id>/Purchase_Report.csv")
@login_required
def batch_purchase_template(batch_id):
    """The Purchase Report pre-filled with the batch's invoices still Invoiced."""
    return _prefilled(batch_id, REPORT_PURCHASE, "Purchase_Report")


@bp.route("/batches/<int:batch_id>/Payments_Report.csv")
@login_required
def batch_payment_template(batch_id):
    """The Payment Report pre-filled with the batch's Financed invoices and their balances."""
    return _prefilled(batch_id, REPORT_PAYMENT, "Payments_Report")


def _prefilled(batch_id, kind, stem):
    batch = get_scoped_or_404(Batch, batch_id)
    return _csv(report_templates.prefilled_template(batch, kind), f"{stem}_batch_{batch.number}.csv")


# --- upload, preview, confirm --------------------------------------------------------

@bp.route("/batches/<int:batch_id>/purchase-report", methods=["POST"])
@billing_required
def upload_purchase(batch_id):
    """Upload Purchase Report: store the file and show what it would do."""
    return _upload(batch_id, REPORT_PURCHASE)


@bp.route("/batches/<int:batch_id>/payment-report", methods=["POST"])
@billing_required
def upload_payment(batch_id):
    """Upload Payment Report: store the file and show what it would do."""
    return _upload(batch_id, REPORT_PAYMENT)


def _upload(batch_id, kind):
    batch = get_scoped_or_404(Batch, batch_id)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _refused(batch, kind, f"Choose the {REPORT_KINDS[kind]} file (CSV, XLSX, XLS or ODS) to "
                                     "upload.", 422)
    try:
        result = reports.preview(batch, kind, upload.read(), actor(), upload.filename)
    except reports.ReportRefused as exc:
        return _refused(batch, kind, exc.message, exc.status)
    if htmx:
        return render_template(PREVIEW, batch=batch, preview=result, reports=reports.batch_reports(batch))
    return redirect(url_for(".show", upload_id=result.upload.id), 303)


def _refused(batch, kind, message, status):
    context = {"batch": batch, "kind": kind, "kind_label": REPORT_KINDS[kind], "message": message,
               "reports": reports.batch_reports(batch)}
    if htmx:
        return render_template(REFUSED, **context), status
    return render_template("reports/uploads/page.html", refusal=context, **context), status


@bp.route("/uploads/<int:upload_id>")
@login_required
def show(upload_id):
    """A report upload: its preview (checked again now) or, once applied, its result."""
    upload = get_scoped_or_404(ReportUpload, upload_id)
    batch = upload.batch
    context = {"batch": batch, "upload": upload, "kind": upload.kind, "kind_label": REPORT_KINDS[upload.kind],
               "reports": reports.batch_reports(batch)}
    if upload.status == UPLOAD_APPLIED:
        context.update(reports.upload_result(upload))
        fragment = RESULT
    else:
        context["preview"] = reports.review(upload)
        fragment = PREVIEW
    if htmx:
        return render_template(fragment, **context)
    return render_template("reports/uploads/page.html", fragment=fragment, **context)


@bp.route("/uploads/<int:upload_id>/sheet", methods=["POST"])
@billing_required
def choose_sheet(upload_id):
    """A workbook of several sheets: read the sheet chosen (kept for the confirmation)."""
    upload = get_scoped_or_404(ReportUpload, upload_id)
    batch = upload.batch
    try:
        result = reports.choose_sheet(upload, request.form.get("sheet", ""))
    except reports.ReportRefused as exc:
        return _refused_back(upload, exc) or (render_template(
            PREVIEW, batch=batch, preview=reports.review(upload), refusal_message=exc.message,
            reports=reports.batch_reports(batch)), exc.status)
    if not htmx:
        return redirect(url_for(".show", upload_id=upload.id), 303)
    return render_template(PREVIEW, batch=batch, preview=result, reports=reports.batch_reports(batch))


@bp.route("/uploads/<int:upload_id>/confirm", methods=["POST"])
@billing_required
def confirm(upload_id):
    """Confirm: apply the previewed report in one transaction, then show the result."""
    upload = get_scoped_or_404(ReportUpload, upload_id)
    batch = upload.batch
    try:
        result = reports.apply(upload, actor())
    except reports.ReportRefused as exc:
        if not htmx:
            return _refused_back(upload, exc)
        preview = exc.preview
        if preview is None:
            fresh = ReportUpload.get_by_id(upload.id)
            if fresh.status == UPLOAD_APPLIED:
                return _refused(batch, upload.kind, exc.message, exc.status)
            preview = reports.review(fresh)
        return render_template(PREVIEW, batch=batch, preview=preview, refusal_message=exc.message,
                               reports=reports.batch_reports(batch)), exc.status
    if not htmx:
        flash(f"{REPORT_KINDS[upload.kind]} applied: "
              f"{reports.counts_text(upload.kind, result.counts)}.", "success")
        return redirect(url_for(".show", upload_id=upload.id), 303)
    upload = ReportUpload.get_by_id(upload.id)
    return render_template(RESULT, batch=batch, kind=upload.kind, kind_label=REPORT_KINDS[upload.kind],
                           reports=reports.batch_reports(batch), oob=True, **reports.upload_result(upload))


def _refused_back(upload, exc):
    """Without JavaScript, a refusal goes back to the upload's page with its message (htmx: None)."""
    if htmx:
        return None
    flash(exc.message, "error")
    return redirect(url_for(".show", upload_id=upload.id), 303)


@bp.route("/uploads/<int:upload_id>/errors.csv")
@login_required
def errors_csv(upload_id):
    """Download rows with errors: the bad rows as uploaded, with an Error column."""
    upload = get_scoped_or_404(ReportUpload, upload_id)
    if upload.status == UPLOAD_APPLIED:
        text = report_templates.errors_csv(None)
    else:
        text = report_templates.errors_csv(reports.review(upload))
    stem = upload.filename.rsplit(".", 1)[0] if upload.filename else "report"
    return _csv(text, f"{stem}_errors.csv")


@bp.route("/uploads/<int:upload_id>/file")
@login_required
def original(upload_id):
    """The uploaded file itself, byte for byte."""
    upload = get_scoped_or_404(ReportUpload, upload_id)
    response = Response(reports.stored_bytes(upload), mimetype="text/csv")
    response.headers["Content-Disposition"] = _attachment(upload.filename or "report.csv")
    return response


def _csv(text, filename):
    response = Response(text.encode("utf-8-sig"), mimetype="text/csv")
    response.headers["Content-Disposition"] = _attachment(filename)
    return response


def _attachment(filename):
    ascii_name = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\' else "_" for ch in filename)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
