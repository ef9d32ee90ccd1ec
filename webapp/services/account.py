"""My account (/account): what the page shows of the signed-in person, and signing out their
other sessions. Each section of the page reads its part from page()."""
from webapp.models import db
from webapp.models import utcnow
from webapp.services import audit
from webapp.services import auth
from webapp.services import two_factor
from webapp.services.mail import notices


def page(user, *, token, lifetime_hours, idle_minutes):
    """My account's read model: recent sign-ins (time, address, browser, whether open, whether
    this browser) and the two-factor state."""
    now = utcnow()
    this_row = auth.session_row_id(token) if token else None
    sign_ins = [{"at": row.created_at, "last_seen_at": row.last_seen_at, "ip": row.ip or "—",
                 "browser": auth.describe_browser(row.user_agent), "this": row.id == this_row,
                 "open": auth.session_is_open(row, now, lifetime_hours=lifetime_hours, idle_minutes=idle_minutes)}
                for row in auth.recent_sessions(user)]
    enrolled = two_factor.is_enrolled(user)
    return {
        "sign_ins": sign_ins,
        "others_open": sum(1 for s in sign_ins if s["open"] and not s["this"]),
        "two_factor": {"enrolled": enrolled, "required": two_factor.is_required(user),
                       "since": user.two_factor_enabled_at,
                       "codes_left": two_factor.recovery_codes_left(user) if enrolled else 0},
        "notices": notices.settings_for(user),  # [(kind, label, description, on)]
    }


def end_other_sessions(user, token):
    """Sign USER out everywhere but this browser (TOKEN's session); audited; how many ended."""
    with db.atomic():
        ended = auth.end_sessions(user, except_token=token)
        audit.record(audit.USER_SESSIONS_END, "user", user.id, actor=user, company=user.company_id,
                     details={"sessions_ended": ended})
    return ended
