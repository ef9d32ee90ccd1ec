"""Users (services/users.py): who may create whom, role and Billing changes, deactivation; all audited."""
import json

import pytest

from webapp.models import ROLE_ADMIN
from webapp.models import ROLE_PARTNER_ADMIN
from webapp.models import ROLE_SUPPORT
from webapp.models import ROLE_USER
from webapp.models import AccountToken
from webapp.models import AuditLog
from webapp.models import MailMessage
from webapp.models import User
from webapp.services import users
from webapp.services.auth import NO_PASSWORD
from webapp.services.auth import check_password
from webapp.services.validation import Invalid


def _new(**over):
    data = {"email": "new.person@demo.test", "name": "New Person", "role": ROLE_USER, "billing": ""}
    data.update(over)
    return data


def _link(token):
    return f"http://desk.test/invitation/{token}"


def _create(actor, company, data):
    """users.create_company_user with the invitation page's address."""
    return users.create_company_user(actor, company, data, link_for=_link)


def test_roles_each_manager_may_give(world, dbconn):
    assert set(users.assignable_roles(world.user("admin"))) == {ROLE_ADMIN, ROLE_USER}
    assert set(users.assignable_roles(world.user("partner"))) == {ROLE_ADMIN, ROLE_USER, ROLE_PARTNER_ADMIN}
    assert set(users.assignable_roles(world.user("support"))) == {ROLE_ADMIN, ROLE_USER, ROLE_PARTNER_ADMIN,
                                                          ROLE_SUPPORT}
    assert users.assignable_roles(world.user("dispatch")) == {}


@pytest.mark.parametrize("role", [ROLE_SUPPORT, ROLE_PARTNER_ADMIN])
def test_admin_cannot_create_support_or_partner_admin(world, dbconn, role):
    with pytest.raises(Invalid) as info:
        _create(world.user("admin"), world.company, _new(role=role))
    assert list(info.value.errors) == ["role"]
    assert not User.select().where(User.email == "new.person@demo.test").exists()


def test_partner_admin_cannot_create_support_but_can_create_partner_admin(world, dbconn):
    with pytest.raises(Invalid):
        _create(world.user("partner"), world.company, _new(role=ROLE_SUPPORT))
    created = _create(world.user("partner"), world.company, _new(role=ROLE_PARTNER_ADMIN))
    assert created.company_id is None
    assert created.partner_id == world.partner_org.id


def test_support_can_create_support(world, dbconn):
    created = _create(world.user("support"), world.company, _new(role=ROLE_SUPPORT))
    assert (created.role, created.company_id, created.partner_id) == (ROLE_SUPPORT, None, None)


def test_partner_admin_cannot_manage_a_company_outside_the_partner(world, dbconn):
    with pytest.raises(users.UserForbidden):
        _create(world.user("partner"), world.other_company, _new())
    with pytest.raises(users.UserForbidden):
        users.set_active(world.user("partner"), world.other_company, world.user("other"), False)


def test_admin_cannot_manage_another_company(world, dbconn):
    with pytest.raises(users.UserForbidden):
        users.update_user(world.user("admin"), world.other_company, world.user("other"),
                          {"name": "x", "role": ROLE_USER})


def test_partner_admin_for_a_company_without_partner_is_refused(world, dbconn):
    with pytest.raises(Invalid) as info:
        _create(world.user("support"), world.other_company, _new(role=ROLE_PARTNER_ADMIN))
    assert "not managed by a partner" in str(info.value)


def test_create_company_user_is_audited_with_the_company_and_invited(world, dbconn):
    created = _create(world.user("admin"), world.company, _new(billing="on"))
    assert created.company_id == world.company.id and created.billing
    # No password until they choose one through the invitation: none signs them in.
    assert created.password_hash == NO_PASSWORD and created.password_set_at is None
    assert not check_password(User.get_by_id(created.id), "")
    message = created.invitation
    assert (message.to_address, message.kind) == ("new.person@demo.test", "account.invite")
    assert "http://desk.test/invitation/" in message.text_body and "72 hours" in message.text_body
    assert AccountToken.get(AccountToken.user == created.id).kind == "invite"
    logs = {log.action: log for log in AuditLog.select().where(
        (AuditLog.object_type == "user") & (AuditLog.object_id == created.id))}
    assert set(logs) == {"user.create", "user.invite"}
    assert {log.company_id for log in logs.values()} == {world.company.id}
    assert json.loads(logs["user.create"].after) == {"role": ROLE_USER, "billing": True, "active": True}


@pytest.mark.parametrize("over, field, message", [
    ({"email": "not-an-email"}, "email", "valid email address"),
    ({"email": "ADMIN@demo.test"}, "email", "A user with the email admin@demo.test already exists."),
    ({"name": "  "}, "name", "Enter the person's name."),
    ({"role": "wizard"}, "role", "Choose a role you may give"),
])
def test_create_refuses_bad_input(world, dbconn, over, field, message):
    with pytest.raises(Invalid) as info:
        _create(world.user("admin"), world.company, _new(**over))
    assert list(info.value.errors) == [field] and message in str(info.value)
    assert not User.select().where(User.email == "new.person@demo.test").exists()
    assert not AccountToken.select().exists() and not MailMessage.select().exists()


def test_visible_users_are_the_companys_plus_its_partner_admins(world, dbconn):
    emails = {u.email for u in users.visible_users(world.user("admin"), world.company)}
    assert emails == {"admin@demo.test", "billing@demo.test", "dispatch@demo.test", "partner@demo.test"}
    assert "support@demo.test" in {u.email for u in users.visible_users(world.user("support"), world.company)}
    assert {u.email for u in users.visible_users(world.user("other"), world.other_company)} == {"other@demo.test"}


def test_update_role_and_billing_is_one_audited_change(world, dbconn):
    target = world.user("dispatch")
    users.update_user(world.user("admin"), world.company, target,
                      {"name": "Dana D.", "role": ROLE_ADMIN, "billing": "1"})
    saved = world.user("dispatch")
    assert (saved.role, saved.billing, saved.name) == (ROLE_ADMIN, True, "Dana D.")
    log = AuditLog.get(AuditLog.action == "user.update")
    assert json.loads(log.before) == {"role": ROLE_USER, "billing": False, "active": True,
                                      "name": "Dana Dispatch"}
    assert json.loads(log.after) == {"role": ROLE_ADMIN, "billing": True, "active": True, "name": "Dana D."}
    assert log.actor.email == "admin@demo.test"


def test_update_of_a_stale_user_is_refused(world, dbconn):
    stale = world.user("billing")
    User.update(billing=False).where(User.id == stale.id).execute()  # someone else, meanwhile
    with pytest.raises(Invalid) as info:
        users.update_user(world.user("admin"), world.company, stale,
                          {"name": stale.name, "role": ROLE_ADMIN, "billing": "1"})
    assert "Someone else changed this user" in str(info.value)
    assert world.user("billing").role == ROLE_USER


def test_nobody_removes_their_own_manager_role(world, dbconn):
    admin = world.user("admin")
    with pytest.raises(Invalid) as info:
        users.update_user(admin, world.company, admin, {"name": admin.name, "role": ROLE_USER, "billing": "1"})
    assert "your own manager role" in str(info.value)
    assert world.user("admin").role == ROLE_ADMIN


def test_a_manager_may_change_their_own_billing(world, dbconn):
    admin = world.user("admin")
    users.update_user(admin, world.company, admin, {"name": admin.name, "role": ROLE_ADMIN, "billing": ""})
    assert not world.user("admin").billing


def test_admin_cannot_change_a_partner_admin(world, dbconn):
    with pytest.raises(users.UserForbidden):
        users.update_user(world.user("admin"), world.company, world.user("partner"), {"name": "x", "role": ROLE_USER})
    with pytest.raises(users.UserForbidden):
        users.set_active(world.user("admin"), world.company, world.user("partner"), False)


def test_nobody_deactivates_themselves(world, dbconn):
    with pytest.raises(Invalid) as info:
        users.set_active(world.user("admin"), world.company, world.user("admin"), False)
    assert "cannot deactivate yourself" in str(info.value)
    assert world.user("admin").active


def test_deactivate_bumps_the_session_version_and_is_audited(world, dbconn):
    before = world.user("billing")
    users.set_active(world.user("admin"), world.company, before, False)
    after = world.user("billing")
    assert not after.active and after.session_version == before.session_version + 1
    log = AuditLog.get(AuditLog.action == "user.deactivate")
    assert json.loads(log.before)["active"] is True and json.loads(log.after)["active"] is False
    with pytest.raises(Invalid) as info:
        users.set_active(world.user("admin"), world.company, after, False)
    assert "already deactivated" in str(info.value)


def test_reactivate_lets_them_back_in(world, dbconn):
    users.set_active(world.user("admin"), world.company, world.user("billing"), False)
    users.set_active(world.user("admin"), world.company, world.user("billing"), True)
    assert world.user("billing").active
    assert AuditLog.select().where(AuditLog.action == "user.activate").count() == 1
