"""Management > Company Profile. (Stub: to be built.)"""
from flask import Blueprint
from flask import render_template

from webapp.permissions import login_required

bp = Blueprint("company", __name__, url_prefix="/management/company-profile")


@bp.route("/")
@login_required
def index():
    """Subsidiaries and their Document Configuration."""
    return render_template("stub.html", title="Company Profile")
