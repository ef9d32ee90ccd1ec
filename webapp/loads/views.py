"""Loads. (Stub: to be built.)"""
from flask import Blueprint
from flask import render_template

from webapp.permissions import login_required

bp = Blueprint("loads", __name__, url_prefix="/loads")


@bp.route("/")
@login_required
def index():
    """Loads of the company in view."""
    return render_template("stub.html", title="Loads")
