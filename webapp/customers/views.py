"""Customers (debtors). (Stub: to be built.)"""
from flask import Blueprint
from flask import render_template

from webapp.permissions import login_required

bp = Blueprint("customers", __name__, url_prefix="/customers")


@bp.route("/")
@login_required
def index():
    """Customers of the company in view."""
    return render_template("stub.html", title="Customers")
