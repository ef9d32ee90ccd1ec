"""Sign in (password, then a code where two-factor sign-in is on), sign out, forgotten
passwords, invitations, and choose the company in view."""
import time

from flask import Blueprint
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from flask_login import current_user
from flask_login import login_user
from flask_login import logout_user

from webapp import jobs
from webapp.auth.forms import LoginForm
from webapp.models import Company
from webapp.permissions import accessible_companies
from webapp.permissions import login_required
from webapp.permissions import public
from webapp.services import account_links
from webapp.services import two_factor
from webapp.services.auth import TooManyAttempts
from webapp.services.auth import active_user
from webapp.services.auth import authenticate
from webapp.services.auth import end_session
from webapp.services.auth import start_session
from webapp.services.validation import FORM
from webapp.services.validation import Invalid
from webapp.services.validation import db_id
from webapp.web import safe_next

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    """The sign-in page."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = authenticate(
                form.email.data, form.password.data, request.remote_addr or "",
                max_failures=current_app.config["LOGIN_MAX_FAILURES"],
                window_seconds=current_app.config["LOGIN_WINDOW_SECONDS"])
        except TooManyAttempts as refused:
            return _too_many("Too many failed sign-in attempts.", refused, "auth/login.html", form=form)
        if user is None:
            flash("That email and password do not match an active account.", "error")
            status = 401
        else:
            target = safe_next(request.args.get("next"))
            session.clear()  # a fresh session at every sign-in
            if two_factor.is_enrolled(user):
                # The password was right; the session opens only after the code.
                session["two_factor"] = {"user": user.id, "version": user.session_version,
                                         "at": time.time(), "next": target}
                return redirect(url_for("auth.code"))
            _sign_in(user)
            return redirect(target or url_for("main.index"))
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


def _too_many(what, refused, template, status=429, **context):
    """The page again, 429, with the wait in minutes (and Retry-After)."""
    wait = f"{refused.minutes} minute{'s' if refused.minutes != 1 else ''}"
    flash(f"{what} Try again in {wait}.", "error")
    return render_template(template, **context), status, {"Retry-After": str(refused.minutes * 60)}


def _sign_in(user):
    """Open a server-side session for USER in this browser."""
    start_session(user, ip=request.remote_addr or "", user_agent=request.headers.get("User-Agent", ""),
                  lifetime_hours=current_app.config["SESSION_LIFETIME_HOURS"])
    login_user(user)


# A password that was right waits this long for its code.
CODE_WAIT_SECONDS = 300


@bp.route("/login/code", methods=["GET", "POST"])
@public
def code():
    """The second step of signing in: a code from the authenticator app, or a recovery code."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    pending = session.get("two_factor") or {}
    user = None
    if time.time() - float(pending.get("at") or 0) < CODE_WAIT_SECONDS:
        user = active_user(pending.get("user"), pending.get("version"))
    if user is None or not two_factor.is_enrolled(user):
        session.pop("two_factor", None)
        flash("Sign in again: the code was not given in time.", "info")
        return redirect(url_for("auth.login"))
    errors, status = {}, 200
    if request.method == "POST":
        config = current_app.config
        try:
            kind = two_factor.verify(user, request.form.get("code"), request.remote_addr or "",
                                     max_failures=config["LOGIN_MAX_FAILURES"],
                                     window_seconds=config["LOGIN_WINDOW_SECONDS"])
        except TooManyAttempts as refused:
            return _too_many("Too many wrong codes.", refused, "auth/code.html", errors={})
        except Invalid as exc:
            errors, status = exc.errors, 400
        else:
            session.clear()
            _sign_in(user)
            if kind == "recovery":
                left = two_factor.recovery_codes_left(user)
                flash(f"You signed in with a recovery code: {left} left. Make new ones on My account "
                      "if you are running low.", "info")
            return redirect(pending.get("next") or url_for("main.index"))
    return render_template("auth/code.html", errors=errors), status


def _link_to(endpoint):
    """LINK_FOR(token) of the emails: the full address of ENDPOINT's page for a token."""
    return lambda token: jobs.external_url(endpoint, token=token)


@bp.route("/forgot-password", methods=["GET", "POST"])
@public
def forgot_password():
    """Ask for a reset link; the answer is the same whether or not the email has an account."""
    if current_user.is_authenticated:
        return redirect(url_for("account.index"))
    if request.method == "GET":
        return render_template("auth/forgot.html", values={}, errors={})
    email = (request.form.get("email") or "").strip()
    if not email or "@" not in email or len(email) > 254 or not email.isprintable():
        return render_template("auth/forgot.html", values=request.form,
                               errors={"email": "Enter the email address you sign in with."}), 400
    try:
        message = account_links.request_reset(email, request.remote_addr or "",
                                              link_for=_link_to("auth.reset_password"))
    except TooManyAttempts as refused:
        return _too_many("Too many reset requests.", refused, "auth/forgot.html", values=request.form, errors={})
    if message is not None:
        jobs.send_mail(message.id)
    flash(f"If {email} has an account, we sent it a link to reset the password. The link works once, "
          "for 30 minutes.", "info")
    return redirect(url_for("auth.login"), 303)


def _choose_password(kind, token, done):
    """The page of an emailed link: choose a password (twice). A link that cannot be used says why."""
    try:
        row = account_links.check(token, kind)
    except Invalid as exc:
        return render_template("auth/link_refused.html", message=exc.message, kind=kind), 410
    errors, status = {}, 200
    if request.method == "POST":
        try:
            account_links.redeem(token, kind, request.form.get("password"), request.form.get("confirm"))
        except Invalid as exc:
            if set(exc.errors) == {FORM}:
                return render_template("auth/link_refused.html", message=exc.message, kind=kind), 410
            errors, status = exc.errors, 400
        else:
            flash(done, "success")
            return redirect(url_for("auth.login"), 303)
    return render_template("auth/choose_password.html", kind=kind, user=row.user, errors=errors), status


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
@public
def reset_password(token):
    """Choose a new password through the emailed reset link."""
    return _choose_password(account_links.RESET, token,
                            "Your password is changed and every session of yours was signed out. Sign in "
                            "with the new password.")


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@public
def invitation(token):
    """Accept an invitation: choose your password."""
    return _choose_password(account_links.INVITE, token, "Your password is set. Sign in with it now.")


@bp.route("/logout", methods=["POST"])
@public
def logout():
    """Sign out (POST only, with the CSRF token): the session ends on the server too."""
    if current_user.is_authenticated:
        end_session(current_user.session_token)
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/switch-company", methods=["POST"])
@login_required
def switch_company():
    """Partner Admin and Support: choose the company to work in."""
    company = accessible_companies(current_user).where(
        Company.id == db_id(request.form.get("company_id"))).first()
    if company is None:
        flash("You cannot work in that company.", "error")
    else:
        session["company_id"] = company.id
        flash(f"Now working in {company.name}.", "info")
    return redirect(url_for("main.index"))
