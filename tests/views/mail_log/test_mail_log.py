"""Management > Mail log (webapp/mail_log/views.py): Support sees every tenant's messages, newest
first, with status and error, and can send a failed one again; nobody else sees the log."""
import pytest

from tests.helpers import in_db
from tests.mail_server import closed_port
from tests.mail_server import use_mail_url
from tests.views.test_templates_run_no_queries import queries_while_rendering
from webapp import jobs
from webapp.models import MAIL_FAILED
from webapp.models import MAIL_SENT
from webapp.models import AuditLog
from webapp.models import MailMessage
from webapp.services import mail


def _queue_for(app, world, company, to, subject):
    with in_db(app):
        message = mail.queue(to=to, subject=subject, text="Hello.", kind="test", company_id=company.id)
        jobs.send_mail(message.id)
        return message.id


@pytest.mark.parametrize("who", ["admin", "billing", "dispatch", "partner", "other"])
def test_only_support_sees_the_log(client, auth, who):
    auth.login(who)
    assert client.get("/management/mail/").status_code == 403
    assert "Mail log" not in client.get("/").get_data(as_text=True)


def test_support_sees_every_tenant_newest_first_with_status_and_error(client, auth, app, world, smtp_server):
    _queue_for(app, world, world.company, "first@demo.test", "First message")
    use_mail_url(app, f"smtp://127.0.0.1:{closed_port()}")
    _queue_for(app, world, world.other_company, "second@other.test", "Second message")
    auth.login("support")
    assert "Mail log" in client.get("/").get_data(as_text=True)
    with queries_while_rendering(app) as seen:
        page = client.get("/management/mail/").get_data(as_text=True)
    assert seen == []
    assert page.index("Second message") < page.index("First message")
    assert "Demo Trucking" in page and "Other Carrier Co" in page
    assert "could not be reached" in page
    assert ">Sent</span>" in page and ">Failed</span>" in page
    failed_only = client.get("/management/mail/?status=failed").get_data(as_text=True)
    assert "Second message" in failed_only and "First message" not in failed_only


def test_retry_sends_a_failed_message_and_is_audited(client, auth, app, world, smtp_server):
    use_mail_url(app, f"smtp://127.0.0.1:{closed_port()}")
    message_id = _queue_for(app, world, world.company, "later@demo.test", "Try again")
    with in_db(app):
        assert MailMessage.get_by_id(message_id).status == MAIL_FAILED
    use_mail_url(app, smtp_server.url)
    auth.login("support")
    response = client.post("/management/mail/retry", data={"message_id": message_id, "status": "failed"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/management/mail/?status=failed")
    with in_db(app):
        assert MailMessage.get_by_id(message_id).status == MAIL_SENT
        assert AuditLog.select().where(AuditLog.action == "mail.retry").count() == 1
    assert [m["Subject"] for m in smtp_server.messages] == ["Try again"]


@pytest.mark.parametrize("value", ["", "abc", "999999", "-1"])
def test_retry_of_nothing_or_of_a_sent_message_is_refused(client, auth, app, world, value):
    sent_id = _queue_for(app, world, world.company, "done@demo.test", "Done")
    auth.login("support")
    for message_id in (value, sent_id):
        page = client.post("/management/mail/retry", data={"message_id": message_id},
                           follow_redirects=True).get_data(as_text=True)
        assert "not in the log" in page or "Only a message that failed" in page
    with in_db(app):
        assert MailMessage.get_by_id(sent_id).attempts == 1
        assert AuditLog.select().where(AuditLog.action == "mail.retry").count() == 0
