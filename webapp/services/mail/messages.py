"""Queue a message (a row, in the caller's transaction) and deliver it (from the worker).

queue() checks and records; the caller starts delivery after its commit (jobs.send_mail).
deliver() claims the row (so that two workers never send it at once), hands it to the
transport, and records the outcome: sent, or failed with the reason and, when the failure
may pass (the server is down, a 4xx answer), when it is due again. A 5xx answer is not
tried again by itself; retry() (the mail log's Retry, or the batch page's Send again) puts a
failed message back in the queue. Nothing is lost: the row, its text and its attachments
stay until it is sent.
"""
import datetime
import re
import uuid
from dataclasses import dataclass

from webapp.models import MAIL_FAILED
from webapp.models import MAIL_QUEUED
from webapp.models import MAIL_SENT
from webapp.models import MailAttachment
from webapp.models import MailMessage
from webapp.models import db
from webapp.models import utcnow
from webapp.services.mail import settings
from webapp.services.mail import transport
from webapp.services.mail.addresses import address_problem
from webapp.services.mail.addresses import has_line_break
from webapp.services.mail.addresses import subject_problem
from webapp.services.validation import Invalid

# Seconds before the next try after the Nth failed one (then the last value again).
BACKOFF_SECONDS = (60, 300, 900, 3600, 3 * 3600)
# A worker that claimed a message and died: after this, another may take it.
CLAIM_SECONDS = 300
MAX_TEXT = 200_000
MAX_ATTACHMENTS_BYTES = 50 * 1024 * 1024
_MIME_RE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$", re.IGNORECASE)
# An image, stylesheet or frame fetched from elsewhere when the mail is opened: a tracker.
_REMOTE_RE = re.compile(r"""(?:\b(?:src|background|srcset|poster|data)\s*=\s*["']?\s*(?:[a-z][a-z0-9+.-]*:)?//"""
                        r"""|url\(\s*["']?\s*(?:[a-z][a-z0-9+.-]*:)?//|@import)""", re.IGNORECASE)


# Messages that carry a secret (an invitation or password-reset link): once the server took
# one, its text is removed from the record, so that the table alone opens no account.
SECRET_KINDS = ("account.",)
REMOVED_TEXT = "(This message held a one-time link; its text was removed once it was sent.)"


def _carries_secret(kind):
    return any(kind.startswith(prefix) for prefix in SECRET_KINDS)


def backoff(attempts):
    """Seconds to wait after ATTEMPTS failed tries."""
    return BACKOFF_SECONDS[min(max(attempts, 1), len(BACKOFF_SECONDS)) - 1]


def _check(to, subject, text, html, kind, attachments, reply_to):
    errors = {}
    problem = address_problem(to)
    if problem:
        errors["to"] = problem
    if reply_to:
        problem = address_problem(reply_to)
        if problem:
            errors["reply_to"] = problem
    problem = subject_problem(subject)
    if problem:
        errors["subject"] = problem
    if not str(text or "").strip():
        errors["text"] = "Enter the message."
    elif len(text) > MAX_TEXT or (html and len(html) > MAX_TEXT):
        errors["text"] = "The message is too long."
    if html and _REMOTE_RE.search(html):
        errors["html"] = "The HTML part may not load images or styles from elsewhere."
    if not kind or has_line_break(kind) or len(kind) > 40:
        errors["kind"] = "A message needs its kind."
    total = 0
    for item in attachments:
        try:
            filename, mime_type, data = item
        except (TypeError, ValueError):
            errors["attachments"] = "An attachment is (file name, type, bytes)."
            break
        if (not filename or has_line_break(filename) or any(not ch.isprintable() for ch in filename)
                or not _MIME_RE.match(mime_type or "") or not isinstance(data, (bytes, bytearray, memoryview))):
            errors["attachments"] = f"The attachment {filename!r} cannot be sent."
            break
        total += len(data)
    if total > MAX_ATTACHMENTS_BYTES:
        errors["attachments"] = "The attachments are too large to email."
    if errors:
        raise Invalid(errors)


def queue(*, to, subject, text, html=None, kind, company_id=None, user_id=None, attachments=(),
          reply_to=None, key=None):
    """Record a message (status queued) in the caller's transaction and return it.

    One recipient; CR/LF in the subject or an address, or a list of addresses, raises Invalid
    and records nothing. ATTACHMENTS: (filename, mime_type, bytes). KEY, when given, makes the
    message id (and so the message) one per key: queueing the same key again returns the
    message already recorded. Start delivery after the commit with jobs.send_mail(message.id).
    """
    attachments = list(attachments or ())
    _check(to, subject, text, html, kind, attachments, reply_to)
    domain = settings.current.domain
    if key:
        message_id = f"<{re.sub(r'[^A-Za-z0-9._-]', '-', str(key))[:120]}@{domain}>"
        found = MailMessage.get_or_none(MailMessage.message_id == message_id)
        if found:
            return found
    else:
        message_id = f"<{uuid.uuid4().hex}@{domain}>"
    with db.atomic():
        message = MailMessage.create(
            company=company_id, user=user_id, kind=kind, to_address=to.strip(),
            from_address=settings.current.sender, reply_to=(reply_to or "").strip(),
            subject=subject, text_body=text, html_body=html or "", message_id=message_id,
            status=MAIL_QUEUED)
        for filename, mime_type, data in attachments:
            MailAttachment.create(message=message, filename=filename, content_type=mime_type.lower(),
                                  size=len(data), data=bytes(data))
    return message


@dataclass
class Outcome:
    """What one delivery did: sent, failed (error; retry_in seconds, or None: not by itself),
    or skipped (already sent, someone else is sending it, or not due yet)."""

    status: str
    error: str = ""
    retry_in: int = None


def _claim(message_id, now, force):
    """Take the message for this worker; False when it is sent, claimed, or not due."""
    stale = now - datetime.timedelta(seconds=CLAIM_SECONDS)
    due = (MailMessage.status == MAIL_QUEUED)
    if not force:
        due = due | ((MailMessage.status == MAIL_FAILED) & MailMessage.next_attempt_at.is_null(False)
                     & (MailMessage.next_attempt_at <= now))
    else:
        due = due | (MailMessage.status == MAIL_FAILED)
    query = (MailMessage.update(claimed_at=now, attempts=MailMessage.attempts + 1)
             .where((MailMessage.id == message_id) & due
                    & (MailMessage.claimed_at.is_null() | (MailMessage.claimed_at < stale))))
    return query.execute() == 1


def deliver(message_id, *, outbox_dir, now=None, force=False):
    """Send one recorded message with the configured transport; the Outcome.

    Safe to call twice or from two workers: a sent or claimed message is skipped.
    OUTBOX_DIR: where the default transport writes .eml files (instance/outbox).
    """
    now = now or utcnow()
    if not _claim(message_id, now, force):
        return Outcome("skipped")
    message = MailMessage.get_by_id(message_id)
    files = list(MailAttachment.select().where(MailAttachment.message == message).order_by(MailAttachment.id))
    try:
        transport.send(message, files, settings.current, outbox_dir=outbox_dir)
    except transport.DeliveryError as exc:
        retry_in = backoff(message.attempts) if exc.temporary and message.attempts < settings.current.max_attempts else None
        next_at = now + datetime.timedelta(seconds=retry_in) if retry_in else None
        (MailMessage.update(status=MAIL_FAILED, error=str(exc)[:2000], claimed_at=None, next_attempt_at=next_at)
         .where(MailMessage.id == message_id).execute())
        return Outcome(MAIL_FAILED, str(exc), retry_in)
    done = dict(status=MAIL_SENT, error="", claimed_at=None, next_attempt_at=None, sent_at=utcnow())
    if _carries_secret(message.kind):
        done.update(text_body=REMOVED_TEXT, html_body="")
    MailMessage.update(**done).where(MailMessage.id == message_id).execute()
    return Outcome(MAIL_SENT)


def retry(message_id):
    """Put a failed message back in the queue (its attempts kept); Invalid when it is not failed."""
    updated = (MailMessage.update(status=MAIL_QUEUED, next_attempt_at=None)
               .where((MailMessage.id == message_id) & (MailMessage.status == MAIL_FAILED)).execute())
    if not updated:
        raise Invalid({"_form": "Only a message that failed can be sent again."})
    return MailMessage.get_by_id(message_id)


def due(now=None, limit=100, settled_seconds=60):
    """Ids of messages a worker should take now: queued ones nobody is sending (an enqueue that
    was lost, a worker that died) and failed ones whose next try is due."""
    now = now or utcnow()
    stale = now - datetime.timedelta(seconds=CLAIM_SECONDS)
    settled = now - datetime.timedelta(seconds=settled_seconds)  # a fresh one is on its way from its caller
    free = MailMessage.claimed_at.is_null() | (MailMessage.claimed_at < stale)
    waiting = (MailMessage.status == MAIL_QUEUED) & (MailMessage.created_at < settled)
    again = ((MailMessage.status == MAIL_FAILED) & MailMessage.next_attempt_at.is_null(False)
             & (MailMessage.next_attempt_at <= now))
    rows = (MailMessage.select(MailMessage.id).where(free & (waiting | again))
            .order_by(MailMessage.id).limit(limit))
    return [row.id for row in rows]
