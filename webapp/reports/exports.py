"""Exports: every list's CSV and XLSX downloads, and the page of a big one made by the worker.

The export address answers a list within its bound (exports.JOB_ROWS) at once (streamed); a bigger one
starts a job and sends the clerk to its page, which follows it (htmx asks every second) and then
offers the kept file, streamed from the database a slice at a time. Your exports lists the files
kept for the signed-in user.
"""
from flask import Blueprint
from flask import Response
from flask import abort
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import send_file
from flask import stream_with_context
from flask import url_for

from webapp import jobs
from webapp.extensions import htmx
from webapp.models import Batch
from webapp.models import ExportJob
from webapp.permissions import actor
from webapp.permissions import current_company
from webapp.permissions import get_scoped_or_404
from webapp.permissions import login_required
from webapp.services import exports

bp = Blueprint("exports", __name__, url_prefix="/reports/exports")


def _attachment(response, filename):
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _answer(made):
    """What an export address answers: the file streamed now, or (a big list) its job's page."""
    if made is None:
        abort(404)
    if isinstance(made, exports.Started):
        if made.new:
            jobs.start_export(made.job.id)
        return redirect(url_for("exports.show", job_id=made.job.id), code=303)
    if made.csv is not None:
        return _attachment(Response(stream_with_context(made.csv), mimetype=made.mimetype), made.filename)
    return send_file(made.file, mimetype=made.mimetype, as_attachment=True, download_name=made.filename)


def _job_rows():
    """The app's one bound for every format (EXPORT_JOB_ROWS), or None: each format's own."""
    rows = current_app.config.get("EXPORT_JOB_ROWS")
    return int(rows) if rows else None


def _export(what, fmt, args):
    return _answer(exports.request_export(current_company(), actor(), what, fmt, args, job_rows=_job_rows()))


@bp.route("/<what>.<fmt>")
@login_required
def export(what, fmt):
    """Loads, batches, payments, the reserve statement or aging as CSV or XLSX, with the filters
    of the page's query string."""
    return _export(what, fmt, request.args)


@bp.route("/batches/<int:batch_id>/loads.<fmt>")
@login_required
def export_batch_loads(batch_id, fmt):
    """A batch's loads as CSV or XLSX."""
    return _export("batch-loads", fmt, {"batch": get_scoped_or_404(Batch, batch_id).id})


@bp.route("/")
@login_required
def index():
    """Your exports: the big lists made for you lately, each with its state or its file."""
    made = exports.recent(current_company(), actor())
    rows = _job_rows()
    bounds = exports.JOB_ROWS if rows is None else dict.fromkeys(exports.JOB_ROWS, rows)
    return render_template("reports/exports/index.html", jobs=[(job, exports.job_state(job)) for job in made],
                           bounds=bounds)


@bp.route("/<int:job_id>")
@login_required
def show(job_id):
    """A big export's page: its progress while the worker makes it, then its file. An htmx request
    (the page asking again every second) gets the state region alone."""
    job = get_scoped_or_404(ExportJob, job_id)
    context = {"job": job, "state": exports.job_state(job)}
    if htmx:
        return render_template("reports/exports/_partials/job_state.html", **context)
    return render_template("reports/exports/job.html", asked_by=exports.asked_by(job), **context)


@bp.route("/<int:job_id>/file")
@login_required
def download(job_id):
    """A ready export's file, streamed a slice at a time; its page while it is not ready."""
    job = get_scoped_or_404(ExportJob, job_id)
    kept = exports.file_of(job)
    if kept is None:
        return redirect(url_for("exports.show", job_id=job.id), code=303)
    filename, content_type, size, chunks = kept
    response = Response(stream_with_context(chunks), mimetype=content_type)
    response.headers["Content-Length"] = str(size)
    return _attachment(response, filename)


@bp.route("/<int:job_id>/retry", methods=["POST"])
@login_required
def retry(job_id):
    """Try a failed export again."""
    job = get_scoped_or_404(ExportJob, job_id)
    if exports.retry(job):
        jobs.start_export(job.id)
    elif not htmx:
        flash("This export is not failed: nothing to try again.", "info")
    if htmx:
        job = get_scoped_or_404(ExportJob, job_id)
        return render_template("reports/exports/_partials/job_state.html", job=job, state=exports.job_state(job))
    return redirect(url_for("exports.show", job_id=job.id), code=303)
