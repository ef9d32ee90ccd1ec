"""Send to the factor (webapp/reports/emailing.py): "Email to Capital Depot" on the batch page
sends the batch file, byte for byte the Download, to the factor's submission address, with the
cover message the clerk may edit; each send is recorded on the batch and audited; sending
again asks first; a file above the factor's limit is refused with the Download offered; an
address with a list or a line break and a subject with a line break are refused; a server that
is down or refuses leaves the send failed with the reason, and Retry sends it."""
import hashlib

import pytest

from tests.helpers import in_db
from tests.helpers import snapshot
from tests.mail_server import closed_port
from tests.mail_server import outbox_messages
from tests.mail_server import use_mail_url
from webapp.models import MAIL_FAILED
from webapp.models import MAIL_SENT
from webapp.models import AuditLog
from webapp.models import Batch
from webapp.models import BatchSend
from webapp.models import Factor
from webapp.models import MailMessage
from webapp.models import StoredFile
from webapp.services.mail import factor as factor_mail

HX = {"HX-Request": "true"}
ADDRESS = "batches@capitaldepot.example"


@pytest.fixture
def ready(submitted_batch, app):
    batch = submitted_batch.batch
    with in_db(app):
        factor = Factor.get_by_id(batch.factor_id)
        assert factor.name == "Capital Depot" and factor.submission_email == ADDRESS
    return batch


def _url(batch, tail="email"):
    return f"/reports/factoring/batches/{batch.id}/{tail}"


def _download(client, batch):
    response = client.get(f"/reports/factoring/batches/{batch.id}/download")
    assert response.status_code == 200
    return response.data


def _form(client, batch):
    page = client.get(_url(batch))
    assert page.status_code == 200
    return page.get_data(as_text=True)


def _send(client, batch, **overrides):
    data = {"to": ADDRESS, "subject": f"Batch #{batch.number}", "message": "Please find the batch attached."}
    data.update(overrides)
    return client.post(_url(batch), data=data)


def _mail_rows(app):
    with in_db(app):
        return [(m.status, m.to_address) for m in MailMessage.select().where(MailMessage.kind == "batch.factor")]


def test_batch_page_offers_email_to_the_factor_and_the_form_has_the_defaults(client, auth, ready):
    auth.login("billing")
    page = client.get(f"/reports/factoring/batches/{ready.id}").get_data(as_text=True)
    assert "Email to Capital Depot" in page
    assert f'href="{_url(ready)}"' in page
    form = _form(client, ready)
    assert f'value="{ADDRESS}"' in form
    assert f"Batch #{ready.number} of Demo Freight LLC: 3 invoices" in form
    assert "Hello Capital Depot," in form and "3 invoices totalling $" in form
    assert ready.file_name in form


def test_send_puts_the_download_byte_for_byte_in_the_outbox_and_records_it(client, auth, ready, app):
    auth.login("billing")
    download = _download(client, ready)
    response = _send(client, ready, subject="Batch for purchase", message="Hello,\n\nThe batch.\n\nBlair")
    assert response.status_code == 303
    [eml] = outbox_messages(app)[-1:]
    assert eml["To"] == ADDRESS and eml["Subject"] == "Batch for purchase"
    assert eml["Reply-To"] == "billing@demo.test"
    assert "The batch." in eml.get_body(("plain",)).get_content()
    [attachment] = list(eml.iter_attachments())
    assert attachment.get_filename() == ready.file_name
    assert attachment.get_content() == download
    assert hashlib.sha256(attachment.get_content()).hexdigest() == ready.file_sha256
    with in_db(app):
        [send] = factor_mail.sends(ready)
        assert (send.message.status, send.message.to_address, send.sent_by.email) == (MAIL_SENT, ADDRESS,
                                                                                      "billing@demo.test")
        [row] = AuditLog.select().where((AuditLog.action == "batch.email") & (AuditLog.object_id == ready.id))
        assert send.message.message_id in row.details and ADDRESS in row.details
        assert Batch.get_by_id(ready.id).sent_at is not None  # delivered: the batch counts as sent
    listing = client.get(_url(ready, "email/sends"), headers=HX).get_data(as_text=True)
    assert "Delivered" in listing and ADDRESS in listing and send.message.message_id.strip("<>") in listing


def test_send_to_a_real_smtp_server_carries_the_download(client, auth, ready, app, smtp_server):
    auth.login("billing")
    download = _download(client, ready)
    assert _send(client, ready).status_code == 303
    [received] = smtp_server.messages
    assert smtp_server.envelopes[0]["rcpt_tos"] == [ADDRESS]
    [attachment] = list(received.iter_attachments())
    assert attachment.get_content_type() == "application/zip"
    assert attachment.get_content() == download
    assert _mail_rows(app) == [(MAIL_SENT, ADDRESS)]


def test_sending_again_asks_first(client, auth, ready, app):
    auth.login("billing")
    assert _send(client, ready).status_code == 303
    assert "This batch was emailed before" in _form(client, ready)
    refused = _send(client, ready)
    assert refused.status_code == 422
    assert "already emailed" in refused.get_data(as_text=True)
    assert len(_mail_rows(app)) == 1
    assert _send(client, ready, confirm_again="1").status_code == 303
    assert len(_mail_rows(app)) == 2


@pytest.mark.parametrize("field, value, words", [
    ("to", "batches@capitaldepot.example, thief@elsewhere.test", "one email address"),
    ("to", "batches@capitaldepot.example\r\nBcc: thief@elsewhere.test", "line break"),
    ("to", "batches@capitaldepot.example;thief@elsewhere.test", "one email address"),
    ("subject", "Batch\r\nBcc: thief@elsewhere.test", "line break"),
    ("subject", "Batch\nContent-Type: text/html", "line break"),
    ("message", "   ", "Enter the cover message"),
])
def test_injection_and_smuggled_recipients_are_refused_and_change_nothing(client, auth, ready, app, field, value,
                                                                            words):
    auth.login("billing")
    with in_db(app):
        before = snapshot()
    response = _send(client, ready, **{field: value})
    assert response.status_code == 422
    assert words in response.get_data(as_text=True)
    with in_db(app):
        assert snapshot() == before
        assert BatchSend.select().count() == 0
    assert _mail_rows(app) == []


def test_a_file_above_the_factor_limit_is_refused_with_the_download_offered(client, auth, ready, app):
    with in_db(app):
        StoredFile.update(size=21 * 1024 * 1024).where(StoredFile.id == ready.file_id).execute()
    auth.login("billing")
    form = _form(client, ready)
    assert "larger than Capital Depot accepts by email (20 MB)" in form
    assert f'href="/reports/factoring/batches/{ready.id}/download"' in form
    assert 'data-testid="send-email"' not in form
    response = _send(client, ready)
    assert response.status_code == 422
    assert "Download it" in response.get_data(as_text=True)
    assert _mail_rows(app) == []


def test_server_down_marks_the_send_failed_and_retry_delivers_the_same_file(client, auth, ready, app, smtp_server):
    use_mail_url(app, f"smtp://127.0.0.1:{closed_port()}")
    auth.login("billing")
    download = _download(client, ready)
    assert _send(client, ready).status_code == 303
    assert _mail_rows(app) == [(MAIL_FAILED, ADDRESS)]
    listing = client.get(_url(ready, "email/sends"), headers=HX).get_data(as_text=True)
    assert "Failed" in listing and "could not be reached" in listing and ">Retry</button>" in listing
    with in_db(app):
        assert Batch.get_by_id(ready.id).sent_at is None
        send_id = BatchSend.get().id

    use_mail_url(app, smtp_server.url)
    assert client.post(_url(ready, "email/retry"), data={"send_id": send_id}).status_code == 303
    assert _mail_rows(app) == [(MAIL_SENT, ADDRESS)]
    [received] = smtp_server.messages
    assert list(received.iter_attachments())[0].get_content() == download
    with in_db(app):
        assert Batch.get_by_id(ready.id).sent_at is not None
        assert AuditLog.select().where(AuditLog.action == "mail.retry").count() == 1


def test_a_550_refusal_is_shown_with_the_reason(client, auth, ready, app, smtp_server):
    smtp_server.refuse("550 5.7.1 Attachments not accepted")
    auth.login("billing")
    assert _send(client, ready).status_code == 303
    listing = client.get(_url(ready, "email/sends"), headers=HX).get_data(as_text=True)
    assert "550 5.7.1 Attachments not accepted" in listing


def test_retry_of_another_batch_send_is_refused(client, auth, ready, app, make_batch):
    auth.login("billing")
    assert _send(client, ready).status_code == 303
    with in_db(app):
        send_id = BatchSend.get().id
    other = make_batch("submitted", count=1)
    response = client.post(_url(other.batch, "email/retry"), data={"send_id": send_id}, follow_redirects=True)
    assert "not one of this batch" in response.get_data(as_text=True)


def test_without_billing_no_email(client, auth, ready):
    auth.login("dispatch")
    assert client.get(_url(ready)).status_code == 403
    assert "Email to Capital Depot" not in client.get(f"/reports/factoring/batches/{ready.id}").get_data(as_text=True)


def test_the_email_pages_render_without_a_query(client, auth, ready, app):
    from tests.views.test_templates_run_no_queries import queries_while_rendering
    auth.login("billing")
    assert _send(client, ready).status_code == 303
    for path, headers in ((_url(ready), {}), (_url(ready, "email/sends"), HX),
                          (f"/reports/factoring/batches/{ready.id}", {})):
        with queries_while_rendering(app) as seen:
            response = client.get(path, headers=headers)
        assert response.status_code == 200, path
        assert seen == [], (path, seen)


def test_the_page_drawn_before_the_delivery_is_redrawn_once_it_counts_as_sent(client, auth, ready, app):
    auth.login("billing")
    page = client.get(f"/reports/factoring/batches/{ready.id}").get_data(as_text=True)
    assert f'{_url(ready, "email/sends")}?refresh=1' in page  # not sent yet: ask to be told
    before = client.get(_url(ready, "email/sends") + "?refresh=1", headers=HX)
    assert "HX-Refresh" not in before.headers
    assert _send(client, ready).status_code == 303
    after = client.get(_url(ready, "email/sends") + "?refresh=1", headers=HX)
    assert after.headers.get("HX-Refresh") == "true"
    page = client.get(f"/reports/factoring/batches/{ready.id}").get_data(as_text=True)
    assert "?refresh=1" not in page  # sent: nothing more to wait for
    assert "HX-Refresh" not in client.get(_url(ready, "email/sends"), headers=HX).headers
