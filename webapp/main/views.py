"""The home page: where the work stands today."""
from flask import Blueprint
from flask import render_template

from webapp.permissions import current_company
from webapp.permissions import login_required
from webapp.services import dashboard

bp = Blueprint("main", __name__)


@bp.route("/")
@login_required
def index():
    """Counts and totals of the company's loads by billing status."""
    return render_template("main/index.html", summary=dashboard.status_summary(current_company()))
