"""Local time: the company's time zone (a user may choose another for himself, a subsidiary
for its PDFs), times shown in it with the zone's abbreviation, one date format for people
(US: 11/16/2026) and dates typed in either ISO (2026-11-16) or US form.

Times are stored in UTC without a zone (models.utcnow); they are converted only to be shown.
Files for machines (CSV, XLSX exports, the schedule's CSV) keep ISO dates.
"""
import datetime
from zoneinfo import ZoneInfo
from zoneinfo import ZoneInfoNotFoundError

from webapp.models import db
from webapp.services import audit
from webapp.services.tables import parse_date
from webapp.services.validation import Invalid

# The zones offered, in the words a clerk uses; the key is the IANA name stored.
ZONES = {
    "America/New_York": "Eastern (New York, Atlanta)",
    "America/Chicago": "Central (Chicago, Dallas)",
    "America/Denver": "Mountain (Denver, Salt Lake City)",
    "America/Phoenix": "Arizona (Phoenix, no daylight saving)",
    "America/Los_Angeles": "Pacific (Los Angeles, Seattle)",
    "America/Anchorage": "Alaska (Anchorage)",
    "Pacific/Honolulu": "Hawaii (Honolulu)",
    "America/Puerto_Rico": "Atlantic (San Juan)",
    "America/Halifax": "Atlantic Canada (Halifax)",
    "America/Toronto": "Eastern Canada (Toronto)",
    "America/Winnipeg": "Central Canada (Winnipeg)",
    "America/Edmonton": "Mountain Canada (Edmonton, Calgary)",
    "America/Vancouver": "Pacific Canada (Vancouver)",
    "America/Mexico_City": "Mexico City",
    "UTC": "UTC",
}
DEFAULT_ZONE = "America/Chicago"

US_DATE = "%m/%d/%Y"
DATE_HINT = "mm/dd/yyyy"


def zone(name):
    """The ZoneInfo of NAME; the default zone for a blank or unknown name."""
    try:
        return ZoneInfo(name) if name in ZONES else ZoneInfo(DEFAULT_ZONE)
    except ZoneInfoNotFoundError:  # no zone data on this machine at all: still a working page
        return datetime.timezone.utc


def zone_name(company=None, user=None, subsidiary=None):
    """The zone to show times in: the user's own choice, else the subsidiary's (for its
    PDFs), else the company's, else the default."""
    for row in (user, subsidiary, company):
        name = getattr(row, "time_zone", "") or ""
        if name in ZONES:
            return name
    return DEFAULT_ZONE


def subsidiary_zone(subsidiary):
    """The zone a subsidiary's PDFs follow: its own, else its company's."""
    if subsidiary is None:
        return DEFAULT_ZONE
    if (subsidiary.time_zone or "") in ZONES:
        return subsidiary.time_zone
    return zone_name(company=subsidiary.company)


def to_local(value, name):
    """VALUE, a naive UTC datetime (or an aware one), in the zone NAME (aware)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    return value.astimezone(zone(name))


def local_date(value, name):
    """The calendar date in zone NAME of the UTC moment VALUE."""
    return to_local(value, name).date()


def format_date(value):
    """A date (or a datetime's date) as 11/16/2026; blank for None."""
    if not value:
        return ""
    return f"{value.month:02d}/{value.day:02d}/{value.year:04d}"


def format_datetime(value, name):
    """A UTC moment as '11/16/2026 10:42 AM CST' in zone NAME; blank for None."""
    if not value:
        return ""
    local = to_local(value, name)
    hour = local.hour % 12 or 12
    return f"{format_date(local)} {hour}:{local.minute:02d} {'AM' if local.hour < 12 else 'PM'} {local.tzname()}"


def parse_date_input(text):
    """A date typed by a person: 11/16/2026, 11/16/26 or 2026-11-16; ValueError saying the
    accepted forms otherwise. Blank gives None."""
    if not (text or "").strip():
        return None
    try:
        return parse_date(text)
    except ValueError:
        raise ValueError(f"'{str(text).strip()[:40]}' is not a date (use {DATE_HINT}, like "
                         f"11/16/2026, or 2026-11-16)") from None


def check_zone(value, *, blank_allowed=False):
    """A zone name from a form, or Invalid."""
    name = (value or "").strip()
    if not name and blank_allowed:
        return ""
    if name not in ZONES:
        raise Invalid({"time_zone": "Choose a time zone from the list."})
    return name


def set_company_zone(company, value, *, actor):
    """Company Profile: the zone every time of COMPANY is shown in. Audited company.update."""
    return _set_zone(company, check_zone(value), audit.COMPANY_UPDATE, "company", company.id, actor)


def set_user_zone(user, value, *, actor):
    """My account: the user's own zone; blank follows the company's. Audited user.update."""
    return _set_zone(user, check_zone(value, blank_allowed=True), audit.USER_UPDATE, "user", user.company_id,
                     actor)


def _set_zone(row, name, action, object_type, company_id, actor):
    """ROW (a Company or a User) given the zone NAME, audited as ACTION; unchanged, nothing is written."""
    before = row.time_zone
    if name == before:
        return row
    model = row._meta.model
    with db.atomic():
        model.update(time_zone=name).where(model.id == row.id).execute()
        audit.record(action, object_type, row.id, actor=actor, company=company_id,
                     before={"time_zone": before}, after={"time_zone": name})
    row.time_zone = name
    return row


def clean_subsidiary_zone(value):
    """A subsidiary's zone for its PDFs from a form; blank follows the company's."""
    return check_zone(value, blank_allowed=True)

