"""Reports > Reserve, > Aging and > Cost and speed: the money the factor holds, from the ledger
(services/ledger). Each view parses the query string, calls one service, renders."""
from flask import Blueprint
from flask import Response
from flask import abort
from flask import render_template
from flask import request
from flask import send_file
from flask import stream_with_context

from webapp.models import Batch
from webapp.permissions import current_company
from webapp.permissions import get_scoped_or_404
from webapp.permissions import login_required
from webapp.services import exports
from webapp.services.ledger import aging as aging_service
from webapp.services.ledger import cost as cost_service
from webapp.services.ledger import reserve as reserve_service

bp = Blueprint("money_reports", __name__, url_prefix="/reports")


@bp.route("/reserve")
@login_required
def reserve():
    """The reserve account: balances per factor and subsidiary, and the filtered statement."""
    return render_template("reports/money/reserve.html",
                           view=reserve_service.reserve_account(current_company(), request.args))


@bp.route("/aging")
@login_required
def aging():
    """Financed invoices not yet paid, by days outstanding, with their recourse deadlines."""
    return render_template("reports/money/aging.html", view=aging_service.aging(current_company(), request.args))


@bp.route("/cost")
@login_required
def cost():
    """What factoring cost per month, and how fast the factor funds and debtors pay."""
    return render_template("reports/money/cost.html", view=cost_service.cost_and_speed(current_company(), request.args))


def _download(made):
    """A CSV streamed chunk by chunk, or an XLSX file streamed from disk (memory stays flat)."""
    if made is None:
        abort(404)
    if made.csv is not None:
        response = Response(stream_with_context(made.csv), mimetype=made.mimetype)
        response.headers["Content-Disposition"] = f'attachment; filename="{made.filename}"'
        return response
    return send_file(made.file, mimetype=made.mimetype, as_attachment=True, download_name=made.filename)


@bp.route("/export/<what>.<fmt>")
@login_required
def export(what, fmt):
    """Loads, batches, payments, the reserve statement or aging as CSV or XLSX, with the filters
    of the page's query string."""
    return _download(exports.export_list(current_company(), what, fmt, request.args))


@bp.route("/export/batches/<int:batch_id>/loads.<fmt>")
@login_required
def export_batch_loads(batch_id, fmt):
    """A batch's loads as CSV or XLSX."""
    return _download(exports.export_batch_loads(get_scoped_or_404(Batch, batch_id), fmt, request.args))
