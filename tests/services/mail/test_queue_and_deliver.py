"""services/mail: queue() records one message and refuses what could become another header or
another recipient; deliver() writes the .eml outbox or talks to a real SMTP server on
127.0.0.1, and a server that is down or refuses leaves the message failed, with its reason,
ready to be tried again."""
import datetime

import pytest

from tests.mail_server import closed_port
from tests.mail_server import outbox_messages
from tests.mail_server import use_mail_url
from webapp import jobs
from webapp.models import MAIL_FAILED
from webapp.models import MAIL_QUEUED
from webapp.models import MAIL_SENT
from webapp.models import MailAttachment
from webapp.models import MailMessage
from webapp.models import utcnow
from webapp.services import mail
from webapp.services.validation import Invalid

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 40


def _queue(**overrides):
    fields = dict(to="factor@capitaldepot.test", subject="Batch #7", text="Please find the batch.",
                  kind="test")
    fields.update(overrides)
    return mail.queue(**fields)


def test_queue_records_a_queued_message_with_its_attachment(in_app):
    message = _queue(html="<p>Please find the batch.</p>", attachments=[("batch.pdf", "application/pdf", PDF)])
    row = MailMessage.get_by_id(message.id)
    assert (row.status, row.attempts, row.to_address, row.kind) == (MAIL_QUEUED, 0, "factor@capitaldepot.test", "test")
    assert row.message_id.startswith("<") and row.message_id.endswith("@factor-desk.localhost>")
    assert "Factor Desk" in row.from_address
    [attachment] = MailAttachment.select().where(MailAttachment.message == row)
    assert (attachment.filename, attachment.size, bytes(attachment.data)) == ("batch.pdf", len(PDF), PDF)


@pytest.mark.parametrize("field, value, words", [
    ("subject", "Batch\r\nBcc: everyone@elsewhere.test", "line break"),
    ("subject", "Batch\nX-Injected: 1", "line break"),
    ("to", "factor@capitaldepot.test\r\nBcc: thief@elsewhere.test", "line break"),
    ("to", "factor@capitaldepot.test, thief@elsewhere.test", "one email address"),
    ("to", "factor@capitaldepot.test;thief@elsewhere.test", "one email address"),
    ("to", "factor@capitaldepot.test thief@elsewhere.test", "one email address"),
    ("to", "Factor <factor@capitaldepot.test>", "email address"),
    ("to", "", "Enter an email address"),
    ("reply_to", "a@b.test\nBcc: c@d.test", "line break"),
    ("html", '<img src="https://tracker.test/pixel.gif">', "elsewhere"),
    ("attachments", [("a\r\nb.pdf", "application/pdf", b"x")], "cannot be sent"),
])
def test_queue_refuses_injection_and_smuggled_recipients_and_records_nothing(in_app, field, value, words):
    before = MailMessage.select().count()
    with pytest.raises(Invalid) as refused:
        _queue(**{field: value})
    assert words in refused.value.errors[field]
    assert MailMessage.select().count() == before


def test_queue_with_a_key_records_one_message_per_key(in_app):
    first = _queue(key="batch-1-ready-1")
    again = _queue(key="batch-1-ready-1")
    assert first.id == again.id
    assert MailMessage.select().count() == 1


def test_outbox_holds_the_message_whole(in_app, app):
    message = _queue(html="<p>Hello</p>", attachments=[("batch.pdf", "application/pdf", PDF)])
    jobs.send_mail(message.id)
    row = MailMessage.get_by_id(message.id)
    assert (row.status, row.attempts, row.error) == (MAIL_SENT, 1, "")
    [eml] = outbox_messages(app)
    assert eml["To"] == "factor@capitaldepot.test" and eml["Subject"] == "Batch #7"
    assert eml["Message-ID"] == row.message_id
    assert eml.get_body(("plain",)).get_content().strip() == "Please find the batch."
    assert "<p>Hello</p>" in eml.get_body(("html",)).get_content()
    [part] = list(eml.iter_attachments())
    assert part.get_filename() == "batch.pdf" and part.get_content() == PDF


def test_smtp_server_receives_text_html_and_attachment(in_app, smtp_server):
    message = _queue(html="<p>Hello</p>", attachments=[("batch.zip", "application/zip", PDF)])
    jobs.send_mail(message.id)
    assert MailMessage.get_by_id(message.id).status == MAIL_SENT
    [received] = smtp_server.messages
    assert smtp_server.envelopes[0]["rcpt_tos"] == ["factor@capitaldepot.test"]
    assert received["Message-ID"] == message.message_id
    assert received.get_body(("plain",)).get_content().strip() == "Please find the batch."
    [part] = list(received.iter_attachments())
    assert part.get_filename() == "batch.zip" and part.get_content() == PDF


def test_sending_twice_sends_once(in_app, smtp_server):
    message = _queue()
    jobs.send_mail(message.id)
    jobs.send_mail(message.id)
    assert len(smtp_server.messages) == 1
    assert MailMessage.get_by_id(message.id).attempts == 1


def test_server_down_marks_failed_with_the_reason_then_a_retry_sends_it(in_app, app, smtp_server):
    use_mail_url(app, f"smtp://127.0.0.1:{closed_port()}")
    message = _queue(attachments=[("batch.zip", "application/zip", PDF)])
    jobs.send_mail(message.id)
    row = MailMessage.get_by_id(message.id)
    assert row.status == MAIL_FAILED and row.attempts == 1
    assert "could not be reached" in row.error
    assert row.next_attempt_at is not None  # tried again by itself (back-off)
    assert smtp_server.messages == []

    # Not due yet: the sweep leaves it; once due, the sweep sends it to the server now up.
    assert mail.due() == []
    use_mail_url(app, smtp_server.url)
    later = row.next_attempt_at + datetime.timedelta(seconds=1)
    assert mail.due(now=later) == [message.id]
    assert mail.deliver(message.id, outbox_dir="unused", now=later).status == MAIL_SENT
    row = MailMessage.get_by_id(message.id)
    assert (row.status, row.attempts, row.error) == (MAIL_SENT, 2, "")
    [received] = smtp_server.messages
    assert list(received.iter_attachments())[0].get_content() == PDF


def test_refusal_550_stays_failed_until_retried(in_app, smtp_server):
    smtp_server.refuse("550 5.1.1 <factor@capitaldepot.test>: Recipient address rejected")
    message = _queue()
    jobs.send_mail(message.id)
    row = MailMessage.get_by_id(message.id)
    assert row.status == MAIL_FAILED
    assert "550" in row.error and "Recipient address rejected" in row.error
    assert row.next_attempt_at is None  # a refusal is not tried again by itself
    assert mail.due(now=utcnow() + datetime.timedelta(days=1)) == []

    smtp_server.refuse(None)
    mail.retry(message.id)
    jobs.send_mail(message.id)
    assert MailMessage.get_by_id(message.id).status == MAIL_SENT
    assert len(smtp_server.messages) == 1


def test_temporary_refusal_is_tried_again_with_growing_waits(in_app, smtp_server):
    smtp_server.refuse("451 4.3.0 Try again later")
    message = _queue()
    waits = []
    now = utcnow()
    for _ in range(3):
        outcome = mail.deliver(message.id, outbox_dir="unused", now=now)
        waits.append(outcome.retry_in)
        now = MailMessage.get_by_id(message.id).next_attempt_at
    assert waits == [60, 300, 900]
    assert "451" in MailMessage.get_by_id(message.id).error


def test_gives_up_after_the_last_attempt(in_app, app, smtp_server):
    use_mail_url(app, f"smtp://127.0.0.1:{closed_port()}")
    app.config["MAIL_MAX_ATTEMPTS"] = 2
    use_mail_url(app, app.config["MAIL_URL"])
    message = _queue()
    now = utcnow()
    first = mail.deliver(message.id, outbox_dir="unused", now=now)
    second = mail.deliver(message.id, outbox_dir="unused", now=now + datetime.timedelta(seconds=first.retry_in))
    assert first.retry_in and second.retry_in is None
    row = MailMessage.get_by_id(message.id)
    assert (row.status, row.attempts, row.next_attempt_at) == (MAIL_FAILED, 2, None)


def test_retry_refuses_a_message_that_did_not_fail(in_app):
    message = _queue()
    with pytest.raises(Invalid) as refused:
        mail.retry(message.id)
    assert "failed" in refused.value.message
    assert MailMessage.get_by_id(message.id).status == MAIL_QUEUED


def test_bad_mail_url_is_refused_at_start():
    with pytest.raises(ValueError, match="MAIL_URL"):
        mail.configure(url="smtp:/nohost")
    with pytest.raises(ValueError, match="MAIL_URL"):
        mail.configure(url="http://mail.example.com")
    with pytest.raises(ValueError, match="MAIL_FROM"):
        mail.configure(url="", sender="Desk <desk@example.com>\r\nBcc: x@y.test")
    mail.configure()


@pytest.fixture
def trust(monkeypatch):
    """Make the transport trust one test server's self-signed certificate (and nothing else)."""
    import ssl

    from webapp.services.mail import transport

    def use(server):
        monkeypatch.setattr(transport, "tls_context", lambda: ssl.create_default_context(cafile=server.cert_file))
    return use


@pytest.mark.parametrize("tls", ["starttls", "implicit"])
# aiosmtpd counts only STARTTLS as TLS for AUTH; on implicit TLS the test server is told not to ask.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_tls_with_credentials_from_the_url(in_app, app, tmp_path, trust, tls):
    from tests.mail_server import SmtpServer
    server = SmtpServer(tls=tls, cert_dir=str(tmp_path), login=("desk@demo.test", "p@ss:word/1")).start()
    try:
        trust(server)
        scheme = "smtps" if tls == "implicit" else "smtp"
        use_mail_url(app, f"{scheme}://desk%40demo.test:p%40ss%3Aword%2F1@127.0.0.1:{server.port}")
        message = _queue(attachments=[("batch.zip", "application/zip", PDF)])
        jobs.send_mail(message.id)
        row = MailMessage.get_by_id(message.id)
        assert row.status == MAIL_SENT, row.error
        assert server.logins and server.logins[0][1] == "desk@demo.test"
        [received] = server.messages
        assert list(received.iter_attachments())[0].get_content() == PDF
    finally:
        server.stop()
        use_mail_url(app, "")


def test_a_wrong_password_is_a_refusal_with_the_reason(in_app, app, tmp_path, trust):
    from tests.mail_server import SmtpServer
    server = SmtpServer(tls="starttls", cert_dir=str(tmp_path), login=("desk", "right")).start()
    try:
        trust(server)
        use_mail_url(app, f"smtp://desk:wrong@127.0.0.1:{server.port}")
        message = _queue()
        jobs.send_mail(message.id)
        row = MailMessage.get_by_id(message.id)
        assert row.status == MAIL_FAILED and "refused the sign-in" in row.error and "535" in row.error
        assert server.messages == []
    finally:
        server.stop()
        use_mail_url(app, "")


def test_an_untrusted_certificate_is_not_accepted(in_app, app, tmp_path):
    from tests.mail_server import SmtpServer
    server = SmtpServer(tls="implicit", cert_dir=str(tmp_path)).start()
    try:
        use_mail_url(app, f"smtps://127.0.0.1:{server.port}")
        message = _queue()
        jobs.send_mail(message.id)
        row = MailMessage.get_by_id(message.id)
        assert row.status == MAIL_FAILED and "TLS" in row.error
        assert server.messages == []
    finally:
        server.stop()
        use_mail_url(app, "")


def test_no_password_in_clear_to_a_server_without_starttls(in_app, app, smtp_server):
    use_mail_url(app, f"smtp://desk:secret@127.0.0.1:{smtp_server.port}")
    message = _queue()
    jobs.send_mail(message.id)
    row = MailMessage.get_by_id(message.id)
    assert row.status == MAIL_FAILED and "does not offer STARTTLS" in row.error
    assert row.next_attempt_at is None
    assert smtp_server.messages == []


def test_a_one_time_link_leaves_the_record_once_sent(in_app, smtp_server):
    message = _queue(kind="account.reset", text="Reset it: https://desk.test/reset/SECRET-TOKEN")
    jobs.send_mail(message.id)
    row = MailMessage.get_by_id(message.id)
    assert row.status == MAIL_SENT and "SECRET-TOKEN" not in row.text_body + row.html_body
    [received] = smtp_server.messages
    assert "SECRET-TOKEN" in received.get_body(("plain",)).get_content()


def test_a_failed_one_time_link_keeps_its_text_for_the_retry(in_app, app, smtp_server):
    use_mail_url(app, f"smtp://127.0.0.1:{closed_port()}")
    message = _queue(kind="account.invite", text="Join: https://desk.test/invite/SECRET-TOKEN")
    jobs.send_mail(message.id)
    assert "SECRET-TOKEN" in MailMessage.get_by_id(message.id).text_body
