"""Mail: every message recorded, then delivered by the queue worker with retries.

`queue(...)` records a message in the caller's transaction (refusing line breaks in the
subject or an address and more than one recipient); the caller starts delivery after its
commit with `jobs.send_mail(message.id)`. The transport is MAIL_URL's: empty writes .eml
files to instance/outbox/, smtp:// sends with STARTTLS, smtps:// with TLS.

Modules: addresses (one address, a subject line), settings (MAIL_URL, MAIL_FROM), messages
(queue, deliver, retry), transport (MIME, outbox, SMTP), log (the Support mail log),
notices (batch ready / failed to its submitter; who turned which kind off), factor (the
batch file emailed to its factor).
"""
from webapp.services.mail.addresses import address_problem
from webapp.services.mail.addresses import single_address
from webapp.services.mail.messages import Outcome
from webapp.services.mail.messages import deliver
from webapp.services.mail.messages import due
from webapp.services.mail.messages import queue
from webapp.services.mail.messages import retry
from webapp.services.mail.settings import configure
from webapp.services.mail.transport import DeliveryError

__all__ = ["DeliveryError", "Outcome", "address_problem", "configure", "deliver", "due", "queue", "retry",
           "single_address"]
