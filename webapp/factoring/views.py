"""Accounting > Factoring Upload: pick the subsidiary, tick loads, Submit Batch."""
import datetime

from flask import Blueprint
from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_login import current_user

from webapp.extensions import htmx
from webapp.listing import Page
from webapp.listing import page_args
from webapp.listing import sort_args
from webapp.models import Customer
from webapp.models import Load
from webapp.models import Subsidiary
from webapp.permissions import billing_required
from webapp.permissions import current_company
from webapp.permissions import get_scoped_or_404
from webapp.permissions import login_required
from webapp.permissions import scoped
from webapp.services import batches

bp = Blueprint("factoring", __name__, url_prefix="/accounting/factoring-upload")

def _sorts():
    """The list's sort keys. Load number is unique in the company and served by the list's
    index; the other keys sort the matching loads (see batches.unindexed), load number last."""
    u = batches.unindexed
    return {
        "load": Load.load_number,
        "invoice": u(Load.invoice_number),
        "customer": (Customer.name, u(Load.load_number)),
        "mc": (Customer.mc_number, u(Load.load_number)),
        "delivery": (u(Load.delivery_date), u(Load.load_number)),
        "amount": (u(Load.total_cents), u(Load.load_number)),
    }


INCOMPLETE_SHOWN = 50


class _CountedPage(Page):
    """A Page whose total is already known (from the count-and-sum query): one scan less."""

    def __init__(self, query, page, per_page, total):
        self.total = total
        self.per_page = per_page
        self.pages = max(1, -(-total // per_page))
        self.page = min(max(1, page), self.pages)
        self.items = list(query.paginate(self.page, per_page))


def _subsidiary():
    """The subsidiary in the query string, else the company's first; None when it has none."""
    wanted = request.args.get("subsidiary_id", "")
    if wanted:
        return get_scoped_or_404(Subsidiary, wanted)
    return scoped(Subsidiary).order_by(Subsidiary.name).first()


def _date(name, errors):
    value = request.args.get(name, "").strip()
    if not value:
        return None
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        errors.append(f"'{value}' is not a date (use 2026-11-25); that filter was ignored.")
        return None


def _load_filter(errors):
    """The list filters from the query string (the POST carries them there too)."""
    customer = request.args.get("customer_id", type=int)
    return batches.LoadFilter(customer_id=customer, date_from=_date("date_from", errors),
                              date_to=_date("date_to", errors), q=request.args.get("q", "")[:100])


def _workspace(subsidiary, **extra):
    """Context of the page's working area: notices, batches in progress, the two load lists."""
    company = current_company()
    errors = []
    load_filter = _load_filter(errors)
    args = request.args.to_dict()
    args["subsidiary_id"] = subsidiary.id
    ctx = {
        "subsidiary": subsidiary, "load_filter": load_filter, "filter_errors": errors,
        "noa": bool(batches.notice_of_assignment(subsidiary)),
        "customers": list(scoped(Customer, Customer.id, Customer.name).order_by(Customer.name)),
        "active": batches.active_batches(company, subsidiary),
        "submit_url": url_for("factoring.submit", **args),
        "selected": set(),
    }
    query = batches.eligible_loads(company, subsidiary, load_filter)
    ctx["sort"], ctx["desc"], order = sort_args(_sorts(), "load")
    ctx["match_count"], ctx["match_total"] = batches.totals(query)
    page, per_page = page_args()
    ctx["page"] = _CountedPage(query.order_by(*order), page, per_page, ctx["match_count"])
    incomplete = batches.incomplete_loads(company, subsidiary, load_filter)
    ctx["incomplete"] = list(incomplete.limit(INCOMPLETE_SHOWN))
    ctx["incomplete_count"] = (len(ctx["incomplete"]) if len(ctx["incomplete"]) < INCOMPLETE_SHOWN
                               else incomplete.count())
    ctx["reasons"] = batches.load_problems(ctx["incomplete"])
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
    return render_template("factoring/index.html", subsidiaries=batches.subsidiaries(current_company()), **ctx)


@bp.route("/submit", methods=["POST"])
@billing_required
def submit():
    """Submit Batch: create the batch now, generate its file in the background."""
    subsidiary = _subsidiary()
    if subsidiary is None:
        abort(404)
    errors = []
    try:
        batch = batches.submit(
            current_company(), subsidiary, current_user._get_current_object(),
            load_ids=request.form.getlist("load_id"), load_filter=_load_filter(errors),
            select_all=request.form.get("select_all") == "1")
    except batches.BatchError as exc:
        if htmx:
            selected = set(request.form.getlist("load_id"))
            return render_template("factoring/_partials/workspace.html",
                                   **_workspace(subsidiary, error=str(exc), selected=selected,
                                                conflict_batch=getattr(exc, "batch", None)))
        flash(str(exc), "error")
        return redirect(url_for("factoring.index", **request.args.to_dict()), code=303)
    if htmx:
        return render_template("factoring/_partials/workspace.html",
                               **_workspace(subsidiary, submitted=batch))
    flash(f"Batch #{batch.number} submitted: {batch.load_count} loads. Its file is being generated; "
          "you can leave this page.", "success")
    return redirect(url_for("factoring.index", subsidiary_id=subsidiary.id), code=303)
