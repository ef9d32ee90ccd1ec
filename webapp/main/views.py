"""The home page: where the work stands today."""
from flask import Blueprint
from flask import render_template
from peewee import fn

from webapp.models import BILLING_STATUSES
from webapp.models import FACTORING
from webapp.models import Load
from webapp.permissions import login_required
from webapp.permissions import scoped

bp = Blueprint("main", __name__)


@bp.route("/")
@login_required
def index():
    """Counts and totals of the company's loads by billing status."""
    rows = (scoped(Load, Load.billing_status, fn.COUNT(Load.id).alias("n"),
                   fn.COALESCE(fn.SUM(Load.total_cents), 0).alias("total"))
            .where(Load.invoicing_method == FACTORING)
            .group_by(Load.billing_status).dicts())
    by_status = {r["billing_status"]: r for r in rows}
    summary = [(key, label, by_status.get(key, {}).get("n", 0), by_status.get(key, {}).get("total", 0))
               for key, label in BILLING_STATUSES.items()]
    return render_template("main/index.html", summary=summary)
