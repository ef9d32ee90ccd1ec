"""The job queue (Huey) and its tasks, bound in create_app().

Services never enqueue: a service returns what must run (a batch id), and the
caller starts it here after the commit. QUEUE_URL picks the storage: empty means
a SQLite file in the instance folder (nothing extra to start, one machine),
sqlite:///path a SQLite file elsewhere, redis://host:port/db (or rediss:// for
TLS) Redis, postgresql://... tables in a PostgreSQL database (huey's SqlHuey; it
may be the app's own database), and "immediate" runs every task in-process as
soon as it is enqueued (tests). Redis or PostgreSQL let several web machines and
workers share one queue.
"""
import logging
import os

from flask import current_app
from flask import has_request_context
from flask import url_for
from huey import MemoryHuey
from huey import RedisHuey
from huey import SqliteHuey
from huey import crontab
from huey.exceptions import RetryTask

from webapp.database import connection
from webapp.services import mail
from webapp.services.batches import job as batch_job
from webapp.services.exports import job as export_job
from webapp.services.mail import factor as factor_mail
from webapp.services.mail import notices

log = logging.getLogger(__name__)


def build_huey(url, instance_path):
    """A Huey for QUEUE_URL; see the module docstring."""
    if url == "immediate":
        return MemoryHuey("factor-desk", immediate=True)
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey("factor-desk", url=url)
    if url.startswith(("postgres://", "postgresql://")):
        from huey.contrib.sql_huey import SqlHuey
        return SqlHuey("factor-desk", database=url)
    if url.startswith("sqlite:///"):
        filename = url[len("sqlite:///"):]
    elif not url:
        filename = os.path.join(instance_path, "queue.db")
    else:
        # A typo must not quietly give each machine a private queue that no worker reads.
        raise ValueError(f"QUEUE_URL {url!r} is not understood: use redis://, postgresql://, "
                         "sqlite:///path, immediate, or leave it empty.")
    return SqliteHuey("factor-desk", filename=filename)


def init_app(app):
    """Create the app's Huey and define its tasks on it."""
    huey = build_huey(app.config["QUEUE_URL"], app.instance_path)
    mail.configure(url=app.config.get("MAIL_URL", ""), sender=app.config.get("MAIL_FROM", ""),
                   timeout=app.config.get("MAIL_TIMEOUT_SECONDS", 30),
                   max_attempts=app.config.get("MAIL_MAX_ATTEMPTS", 6))
    app.extensions["huey"] = huey
    app.extensions["tasks"] = _register(huey, app)


def _register(huey, app):
    """Define the tasks on HUEY; return them by name."""
    stale_seconds = int(app.config.get("JOB_STALE_SECONDS", batch_job.STALE_SECONDS))

    def in_app(fn):
        """Run FN inside the app context with its own database connection."""
        def run(*args, **kwargs):
            with app.app_context():
                with connection():
                    return fn(*args, **kwargs)
        run.__name__ = fn.__name__
        return run

    @huey.task(name="generate_batch")
    @in_app
    def generate_batch(batch_id):
        """Build a batch's file and move its loads to Invoiced (safe to run twice)."""
        result = batch_job.run_batch(batch_id, stale_seconds=stale_seconds)
        notify_batch(batch_id)
        return result

    @huey.task(name="send_mail")
    @in_app
    def send_mail_task(message_id):
        """Deliver one recorded message; a failure that may pass is tried again later (back-off
        in services/mail/messages.py), a refusal stays failed until someone retries it."""
        outcome = mail.deliver(message_id, outbox_dir=outbox_dir(app))
        if outcome.status == "sent":
            factor_mail.after_delivery(message_id)  # a batch emailed to its factor counts as sent
        if outcome.retry_in:
            raise RetryTask(f"mail {message_id}: {outcome.error}", delay=outcome.retry_in)
        return outcome.status

    @huey.periodic_task(crontab(minute="*"), name="sweep_mail")
    @in_app
    def sweep_mail():
        """Every minute: messages whose enqueue was lost, whose worker died, or whose retry is
        due (a queue that lost its schedule loses no mail), and a batch notice that was never
        written (a worker that died between the file and the notice, a batch failed by recovery)."""
        ids = [message.id for message in notices.missing_batch_notices(batch_url=_batch_url)]
        ids += [message_id for message_id in mail.due() if message_id not in ids]
        for message_id in ids:
            send_mail(message_id)
        return ids

    @huey.periodic_task(crontab(minute="*"), name="recover_batches")
    @in_app
    def recover_batches():
        """Every minute: restart batches whose worker died or whose job was lost."""
        return recover()

    @huey.on_startup("recover_batches_on_start")
    def recover_on_start():
        """When a worker starts: restart what the previous worker left unfinished."""
        try:
            in_app(recover)(startup=True)
        except Exception:  # the periodic task will try again; a worker must still start
            app.logger.exception("batch recovery at worker start failed")

    @huey.task(name="export_list")
    @in_app
    def export_list(job_id):
        """Make a big export's file and keep it (safe to run twice)."""
        return export_job.run_export(job_id, stale_seconds=stale_seconds)

    @huey.periodic_task(crontab(minute="*"), name="recover_exports")
    @in_app
    def recover_exports_task():
        """Every minute: restart exports whose worker died or whose job was lost; remove old ones."""
        export_job.sweep()
        return recover_exports()

    @huey.on_startup("recover_exports_on_start")
    def recover_exports_on_start():
        """When a worker starts: restart the exports the previous worker left unfinished."""
        try:
            in_app(recover_exports)(startup=True)
        except Exception:  # the periodic task will try again; a worker must still start
            app.logger.exception("export recovery at worker start failed")

    return {"generate_batch": generate_batch, "recover_batches": recover_batches,
            "send_mail": send_mail_task, "sweep_mail": sweep_mail,
            "export_list": export_list, "recover_exports": recover_exports_task}


def enqueue(name, *args):
    """Put task NAME on the queue (or run it now in immediate mode)."""
    return current_app.extensions["tasks"][name](*args)


def start_batch(batch_id):
    """Start a batch's job, after the commit that created (or retried) it. A queue that is down
    only delays it: the batch stays waiting and recovery enqueues it again."""
    try:
        enqueue("generate_batch", batch_id)
    except Exception:
        log.exception("could not enqueue batch %s", batch_id)


def outbox_dir(app=None):
    """Where the default mail transport writes .eml files: instance/outbox/."""
    return os.path.join((app or current_app).instance_path, "outbox")


def send_mail(message_id):
    """Start delivering a recorded message, after the commit that recorded it. A queue that is
    down only delays it: the message stays queued and the mail sweep enqueues it again."""
    try:
        enqueue("send_mail", message_id)
    except Exception:
        log.exception("could not enqueue mail %s", message_id)


def external_url(endpoint, **values):
    """The full address of a page, for a link in an email: from BASE_URL, else the request's
    own root, else (a worker with BASE_URL unset) http://localhost:5000, where `make run` serves."""
    base = current_app.config.get("BASE_URL", "")
    if not base and has_request_context():
        return url_for(endpoint, _external=True, **values)
    with current_app.test_request_context("/", base_url=base or "http://localhost:5000"):
        return url_for(endpoint, _external=True, **values)


def _batch_url(batch):
    return external_url("reports.batch", batch_id=batch.id)


def notify_batch(batch_id):
    """The submitter's notice that a batch's file is ready or failed (once per outcome, unless
    they turned that kind off). A notice that cannot be written never fails the batch."""
    try:
        with connection():
            message = notices.batch_finished(batch_id, batch_url=_batch_url)
        if message is not None:
            send_mail(message.id)
    except Exception:
        log.exception("could not write the notice of batch %s", batch_id)


def recover(startup=False):
    """Fail the batches lost too often, start again those whose job was lost; the ids restarted."""
    stale_seconds = int(current_app.config.get("JOB_STALE_SECONDS", batch_job.STALE_SECONDS))
    restart = batch_job.recover_batches(startup=startup, stale_seconds=stale_seconds)
    for batch_id in restart:
        start_batch(batch_id)
    return restart


def start_export(job_id):
    """Start making a big export, after the commit that asked for it. A queue that is down only
    delays it: the job stays waiting and recovery enqueues it again."""
    try:
        enqueue("export_list", job_id)
    except Exception:
        log.exception("could not enqueue export %s", job_id)


def recover_exports(startup=False):
    """Fail the exports lost too often, start again those whose job was lost; the ids restarted."""
    stale_seconds = int(current_app.config.get("JOB_STALE_SECONDS", export_job.STALE_SECONDS))
    restart = export_job.recover_exports(startup=startup, stale_seconds=stale_seconds)
    for job_id in restart:
        start_export(job_id)
    return restart


def ping():
    """Reachability of the queue's storage, for /healthz (raises when down)."""
    current_app.extensions["huey"].pending_count()
    return True
