"""What every blueprint's views share: the round trip of a record form, 404 for what is missing,
addresses that carry a query string, and the URL converter for row ids."""
from urllib.parse import urlencode
from urllib.parse import urlsplit

from flask import abort
from flask import flash
from flask import redirect
from flask import request
from werkzeug.routing import IntegerConverter

from webapp.services.validation import MAX_ID
from webapp.services.validation import Invalid


class IdConverter(IntegerConverter):
    """<int:…> in a route: a row id the database can hold (up to 2**63 - 1); a bigger number
    matches no route (404) instead of overflowing the database driver."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)


def with_query(address, args, **changes):
    """ADDRESS with the query string ARGS (a MultiDict, e.g. request.args) and CHANGES. The query
    never reaches url_for() as keyword arguments, where `_external` or `_method` would change
    the address itself."""
    pairs = [(k, v) for k, v in (args.items(multi=True) if hasattr(args, "items") else args) if k not in changes]
    pairs += [(k, v) for k, v in changes.items() if v is not None]
    return f"{address}?{urlencode(pairs)}" if pairs else address


def safe_next(target):
    """Only a path on this site: no scheme, no host, no protocol-relative //."""
    if not target or not all(ch.isprintable() for ch in target):
        return None  # a CR/LF (or any control character) is never part of an address of ours
    target = target.replace("\\", "/").strip()
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


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
