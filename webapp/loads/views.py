"""Loads: the list, a load's page, create and edit, CSV import, documents."""
import io

from flask import Blueprint
from flask import Response
from flask import abort
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import send_file
from flask import url_for

from webapp.extensions import htmx
from webapp.models import Load
from webapp.permissions import actor
from webapp.permissions import billing_required
from webapp.permissions import current_company
from webapp.permissions import get_scoped_or_404
from webapp.permissions import login_required
from webapp.services import ledger
from webapp.services import loads as service
from webapp.services.loads import importing as load_import
from webapp.services.tables import CellError
from webapp.services.validation import Invalid
from webapp.services.validation import db_id
from webapp.web import found_or_404
from webapp.web import safe_next

bp = Blueprint("loads", __name__, url_prefix="/loads")


def _partial():
    """True when htmx asks for the fragment (not for a history restore, which needs the page)."""
    return bool(htmx) and not htmx.history_restore_request


@bp.route("/")
@login_required
def index():
    """Loads of the company in view: filters, sorting, pages; the table alone for htmx."""
    view = service.list_from_args(current_company(), request.args)
    context = {"page": view.page, "filters": view.filters, "sort": view.sort, "desc": view.desc}
    if _partial():
        return render_template("loads/_partials/table.html", **context)
    subsidiaries, customers = service.choices(current_company())
    return render_template("loads/index.html", subsidiaries=subsidiaries, customers=customers,
                           **context)


@bp.route("/<int:load_id>")
@login_required
def detail(load_id):
    """Every field of one load, its lines, money, documents and history."""
    load = get_scoped_or_404(Load, load_id)
    return render_template("loads/detail.html", back=safe_next(request.args.get("next")),
                           **service.load_page(load))


def _submitted_lines():
    """The line rows of the form as (kind, description, amount) text triples."""
    return list(zip(request.form.getlist("line_kind"), request.form.getlist("line_description"),
                    request.form.getlist("line_amount")))


def _render_form(load, form, lines, errors=None, status=200):
    subsidiaries, customers = service.choices(current_company())
    blanks = [("linehaul", "", ""), ("fuel", "", ""), ("accessorial", "", "")] if not lines else \
        [("accessorial", "", "")] * 2
    lines = list(lines) + blanks
    return render_template("loads/form.html", load=load, form=form, lines=lines,
                           errors=errors or {}, subsidiaries=subsidiaries,
                           customers=customers), status


@bp.route("/new", methods=["GET", "POST"])
@login_required
def create():
    """Enter a new load by hand."""
    if request.method == "POST":
        try:
            load = service.create_load(current_company(), actor(), request.form,
                                       _submitted_lines())
        except Invalid as exc:
            return _render_form(None, request.form, _filled(_submitted_lines()), exc.errors, 422)
        flash(f"Load {load.load_number} was created (Queued).", "success")
        return redirect(url_for("loads.detail", load_id=load.id), 303)
    return _render_form(None, {"subsidiary_id": request.args.get("subsidiary", "")}, [])


def _filled(lines):
    return [line for line in lines if (line[1] or "").strip() or (line[2] or "").strip()]


@bp.route("/<int:load_id>/edit", methods=["GET", "POST"])
@login_required
def update(load_id):
    """Edit a Queued load; other statuses are locked."""
    load = get_scoped_or_404(Load, load_id)
    if request.method == "POST":
        try:
            service.update_load(load, actor(), request.form, _submitted_lines())
        except service.LoadLocked as exc:
            flash(str(exc), "error")
            return redirect(url_for("loads.detail", load_id=load.id), 303)
        except Invalid as exc:
            return _render_form(load, request.form, _filled(_submitted_lines()), exc.errors, 422)
        flash(f"Load {load.load_number} was saved.", "success")
        return redirect(url_for("loads.detail", load_id=load.id), 303)
    try:
        service.ensure_editable(load)
    except service.LoadLocked as exc:
        flash(str(exc), "error")
        return redirect(url_for("loads.detail", load_id=load.id))
    return _render_form(load, service.blank_form(load), service.form_lines(service.lines_of(load)))


@bp.route("/line-row")
@login_required
def line_row():
    """One blank line-item row for the form's Add line button."""
    return render_template("loads/_partials/line_row.html",
                           line=(request.args.get("kind", "accessorial"), "", ""))


# --- import -------------------------------------------------------------------------

@bp.route("/import", methods=["GET", "POST"])
@login_required
def import_loads():
    """Upload a CSV file and see what it would create (nothing is written yet)."""
    preview, stored = None, None
    status = 200
    if request.method == "POST":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            preview = load_import.Preview(company_id=current_company().id)
            preview.errors.append(CellError(1, "File", "Choose a file (CSV, XLSX, XLS or ODS) to upload."))
        else:
            preview, stored = load_import.store_preview(current_company(), upload.filename,
                                                        upload.read())
        status = 200 if preview.ok else 422
    return _import_page(preview, stored, status)


def _import_page(preview, stored, status=200):
    context = {"preview": preview, "stored": stored}
    if _partial():
        return render_template("loads/_partials/import_preview.html", **context), status
    return render_template("loads/import.html", **context), status


def _stored_preview():
    """The stored preview the form names (upload_id), or None with the message flashed."""
    stored = load_import.find_preview(current_company(), db_id(request.form.get("upload_id")))
    if stored is None:
        flash("This file was already imported, or its preview expired. Upload it again.", "error")
    return stored


@bp.route("/import/sheet", methods=["POST"])
@login_required
def import_sheet():
    """A workbook of several sheets: the preview of the sheet chosen."""
    stored = _stored_preview()
    if stored is None:
        return redirect(url_for("loads.import_loads"), 303)
    preview = load_import.review_stored(stored, current_company(), request.form.get("sheet") or None)
    return _import_page(preview, stored, 200 if preview.ok else 422)


@bp.route("/import/commit", methods=["POST"])
@login_required
def import_commit():
    """Import the loads of a previewed file (its stored copy, by id): all of them or none."""
    stored = _stored_preview()
    if stored is None:
        return redirect(url_for("loads.import_loads"), 303)
    try:
        count, preview = load_import.commit_stored(stored, current_company(), actor(),
                                                   request.form.get("sheet") or None)
    except load_import.ImportRefused as exc:
        flash(str(exc), "error")
        return redirect(url_for("loads.import_loads"), 303)
    if not count:
        return render_template("loads/import.html", preview=preview, stored=None), 422
    flash(f"Imported {count} load{'s' if count != 1 else ''} from {stored.filename}.", "success")
    return redirect(url_for("loads.index", sort="load", dir="desc"), 303)


@bp.route("/import/template.csv")
@login_required
def import_template():
    """The CSV template: the column names and one example row."""
    return Response(load_import.template_csv(), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="Loads_Import.csv"'})


# --- documents ----------------------------------------------------------------------

def _documents_fragment(load, error=None, status=200):
    return render_template("loads/_partials/documents.html", load=load,
                           documents=service.documents_of(load), document_kinds=service.DOCUMENT_KINDS,
                           document_error=error, back=safe_next(request.values.get("next"))), status


def _back_to_documents(load):
    """The load's documents again (303), keeping the page to come back to."""
    return redirect(url_for("loads.detail", load_id=load.id, next=safe_next(request.values.get("next")),
                            _anchor="documents"), 303)


@bp.route("/<int:load_id>/documents", methods=["POST"])
@login_required
def add_document(load_id):
    """Keep a PDF or a photo or scan (rate confirmation, BOL, proof of delivery) with the load."""
    load = get_scoped_or_404(Load, load_id)
    upload = request.files.get("file")
    error = None
    try:
        if upload is None or not upload.filename:
            raise service.DocumentError("Choose a file to upload: a PDF, or a JPEG, PNG or TIFF photo or scan.")
        service.add_document(load, actor(), request.form.get("kind", ""), upload.filename,
                             upload.read(), current_app.config.get("MAX_CONTENT_LENGTH"))
    except service.DocumentError as exc:
        error = str(exc)
    if _partial():
        return _documents_fragment(load, error, 422 if error else 200)
    flash(error or "The document was added.", "error" if error else "success")
    return _back_to_documents(load)


@bp.route("/<int:load_id>/documents/<int:document_id>")
@login_required
def download_document(load_id, document_id):
    """The PDF itself."""
    load = get_scoped_or_404(Load, load_id)
    document = found_or_404(service.document_of(load, document_id))
    return send_file(io.BytesIO(bytes(document.file.data)), mimetype=document.file.content_type or "application/pdf",
                     as_attachment=True, download_name=document.file.filename)


@bp.route("/<int:load_id>/documents/<int:document_id>/delete", methods=["POST"])
@login_required
def remove_document(load_id, document_id):
    """Remove a document from the load."""
    load = get_scoped_or_404(Load, load_id)
    if not service.remove_document(load, actor(), document_id):
        abort(404)
    if _partial():
        return _documents_fragment(load)
    flash("The document was removed.", "success")
    return _back_to_documents(load)


# --- chargebacks (services/ledger/chargebacks.py) -------------------------------------------

def _chargeback_refused(load, exc, form_name):
    """The load page again with the chargeback form's errors (422), nothing changed."""
    return render_template("loads/detail.html", back=None, chargeback_errors=exc.errors,
                           chargeback_form=form_name, chargeback_values=request.form,
                           **service.load_page(load)), 422


@bp.route("/<int:load_id>/chargeback", methods=["POST"])
@billing_required
def record_chargeback(load_id):
    """A recourse factor charged the invoice back: amount, date and reason."""
    load = get_scoped_or_404(Load, load_id)
    try:
        ledger.charge_back_from_form(load, request.form, actor())
    except Invalid as exc:
        return _chargeback_refused(load, exc, "record")
    flash(f"Load {load.load_number} is Charged back: it left the factor and is now invoiced direct.", "success")
    return redirect(url_for("loads.detail", load_id=load.id, _anchor="chargeback"), 303)


@bp.route("/<int:load_id>/chargeback/undo", methods=["POST"])
@billing_required
def undo_chargeback(load_id):
    """Undo the load's chargeback: Financed by its factor again."""
    load = get_scoped_or_404(Load, load_id)
    try:
        ledger.undo_from_form(load, request.form, actor())
    except Invalid as exc:
        return _chargeback_refused(load, exc, "undo")
    flash(f"The chargeback of load {load.load_number} was undone: it is Financed again.", "success")
    return redirect(url_for("loads.detail", load_id=load.id, _anchor="chargeback"), 303)
