"""People: create users (invited to choose their password), change role and Billing, deactivate,
send a reset link, reset a lost second factor; every change audited."""
import re

from peewee import IntegrityError

from webapp.models import MANAGER_ROLES
from webapp.models import ROLE_ADMIN
from webapp.models import ROLE_PARTNER_ADMIN
from webapp.models import ROLE_SUPPORT
from webapp.models import ROLE_USER
from webapp.models import ROLES
from webapp.models import Company
from webapp.models import User
from webapp.models import db
from webapp.models import utcnow
from webapp.services import account_links
from webapp.services import audit
from webapp.services import passwords
from webapp.services import two_factor
from webapp.services.auth import NO_PASSWORD
from webapp.services.auth import end_sessions
from webapp.services.auth import hash_password
from webapp.services.validation import FORM
from webapp.services.validation import Invalid

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _refused(message, field=FORM):
    """The Invalid a refused user change raises: MESSAGE under FIELD (the form as a whole by default)."""
    return Invalid({field: message})


class UserForbidden(PermissionError):
    """The person asking may not make this change at all (answer 403)."""


def _snapshot(user):
    return {"role": user.role, "billing": bool(user.billing), "active": bool(user.active)}


def create_user(*, actor, email, name, role, company, partner, billing, password=None,
                audit_company=None):
    """Create a user after checking email, role and tenancy; audited. With PASSWORD (the
    command line) it must meet the rules (services/passwords.py); without, the user has none
    until they accept their invitation."""
    email = (email or "").strip().lower()
    if not EMAIL_RE.match(email) or len(email) > 254:
        raise _refused("Enter a valid email address.", "email")
    if role not in ROLES:
        raise _refused("Choose a role.", "role")
    if role == ROLE_SUPPORT:
        company = partner = None
    elif role == ROLE_PARTNER_ADMIN:
        if partner is None:
            raise _refused("A Partner Admin needs a partner.")
        company = None
    elif company is None:
        raise _refused("An Admin or User needs a company.")
    if password is not None:
        problem = passwords.problem(password, email)
        if problem:
            raise _refused(problem, "password")
    taken = _refused(f"A user with the email {email} already exists.", "email")
    try:
        with db.atomic():
            holder = User.select(User.company, User.partner).where(User.email == email).first()
            if holder is not None:
                raise taken if _visible_to(holder, company or audit_company) else _elsewhere(email)
            user = User.create(email=email, name=(name or "").strip()[:200], role=role,
                               company=company, partner=partner, billing=bool(billing),
                               password_hash=hash_password(password) if password is not None else NO_PASSWORD,
                               password_set_at=utcnow() if password is not None else None)
            audit.record("user.create", "user", user.id, actor=actor,
                         company=company or audit_company, after=_snapshot(user))
    except IntegrityError:
        raise taken  # created by someone else between the check and the insert
    return user


def _visible_to(holder, company):
    """Whether the person creating a user of COMPANY can see HOLDER on their Users page."""
    return company is not None and holder.company_id == getattr(company, "id", company)


def _elsewhere(email):
    """The refusal for an address another tenant uses: it says nothing of that tenant."""
    return _refused(f"The email {email} cannot be used for a new user here. Ask the person for another "
                    "address, or ask Support to help.", "email")


# --- managing the users of a company -----------------------------------------

def assignable_roles(actor):
    """The roles ACTOR may give: Admin gives Admin/User; Partner Admin adds Partner Admin; Support all."""
    if actor.role == ROLE_SUPPORT:
        return dict(ROLES)
    if actor.role == ROLE_PARTNER_ADMIN:
        return {k: v for k, v in ROLES.items() if k != ROLE_SUPPORT}
    if actor.role == ROLE_ADMIN:
        return {k: v for k, v in ROLES.items() if k in (ROLE_ADMIN, ROLE_USER)}
    return {}


def may_manage_company(actor, company):
    """True when ACTOR administers the users of COMPANY."""
    if company is None or actor.role not in MANAGER_ROLES:
        return False
    if actor.role == ROLE_SUPPORT:
        return True
    if actor.role == ROLE_PARTNER_ADMIN:
        return actor.partner_id is not None and company.partner_id == actor.partner_id
    return actor.company_id == company.id


def visible_users(actor, company):
    """The people ACTOR sees on the Users page of COMPANY, by name (one query).

    The company's own users; the Partner Admins of its partner (they manage it too);
    and, for Support, the Support staff (who belong to no company).
    """
    where = User.company == company
    if company.partner_id:
        where |= (User.role == ROLE_PARTNER_ADMIN) & (User.partner == company.partner_id)
    if actor.role == ROLE_SUPPORT:
        where |= User.role == ROLE_SUPPORT
    return User.select().where(where).order_by(User.name, User.email, User.id)


def users_page(actor, company):
    """The Users page: the users ACTOR sees in COMPANY, and the ids of those they may change."""
    rows = list(visible_users(actor, company))
    return {"users": rows, "changeable": {u.id for u in rows if may_change(actor, u)},
            "require_two_factor": bool(company.require_two_factor),
            "invited": {u.id for u in rows if u.password_hash == NO_PASSWORD},
            "two_factor": {u.id for u in rows if u.two_factor_enabled_at is not None}}


def get_visible_user(actor, company, user_id):
    """One user ACTOR sees on COMPANY's Users page, or None (answer 404: reveal nothing)."""
    return visible_users(actor, company).where(User.id == user_id).first()


def may_change(actor, target):
    """True when ACTOR may change TARGET's role, Billing or activity (the company is checked apart)."""
    if actor.role == ROLE_SUPPORT:
        return True
    return target.role in assignable_roles(actor)


def _placement(role, company):
    """(company, partner) a user of ROLE gets when managed from COMPANY."""
    if role == ROLE_SUPPORT:
        return None, None
    if role == ROLE_PARTNER_ADMIN:
        if not company.partner_id:
            raise _refused(f"{company.name} is not managed by a partner, so it can have no "
                            "Partner Admin.", "role")
        return None, company.partner_id
    return company, None


def _check_manager(actor, company):
    if not may_manage_company(actor, company):
        raise UserForbidden("You cannot manage the users of this company.")


def create_company_user(actor, company, data, *, link_for):
    """Create a user from the Users page of COMPANY, within what ACTOR may give, and invite them
    to choose their password (LINK_FOR(token): the invitation page's full address); audited.
    The user, with .invitation the queued email (send it after the commit)."""
    _check_manager(actor, company)
    role = (data.get("role") or "").strip()
    if role not in assignable_roles(actor):
        raise _refused("Choose a role you may give: " + ", ".join(assignable_roles(actor).values()) + ".",
                        field="role")
    name = " ".join((data.get("name") or "").split())
    if not name:
        raise _refused("Enter the person's name.", "name")
    if len(name) > 200:
        raise _refused("The name is too long: at most 200 characters.", "name")
    user_company, partner = _placement(role, company)
    with db.atomic():
        user = create_user(actor=actor, email=data.get("email"), name=name, role=role,
                           company=user_company, partner=partner,
                           billing=_truthy(data.get("billing")), audit_company=company)
        user.invitation = account_links.invite(user, actor=actor, link_for=link_for, company=company)
    return user


def _check_target(actor, company, target):
    _check_manager(actor, company)
    if not may_change(actor, target):
        raise UserForbidden(f"You cannot change a {target.role_label} user.")


def resend_invitation(actor, company, target, *, link_for):
    """Send TARGET's invitation again (the older link stops working); the queued email."""
    _check_target(actor, company, target)
    return account_links.invite(target, actor=actor, link_for=link_for, company=company)


def send_reset_link(actor, company, target, *, link_for):
    """Send TARGET a password reset link (30 minutes, once); the queued email."""
    _check_target(actor, company, target)
    return account_links.send_reset(target, actor=actor, link_for=link_for, company=company)


def reset_two_factor(actor, company, target):
    """Take away TARGET's second factor (a lost phone); they enrol again; audited."""
    _check_target(actor, company, target)
    if target.id == actor.id:
        raise _refused("You cannot reset your own two-factor sign-in here: use a recovery code, "
                       "or ask another manager.")
    two_factor.reset(target, actor=actor, company=company)
    return User.get_by_id(target.id)


def _truthy(value):
    return str(value or "").strip().lower() in ("1", "on", "true", "yes")


def update_user(actor, company, target, data):
    """Change TARGET's name, role and Billing; one conditional UPDATE plus its audit row.

    Nobody can take their own manager role away. Refused when someone else changed
    the user in the meantime.
    """
    _check_manager(actor, company)
    if not may_change(actor, target):
        raise UserForbidden(f"You cannot change a {target.role_label} user.")
    role = (data.get("role") or "").strip()
    if role not in assignable_roles(actor):
        raise _refused("Choose a role you may give: " + ", ".join(assignable_roles(actor).values()) + ".",
                        field="role")
    if target.id == actor.id and role not in MANAGER_ROLES:
        raise _refused("You cannot remove your own manager role. Ask another manager.", "role")
    name = " ".join((data.get("name") or "").split())
    if not name:
        raise _refused("Enter the person's name.", "name")
    if len(name) > 200:
        raise _refused("The name is too long: at most 200 characters.", "name")
    billing = _truthy(data.get("billing"))
    before = _snapshot(target)
    after = dict(before, role=role, billing=billing)
    if name != target.name:
        before["name"], after["name"] = target.name, name
    if after == before:
        return target
    changes = {"name": name, "role": role, "billing": billing}
    if role != target.role:
        changes["company"], changes["partner"] = _placement(role, company)
    with db.atomic():
        updated = (User.update(**changes)
                   .where((User.id == target.id) & (User.role == target.role)
                          & (User.billing == target.billing) & (User.active == target.active))
                   .execute())
        if not updated:
            raise _refused("Someone else changed this user a moment ago. Reload and try again.")
        audit.record("user.update", "user", target.id, actor=actor, company=company,
                     before=before, after=after)
    return User.get_by_id(target.id)


def set_active(actor, company, target, active):
    """Deactivate (their sessions stop working at once) or reactivate TARGET; audited."""
    _check_manager(actor, company)
    if not may_change(actor, target):
        raise UserForbidden(f"You cannot change a {target.role_label} user.")
    if target.id == actor.id:
        raise _refused("You cannot deactivate yourself.")
    changes = {"active": bool(active)}
    if not active:
        changes["session_version"] = User.session_version + 1
    with db.atomic():
        updated = (User.update(**changes)
                   .where((User.id == target.id) & (User.active == (not active)))
                   .execute())
        if not updated:
            state = "active" if active else "deactivated"
            raise _refused(f"{target.display_name} is already {state}.")
        if not active:
            end_sessions(target)
        before = _snapshot(target)
        audit.record("user.activate" if active else "user.deactivate", "user", target.id,
                     actor=actor, company=company, before=before, after=dict(before, active=bool(active)))
    return User.get_by_id(target.id)


def set_two_factor_required(actor, company, required):
    """A manager of COMPANY makes two-factor sign-in required for all its users (each is sent
    to set it up at their next request), or optional again; audited as a company setting."""
    _check_manager(actor, company)
    required = bool(required)
    if required and not two_factor.is_enrolled(actor):
        raise _refused("Set up your own two-factor sign-in first (on My account): you are one of the users "
                       "it will be required of.")
    with db.atomic():
        changed = (Company.update(require_two_factor=required)
                   .where((Company.id == company.id) & (Company.require_two_factor == (not required))).execute())
        if changed:
            audit.record(audit.COMPANY_UPDATE, "company", company.id, actor=actor, company=company,
                         before={"require_two_factor": not required}, after={"require_two_factor": required})
    return Company.get_by_id(company.id)
