"""Send to the factor: "Email to <factor>" on the batch page — the form (address, subject, cover
message), the send, the list of sends on the batch page, and Retry of a failed send."""
from flask import Blueprint
from flask import flash
from flask import make_response
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for

from webapp import jobs
from webapp.extensions import htmx
from webapp.models import MAIL_QUEUED
from webapp.models import Batch
from webapp.permissions import actor
from webapp.permissions import billing_required
from webapp.permissions import get_scoped_or_404
from webapp.permissions import login_required
from webapp.services.mail import factor as factor_mail
from webapp.services.validation import Invalid
from webapp.services.validation import db_id

bp = Blueprint("batch_email", __name__, url_prefix="/reports/factoring")


def _form(form, errors=None, status=200):
    return render_template("reports/email.html", form=form, errors=errors or {}), status


@bp.route("/batches/<int:batch_id>/email", methods=["GET", "POST"])
@billing_required
def send(batch_id):
    """The form with the factor's address and the default cover message; POST sends the file."""
    batch = get_scoped_or_404(Batch, batch_id)
    if request.method == "GET":
        return _form(factor_mail.send_form(batch, actor()))
    try:
        message = factor_mail.send_batch(batch, request.form, actor=actor())
    except Invalid as exc:
        return _form(factor_mail.send_form(batch, actor(), request.form), exc.errors, 422)
    jobs.send_mail(message.id)
    flash(f"Batch #{batch.number} is on its way to {message.to_address}. Its delivery shows under "
          "“Email to the factor”.", "success")
    return redirect(url_for("reports.batch", batch_id=batch.id) + "#batch-sends", code=303)


@bp.route("/batches/<int:batch_id>/email/sends")
@login_required
def sends(batch_id):
    """The batch page's list of sends (loaded by htmx); the email page without htmx."""
    batch = get_scoped_or_404(Batch, batch_id)
    if not htmx:
        return redirect(url_for("reports.batch", batch_id=batch.id) + "#batch-sends", code=303)
    sends = factor_mail.sends(batch)
    response = make_response(render_template("reports/_partials/batch_sends.html", batch=batch, sends=sends))
    # The page was drawn before the batch counted as sent; now it does (a send was delivered):
    # the whole page says so, once.
    if request.args.get("refresh") == "1" and batch.sent_at and not any(s.message.status == MAIL_QUEUED
                                                                         for s in sends):
        response.headers["HX-Refresh"] = "true"
    return response


@bp.route("/batches/<int:batch_id>/email/retry", methods=["POST"])
@billing_required
def retry(batch_id):
    """Send a failed send's message again (the same file, address and text)."""
    batch = get_scoped_or_404(Batch, batch_id)
    try:
        message = factor_mail.retry_send(batch, db_id(request.form.get("send_id")), actor=actor())
    except Invalid as exc:
        flash(exc.message, "error")
    else:
        jobs.send_mail(message.id)
        flash(f"Batch #{batch.number} is being sent to {message.to_address} again.", "success")
    return redirect(url_for("reports.batch", batch_id=batch.id) + "#batch-sends", code=303)
