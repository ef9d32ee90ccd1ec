"""What every blueprint's views share: the round trip of a record form, and 404 for what is missing."""
from flask import abort
from flask import flash
from flask import redirect
from flask import request

from webapp.services.validation import Invalid


def found_or_404(row):
    """ROW, or answer 404 when a service found nothing."""
    if row is None:
        abort(404)
    return row


def record_form(record, fields, form_again, save, done):
    """A record's edit form: on GET the form with the record's FIELDS ((name, label) pairs), on
    POST submit_form(SAVE, FORM_AGAIN, DONE)."""
    if request.method == "GET":
        return form_again({name: getattr(record, name) for name, _ in fields}, {}, 200)
    return submit_form(save, form_again, done)


def submit_form(save, form_again, done):
    """The POST of a record form: SAVE() writes and returns the record. Refused (Invalid), the
    form again with what was typed and every error, 400; not allowed (PermissionError), 403;
    saved, DONE(record) gives (message, address) to flash and redirect to (303)."""
    try:
        record = save()
    except PermissionError:
        abort(403)
    except Invalid as exc:
        return form_again(request.form, exc.errors, 400)
    message, address = done(record)
    flash(message, "success")
    return redirect(address, 303)
