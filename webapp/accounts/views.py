"""Users: managers create users, set role and Billing, deactivate. (Stub: to be built.)"""
from flask import Blueprint
from flask import render_template

from webapp.permissions import manager_required

bp = Blueprint("accounts", __name__, url_prefix="/users")


@bp.route("/")
@manager_required
def index():
    """Users of the company in view."""
    return render_template("stub.html", title="Users")
