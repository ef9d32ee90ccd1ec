"""Users: managers create users, set role and Billing, deactivate and reactivate."""
from flask import Blueprint
from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for

from webapp.permissions import actor
from webapp.permissions import current_company
from webapp.permissions import manager_required
from webapp.services import users
from webapp.services.validation import Invalid
from webapp.web import submit_form

bp = Blueprint("users", __name__, url_prefix="/users")


def _company():
    company = current_company()
    if company is None:
        abort(404)
    return company


def _target(user_id):
    """A user shown on this company's Users page, else 404 (another tenant's id reveals nothing)."""
    target = users.get_visible_user(actor(), _company(), user_id)
    if target is None:
        abort(404)
    return target


@bp.route("/")
@manager_required
def index():
    """Users of the company in view: role, Billing, active, last sign-in."""
    return render_template("users/index.html", **users.users_page(actor(), _company()))


def _form(target, values, errors=None, status=200):
    return render_template("users/form.html", target=target, values=values,
                           roles=users.assignable_roles(actor()), errors=errors or {}), status


@bp.route("/new", methods=["GET", "POST"])
@manager_required
def create():
    """Create a user of the company in view with an initial password."""
    if request.method == "GET":
        return _form(None, {"role": "user"})
    return submit_form(lambda: users.create_company_user(actor(), _company(), request.form),
                       lambda values, errors, status: _form(None, values, errors, status),
                       lambda user: (f"User {user.email} created. Give them their initial password in person "
                                     "or by phone.", url_for("users.index")))


@bp.route("/<int:user_id>/edit", methods=["GET", "POST"])
@manager_required
def update(user_id):
    """Change a user's name, role and Billing."""
    target = _target(user_id)
    if not users.may_change(actor(), target):
        abort(403)
    if request.method == "GET":
        return _form(target, {"name": target.name, "role": target.role,
                              "billing": "1" if target.billing else ""})
    return submit_form(lambda: users.update_user(actor(), _company(), target, request.form),
                       lambda values, errors, status: _form(target, values, errors, status),
                       lambda user: (f"{user.display_name} saved.", url_for("users.index")))


def _set_active(user_id, active):
    target = _target(user_id)
    try:
        user = users.set_active(actor(), _company(), target, active)
    except users.UserForbidden:
        abort(403)
    except Invalid as exc:
        flash(exc.message, "error")
    else:
        flash(f"{user.display_name} {'reactivated' if active else 'deactivated: their sessions have ended'}.",
              "success")
    return redirect(url_for("users.index"), 303)


@bp.route("/<int:user_id>/deactivate", methods=["POST"])
@manager_required
def deactivate(user_id):
    """Deactivate a user: they cannot sign in and their sessions stop working."""
    return _set_active(user_id, False)


@bp.route("/<int:user_id>/reactivate", methods=["POST"])
@manager_required
def reactivate(user_id):
    """Let a deactivated user sign in again."""
    return _set_active(user_id, True)
