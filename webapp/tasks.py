"""Background tasks. register() binds them to the app's Huey instance."""
from huey import crontab

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

    from webapp.services import batches

    @huey.task(name="generate_batch")
    @in_app
    def generate_batch(batch_id):
        """Build a batch's file and move its loads to Invoiced (safe to run twice)."""
        return batches.run_batch(batch_id)

    @huey.periodic_task(crontab(minute="*"), name="recover_batches")
    @in_app
    def recover_batches():
        """Every minute: restart batches whose worker died or whose job was lost."""
        return batches.recover_batches()

    @huey.on_startup("recover_batches_on_start")
    def recover_on_start():
        """When a worker starts: restart what the previous worker left unfinished."""
        try:
            in_app(batches.recover_batches)(startup=True)
        except Exception:  # the periodic task will try again; a worker must still start
            app.logger.exception("batch recovery at worker start failed")

    return {
        "generate_batch": generate_batch,
        "recover_batches": recover_batches,
    }
