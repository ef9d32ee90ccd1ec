"""Customers (debtors): list with search, sort and pages; create; edit."""
from flask import Blueprint
from flask import abort
from flask import render_template
from flask import request
from flask import url_for

from webapp.extensions import htmx
from webapp.models import Customer
from webapp.permissions import actor
from webapp.permissions import current_company
from webapp.permissions import get_scoped_or_404
from webapp.permissions import login_required
from webapp.services import customers
from webapp.web import record_form
from webapp.web import submit_form

bp = Blueprint("customers", __name__, url_prefix="/customers")

@bp.route("/")
@login_required
def index():
    """Customers of the company in view; ?q= searches name and MC number."""
    context = customers.list_from_args(current_company(), request.args)
    if htmx.target == "customer-list":  # the search box asks for the list alone
        return render_template("customers/_partials/list.html", **context)
    return render_template("customers/index.html", **context)


def _form(customer, values, errors, status=200):
    return render_template("customers/form.html", customer=customer, values=values,
                           errors=errors), status


@bp.route("/new", methods=["GET", "POST"])
@login_required
def create():
    """Add a customer."""
    if request.method == "GET":
        return _form(None, {"payment_terms_days": 30, "invoicing_method": "factoring"}, {})
    company = current_company()
    if company is None:
        abort(404)
    return submit_form(lambda: customers.create_customer(company, request.form, actor=actor()),
                       lambda values, errors, status: _form(None, values, errors, status),
                       lambda customer: (f"Customer {customer.name} added.",
                                         url_for("customers.index", q=customer.name)))


@bp.route("/<int:customer_id>/edit", methods=["GET", "POST"])
@login_required
def update(customer_id):
    """Edit a customer."""
    customer = get_scoped_or_404(Customer, customer_id)
    return record_form(customer, customers.CUSTOMER_FIELDS,
                       lambda values, errors, status: _form(customer, values, errors, status),
                       lambda: customers.update_customer(customer, request.form, actor=actor()),
                       lambda saved: (f"Customer {saved.name} saved.", url_for("customers.index")))
