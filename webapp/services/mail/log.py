"""The mail log (Management > Mail log, Support only): every recorded message of every tenant,
newest first, with its delivery status and the last error."""
from dataclasses import dataclass

from peewee import JOIN
from peewee import fn

from webapp.models import MAIL_STATUSES
from webapp.models import Company
from webapp.models import MailMessage
from webapp.models import db
from webapp.services import audit
from webapp.services.mail.messages import retry as requeue
from webapp.services.paging import Page
from webapp.services.paging import PageRequest
from webapp.services.validation import Invalid


@dataclass
class MailLog:
    page: Page
    status: str  # the status shown ("" every status)
    statuses: dict
    counts: dict  # status -> how many messages


def mail_log(args):
    """One page of the log for the query string ARGS (?status=failed&page=2)."""
    status = args.get("status", "")
    if status not in MAIL_STATUSES:
        status = ""
    query = (MailMessage.select(MailMessage.id, MailMessage.created_at, MailMessage.sent_at, MailMessage.kind,
                                MailMessage.to_address, MailMessage.subject, MailMessage.status,
                                MailMessage.attempts, MailMessage.error, MailMessage.message_id,
                                MailMessage.next_attempt_at, MailMessage.company, Company.id, Company.name)
             .join(Company, JOIN.LEFT_OUTER, on=(MailMessage.company == Company.id))
             .order_by(MailMessage.created_at.desc(), MailMessage.id.desc()))
    if status:
        query = query.where(MailMessage.status == status)
    counts = {key: 0 for key in MAIL_STATUSES}
    for key, number in (MailMessage.select(MailMessage.status, fn.COUNT(MailMessage.id))
                        .group_by(MailMessage.status).tuples()):
        counts[key] = number
    return MailLog(page=Page.of_query(query, PageRequest.from_args(args)), status=status,
                   statuses=MAIL_STATUSES, counts=counts)


def retry(message_id, *, actor):
    """A failed message back in the queue (the caller starts it after the commit); audited.
    Invalid when there is no such message or it did not fail."""
    message = MailMessage.get_or_none(MailMessage.id == message_id) if message_id else None
    if message is None:
        raise Invalid({"_form": "That message is not in the log."})
    with db.atomic():
        requeued = requeue(message.id)
        audit.record(audit.MAIL_RETRY, "mail_message", message.id, actor=actor, company=message.company_id,
                     before=message.status, after=requeued.status,
                     details={"to": message.to_address, "error": message.error})
    return requeued
