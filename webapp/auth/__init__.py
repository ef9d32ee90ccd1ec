"""Sign in and out; how an unauthenticated request is answered."""
import datetime
from urllib.parse import urlsplit

from flask import current_app
from flask import flash
from flask import redirect
from flask import request
from flask import session
from flask import url_for
from flask_login import current_user

from webapp.extensions import htmx
from webapp.extensions import login_manager
from webapp.services import two_factor
from webapp.services.auth import load_user

# What a user who must enrol in two-factor sign-in may still reach (the rest sends them there).
ENROLMENT_ALLOWS = {"account.two_factor_enrol", "account.index", "auth.switch_company", "static"}


def init_app(app):
    """Wire Flask-Login to our user loader and htmx-aware login wall."""
    config = app.config
    # The signed cookie (and a remember cookie, which sign-in never sets) is good for no
    # longer than a session's lifetime on the server.
    lifetime = datetime.timedelta(hours=config["SESSION_LIFETIME_HOURS"])
    config["PERMANENT_SESSION_LIFETIME"] = lifetime
    config["REMEMBER_COOKIE_DURATION"] = lifetime
    # The session's lifetime counts from sign-in, whatever its use: the cookie keeps the expiry it
    # was given then, rather than being signed and sent again with every page.
    config["SESSION_REFRESH_EACH_REQUEST"] = False
    login_manager.user_loader(_load_user)
    login_manager.session_protection = "strong"

    @app.before_request
    def _two_factor_enrolment():
        """Where two-factor sign-in is required and not yet set up, enrolment comes first."""
        endpoint = request.endpoint or ""
        view = app.view_functions.get(endpoint)
        if (view is None or getattr(view, "access", None) == "public" or endpoint in ENROLMENT_ALLOWS
                or not current_user.is_authenticated or not two_factor.must_enrol(current_user)):
            return None
        target = url_for("account.two_factor_enrol", next=_return_to())
        if htmx:
            response = app.response_class("", status=403)
            response.headers["HX-Redirect"] = target
            return response
        return redirect(target)

    @login_manager.unauthorized_handler
    def unauthorized():
        if session.get("_user_id"):
            # Signed in once, but that session ended (signed out elsewhere, deactivated,
            # expired or idle): drop what is left of it.
            session.clear()
            flash("Your session has ended. Sign in again to continue.", "info")
        target = url_for("auth.login", next=_return_to())
        if htmx:
            # Never swap a whole login page into part of a page.
            response = app.response_class("", status=401)
            response.headers["HX-Redirect"] = target
            return response
        return redirect(target)


def _load_user(user_id):
    # One login manager serves every app of the process: read the config of this request's.
    config = current_app.config
    return load_user(user_id, lifetime_hours=config["SESSION_LIFETIME_HOURS"],
                     idle_minutes=config["SESSION_IDLE_MINUTES"])


def _return_to():
    """Where to come back to after signing in: the page the user was on, on this site."""
    from webapp.auth.views import safe_next
    if htmx:
        # An htmx request asks for part of a page; come back to the page itself.
        current = urlsplit(htmx.current_url or "")
        if current.netloc and current.netloc != request.host:
            return None
        return safe_next(current.path + (f"?{current.query}" if current.query else ""))
    if request.method != "GET":
        return None
    return safe_next(request.full_path.rstrip("?"))
