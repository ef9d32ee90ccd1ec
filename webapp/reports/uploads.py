"""Reports > Factoring: Purchase and Payment Report templates, uploads, preview, confirm.

Every page and fragment of an upload on a batch shows the batch's reports section, so each
render carries the batch's BatchReports read model (services.reports.batch_reports). A
remittance (a Payment Report for a subsidiary or the company, across batches) has its own
page and fragments (templates/reports/remittance/); the upload routes below serve both.
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
from webapp.models import UPLOAD_REVERSED
from webapp.models import Batch
from webapp.models import Factor
from webapp.models import ReportUpload
from webapp.models import Subsidiary
from webapp.permissions import actor
from webapp.permissions import billing_required
from webapp.permissions import current_company
from webapp.permissions import get_scoped_or_404
from webapp.permissions import login_required
from webapp.reports.views import batch_regions
from webapp.services import reports
from webapp.services.reports import parsing as report_parsing
from webapp.services.reports import remittance
from webapp.services.reports import templates as report_templates
from webapp.services.validation import Invalid

bp = Blueprint("report_uploads", __name__, url_prefix="/reports/factoring")

PREVIEW = "reports/uploads/_partials/preview.html"
RESULT = "reports/uploads/_partials/result.html"
REFUSED = "reports/uploads/_partials/refused.html"
REMITTANCE_PREVIEW = "reports/remittance/_partials/preview.html"
REMITTANCE_RESULT = "reports/remittance/_partials/result.html"


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
    """A report upload (on a batch, or a remittance): its preview (checked again now) or, once
    applied, its result."""
    upload = get_scoped_or_404(ReportUpload, upload_id)
    preview, result = _fragments(upload)
    if upload.status in (UPLOAD_APPLIED, UPLOAD_REVERSED):
        return _result_fragment(upload, result)
    return _upload_fragment(upload, preview, preview=reports.review(upload))


@bp.route("/uploads/<int:upload_id>/sheet", methods=["POST"])
@billing_required
def choose_sheet(upload_id):
    """A workbook of several sheets: read the sheet chosen (kept for the confirmation)."""
    upload = get_scoped_or_404(ReportUpload, upload_id)
    preview, _ = _fragments(upload)
    try:
        result = reports.choose_sheet(upload, request.form.get("sheet", ""))
    except reports.ReportRefused as exc:
        return _refused_back(upload, exc) or (_upload_fragment(
            upload, preview, preview=reports.review(upload), refusal_message=exc.message), exc.status)
    if not htmx:
        return redirect(url_for(".show", upload_id=upload.id), 303)
    return _upload_fragment(upload, preview, preview=result)


@bp.route("/uploads/<int:upload_id>/confirm", methods=["POST"])
@billing_required
def confirm(upload_id):
    """Confirm: apply the previewed report in one transaction, then show the result (on a batch,
    with the batch page's regions redrawn)."""
    upload = get_scoped_or_404(ReportUpload, upload_id)
    preview_fragment, result_fragment = _fragments(upload)
    try:
        result = reports.apply(upload, actor())
    except reports.ReportRefused as exc:
        if not htmx:
            return _refused_back(upload, exc)
        preview = exc.preview
        if preview is None:
            fresh = ReportUpload.get_by_id(upload.id)
            if fresh.status == UPLOAD_APPLIED:
                if upload.batch_id is not None:
                    return _refused(upload.batch, upload.kind, exc.message, exc.status)
                return render_template(REFUSED, kind_label=REPORT_KINDS[upload.kind], message=exc.message), exc.status
            preview = reports.review(fresh)
        return _upload_fragment(upload, preview_fragment, preview=preview, refusal_message=exc.message), exc.status
    if not htmx:
        flash(f"{REPORT_KINDS[upload.kind]} applied: "
              f"{reports.counts_text(upload.kind, result.counts)}.", "success")
        return redirect(url_for(".show", upload_id=upload.id), 303)
    response = _result_fragment(upload, result_fragment)
    if upload.batch_id is not None:
        response += batch_regions(upload.batch)
    return response


def _fragments(upload):
    """(preview, result) fragments of UPLOAD: a batch's, or a remittance's."""
    if upload.batch_id is None:
        return REMITTANCE_PREVIEW, REMITTANCE_RESULT
    return PREVIEW, RESULT


# --- a remittance across batches (Reports > Factoring > Upload Payment Report) -------------

@bp.route("/payment-report")
@login_required
def remittance_form():
    """Upload Payment Report for a subsidiary (or the company): the form, and the remittances
    applied lately."""
    wanted = request.args.get("subsidiary_id", "")
    subsidiary = get_scoped_or_404(Subsidiary, wanted) if wanted else None
    return render_template("reports/remittance/page.html",
                           **remittance.upload_page(current_company(), subsidiary))


@bp.route("/payment-report", methods=["POST"])
@billing_required
def upload_remittance():
    """Store a remittance and show what it would do, row by row, grouped by batch."""
    company = current_company()
    wanted = request.form.get("subsidiary_id", "")
    subsidiary = get_scoped_or_404(Subsidiary, wanted) if wanted else None
    wanted = request.form.get("factor_id", "")
    factor = get_scoped_or_404(Factor, wanted) if wanted else None
    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            raise reports.ReportRefused("Choose the Payment Report file (CSV, XLSX, XLS or ODS) to upload.")
        result = remittance.preview(company, subsidiary, factor, upload.read(), actor(), upload.filename)
    except reports.ReportRefused as exc:
        refusal = {"kind_label": REPORT_KINDS[REPORT_PAYMENT], "message": exc.message}
        if htmx:
            return render_template(REFUSED, **refusal), exc.status
        page = remittance.upload_page(company, subsidiary, factor)
        return render_template("reports/remittance/page.html", refusal=refusal, **page), exc.status
    if htmx:
        return render_template(REMITTANCE_PREVIEW, preview=result)
    return redirect(url_for(".show", upload_id=result.upload.id), 303)


# --- the factor's own columns, and undo ------------------------------------------------

MAPPING = "reports/uploads/_partials/mapping.html"


@bp.route("/uploads/<int:upload_id>/mapping", methods=["GET", "POST"])
@billing_required
def column_mapping(upload_id):
    """Which column of the factor's file holds each of our fields: the step to change (GET), or
    the choice saved for the factor and the file read with it (POST), then the preview."""
    upload = get_scoped_or_404(ReportUpload, upload_id)
    try:
        if request.method == "GET":
            return _upload_fragment(upload, MAPPING, step=reports.mapping_step(upload))
        choice = {field: request.form.get(f"field-{i}", "")[:200]
                  for i, field in enumerate(report_parsing.COLUMNS[upload.kind])}
        try:
            result = reports.map_columns(upload, choice, actor())
        except Invalid as exc:
            step = reports.mapping_step(upload)
            step.choice.update(choice)
            return _upload_fragment(upload, MAPPING, step=step, mapping_errors=exc.errors["mapping"]), 422
    except reports.ReportRefused as exc:
        return _refused_back(upload, exc) or (_upload_fragment(upload, REFUSED, message=exc.message), exc.status)
    if not htmx:
        return redirect(url_for(".show", upload_id=upload.id), 303)
    return _upload_fragment(upload, _fragments(upload)[0], preview=result)


@bp.route("/uploads/<int:upload_id>/reverse", methods=["POST"])
@billing_required
def reverse(upload_id):
    """Reverse an applied report (with a reason), then show its Details marked reversed."""
    upload = get_scoped_or_404(ReportUpload, upload_id)
    fragment = _fragments(upload)[1]
    try:
        count = reports.reverse(upload, actor(), request.form.get("reason", ""))
    except Invalid as exc:
        return _result_fragment(upload, fragment, reversal_errors=exc.errors["reason"]), 422
    except reports.ReversalRefused as exc:
        if not htmx:
            flash(exc.message, "error")
            return redirect(url_for(".show", upload_id=upload.id), 303)
        return _result_fragment(upload, fragment, reversal=exc.message), exc.status
    message = f"{REPORT_KINDS[upload.kind]} reversed: {count} load{'s' if count != 1 else ''} put back."
    if not htmx:
        flash(message, "success")
        return redirect(url_for(".show", upload_id=upload.id), 303)
    response = _result_fragment(upload, fragment)
    if upload.batch_id is not None:
        response += batch_regions(upload.batch)
    return response


def _upload_fragment(upload, fragment, **context):
    """FRAGMENT of UPLOAD's page: alone for htmx, else inside the batch's (or remittance's) page."""
    if upload.batch_id is None:
        base = remittance.upload_context(upload)
        page = "reports/remittance/upload.html"
    else:
        base = {"batch": upload.batch, "reports": reports.batch_reports(upload.batch)}
        page = "reports/uploads/page.html"
    base.update({"upload": upload, "kind": upload.kind, "kind_label": REPORT_KINDS[upload.kind], **context})
    if htmx:
        return render_template(fragment, **base)
    return render_template(page, fragment=fragment, **base)


def _result_fragment(upload, fragment, **context):
    """FRAGMENT (a result) of UPLOAD read again; a remittance's shown on the upload form's page
    also redraws that page's list of remittances applied."""
    fresh = ReportUpload.get_by_id(upload.id)
    if fresh.batch_id is None:
        on_form = request.headers.get("HX-Current-URL", "").split("?")[0].endswith(url_for(".remittance_form"))
        base = remittance.upload_context(fresh, with_applied=htmx and on_form)
    else:
        base = {"batch": fresh.batch, "reports": reports.batch_reports(fresh.batch), **reports.upload_result(fresh)}
    base.update({"kind": fresh.kind, "kind_label": REPORT_KINDS[fresh.kind], **context})
    if htmx:
        return render_template(fragment, **base)
    page = "reports/remittance/upload.html" if fresh.batch_id is None else "reports/uploads/page.html"
    return render_template(page, fragment=fragment, **base)


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
    if upload.status in (UPLOAD_APPLIED, UPLOAD_REVERSED):
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
