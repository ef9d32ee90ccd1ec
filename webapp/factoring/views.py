"""Accounting > Factoring Upload: pick the subsidiary, tick loads, Submit Batch."""

from flask import Blueprint
from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for

from webapp import jobs
from webapp.extensions import htmx
from webapp.models import Subsidiary
from webapp.permissions import actor
from webapp.permissions import billing_required
from webapp.permissions import current_company
from webapp.permissions import get_scoped_or_404
from webapp.permissions import login_required
from webapp.permissions import scoped
from webapp.services import batches
from webapp.services import subsidiaries
from webapp.web import with_query

bp = Blueprint("factoring", __name__, url_prefix="/accounting/factoring-upload")

def _subsidiary():
    """The subsidiary in the query string, else the company's first; None when it has none."""
    wanted = request.args.get("subsidiary_id", "")
    if wanted:
        return get_scoped_or_404(Subsidiary, wanted)
    return scoped(Subsidiary).order_by(Subsidiary.name).first()


def _workspace(subsidiary, **extra):
    """Context of the page's working area (one service call), plus the Submit form's address."""
    ctx = batches.workspace(current_company(), subsidiary, request.args)
    ctx.update(submit_url=with_query(url_for("factoring.submit"), request.args, subsidiary_id=subsidiary.id),
               selected=set())
    ctx.update(extra)
    return ctx


@bp.route("/")
@login_required
def index():
    """Queued factoring loads of a subsidiary, to submit as a batch."""
    subsidiary = _subsidiary()
    if subsidiary is None:
        return render_template("factoring/index.html", subsidiary=None, subsidiaries=[])
    ctx = _workspace(subsidiary)
    if htmx:
        return render_template("factoring/_partials/workspace.html", **ctx)
    return render_template("factoring/index.html", subsidiaries=subsidiaries.for_company(current_company()), **ctx)


@bp.route("/submit", methods=["POST"])
@billing_required
def submit():
    """Submit Batch: create the batch now, generate its file in the background."""
    subsidiary = _subsidiary()
    if subsidiary is None:
        abort(404)
    try:
        batch = batches.submit(
            current_company(), subsidiary, actor(),
            load_ids=request.form.getlist("load_id"), load_filter=batches.load_filter_from_args(request.args, []),
            select_all=request.form.get("select_all") == "1")
    except batches.BatchError as exc:
        if htmx:
            selected = set(request.form.getlist("load_id"))
            return render_template("factoring/_partials/workspace.html",
                                   **_workspace(subsidiary, error=str(exc), selected=selected,
                                                conflict_batch=getattr(exc, "batch", None)))
        flash(str(exc), "error")
        return redirect(with_query(url_for("factoring.index"), request.args), code=303)
    jobs.start_batch(batch.id)
    if htmx:
        return render_template("factoring/_partials/workspace.html",
                               **_workspace(subsidiary, submitted=batch))
    flash(f"Batch #{batch.number} submitted: {batch.load_count} loads. Its file is being generated; "
          "you can leave this page.", "success")
    return redirect(url_for("factoring.index", subsidiary_id=subsidiary.id), code=303)
