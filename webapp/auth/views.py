"""Sign in, sign out, and choose the company in view."""
from urllib.parse import urlsplit

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

from webapp.auth.forms import LoginForm
from webapp.models import Company
from webapp.permissions import accessible_companies
from webapp.permissions import login_required
from webapp.permissions import public
from webapp.services.auth import TooManyAttempts
from webapp.services.auth import authenticate
from webapp.services.auth import end_session
from webapp.services.auth import start_session
from webapp.services.validation import db_id

bp = Blueprint("auth", __name__)


def safe_next(target):
    """Only a path on this site: no scheme, no host, no protocol-relative //."""
    if not target or not all(ch.isprintable() for ch in target):
        return None  # a CR/LF (or any control character) is never part of an address of ours
    target = target.replace("\\", "/").strip()
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


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
            wait = f"{refused.minutes} minute{'s' if refused.minutes != 1 else ''}"
            flash(f"Too many failed sign-in attempts. Try again in {wait}.", "error")
            return (render_template("auth/login.html", form=form), 429,
                    {"Retry-After": str(refused.minutes * 60)})
        if user is None:
            flash("That email and password do not match an active account.", "error")
            status = 401
        else:
            session.clear()  # a fresh session at every sign-in
            start_session(user, ip=request.remote_addr or "",
                          user_agent=request.headers.get("User-Agent", ""),
                          lifetime_hours=current_app.config["SESSION_LIFETIME_HOURS"])
            login_user(user)
            return redirect(safe_next(request.args.get("next")) or url_for("main.index"))
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


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
