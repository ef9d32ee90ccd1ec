"""Management > Mail log (Support): every message the app recorded, of every tenant, with its
delivery; a failed one can be sent again."""
from flask import Blueprint
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for

from webapp import jobs
from webapp.models import MAIL_STATUSES
from webapp.permissions import actor
from webapp.permissions import support_required
from webapp.services.mail import log
from webapp.services.validation import Invalid
from webapp.services.validation import db_id

bp = Blueprint("mail_log", __name__, url_prefix="/management/mail")


@bp.route("/")
@support_required
def index():
    """The log, newest first, paged; ?status= shows one status."""
    return render_template("mail_log/index.html", log=log.mail_log(request.args))


@bp.route("/retry", methods=["POST"])
@support_required
def retry():
    """Put a failed message back in the queue and start it."""
    message_id = db_id(request.form.get("message_id"))
    try:
        message = log.retry(message_id, actor=actor())
    except Invalid as exc:
        flash(exc.message, "error")
    else:
        jobs.send_mail(message.id)
        flash(f"The message to {message.to_address} is being sent again.", "success")
    status = request.form.get("status", "")
    return redirect(url_for("mail_log.index", status=status) if status in MAIL_STATUSES
                    else url_for("mail_log.index"), code=303)
