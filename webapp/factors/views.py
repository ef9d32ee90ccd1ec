"""Management > Factors: the company's factors and their terms; managers add and change them."""
from flask import Blueprint
from flask import abort
from flask import render_template
from flask import request
from flask import url_for
from flask_login import current_user

from webapp.models import FEE_KINDS
from webapp.models import Factor
from webapp.permissions import actor
from webapp.permissions import current_company
from webapp.permissions import get_scoped_or_404
from webapp.permissions import login_required
from webapp.permissions import manager_required
from webapp.services import factors
from webapp.web import submit_form

bp = Blueprint("factors", __name__, url_prefix="/management/factors")


@bp.route("/")
@login_required
def index():
    """The factors of the company in view, each with its terms in words."""
    return render_template("factors/index.html", can_manage=current_user.is_manager,
                           **factors.factor_index(current_company()))


@bp.route("/<int:factor_id>")
@login_required
def detail(factor_id):
    """One factor: its addresses, terms in words, documents, subsidiaries and history."""
    factor = get_scoped_or_404(Factor, factor_id)
    return render_template("factors/detail.html", can_manage=current_user.is_manager,
                           **factors.factor_page(factor))


def _form(factor, values, errors, status=200):
    return render_template("factors/form.html", factor=factor, values=values, errors=errors,
                           fee_kinds=FEE_KINDS, formats=factors.format_labels(),
                           max_tiers=factors.MAX_TIERS), status


def _saved(verb):
    return lambda factor: (f"Factor {factor.name} {verb}.", url_for("factors.detail", factor_id=factor.id))


@bp.route("/new", methods=["GET", "POST"])
@manager_required
def create():
    """Add a factor to the company in view."""
    if request.method == "GET":
        return _form(None, factors.NEW_FACTOR, {})
    company = current_company()
    if company is None:
        abort(404)
    return submit_form(lambda: factors.create_factor(company, request.form, actor=actor()),
                       lambda values, errors, status: _form(None, values, errors, status), _saved("added"))


@bp.route("/<int:factor_id>/edit", methods=["GET", "POST"])
@manager_required
def update(factor_id):
    """Change a factor's addresses, terms, documents, format or state."""
    factor = get_scoped_or_404(Factor, factor_id)
    if request.method == "GET":
        return _form(factor, factors.form_values(factor), {})
    return submit_form(lambda: factors.update_factor(factor, request.form, actor=actor()),
                       lambda values, errors, status: _form(factor, values, errors, status), _saved("saved"))
