"""Notices (services/mail/notices.py): the submitter of a batch hears when its file is ready or
failed (with the reason and a link to the batch), once per outcome, unless they turned it off."""
from tests.helpers import in_db
from tests.mail_server import outbox_messages
from webapp import jobs
from webapp.models import MailMessage
from webapp.services.mail import notices


def _notices(app):
    with in_db(app):
        return list(MailMessage.select().where(MailMessage.kind.startswith("notice.")).order_by(MailMessage.id))


def test_the_submitter_hears_that_the_file_is_ready_with_a_link(app, submitted_batch):
    batch = submitted_batch.batch
    [message] = _notices(app)
    assert (message.kind, message.to_address, message.status) == (notices.NOTICE_BATCH_READY, "billing@demo.test",
                                                                  "sent")
    [eml] = [m for m in outbox_messages(app) if m["Message-ID"] == message.message_id]
    assert eml["Subject"] == f"Batch #{batch.number} of Demo Freight LLC is ready"
    text = eml.get_body(("plain",)).get_content()
    assert f"http://localhost:5000/reports/factoring/batches/{batch.id}" in text
    assert batch.file_name in text
    html = eml.get_body(("html",)).get_content()
    assert f'href="http://localhost:5000/reports/factoring/batches/{batch.id}"' in html
    assert "<img" not in html


def test_a_failed_batch_sends_the_reason(app, failed_batch):
    [message] = _notices(app)
    assert message.kind == notices.NOTICE_BATCH_FAILED
    assert "failed" in message.subject
    assert "Reason:" in message.text_body and "boom" in message.text_body


def test_once_per_outcome(app, submitted_batch):
    with app.app_context():
        jobs.notify_batch(submitted_batch.batch.id)
        jobs.notify_batch(submitted_batch.batch.id)
    assert len(_notices(app)) == 1


def test_base_url_makes_the_link(app, submitted_batch):
    app.config["BASE_URL"] = "https://desk.example.com/app"
    with in_db(app):
        MailMessage.delete().execute()
    with app.app_context():
        jobs.notify_batch(submitted_batch.batch.id)
    [message] = _notices(app)
    assert f"https://desk.example.com/app/reports/factoring/batches/{submitted_batch.batch.id}" in message.text_body


def test_turned_off_no_notice(app, world, make_batch):
    with in_db(app):
        notices.save_settings(world.billing, [notices.NOTICE_BATCH_FAILED])
    make_batch("submitted")
    assert _notices(app) == []
    make_batch("failed", count=1)
    assert [m.kind for m in _notices(app)] == [notices.NOTICE_BATCH_FAILED]


def test_the_sweep_writes_a_notice_that_was_lost(app, submitted_batch):
    with in_db(app):
        MailMessage.delete().execute()  # as if the worker died between the file and the notice
    with app.app_context():
        swept = app.extensions["tasks"]["sweep_mail"].call_local()
        again = app.extensions["tasks"]["sweep_mail"].call_local()
    [message] = _notices(app)
    assert swept == [message.id] and again == []
    assert message.kind == notices.NOTICE_BATCH_READY and message.status == "sent"
