"""People: create users, change role and Billing, deactivate; every change audited."""
import re

from webapp.models import ROLE_PARTNER_ADMIN
from webapp.models import ROLE_SUPPORT
from webapp.models import ROLES
from webapp.models import User
from webapp.models import db
from webapp.services import audit
from webapp.services.auth import hash_password

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class UserError(ValueError):
    """A user change refused, with a message for the person who asked."""


def _snapshot(user):
    return {"role": user.role, "billing": bool(user.billing), "active": bool(user.active)}


def create_user(*, actor, email, name, role, company, partner, billing, password):
    """Create a user after checking email, role and tenancy; audited."""
    email = (email or "").strip().lower()
    if not EMAIL_RE.match(email) or len(email) > 254:
        raise UserError("Enter a valid email address.")
    if role not in ROLES:
        raise UserError("Choose a role.")
    if role == ROLE_SUPPORT:
        company = partner = None
    elif role == ROLE_PARTNER_ADMIN:
        if partner is None:
            raise UserError("A Partner Admin needs a partner.")
        company = None
    elif company is None:
        raise UserError("An Admin or User needs a company.")
    if not password or len(password) < 8:
        raise UserError("The password needs at least 8 characters.")
    with db.atomic():
        if User.select().where(User.email == email).exists():
            raise UserError(f"A user with the email {email} already exists.")
        user = User.create(email=email, name=(name or "").strip()[:200], role=role,
                           company=company, partner=partner, billing=bool(billing),
                           password_hash=hash_password(password))
        audit.record("user.create", "user", user.id, actor=actor,
                     company=company, after=_snapshot(user))
    return user
