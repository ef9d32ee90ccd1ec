"""Users: who may create whom, role and Billing changes, deactivation; all audited."""
import json

import pytest

from webapp.models import ROLE_ADMIN
from webapp.models import ROLE_PARTNER_ADMIN
from webapp.models import ROLE_SUPPORT
from webapp.models import ROLE_USER
from webapp.models import AuditLog
from webapp.models import Company
from webapp.models import Partner
from webapp.models import User
from webapp.services import users
from webapp.services.validation import Invalid


def _u(email):
    if "@" not in email:
        email = f"{email}@demo.test"
    return User.get(User.email == email)


def _demo():
    return Company.get(Company.name == "Demo Trucking")


def _other():
    return Company.get(Company.name == "Other Carrier Co")


def _new(**over):
    data = {"email": "new.person@demo.test", "name": "New Person", "role": ROLE_USER,
            "billing": "", "password": "a-good-password"}
    data.update(over)
    return data


# --- services -----------------------------------------------------------------------

def test_roles_each_manager_may_give(dbconn):
    assert set(users.assignable_roles(_u("admin"))) == {ROLE_ADMIN, ROLE_USER}
    assert set(users.assignable_roles(_u("partner"))) == {ROLE_ADMIN, ROLE_USER, ROLE_PARTNER_ADMIN}
    assert set(users.assignable_roles(_u("support"))) == {ROLE_ADMIN, ROLE_USER, ROLE_PARTNER_ADMIN,
                                                          ROLE_SUPPORT}
    assert users.assignable_roles(_u("dispatch")) == {}


@pytest.mark.parametrize("role", [ROLE_SUPPORT, ROLE_PARTNER_ADMIN])
def test_admin_cannot_create_support_or_partner_admin(dbconn, role):
    with pytest.raises(Invalid) as info:
        users.create_company_user(_u("admin"), _demo(), _new(role=role))
    assert list(info.value.errors) == ["role"]
    assert not User.select().where(User.email == "new.person@demo.test").exists()


def test_partner_admin_cannot_create_support_but_can_create_partner_admin(dbconn):
    with pytest.raises(Invalid):
        users.create_company_user(_u("partner"), _demo(), _new(role=ROLE_SUPPORT))
    created = users.create_company_user(_u("partner"), _demo(), _new(role=ROLE_PARTNER_ADMIN))
    assert created.company_id is None
    assert created.partner_id == Partner.get(Partner.name == "Demo Partner").id


def test_support_can_create_support(dbconn):
    created = users.create_company_user(_u("support"), _demo(), _new(role=ROLE_SUPPORT))
    assert (created.role, created.company_id, created.partner_id) == (ROLE_SUPPORT, None, None)


def test_partner_admin_cannot_manage_a_company_outside_the_partner(dbconn):
    with pytest.raises(users.UserForbidden):
        users.create_company_user(_u("partner"), _other(), _new())
    with pytest.raises(users.UserForbidden):
        users.set_active(_u("partner"), _other(), _u("other"), False)


def test_admin_cannot_manage_another_company(dbconn):
    with pytest.raises(users.UserForbidden):
        users.update_user(_u("admin"), _other(), _u("other"), {"name": "x", "role": ROLE_USER})


def test_partner_admin_for_a_company_without_partner_is_refused(dbconn):
    with pytest.raises(Invalid) as info:
        users.create_company_user(_u("support"), _other(), _new(role=ROLE_PARTNER_ADMIN))
    assert "not managed by a partner" in str(info.value)


def test_create_company_user_is_audited_with_the_company(dbconn):
    created = users.create_company_user(_u("admin"), _demo(), _new(billing="on"))
    assert created.company_id == _demo().id and created.billing
    assert created.password_hash != "a-good-password"
    log = AuditLog.get((AuditLog.object_type == "user") & (AuditLog.object_id == created.id))
    assert log.action == "user.create" and log.company_id == _demo().id
    assert json.loads(log.after) == {"role": ROLE_USER, "billing": True, "active": True}


@pytest.mark.parametrize("over, field, message", [
    ({"email": "not-an-email"}, "email", "valid email address"),
    ({"email": "ADMIN@demo.test"}, "email", "A user with the email admin@demo.test already exists."),
    ({"name": "  "}, "name", "Enter the person's name."),
    ({"password": "short"}, "password", "at least 8 characters"),
    ({"role": "wizard"}, "role", "Choose a role you may give"),
])
def test_create_refuses_bad_input(dbconn, over, field, message):
    with pytest.raises(Invalid) as info:
        users.create_company_user(_u("admin"), _demo(), _new(**over))
    assert list(info.value.errors) == [field] and message in str(info.value)


def test_visible_users_are_the_companys_plus_its_partner_admins(dbconn):
    emails = {u.email for u in users.visible_users(_u("admin"), _demo())}
    assert emails == {"admin@demo.test", "billing@demo.test", "dispatch@demo.test", "partner@demo.test"}
    assert "support@demo.test" in {u.email for u in users.visible_users(_u("support"), _demo())}
    assert {u.email for u in users.visible_users(_u("other"), _other())} == {"other@demo.test"}


def test_update_role_and_billing_is_one_audited_change(dbconn):
    target = _u("dispatch")
    users.update_user(_u("admin"), _demo(), target, {"name": "Dana D.", "role": ROLE_ADMIN, "billing": "1"})
    saved = _u("dispatch")
    assert (saved.role, saved.billing, saved.name) == (ROLE_ADMIN, True, "Dana D.")
    log = AuditLog.get(AuditLog.action == "user.update")
    assert json.loads(log.before) == {"role": ROLE_USER, "billing": False, "active": True,
                                      "name": "Dana Dispatch"}
    assert json.loads(log.after) == {"role": ROLE_ADMIN, "billing": True, "active": True, "name": "Dana D."}
    assert log.actor.email == "admin@demo.test"


def test_update_of_a_stale_user_is_refused(dbconn):
    stale = _u("billing")
    User.update(billing=False).where(User.id == stale.id).execute()  # someone else, meanwhile
    with pytest.raises(Invalid) as info:
        users.update_user(_u("admin"), _demo(), stale, {"name": stale.name, "role": ROLE_ADMIN, "billing": "1"})
    assert "Someone else changed this user" in str(info.value)
    assert _u("billing").role == ROLE_USER


def test_nobody_removes_their_own_manager_role(dbconn):
    admin = _u("admin")
    with pytest.raises(Invalid) as info:
        users.update_user(admin, _demo(), admin, {"name": admin.name, "role": ROLE_USER, "billing": "1"})
    assert "your own manager role" in str(info.value)
    assert _u("admin").role == ROLE_ADMIN


def test_a_manager_may_change_their_own_billing(dbconn):
    admin = _u("admin")
    users.update_user(admin, _demo(), admin, {"name": admin.name, "role": ROLE_ADMIN, "billing": ""})
    assert not _u("admin").billing


def test_admin_cannot_change_a_partner_admin(dbconn):
    with pytest.raises(users.UserForbidden):
        users.update_user(_u("admin"), _demo(), _u("partner"), {"name": "x", "role": ROLE_USER})
    with pytest.raises(users.UserForbidden):
        users.set_active(_u("admin"), _demo(), _u("partner"), False)


def test_nobody_deactivates_themselves(dbconn):
    with pytest.raises(Invalid) as info:
        users.set_active(_u("admin"), _demo(), _u("admin"), False)
    assert "cannot deactivate yourself" in str(info.value)
    assert _u("admin").active


def test_deactivate_bumps_the_session_version_and_is_audited(dbconn):
    before = _u("billing")
    users.set_active(_u("admin"), _demo(), before, False)
    after = _u("billing")
    assert not after.active and after.session_version == before.session_version + 1
    log = AuditLog.get(AuditLog.action == "user.deactivate")
    assert json.loads(log.before)["active"] is True and json.loads(log.after)["active"] is False
    with pytest.raises(Invalid) as info:
        users.set_active(_u("admin"), _demo(), after, False)
    assert "already deactivated" in str(info.value)


def test_reactivate_lets_them_back_in(dbconn):
    users.set_active(_u("admin"), _demo(), _u("billing"), False)
    users.set_active(_u("admin"), _demo(), _u("billing"), True)
    assert _u("billing").active
    assert AuditLog.select().where(AuditLog.action == "user.activate").count() == 1


# --- views --------------------------------------------------------------------------

def test_list_shows_role_billing_status_and_last_sign_in(client, auth, dbconn):
    auth.login("admin")
    html = client.get("/users/").get_data(as_text=True)
    for header in ("Name", "Email", "Role", "Billing", "Status", "Last sign-in"):
        assert f"<th>{header}</th>" in html
    assert "dispatch@demo.test" in html and "Partner Admin" in html and "Never" in html
    assert "other@demo.test" not in html and "support@demo.test" not in html
    assert 'aria-label="Deactivate dispatch@demo.test"' in html
    assert 'aria-label="Deactivate admin@demo.test"' not in html  # not yourself
    assert 'aria-label="Edit partner@demo.test"' not in html  # an Admin cannot change a Partner Admin


def test_users_pages_are_for_managers_only(client, auth, dbconn):
    auth.login("dispatch")
    assert client.get("/users/").status_code == 403
    assert client.post("/users/new", data=_new()).status_code == 403
    assert client.post(f"/users/{_u('billing').id}/deactivate").status_code == 403
    assert _u("billing").active


@pytest.mark.parametrize("method, path", [
    ("GET", "/users/{id}/edit"), ("POST", "/users/{id}/edit"),
    ("POST", "/users/{id}/deactivate"), ("POST", "/users/{id}/reactivate"),
])
def test_users_of_another_company_are_404(client, auth, dbconn, method, path):
    target = _u("dispatch")
    auth.login("other")
    response = client.open(path.format(id=target.id), method=method,
                           data={"name": "x", "role": ROLE_USER} if method == "POST" else None)
    assert response.status_code == 404
    assert "dispatch@demo.test" not in response.get_data(as_text=True)
    assert _u("dispatch").active and _u("dispatch").name == "Dana Dispatch"


def test_admin_creates_a_user_through_the_form(client, auth, dbconn):
    auth.login("admin")
    form = client.get("/users/new").get_data(as_text=True)
    assert '<option value="support"' not in form and '<option value="partner_admin"' not in form
    assert '<label for="f-password">Initial password' in form
    response = client.post("/users/new", data=_new(billing="1"))
    assert response.status_code == 303
    created = _u("new.person@demo.test")
    assert created.billing and created.company_id == _demo().id
    assert "User new.person@demo.test created." in client.get("/users/").get_data(as_text=True)


def test_bad_create_shows_the_message_at_the_field(client, auth, dbconn):
    auth.login("admin")
    response = client.post("/users/new", data=_new(email="billing@demo.test"))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'id="f-email-error">A user with the email billing@demo.test already exists.' in html
    assert 'value="New Person"' in html


def test_admin_edits_role_and_billing_through_the_form(client, auth, dbconn):
    target = _u("dispatch")
    auth.login("admin")
    response = client.post(f"/users/{target.id}/edit", data={"name": "Dana Dispatch", "role": ROLE_USER,
                                                              "billing": "1"})
    assert response.status_code == 303
    assert _u("dispatch").billing


def test_admin_editing_a_partner_admin_is_403(client, auth, dbconn):
    auth.login("admin")
    assert client.get(f"/users/{_u('partner').id}/edit").status_code == 403
    assert client.post(f"/users/{_u('partner').id}/deactivate").status_code == 403
    assert _u("partner").active


def test_removing_your_own_manager_role_is_refused_on_the_form(client, auth, dbconn):
    admin = _u("admin")
    auth.login("admin")
    response = client.post(f"/users/{admin.id}/edit", data={"name": admin.name, "role": ROLE_USER})
    assert response.status_code == 400
    assert "You cannot remove your own manager role." in response.get_data(as_text=True)


def test_deactivating_yourself_is_refused_with_a_message(client, auth, dbconn):
    auth.login("admin")
    response = client.post(f"/users/{_u('admin').id}/deactivate", follow_redirects=True)
    assert "You cannot deactivate yourself." in response.get_data(as_text=True)
    assert _u("admin").active


def test_deactivated_users_session_stops_working(app, client, auth, dbconn):
    victim = app.test_client()
    victim.post("/login", data={"email": "billing@demo.test", "password": "demo-password"})
    assert victim.get("/").status_code == 200
    auth.login("admin")
    response = client.post(f"/users/{_u('billing').id}/deactivate")
    assert response.status_code == 303
    page = victim.get("/")
    assert page.status_code == 302 and "/login" in page.headers["Location"]
    refused = victim.post("/login", data={"email": "billing@demo.test", "password": "demo-password"})
    assert refused.status_code == 401
    # Reactivated, they may sign in again, but the old session stays dead.
    client.post(f"/users/{_u('billing').id}/reactivate")
    assert victim.get("/").status_code == 302
    assert victim.post("/login", data={"email": "billing@demo.test",
                                       "password": "demo-password"}).status_code == 302


def test_partner_admin_manages_users_of_the_company_in_view(client, auth, dbconn):
    auth.login("partner")
    html = client.get("/users/").get_data(as_text=True)
    assert "dispatch@demo.test" in html
    assert '<option value="partner_admin"' in client.get("/users/new").get_data(as_text=True)
    response = client.post(f"/users/{_u('dispatch').id}/deactivate")
    assert response.status_code == 303
    assert not _u("dispatch").active
    assert AuditLog.get(AuditLog.action == "user.deactivate").company_id == _demo().id


def test_support_switched_to_other_carrier_manages_its_users(client, auth, dbconn):
    auth.login("support")
    client.post("/switch-company", data={"company_id": _other().id})
    html = client.get("/users/").get_data(as_text=True)
    assert "other@demo.test" in html and "dispatch@demo.test" not in html
    assert client.get(f"/users/{_u('dispatch').id}/edit").status_code == 404
