"""Who may do what, and which company is in view.

Every view is guarded by one of the decorators here, and every query of
tenant data goes through scoped() or get_scoped_or_404(): tenant scoping
lives in this one module, not in each view.
"""
import functools

from flask import abort
from flask import g
from flask import session
from flask_login import current_user
from flask_login import login_required as _flask_login_required

from webapp.models import MANAGER_ROLES
from webapp.models import ROLE_PARTNER_ADMIN
from webapp.models import ROLE_SUPPORT
from webapp.models import Company
from webapp.services.validation import db_id

__all__ = [
    "public", "login_required", "manager_required", "support_required", "billing_required",
    "accessible_companies", "current_company", "actor", "scoped", "get_scoped_or_404",
]


def public(view):
    """No sign-in needed (the login page, /healthz). Marked so the access test knows."""
    view.access = "public"
    return view


def login_required(view):
    """Any signed-in, active user."""
    wrapped = _flask_login_required(view)
    wrapped.access = "user"
    return wrapped


def manager_required(view):
    """Admin, Partner Admin and Support only: subsidiaries, NOA, users."""
    @functools.wraps(view)
    @_flask_login_required
    def wrapped(*args, **kwargs):
        if current_user.role not in MANAGER_ROLES:
            abort(403)
        return view(*args, **kwargs)
    wrapped.access = "manager"
    return wrapped


def support_required(view):
    """Support only: what spans every tenant (the mail log)."""
    @functools.wraps(view)
    @_flask_login_required
    def wrapped(*args, **kwargs):
        if current_user.role != ROLE_SUPPORT:
            abort(403)
        return view(*args, **kwargs)
    wrapped.access = "support"
    return wrapped


def billing_required(view):
    """Holders of the Billing permission only: submit batches, upload reports."""
    @functools.wraps(view)
    @_flask_login_required
    def wrapped(*args, **kwargs):
        if not current_user.billing:
            abort(403)
        return view(*args, **kwargs)
    wrapped.access = "billing"
    return wrapped


def accessible_companies(user):
    """The companies a user may work in, as a query ordered by name."""
    query = Company.select().order_by(Company.name)
    if user.role == ROLE_SUPPORT:
        return query
    if user.role == ROLE_PARTNER_ADMIN:
        return query.where(Company.partner == user.partner_id)
    return query.where(Company.id == user.company_id)


def current_company():
    """The company in view for this request (None only for a user with no company)."""
    if "company" in g:
        return g.company
    company = None
    if current_user.is_authenticated:
        if current_user.role in (ROLE_SUPPORT, ROLE_PARTNER_ADMIN):
            choices = accessible_companies(current_user)
            wanted = session.get("company_id")
            if wanted:
                company = choices.where(Company.id == wanted).first()
            if company is None:
                company = choices.first()
        else:
            company = current_user.company
    g.company = company
    return company


def actor():
    """The signed-in user as services take them (the `actor` of every change and audit row)."""
    return current_user._get_current_object() if current_user.is_authenticated else None


def scoped(model, *fields):
    """SELECT from a tenant model, limited to the company in view."""
    company = current_company()
    query = model.select(*fields)
    if company is None:
        return query.where(False)
    return query.where(model.company == company)


def get_scoped_or_404(model, object_id):
    """One row of the company in view, or 404 (never 403: reveal nothing)."""
    object_id = db_id(object_id)
    if object_id is None:
        abort(404)
    row = scoped(model).where(model.id == object_id).first()
    if row is None:
        abort(404)
    return row
