"""Accounting > Factoring Upload. (Stub: to be built.)"""
from flask import Blueprint
from flask import render_template

from webapp.permissions import login_required

bp = Blueprint("factoring", __name__, url_prefix="/accounting/factoring-upload")


@bp.route("/")
@login_required
def index():
    """Queued factoring loads of a subsidiary, to submit as a batch."""
    return render_template("stub.html", title="Factoring Upload")
