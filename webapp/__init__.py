"""Factor Desk: the factoring desk of a trucking company's back office."""
import logging
import os
import re
import uuid

from flask import Flask
from flask import g
from flask import request
from werkzeug.middleware.proxy_fix import ProxyFix

from config import Config

_REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def create_app(test_config=None):
    """Build the app: config, database, extensions, queue, blueprints, errors, CLI."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=os.path.join(os.path.dirname(__file__), "..", "templates"),
        static_folder=os.path.join(os.path.dirname(__file__), "..", "static"),
    )
    from webapp.web import IdConverter
    app.url_map.converters["int"] = IdConverter
    app.config.from_object(Config)
    if test_config:
        app.config.update(test_config)
    os.makedirs(app.instance_path, exist_ok=True)
    _check_secret(app)
    if not app.config["DATABASE_URL"]:
        app.config["DATABASE_URL"] = "sqlite:///" + os.path.join(app.instance_path, "factor-desk.db")

    if app.config["PROXY_COUNT"]:
        n = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n)

    from webapp import database
    database.open_database(app.config["DATABASE_URL"])
    _init_request_hooks(app)
    _init_logging(app)

    from webapp.extensions import csrf
    from webapp.extensions import htmx
    from webapp.extensions import login_manager
    htmx.init_app(app)
    csrf.init_app(app)
    login_manager.init_app(app)

    from webapp import jobs
    jobs.init_app(app)

    from webapp import auth
    from webapp import errors
    from webapp import filters
    auth.init_app(app)
    errors.init_app(app)
    filters.init_app(app)
    _register_blueprints(app)

    from webapp import cli
    cli.init_app(app)
    return app


def _check_secret(app):
    """SECRET_KEY is mandatory outside debug and tests."""
    if app.config.get("SECRET_KEY"):
        return
    key_file = os.path.join(app.instance_path, "secret_key")
    if os.path.exists(key_file):
        with open(key_file, encoding="utf-8") as fh:
            app.config["SECRET_KEY"] = fh.read().strip()
        return
    if app.config.get("DEBUG") or app.config.get("TESTING"):
        app.config["SECRET_KEY"] = "dev-only-not-secret"
        return
    raise RuntimeError(
        "SECRET_KEY is not set. Set it in the environment, or run `make run` once, "
        "which writes a random key to instance/secret_key for local use.")


def _register_blueprints(app):
    """One blueprint per area the user sees."""
    from webapp.account.views import bp as account_bp
    from webapp.auth.views import bp as auth_bp
    from webapp.company.views import bp as company_bp
    from webapp.customers.views import bp as customers_bp
    from webapp.factoring.views import bp as factoring_bp
    from webapp.factors.views import bp as factors_bp
    from webapp.health.views import bp as health_bp
    from webapp.loads.views import bp as loads_bp
    from webapp.mail_log.views import bp as mail_log_bp
    from webapp.main.views import bp as main_bp
    from webapp.reports.emailing import bp as batch_email_bp
    from webapp.reports.exports import bp as exports_bp
    from webapp.reports.money import bp as money_reports_bp
    from webapp.reports.uploads import bp as report_uploads_bp
    from webapp.reports.views import bp as reports_bp
    from webapp.users.views import bp as users_bp

    for bp in (main_bp, auth_bp, account_bp, users_bp, company_bp, factors_bp, customers_bp, loads_bp,
               factoring_bp, reports_bp, report_uploads_bp, health_bp, mail_log_bp,
               batch_email_bp, money_reports_bp, exports_bp):
        app.register_blueprint(bp)


def _init_request_hooks(app):
    """A connection per request, a request id, and the Vary header for htmx."""
    from webapp.models import db

    @app.before_request
    def _open():
        # The proxy's id when it is a plain token (it goes into log lines), else a new one.
        # Without a proxy in front, the header is the client's own words: not trusted.
        incoming = request.headers.get("X-Request-Id", "") if app.config["PROXY_COUNT"] else ""
        g.request_id = incoming if _REQUEST_ID_RE.fullmatch(incoming) else uuid.uuid4().hex[:16]
        # /healthz connects by itself, so that a database that is down answers 503, not 500.
        if db.is_closed() and request.endpoint != "health.healthz":
            db.connect()

    @app.teardown_request
    def _close(exc):
        if not db.is_closed():
            db.close()

    @app.after_request
    def _headers(response):
        response.headers["X-Request-Id"] = g.get("request_id", "")
        response.headers["Server"] = "Factor Desk"
        if request.endpoint != "static":
            # Pages and downloads carry tenant data: no browser or proxy cache may keep them.
            response.headers["Cache-Control"] = "no-store"
        if app.config.get("SESSION_COOKIE_SECURE"):
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        response.vary.add("HX-Request")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; "
            "script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
        return response


def _init_logging(app):
    """One key=value line per record, carrying the request id (webapp/logs.py)."""
    from webapp import logs
    handler = logging.StreamHandler()
    handler.addFilter(logs.RequestIdFilter())
    handler.setFormatter(logs.Formatter())
    app.logger.handlers[:] = [handler]
    app.logger.setLevel(app.config.get("LOG_LEVEL", "INFO"))
