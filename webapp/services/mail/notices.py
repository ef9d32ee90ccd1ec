"""Notices: short emails to one person about their own work, each kind of which they can turn
off on My account.

Now: the person who submitted a batch hears when its file is ready, or when it failed (with
the reason). One notice per outcome of each run: a batch retried and ready again sends another.
"""
import datetime

from markupsafe import escape

from webapp.models import BATCH_FAILED
from webapp.models import BATCH_READY
from webapp.models import Batch
from webapp.models import MailMessage
from webapp.models import NoticeOptOut
from webapp.models import Subsidiary
from webapp.models import User
from webapp.models import db
from webapp.models import utcnow
from webapp.services import audit
from webapp.services import money
from webapp.services.mail import settings
from webapp.services.mail.messages import queue

NOTICE_BATCH_READY = "notice.batch_ready"
NOTICE_BATCH_FAILED = "notice.batch_failed"
NOTICE_KINDS = {
    NOTICE_BATCH_READY: ("Batch file ready", "When a batch you submitted has its file ready to send."),
    NOTICE_BATCH_FAILED: ("Batch failed", "When a batch you submitted could not be generated, with the reason."),
}


def settings_for(user):
    """[(kind, label, description, on)] for USER's My account page."""
    off = {row.kind for row in NoticeOptOut.select(NoticeOptOut.kind).where(NoticeOptOut.user == user)}
    return [(kind, label, description, kind not in off) for kind, (label, description) in NOTICE_KINDS.items()]


def save_settings(user, wanted_on):
    """Turn on exactly the kinds in WANTED_ON for USER (unknown kinds are ignored); the kinds now on."""
    wanted_on = {kind for kind in wanted_on if kind in NOTICE_KINDS}
    before = sorted(kind for kind, _, _, on in settings_for(user) if on)
    with db.atomic():
        NoticeOptOut.delete().where(NoticeOptOut.user == user).execute()
        for kind in NOTICE_KINDS:
            if kind not in wanted_on:
                NoticeOptOut.create(user=user, kind=kind)
        if before != sorted(wanted_on):
            audit.record(audit.USER_NOTICES, "user", user.id, actor=user, company=user.company_id,
                         before={"on": before}, after={"on": sorted(wanted_on)})
    return sorted(wanted_on)


def is_on(user_id, kind):
    return not NoticeOptOut.select().where((NoticeOptOut.user == user_id) & (NoticeOptOut.kind == kind)).exists()


def _html(paragraphs, link, link_text):
    body = "".join(f"<p>{escape(text)}</p>" for text in paragraphs)
    return (f'<!doctype html><html><body style="font-family: sans-serif">{body}'
            f'<p><a href="{escape(link)}">{escape(link_text)}</a></p></body></html>')


def _key(batch):
    return f"batch-{batch.id}-{batch.status}-{batch.attempts}"


def missing_batch_notices(*, batch_url, hours=6, now=None):
    """Queue the notices that a batch's outcome should have caused but did not (its worker died
    between the file and the notice, or recovery failed it): batches submitted in the last
    HOURS that are ready or failed with no notice of that outcome. The messages queued."""
    now = now or utcnow()
    rows = list(Batch.select(Batch.id, Batch.status, Batch.attempts)
                .where(Batch.status.in_((BATCH_READY, BATCH_FAILED)) & Batch.created_by.is_null(False)
                       & (Batch.created_at >= now - datetime.timedelta(hours=hours))))
    if not rows:
        return []
    domain = settings.current.domain
    wanted = {f"<{_key(row)}@{domain}>": row.id for row in rows}
    known = {m.message_id for m in MailMessage.select(MailMessage.message_id)
             .where(MailMessage.message_id.in_(list(wanted)))}
    queued = []
    for message_id, batch_id in wanted.items():
        if message_id not in known:
            message = batch_finished(batch_id, batch_url=batch_url)
            if message is not None:
                queued.append(message)
    return queued


def batch_finished(batch_id, *, batch_url):
    """Queue the submitter's notice for a batch whose file is ready or failed; the message, or
    None (still running, no submitter, an inactive one, or that kind turned off).
    BATCH_URL(batch) gives the batch page's full address for the link."""
    batch = (Batch.select(Batch, Subsidiary).join(Subsidiary).where(Batch.id == batch_id).get_or_none())
    if batch is None or batch.status not in (BATCH_READY, BATCH_FAILED) or not batch.created_by_id:
        return None
    user = User.get_or_none(User.id == batch.created_by_id)
    kind = NOTICE_BATCH_READY if batch.status == BATCH_READY else NOTICE_BATCH_FAILED
    if user is None or not user.active or not is_on(user.id, kind):
        return None
    link = batch_url(batch)
    what = f"Batch #{batch.number} of {batch.subsidiary.name}"
    counted = f"{batch.load_count} load{'s' if batch.load_count != 1 else ''}, {money.format_money(batch.total_cents)}"
    if batch.status == BATCH_READY:
        subject = f"{what} is ready"
        lines = [f"Hello {user.display_name},",
                 f"{what} ({counted}) has its file ready: {batch.file_name}.",
                 "Open the batch to download it or email it to the factor."]
    else:
        subject = f"{what} failed"
        lines = [f"Hello {user.display_name},",
                 f"{what} ({counted}) could not be generated.",
                 f"Reason: {batch.error or 'not recorded'}",
                 "Open the batch to retry it or cancel it; its loads stay reserved until you do."]
    footer = "You get this because you submitted the batch. Turn these notices off on My account."
    text = "\n\n".join(lines + [link, footer]) + "\n"
    return queue(to=user.email, subject=subject, text=text, html=_html(lines + [footer], link, "Open the batch"),
                 kind=kind, company_id=batch.company_id, user_id=user.id,
                 key=_key(batch))
