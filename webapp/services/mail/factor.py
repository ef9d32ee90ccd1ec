"""Send to the factor: a ready batch's file emailed to its factor's submission address with a
cover message, "Email to <factor>" on the batch page.

The form starts from the factor's record (its address, its default subject and cover message,
the built-in wording when those are empty); the clerk may change the subject and the message.
The attachment is the stored batch file, byte for byte the Download. A file above the
factor's attachment limit is refused (the Download stays). Each send is a BatchSend with its
MailMessage (to, when, message id, queued / sent / failed) and an audit row batch.email;
sending again after a first send must be confirmed. When the factor's server accepted the
message, the batch counts as sent (services/batches mark_sent, "email").
"""
import re
from dataclasses import dataclass

from peewee import JOIN

from webapp.models import BATCH_READY
from webapp.models import MAIL_SENT
from webapp.models import BatchSend
from webapp.models import Company
from webapp.models import MailMessage
from webapp.models import StoredFile
from webapp.models import User
from webapp.models import db
from webapp.services import audit
from webapp.services import batches
from webapp.services import money
from webapp.services.batches.reading import with_people
from webapp.services.mail.addresses import address_problem
from webapp.services.mail.addresses import subject_problem
from webapp.services.mail.messages import queue
from webapp.services.mail.messages import retry as requeue
from webapp.services.validation import FORM
from webapp.services.validation import Invalid

KIND = "batch.factor"
MAX_MESSAGE = 5000
DEFAULT_SUBJECT = "Batch #{batch_number} of {subsidiary}: {count} invoices, {total}"
DEFAULT_MESSAGE = (
    "Hello {factor},\n\n"
    "Attached is batch #{batch_number} of {subsidiary}: {count} invoices totalling {total}, "
    "for purchase under our agreement.\n\n"
    "Please reply to this email with any question.\n\n"
    "Thank you,\n{sender}\n{company}\n")
_PLACEHOLDER_RE = re.compile(r"\{([a-z_]+)\}")


def fill(template, values):
    """TEMPLATE with each {name} of COVER_PLACEHOLDERS replaced by VALUES[name]; others kept."""
    return _PLACEHOLDER_RE.sub(lambda m: str(values[m.group(1)]) if m.group(1) in values else m.group(0), template)


@dataclass
class SendForm:
    """What the "Email to <factor>" form shows."""

    batch: object
    factor: object
    values: dict  # to, subject, message
    size: int  # bytes of the batch file
    limit_bytes: int
    sends: list  # earlier sends, newest first (BatchSend with .message and .sent_by)

    @property
    def too_large(self):
        return self.size is not None and self.size > self.limit_bytes

    @property
    def limit_mb(self):
        return self.factor.attachment_limit_mb if self.factor else 20


def _values(batch, actor):
    company = Company.get_by_id(batch.company_id)
    count = batch.load_count
    return {
        "factor": batch.factor.name if batch.factor else "",
        "subsidiary": batch.subsidiary.name,
        "batch_number": batch.number,
        "count": count,
        "total": money.format_money(batch.total_cents),
        "sender": actor.display_name if actor else "",
        "company": company.name,
    }


def sends(batch):
    """BATCH's sends to the factor, newest first, with their message and sender joined."""
    return list(BatchSend.select(BatchSend, MailMessage, User)
                .join(MailMessage, on=(BatchSend.message == MailMessage.id))
                .switch(BatchSend).join(User, JOIN.LEFT_OUTER, on=(BatchSend.sent_by == User.id))
                .where(BatchSend.batch == batch.id)
                .order_by(BatchSend.created_at.desc(), BatchSend.id.desc()))


def send_form(batch, actor, data=None):
    """The form for BATCH: its defaults from the factor's record, or DATA as typed."""
    batch = with_people(batch)
    factor = batch.factor
    filled = _values(batch, actor)
    if data is None:
        values = {
            "to": factor.submission_email if factor else "",
            "subject": fill((factor.cover_subject if factor else "") or DEFAULT_SUBJECT, filled),
            "message": fill((factor.cover_message if factor else "") or DEFAULT_MESSAGE, filled),
        }
    else:
        values = {name: str(data.get(name) or "") for name in ("to", "subject", "message")}
        values["confirm_again"] = data.get("confirm_again") == "1"
    size = (StoredFile.select(StoredFile.size).where(StoredFile.id == batch.file_id).scalar()
            if batch.file_id else None)
    limit = (factor.attachment_limit_mb if factor else 20) * 1024 * 1024
    return SendForm(batch, factor, values, size, limit, sends(batch))


def send_batch(batch, data, *, actor):
    """Queue BATCH's file to its factor with DATA's address, subject and message (in one
    transaction with its BatchSend and audit row); the MailMessage. Start it after the commit
    with jobs.send_mail(message.id). Invalid (nothing recorded) when the batch has no file yet,
    the address is not one address, the subject has a line break, the file is above the
    factor's limit, or it was sent before and sending again is not confirmed."""
    form = send_form(batch, actor, data)
    batch, factor, values = form.batch, form.factor, form.values
    errors = {}
    if batch.status != BATCH_READY or not batch.file_id:
        raise Invalid({FORM: f"Batch #{batch.number} has no file to send yet."})
    if factor is None:
        raise Invalid({FORM: f"Batch #{batch.number} has no factor to send it to."})
    if form.too_large:
        raise Invalid({FORM: f"The batch file ({form.size / 1024 / 1024:.1f} MB) is larger than {factor.name} "
                             f"accepts by email ({factor.attachment_limit_mb} MB). Download it and send it "
                             "another way (their portal, or a file transfer)."})
    problem = address_problem(values["to"])
    if problem:
        errors["to"] = problem
    problem = subject_problem(values["subject"])
    if problem:
        errors["subject"] = problem
    message_text = values["message"].replace("\r\n", "\n").strip()
    if not message_text:
        errors["message"] = "Enter the cover message."
    elif len(message_text) > MAX_MESSAGE:
        errors["message"] = f"The cover message can be at most {MAX_MESSAGE:,} characters."
    if errors:
        raise Invalid(errors)
    if form.sends and not values.get("confirm_again"):
        last = form.sends[0]
        raise Invalid({"confirm_again": f"Batch #{batch.number} was already emailed to {last.message.to_address}. "
                                        "Tick “Send it again” to send it once more."})
    name, data_bytes, digest = batches.batch_file_bytes(batch)
    to = values["to"].strip()
    with db.atomic():
        message = queue(to=to, subject=values["subject"].strip(), text=message_text + "\n", kind=KIND,
                        company_id=batch.company_id, user_id=actor.id if actor else None,
                        attachments=[(name, batches.ZIP_TYPE, data_bytes)],
                        reply_to=actor.email if actor and not address_problem(actor.email) else None)
        send = BatchSend.create(batch=batch.id, message=message, sent_by=actor)
        audit.record(audit.BATCH_EMAIL, "batch", batch.id, actor=actor, company=batch.company_id,
                     batch=batch.id,
                     details={"to": to, "message_id": message.message_id, "file": name, "sha256": digest,
                              "again": bool(form.sends), "send_id": send.id})
    return message


def after_delivery(message_id):
    """A batch emailed to its factor and accepted by the server counts as sent (once)."""
    send = (BatchSend.select(BatchSend, MailMessage).join(MailMessage)
            .where((BatchSend.message == message_id) & (MailMessage.status == MAIL_SENT)).first())
    if send is None:
        return False
    batch = with_people(send.batch)
    if batch.sent_at:
        return False
    try:
        batches.mark_sent(batch, User.get_or_none(User.id == send.sent_by_id), how="email")
    except batches.BatchError:
        return False
    return True


def retry_send(batch, send_id, *, actor):
    """Put a failed send of BATCH back in the queue (the same message and file); audited.
    Invalid when there is no such send of this batch or it did not fail."""
    send = (BatchSend.select(BatchSend, MailMessage).join(MailMessage)
            .where((BatchSend.id == send_id) & (BatchSend.batch == batch.id)).first()) if send_id else None
    if send is None:
        raise Invalid({FORM: "That send is not one of this batch's."})
    with db.atomic():
        message = requeue(send.message.id)
        audit.record(audit.MAIL_RETRY, "mail_message", message.id, actor=actor, company=batch.company_id,
                     batch=batch.id, before=send.message.status, after=message.status,
                     details={"to": message.to_address, "error": send.message.error, "send_id": send.id})
    return message
