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
    """The dashboard: the company's money with the factor, what needs action, four charts."""
    company = current_company()
    return render_template("main/index.html", view=dashboard.home(company) if company else None)
