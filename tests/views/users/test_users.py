"""The Users pages (webapp/users): the list, the forms, deactivation, managers only, tenant-scoped."""
import re

import pytest

from webapp.models import ROLE_USER
from webapp.models import AuditLog
from webapp.services.auth import check_password


def _new(**over):
    data = {"email": "new.person@demo.test", "name": "New Person", "role": ROLE_USER, "billing": ""}
    data.update(over)
    return data


def test_list_shows_role_billing_status_and_last_sign_in(client, auth, world, dbconn):
    auth.login("admin")
    html = client.get("/users/").get_data(as_text=True)
    for header in ("Name", "Email", "Role", "Billing", "Status", "Last sign-in"):
        assert f"<th>{header}</th>" in html
    assert "dispatch@demo.test" in html and "Partner Admin" in html and "Never" in html
    assert "other@demo.test" not in html and "support@demo.test" not in html
    assert 'aria-label="Deactivate dispatch@demo.test"' in html
    assert 'aria-label="Deactivate admin@demo.test"' not in html  # not yourself
    assert 'aria-label="Edit partner@demo.test"' not in html  # an Admin cannot change a Partner Admin


def test_users_pages_are_for_managers_only(client, auth, world, dbconn):
    auth.login("dispatch")
    assert client.get("/users/").status_code == 403
    assert client.post("/users/new", data=_new()).status_code == 403
    assert client.post(f"/users/{world.user('billing').id}/deactivate").status_code == 403
    assert world.user("billing").active


@pytest.mark.parametrize("method, path", [
    ("GET", "/users/{id}/edit"), ("POST", "/users/{id}/edit"),
    ("POST", "/users/{id}/deactivate"), ("POST", "/users/{id}/reactivate"),
])
def test_users_of_another_company_are_404(client, auth, world, dbconn, method, path):
    target = world.user("dispatch")
    auth.login("other")
    response = client.open(path.format(id=target.id), method=method,
                           data={"name": "x", "role": ROLE_USER} if method == "POST" else None)
    assert response.status_code == 404
    assert "dispatch@demo.test" not in response.get_data(as_text=True)
    assert world.user("dispatch").active and world.user("dispatch").name == "Dana Dispatch"


def test_admin_creates_a_user_who_is_emailed_an_invitation(app, client, auth, world, dbconn, smtp_server):
    auth.login("admin")
    form = client.get("/users/new").get_data(as_text=True)
    assert '<option value="support"' not in form and '<option value="partner_admin"' not in form
    assert 'type="password"' not in form and "invitation to choose their own password" in form
    response = client.post("/users/new", data=_new(billing="1", password="typed-by-the-admin"))
    assert response.status_code == 303
    created = world.user("new.person@demo.test")
    assert created.billing and created.company_id == world.company.id
    assert not check_password(created, "typed-by-the-admin")  # the admin never sets it
    page = client.get("/users/").get_data(as_text=True)
    assert "User new.person@demo.test created. We emailed them an invitation" in page
    assert 'aria-label="Send invitation again to new.person@demo.test"' in page
    [message] = smtp_server.messages
    assert message["To"] == "new.person@demo.test"
    assert re.search(r"http://localhost/invitation/[\w-]{43}\b", message.get_body(("plain",)).get_content())


def test_bad_create_shows_the_message_at_the_field(client, auth, world, dbconn):
    auth.login("admin")
    response = client.post("/users/new", data=_new(email="billing@demo.test"))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'id="f-email-error">A user with the email billing@demo.test already exists.' in html
    assert 'value="New Person"' in html


def test_admin_edits_role_and_billing_through_the_form(client, auth, world, dbconn):
    target = world.user("dispatch")
    auth.login("admin")
    response = client.post(f"/users/{target.id}/edit", data={"name": "Dana Dispatch", "role": ROLE_USER,
                                                              "billing": "1"})
    assert response.status_code == 303
    assert world.user("dispatch").billing


def test_admin_editing_a_partner_admin_is_403(client, auth, world, dbconn):
    auth.login("admin")
    assert client.get(f"/users/{world.user('partner').id}/edit").status_code == 403
    assert client.post(f"/users/{world.user('partner').id}/deactivate").status_code == 403
    assert world.user("partner").active


def test_removing_your_own_manager_role_is_refused_on_the_form(client, auth, world, dbconn):
    admin = world.user("admin")
    auth.login("admin")
    response = client.post(f"/users/{admin.id}/edit", data={"name": admin.name, "role": ROLE_USER})
    assert response.status_code == 400
    assert "You cannot remove your own manager role." in response.get_data(as_text=True)


def test_deactivating_yourself_is_refused_with_a_message(client, auth, world, dbconn):
    auth.login("admin")
    response = client.post(f"/users/{world.user('admin').id}/deactivate", follow_redirects=True)
    assert "You cannot deactivate yourself." in response.get_data(as_text=True)
    assert world.user("admin").active


def test_deactivated_users_session_stops_working(app, client, auth, world, dbconn):
    victim = app.test_client()
    victim.post("/login", data={"email": "billing@demo.test", "password": "demo-password"})
    assert victim.get("/").status_code == 200
    auth.login("admin")
    response = client.post(f"/users/{world.user('billing').id}/deactivate")
    assert response.status_code == 303
    page = victim.get("/")
    assert page.status_code == 302 and "/login" in page.headers["Location"]
    refused = victim.post("/login", data={"email": "billing@demo.test", "password": "demo-password"})
    assert refused.status_code == 401
    # Reactivated, they may sign in again, but the old session stays dead.
    client.post(f"/users/{world.user('billing').id}/reactivate")
    assert victim.get("/").status_code == 302
    assert victim.post("/login", data={"email": "billing@demo.test",
                                       "password": "demo-password"}).status_code == 302


def test_partner_admin_manages_users_of_the_company_in_view(client, auth, world, dbconn):
    auth.login("partner")
    html = client.get("/users/").get_data(as_text=True)
    assert "dispatch@demo.test" in html
    assert '<option value="partner_admin"' in client.get("/users/new").get_data(as_text=True)
    response = client.post(f"/users/{world.user('dispatch').id}/deactivate")
    assert response.status_code == 303
    assert not world.user("dispatch").active
    assert AuditLog.get(AuditLog.action == "user.deactivate").company_id == world.company.id


def test_support_switched_to_other_carrier_manages_its_users(client, auth, world, dbconn):
    auth.login("support")
    client.post("/switch-company", data={"company_id": world.other_company.id})
    html = client.get("/users/").get_data(as_text=True)
    assert "other@demo.test" in html and "dispatch@demo.test" not in html
    assert client.get(f"/users/{world.user('dispatch').id}/edit").status_code == 404


def test_admin_sends_a_reset_link_and_it_is_audited(client, auth, world, dbconn, smtp_server):
    auth.login("admin")
    target = world.user("dispatch")
    html = client.get("/users/").get_data(as_text=True)
    assert 'aria-label="Send reset link to dispatch@demo.test"' in html
    response = client.post(f"/users/{target.id}/reset-link", follow_redirects=True)
    assert "We emailed dispatch@demo.test a link to reset their password" in response.get_data(as_text=True)
    [message] = smtp_server.messages
    assert message["To"] == "dispatch@demo.test" and "/reset-password/" in message.get_body(("plain",)).get_content()
    assert AuditLog.get(AuditLog.action == "user.reset_link").object_id == target.id


def test_admin_cannot_send_a_reset_link_to_a_partner_admin(client, auth, world, dbconn, smtp_server):
    auth.login("admin")
    assert client.post(f"/users/{world.user('partner').id}/reset-link").status_code == 403
    assert smtp_server.messages == []


def test_admin_resends_an_invitation(client, auth, world, dbconn, smtp_server):
    auth.login("admin")
    client.post("/users/new", data=_new())
    created = world.user("new.person@demo.test")
    assert client.post(f"/users/{created.id}/reset-link", follow_redirects=True).status_code == 200
    assert len(smtp_server.messages) == 1  # no reset for someone who never chose a password
    response = client.post(f"/users/{created.id}/invite", follow_redirects=True)
    assert "We emailed new.person@demo.test a new invitation" in response.get_data(as_text=True)
    assert [m["Subject"] for m in smtp_server.messages] == ["You are invited to Factor Desk"] * 2


def test_partner_admin_resets_a_lost_second_factor_audited(client, auth, world, dbconn):
    from webapp.models import User
    User.update(two_factor_enabled_at=User.created_at, two_factor_secret="JBSWY3DPEHPK3PXP").where(
        User.email == "dispatch@demo.test").execute()
    auth.login("partner")
    html = client.get("/users/").get_data(as_text=True)
    assert 'aria-label="Reset two-factor sign-in of dispatch@demo.test"' in html
    response = client.post(f"/users/{world.user('dispatch').id}/reset-two-factor", follow_redirects=True)
    assert "Two-factor sign-in of dispatch@demo.test is reset" in response.get_data(as_text=True)
    assert world.user("dispatch").two_factor_enabled_at is None
    log = AuditLog.get(AuditLog.action == "user.two_factor_reset")
    assert log.actor_id == world.user("partner").id and log.company_id == world.company.id


def test_resetting_a_second_factor_that_is_not_there_says_so(client, auth, world, dbconn):
    auth.login("admin")
    response = client.post(f"/users/{world.user('dispatch').id}/reset-two-factor", follow_redirects=True)
    assert "Dana Dispatch has no two-factor sign-in to reset." in response.get_data(as_text=True)
    assert not AuditLog.select().where(AuditLog.action == "user.two_factor_reset").exists()


def test_admin_requires_two_factor_for_the_whole_company_audited(app, client, auth, world, dbconn):
    from webapp.models import Company
    dispatch = app.test_client()
    dispatch.post("/login", data={"email": "dispatch@demo.test", "password": "demo-password"})
    assert dispatch.get("/loads/").status_code == 200
    auth.login("admin")
    refused = client.post("/users/two-factor-setting", data={"require_two_factor": "1"}, follow_redirects=True)
    assert "Set up your own two-factor sign-in first" in refused.get_data(as_text=True)
    assert not Company.get_by_id(world.company.id).require_two_factor
    from webapp.models import User
    User.update(two_factor_enabled_at=User.created_at, two_factor_secret="JBSWY3DPEHPK3PXP").where(
        User.email == "admin@demo.test").execute()
    response = client.post("/users/two-factor-setting", data={"require_two_factor": "1"}, follow_redirects=True)
    assert "Two-factor sign-in is now required for every user of Demo Trucking." in response.get_data(as_text=True)
    assert Company.get_by_id(world.company.id).require_two_factor
    log = AuditLog.get(AuditLog.action == "company.update")
    assert log.after == '{"require_two_factor": true}' and log.actor_id == world.user("admin").id
    assert dispatch.get("/loads/").headers["Location"].startswith("/account/two-factor")
    assert not Company.get_by_id(world.other_company.id).require_two_factor
    client.post("/users/two-factor-setting", data={"require_two_factor": ""})
    assert dispatch.get("/loads/").status_code == 200


def test_only_managers_change_the_two_factor_setting(client, auth, world, dbconn):
    from webapp.models import Company
    auth.login("dispatch")
    assert client.post("/users/two-factor-setting", data={"require_two_factor": "1"}).status_code == 403
    assert not Company.get_by_id(world.company.id).require_two_factor
