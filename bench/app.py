"""The product's app as the benchmark runs it, plus the floor route.

The fixed-string route exists only here, registered on the app the benchmark
builds; the product never has it.
"""
from webapp import create_app
from webapp.permissions import public

FLOOR_PATH = "/_bench/fixed"


def register_floor(app):
    """Add the fixed-string route (the floor of every page figure) to APP."""

    @public
    def bench_fixed():
        """A Flask route returning a fixed string: what the framework alone costs."""
        return "ok"

    app.add_url_rule(FLOOR_PATH, "bench_fixed", bench_fixed)
    return app


def make_app(database_url, queue_url="immediate", **extra):
    """The product's app on the benchmark database, with the floor route."""
    config = {
        "TESTING": True,
        "SECRET_KEY": "bench-not-secret",
        "DATABASE_URL": database_url,
        "QUEUE_URL": queue_url,
        "WTF_CSRF_ENABLED": False,
        "LOG_LEVEL": "WARNING",
    }
    config.update(extra)
    return register_floor(create_app(config))
