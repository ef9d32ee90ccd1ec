"""Background tasks. register() binds them to the app's Huey instance."""
from webapp.database import connection


def register(huey, app):
    """Define the tasks on HUEY and return them by name."""

    def in_app(fn):
        """Run FN inside the app context with its own database connection."""
        def run(*args, **kwargs):
            with app.app_context():
                with connection():
                    return fn(*args, **kwargs)
        run.__name__ = fn.__name__
        return run

    tasks = {}
    return tasks
