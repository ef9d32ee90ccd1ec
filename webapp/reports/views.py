"""Reports > Factoring. (Stub: to be built.)"""
from flask import Blueprint
from flask import render_template

from webapp.permissions import login_required

bp = Blueprint("reports", __name__, url_prefix="/reports/factoring")


@bp.route("/")
@login_required
def index():
    """Batches, their files and their reports."""
    return render_template("stub.html", title="Factoring")
