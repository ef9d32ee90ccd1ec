"""Users: managers invite users, set role and Billing, deactivate and reactivate, send a
password reset link, reset a lost second factor."""
from flask import Blueprint
from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for

from webapp import jobs
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
    """Create a user of the company in view; they are emailed an invitation to choose their
    password (the admin never sees or types it)."""
    if request.method == "GET":
        return _form(None, {"role": "user"})
    return submit_form(lambda: users.create_company_user(actor(), _company(), request.form,
                                                         link_for=_link_to("auth.invitation")),
                       lambda values, errors, status: _form(None, values, errors, status),
                       _invited)


def _link_to(endpoint):
    """LINK_FOR(token) of the emails: the full address of ENDPOINT's page for a token."""
    return lambda token: jobs.external_url(endpoint, token=token)


def _invited(user):
    jobs.send_mail(user.invitation.id)
    return (f"User {user.email} created. We emailed them an invitation to choose their password "
            "(it works for 72 hours).", url_for("users.index"))


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


def _account_action(user_id, act, done):
    """A manager's POST about TARGET's account: ACT(target) does it (a queued email or None),
    DONE(target) says so; refused, the message; not allowed, 403."""
    target = _target(user_id)
    try:
        message = act(target)
    except users.UserForbidden:
        abort(403)
    except Invalid as exc:
        flash(exc.message, "error")
    else:
        if message is not None:
            jobs.send_mail(message.id)
        flash(done(target), "success")
    return redirect(url_for("users.index"), 303)


@bp.route("/<int:user_id>/invite", methods=["POST"])
@manager_required
def resend_invitation(user_id):
    """Send the invitation again (the older link stops working)."""
    return _account_action(
        user_id, lambda t: users.resend_invitation(actor(), _company(), t, link_for=_link_to("auth.invitation")),
        lambda t: f"We emailed {t.email} a new invitation (it works for 72 hours; the older one no longer does).")


@bp.route("/<int:user_id>/reset-link", methods=["POST"])
@manager_required
def send_reset_link(user_id):
    """Email the user a link to choose a new password."""
    return _account_action(
        user_id, lambda t: users.send_reset_link(actor(), _company(), t, link_for=_link_to("auth.reset_password")),
        lambda t: f"We emailed {t.email} a link to reset their password (it works once, for 30 minutes).")


@bp.route("/<int:user_id>/reset-two-factor", methods=["POST"])
@manager_required
def reset_two_factor(user_id):
    """Take away a lost second factor: the user sets it up again at their next sign-in."""
    return _account_action(
        user_id, lambda t: users.reset_two_factor(actor(), _company(), t) and None,
        lambda t: f"Two-factor sign-in of {t.email} is reset and their sessions have ended. They set it up "
                  "again after signing in with their password.")


@bp.route("/two-factor-setting", methods=["POST"])
@manager_required
def set_two_factor_required():
    """Require two-factor sign-in of every user of the company in view (or make it optional)."""
    required = request.form.get("require_two_factor") == "1"
    try:
        company = users.set_two_factor_required(actor(), _company(), required)
    except users.UserForbidden:
        abort(403)
    except Invalid as exc:
        flash(exc.message, "error")
        return redirect(url_for("users.index"), 303)
    flash(f"Two-factor sign-in is now {'required for every user' if required else 'optional for Admins and Users'} "
          f"of {company.name}." + (" Each is asked to set it up at their next page." if required else ""), "success")
    return redirect(url_for("users.index"), 303)
