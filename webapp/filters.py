"""Template filters and globals: money, dates, percentages, labels, the company in view."""
from flask_login import current_user

from webapp import models
from webapp.permissions import accessible_companies
from webapp.permissions import current_company
from webapp.services.factors import percent
from webapp.services.money import format_money


def date(value):
    """A date as 2026-11-25, blank for None."""
    return value.strftime("%Y-%m-%d") if value else ""


def datetime_(value):
    """A timestamp as 2026-11-25 14:05 UTC."""
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else ""


def init_app(app):
    """Register the filters and the context every page needs."""
    app.jinja_env.filters["money"] = format_money
    app.jinja_env.filters["date"] = date
    app.jinja_env.filters["datetime"] = datetime_
    app.jinja_env.filters["percent"] = percent  # basis points as 97.50 %

    @app.context_processor
    def _context():
        ctx = {"m": models}
        if current_user.is_authenticated:
            ctx["company"] = current_company()
            if current_user.role in (models.ROLE_SUPPORT, models.ROLE_PARTNER_ADMIN):
                ctx["switchable_companies"] = list(accessible_companies(current_user))
        return ctx
