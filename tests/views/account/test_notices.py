"""My account > Email notices: each kind of notice on or off, for oneself only, audited."""
from tests.helpers import in_db
from webapp.models import AuditLog
from webapp.models import NoticeOptOut
from webapp.services.mail import notices


def test_the_section_lists_each_kind_on_by_default(client, auth):
    auth.login("billing")
    page = client.get("/account/").get_data(as_text=True)
    assert "Email notices" in page
    for label, _ in notices.NOTICE_KINDS.values():
        assert label in page
    assert page.count('name="on"') == len(notices.NOTICE_KINDS)
    assert page.count(" checked>") >= len(notices.NOTICE_KINDS)


def test_unticking_turns_a_kind_off_and_back_on(client, auth, app, world):
    auth.login("billing")
    response = client.post("/account/notices", data={"on": [notices.NOTICE_BATCH_FAILED]})
    assert response.status_code == 303
    with in_db(app):
        assert [r.kind for r in NoticeOptOut.select().where(NoticeOptOut.user == world.billing.id)] == [
            notices.NOTICE_BATCH_READY]
        assert not notices.is_on(world.billing.id, notices.NOTICE_BATCH_READY)
        assert AuditLog.select().where(AuditLog.action == "user.notices").count() == 1
    page = client.get("/account/").get_data(as_text=True)
    assert f'value="{notices.NOTICE_BATCH_READY}"\n          aria-describedby="notice-1-hint">' in page
    client.post("/account/notices", data={"on": list(notices.NOTICE_KINDS)})
    with in_db(app):
        assert NoticeOptOut.select().count() == 0


def test_unknown_kinds_are_ignored_and_others_untouched(client, auth, app, world):
    auth.login("billing")
    client.post("/account/notices", data={"on": ["notice.nonsense", notices.NOTICE_BATCH_READY]})
    with in_db(app):
        assert {r.kind for r in NoticeOptOut.select()} == {notices.NOTICE_BATCH_FAILED}
        assert notices.is_on(world.admin.id, notices.NOTICE_BATCH_FAILED)
