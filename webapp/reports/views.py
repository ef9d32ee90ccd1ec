"""Reports > Factoring: the batches, their progress and state, the batch page and the download.

The batch page is drawn in regions (head, state, facts, money, report forms, applied reports,
loads), all from one read model (batches.batch_page). Any view that changes a batch answers an
htmx request with its own fragment plus batch_regions(batch): every region redrawn out of band,
so no part of the open page is left telling an older truth and nothing reloads.
"""
import io
from urllib.parse import parse_qsl
from urllib.parse import urlsplit

from flask import Blueprint
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import send_file
from flask import url_for
from werkzeug.datastructures import MultiDict

from webapp import jobs
from webapp.errors import render_error
from webapp.extensions import htmx
from webapp.models import Batch
from webapp.models import Subsidiary
from webapp.permissions import actor
from webapp.permissions import billing_required
from webapp.permissions import current_company
from webapp.permissions import get_scoped_or_404
from webapp.permissions import login_required
from webapp.services import batches

bp = Blueprint("reports", __name__, url_prefix="/reports/factoring")

# The batch page's regions, in page order (templates/reports/_partials/batch_regions.html).
BATCH_REGIONS = ("head", "notice", "state", "facts", "email", "money", "report_forms", "uploads", "loads")
# Those that a report upload's own page (reports/uploads/page.html) shows as well.
UPLOAD_PAGE_REGIONS = ("money", "report_forms", "uploads")


def _current_page(batch):
    """(is the htmx request from BATCH's page, that page's query string) from HX-Current-URL."""
    parts = urlsplit(request.headers.get("HX-Current-URL", ""))
    on_page = parts.path == url_for("reports.batch", batch_id=batch.id)
    return on_page, MultiDict(parse_qsl(parts.query) if on_page else [])


def batch_regions(batch, regions=None, view=None):
    """The regions of BATCH's page as htmx out-of-band swaps, drawn from one read model (VIEW, the
    batches.batch_page of the page's own sort and page of loads, read now when not given).

    A view that changed the batch (Confirm, Retry, Cancel, Mark as sent, an undo...) appends this
    to its htmx answer: `return render_template(MY_FRAGMENT, ...) + batch_regions(batch)`. Its own
    fragment goes where its form's hx-target says; these go to their ids, wherever the page has
    them. REGIONS (names of BATCH_REGIONS) defaults to what the requesting page shows: every
    region on the batch page (the notice of an earlier action emptied), UPLOAD_PAGE_REGIONS
    elsewhere (a report upload's page). Never includes #report-work, the place of the caller's
    own fragment."""
    on_page, args = _current_page(batch)
    if regions is None:
        regions = BATCH_REGIONS if on_page else UPLOAD_PAGE_REGIONS
    view = view or batches.batch_page(batch, args)
    return render_template("reports/_partials/batch_regions.html", regions=set(regions), **vars(view))


def _changed(batch, message, category="success"):
    """The answer of an action on the batch page: with htmx, the message (into #batch-notice) and
    every region redrawn; without, the message flashed and the page again (303)."""
    if htmx:
        notice = render_template("reports/_partials/batch_notice.html", message=message, category=category)
        return notice + batch_regions(batch, [r for r in BATCH_REGIONS if r != "notice"])
    flash(message, category)
    return redirect(url_for("reports.batch", batch_id=batch.id), code=303)


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
    """A batch's state while its job runs, asked every second by htmx: Factoring Upload's line of
    the batch, or (?view=page) the batch page's state line; the answer that finds the job ended
    (or the state changed from ?was=) redraws the batch page's other regions out of band too."""
    found = batches.batch_row(current_company(), batch_id)
    if found is None:
        return render_error(404)
    batch, states = found
    if not htmx:
        return redirect(url_for("reports.batch", batch_id=batch.id), code=303)
    state = states[batch.id]
    if request.args.get("view") != "page":
        return render_template("reports/_partials/batch_line.html", batch=batch, state=state)
    if state.live:
        answer = render_template("reports/_partials/batch_state.html", batch=batch, state=state)
        if request.args.get("was") == state.key:
            return answer
        return answer + batch_regions(batch, ("head",), batches.batch_page(batch, _current_page(batch)[1]))
    view = batches.batch_page(batch, _current_page(batch)[1])
    return (render_template("reports/_partials/batch_state.html", **vars(view))
            + batch_regions(batch, [r for r in BATCH_REGIONS if r != "state"], view))


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
    except batches.BatchError as exc:
        return _changed(batch, str(exc), "error")
    jobs.start_batch(batch.id)
    return _changed(batch, f"Batch #{batch.number} is being generated again.")


@bp.route("/batches/<int:batch_id>/cancel", methods=["POST"])
@billing_required
def cancel(batch_id):
    """Cancel a failed or waiting batch; its loads go back to the Factoring Upload list."""
    batch = get_scoped_or_404(Batch, batch_id)
    try:
        released = batches.cancel_batch(batch, actor())
    except batches.BatchError as exc:
        return _changed(batch, str(exc), "error")
    return _changed(batch, f"Batch #{batch.number} was cancelled; its {released} loads are back on "
                           "Factoring Upload.")


@bp.route("/batches/<int:batch_id>/sent", methods=["POST"])
@billing_required
def mark_sent(batch_id):
    """Mark as sent: the batch file went to the factor; the batch reads Sent and leaves Factoring
    Upload's box (?line=1: the answer is that box's line of the batch)."""
    batch = get_scoped_or_404(Batch, batch_id)
    try:
        batches.mark_sent(batch, actor())
    except batches.BatchError as exc:
        if htmx and request.args.get("line") == "1":
            batch, states = batches.batch_row(current_company(), batch.id)
            return render_template("reports/_partials/batch_line.html", batch=batch, state=states[batch.id],
                                   line_error=str(exc))
        return _changed(batch, str(exc), "error")
    if htmx and request.args.get("line") == "1":
        batch, states = batches.batch_row(current_company(), batch.id)
        return render_template("reports/_partials/batch_line.html", batch=batch, state=states[batch.id],
                               sent_now=True)
    return _changed(batch, f"Batch #{batch.number} is marked as sent.")
