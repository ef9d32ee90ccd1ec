"""Two-factor sign-in (services/two_factor.py): enrolment, codes once, recovery codes, limits."""
import pyotp
import pytest

from tests.helpers import PASSWORD
from tests.helpers import recovery_codes
from webapp.models import AuditLog
from webapp.models import Company
from webapp.models import RecoveryCode
from webapp.models import User
from webapp.services import two_factor
from webapp.services import users
from webapp.services.auth import TooManyAttempts
from webapp.services.validation import Invalid

NOW = 1_800_000_000.0  # a fixed moment, on a step boundary: 60,000,000 * 30
LIMITS = {"max_failures": 5, "window_seconds": 900}


def _code(secret, at):
    return pyotp.TOTP(secret).at(at)


def _enrolled(world, who="billing", at=NOW):
    user = world.user(who)
    secret = two_factor.begin(user)
    codes = two_factor.confirm(user, _code(secret, at), at=at)
    return world.user(who), secret, codes


def test_enrolment_needs_a_first_code_and_gives_ten_recovery_codes_once(world, dbconn):
    user = world.user("billing")
    secret = two_factor.begin(user)
    assert len(secret) >= 16 and two_factor.begin(world.user("billing")) == secret  # the same until confirmed
    uri = two_factor.provisioning_uri(user, secret)
    assert uri.startswith("otpauth://totp/Factor%20Desk:billing%40demo.test?secret=" + secret)
    assert two_factor.qr_svg(uri, "QR").startswith('<svg role="img" ')
    with pytest.raises(Invalid) as info:
        two_factor.confirm(user, "000000" if _code(secret, NOW) != "000000" else "111111", at=NOW)
    assert "does not match" in info.value.message and not two_factor.is_enrolled(world.user("billing"))
    codes = two_factor.confirm(world.user("billing"), _code(secret, NOW), at=NOW)
    assert len(codes) == 10 == len(set(codes))
    assert RecoveryCode.select().where(RecoveryCode.user == user.id).count() == 10
    assert not RecoveryCode.select().where(RecoveryCode.code_hash.in_(codes)).exists()  # kept hashed
    assert two_factor.is_enrolled(world.user("billing"))
    assert AuditLog.get(AuditLog.action == "user.two_factor_enrol").actor_id == user.id


def test_a_code_of_the_previous_window_works_once(world, dbconn):
    user, secret, _ = _enrolled(world, at=NOW - 300)
    previous = _code(secret, NOW - 30)
    assert two_factor.verify(user, previous, "10.0.0.1", at=NOW, **LIMITS) == "totp"
    with pytest.raises(Invalid) as info:
        two_factor.verify(world.user("billing"), previous, "10.0.0.1", at=NOW, **LIMITS)
    assert "already used" in info.value.message
    assert world.user("billing").two_factor_last_step == int((NOW - 30) // 30)


def test_an_older_code_after_a_newer_one_is_refused(world, dbconn):
    user, secret, _ = _enrolled(world, at=NOW - 300)
    assert two_factor.verify(user, _code(secret, NOW), "10.0.0.1", at=NOW, **LIMITS) == "totp"
    with pytest.raises(Invalid):
        two_factor.verify(user, _code(secret, NOW - 30), "10.0.0.1", at=NOW, **LIMITS)


def test_a_code_two_windows_old_is_refused(world, dbconn):
    user, secret, _ = _enrolled(world, at=NOW - 300)
    with pytest.raises(Invalid) as info:
        two_factor.verify(user, _code(secret, NOW - 61), "10.0.0.1", at=NOW, **LIMITS)
    assert "does not match" in info.value.message


def test_the_enrolment_code_cannot_be_used_again_to_sign_in(world, dbconn):
    user, secret, _ = _enrolled(world, at=NOW)
    with pytest.raises(Invalid):
        two_factor.verify(user, _code(secret, NOW), "10.0.0.1", at=NOW, **LIMITS)


def test_a_recovery_code_works_once_in_any_spelling(world, dbconn):
    user, _, codes = _enrolled(world)
    assert two_factor.verify(user, f"  {codes[0].upper()} ", "10.0.0.1", **LIMITS) == "recovery"
    with pytest.raises(Invalid):
        two_factor.verify(user, codes[0], "10.0.0.1", **LIMITS)
    assert two_factor.verify(user, codes[1].replace("-", ""), "10.0.0.1", **LIMITS) == "recovery"
    assert two_factor.recovery_codes_left(user) == 8


def test_another_users_recovery_code_does_not_work(world, dbconn):
    user, _, _ = _enrolled(world)
    with pytest.raises(Invalid):
        two_factor.verify(user, recovery_codes("support")[0], "10.0.0.1", **LIMITS)


def test_failed_codes_are_rate_limited_like_passwords(world, dbconn):
    user, secret, codes = _enrolled(world)
    for _ in range(5):
        with pytest.raises(Invalid):
            two_factor.verify(user, "12345x", "10.0.0.1", **LIMITS)
    with pytest.raises(TooManyAttempts) as info:
        two_factor.verify(user, codes[0], "10.0.0.1", **LIMITS)  # even a right one is not heard
    assert info.value.minutes >= 1
    assert two_factor.recovery_codes_left(user) == 10


def test_required_for_support_and_partner_admin_and_by_company_setting(world, dbconn):
    assert two_factor.is_required(world.user("support")) and two_factor.is_required(world.user("partner"))
    assert not two_factor.is_required(world.user("admin"))
    Company.update(require_two_factor=True).where(Company.id == world.company.id).execute()
    assert two_factor.is_required(world.user("admin")) and two_factor.must_enrol(world.user("billing"))
    assert not two_factor.is_required(world.user("other"))


def test_turning_off_needs_the_password_and_is_refused_where_required(world, dbconn):
    user, _, _ = _enrolled(world)
    with pytest.raises(Invalid) as info:
        two_factor.turn_off(user, "wrong")
    assert "not your password" in info.value.message and two_factor.is_enrolled(world.user("billing"))
    Company.update(require_two_factor=True).where(Company.id == world.company.id).execute()
    with pytest.raises(Invalid) as info:
        two_factor.turn_off(user, PASSWORD)
    assert "required for you" in info.value.message and two_factor.is_enrolled(world.user("billing"))
    Company.update(require_two_factor=False).where(Company.id == world.company.id).execute()
    two_factor.turn_off(world.user("billing"), PASSWORD)
    assert not two_factor.is_enrolled(world.user("billing")) and two_factor.recovery_codes_left(user) == 0


def test_an_admin_reset_is_audited_and_the_user_enrols_again(world, dbconn):
    user, _, _ = _enrolled(world)
    users.reset_two_factor(world.user("admin"), world.company, user)
    saved = world.user("billing")
    assert not two_factor.is_enrolled(saved) and saved.two_factor_secret == ""
    assert two_factor.recovery_codes_left(saved) == 0
    log = AuditLog.get(AuditLog.action == "user.two_factor_reset")
    assert (log.actor_id, log.object_id, log.company_id) == (world.user("admin").id, user.id, world.company.id)


def test_an_admin_cannot_reset_a_partner_admins_two_factor(world, dbconn):
    with pytest.raises(users.UserForbidden):
        users.reset_two_factor(world.user("admin"), world.company, world.user("partner"))
    assert two_factor.is_enrolled(User.get(User.email == "partner@demo.test"))
    assert not AuditLog.select().where(AuditLog.action == "user.two_factor_reset").exists()
