"""Sign in and out; how an unauthenticated request is answered."""
from flask import redirect
from flask import request
from flask import url_for

from webapp.extensions import htmx
from webapp.extensions import login_manager
from webapp.services.auth import load_user


def init_app(app):
    """Wire Flask-Login to our user loader and htmx-aware login wall."""
    login_manager.user_loader(load_user)
    login_manager.session_protection = "strong"

    @login_manager.unauthorized_handler
    def unauthorized():
        target = url_for("auth.login", next=request.full_path if request.method == "GET" else None)
        if htmx:
            # Never swap a whole login page into part of a page.
            response = app.response_class("", status=401)
            response.headers["HX-Redirect"] = target
            return response
        return redirect(target)
