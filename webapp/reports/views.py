"""Reports > Factoring: the batches, their progress and state, the batch page and the download."""
import io

from flask import Blueprint
from flask import flash
from flask import make_response
from flask import redirect
from flask import render_template
from flask import request
from flask import send_file
from flask import url_for

from webapp import jobs
from webapp.errors import render_error
from webapp.extensions import htmx
from webapp.models import BATCH_PENDING
from webapp.models import BATCH_RUNNING
from webapp.models import Batch
from webapp.models import Subsidiary
from webapp.permissions import actor
from webapp.permissions import billing_required
from webapp.permissions import current_company
from webapp.permissions import get_scoped_or_404
from webapp.permissions import login_required
from webapp.services import batches

bp = Blueprint("reports", __name__, url_prefix="/reports/factoring")

@bp.context_processor
def _labels():
    return {"factoring_states": batches.FACTORING_STATES}


def _live(batch):
    return batch.status in (BATCH_PENDING, BATCH_RUNNING)


@bp.route("/")
@login_required
def index():
    """Batches of the selected subsidiary (or all), newest first, with their factoring state."""
    company = current_company()
    wanted = request.args.get("subsidiary_id", "")
    subsidiary = get_scoped_or_404(Subsidiary, wanted) if wanted else None
    view = batches.batch_index(company, subsidiary, request.args)
    ctx = {"page": view.page, "sort": view.sort, "desc": view.desc, "subsidiary": view.subsidiary,
           "states": view.states}
    if htmx:
        return render_template("reports/_partials/batch_table.html", **ctx)
    return render_template("reports/index.html", subsidiaries=view.subsidiaries, **ctx)


@bp.route("/batches/<int:batch_id>")
@login_required
def batch(batch_id):
    """One batch: its file, its loads and their current statuses, Retry / Cancel / Download."""
    view = batches.batch_page(get_scoped_or_404(Batch, batch_id), request.args)
    return render_template("reports/batch.html", **vars(view))


@bp.route("/batches/<int:batch_id>/progress")
@login_required
def progress(batch_id):
    """The self-replacing progress component (polled by htmx while the job runs)."""
    batch = get_scoped_or_404(Batch, batch_id)
    if not htmx:
        return redirect(url_for("reports.batch", batch_id=batch.id), code=303)
    refresh = request.args.get("refresh") == "1"
    response = make_response(render_template("reports/_partials/batch_progress.html", batch=batch,
                                             refresh=refresh))
    if refresh and not _live(batch):
        response.headers["HX-Refresh"] = "true"
    return response


@bp.route("/batches/<int:batch_id>/row")
@login_required
def row(batch_id):
    """One row of the batch list (polled by htmx while the job runs)."""
    found = batches.batch_row(current_company(), batch_id)
    if found is None:
        return render_error(404)
    batch, states = found
    if not htmx:
        return redirect(url_for("reports.batch", batch_id=batch.id), code=303)
    return render_template("reports/_partials/batch_row.html", batch=batch, states=states)


@bp.route("/batches/<int:batch_id>/download")
@login_required
def download(batch_id):
    """The stored batch file, byte for byte as generated."""
    batch = get_scoped_or_404(Batch, batch_id)
    try:
        name, data, digest = batches.batch_file_bytes(batch)
    except batches.BatchError as exc:
        return render_error(404, str(exc))
    response = send_file(io.BytesIO(data), mimetype=batches.ZIP_TYPE, as_attachment=True,
                         download_name=name, etag=digest, conditional=False, max_age=0)
    return response


@bp.route("/batches/<int:batch_id>/retry", methods=["POST"])
@billing_required
def retry(batch_id):
    """Run a failed batch's job again."""
    batch = get_scoped_or_404(Batch, batch_id)
    try:
        batches.retry_batch(batch, actor())
        jobs.start_batch(batch.id)
        flash(f"Batch #{batch.number} is being generated again.", "success")
    except batches.BatchError as exc:
        flash(str(exc), "error")
    return redirect(url_for("reports.batch", batch_id=batch.id), code=303)


@bp.route("/batches/<int:batch_id>/cancel", methods=["POST"])
@billing_required
def cancel(batch_id):
    """Cancel a failed or waiting batch; its loads go back to the Factoring Upload list."""
    batch = get_scoped_or_404(Batch, batch_id)
    try:
        released = batches.cancel_batch(batch, actor())
        flash(f"Batch #{batch.number} was cancelled; its {released} loads are back on Factoring Upload.",
              "success")
    except batches.BatchError as exc:
        flash(str(exc), "error")
    return redirect(url_for("reports.batch", batch_id=batch.id), code=303)
