"""One error renderer for every HTTP error; never a traceback."""
from urllib.parse import urlsplit

from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import InternalServerError

from webapp.extensions import htmx
from webapp.web import safe_next

MESSAGES = {
    400: "The request could not be understood. Check the form and try again.",
    401: "Please sign in.",
    403: "You do not have permission to do that.",
    404: "Nothing here. It may have been removed, or the address is wrong.",
    405: "That action is not allowed here.",
    413: "That file is too large.",
    429: "Too many requests. Wait a moment and try again.",
    500: "Something went wrong on our side. The error has been logged.",
}


def render_error(code, message=None):
    """The error page, or a small fragment for an htmx request."""
    message = message or MESSAGES.get(code, "Something went wrong.")
    template = "errors/_fragment.html" if htmx else "errors/error.html"
    return render_template(template, code=code, message=message), code


def _same_site_referrer():
    """The page a form was sent from (its path and query), when it is a page of this site."""
    referrer = urlsplit(request.referrer or "")
    if referrer.scheme not in ("http", "https") or referrer.netloc != request.host:
        return None
    return safe_next(referrer.path + (f"?{referrer.query}" if referrer.query else ""))


def init_app(app):
    """Register the renderer for every HTTP error and for crashes."""

    @app.errorhandler(HTTPException)
    def http_error(exc):
        if exc.code == 413:
            limit = app.config.get("MAX_CONTENT_LENGTH") or 0
            message = f"That file is too large: the limit is {limit // (1024 * 1024)} MB."
            back = None if htmx else _same_site_referrer()
            if back:
                # Without JavaScript the form was sent as a page: back to it, with the message,
                # rather than a bare error page that loses the batch or the load from view.
                flash(message, "error")
                return redirect(back, 303)
            return render_error(413, message)
        if exc.code == 400 and "CSRF" in (exc.description or ""):
            return render_error(400, "Your form expired or was sent from elsewhere. "
                                     "Reload the page and try again.")
        return render_error(exc.code or 500)

    @app.errorhandler(Exception)
    def crash(exc):
        app.logger.exception("unhandled error")
        return render_error(InternalServerError.code)
