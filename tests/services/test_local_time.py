"""Local time (services/local_time.py): times in the company's or the user's zone with its
abbreviation, across daylight saving; one date format out, ISO and US forms in."""
import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from webapp.models import AuditLog
from webapp.models import Company
from webapp.models import Subsidiary
from webapp.models import User
from webapp.services import local_time
from webapp.services.validation import Invalid

UTC = datetime.datetime


@pytest.mark.parametrize("moment, zone, shown", [
    (UTC(2026, 11, 16, 16, 42), "America/Chicago", "11/16/2026 10:42 AM CST"),
    (UTC(2026, 7, 16, 16, 42), "America/Chicago", "07/16/2026 11:42 AM CDT"),
    (UTC(2026, 7, 16, 16, 42), "America/Phoenix", "07/16/2026 9:42 AM MST"),  # no daylight saving
    (UTC(2026, 11, 17, 3, 30), "America/Los_Angeles", "11/16/2026 7:30 PM PST"),  # the day before
    (UTC(2026, 11, 16, 0, 5), "UTC", "11/16/2026 12:05 AM UTC"),
    (UTC(2026, 11, 16, 12, 0), "America/New_York", "11/16/2026 7:00 AM EST"),
])
def test_a_moment_is_shown_in_the_zone_with_its_abbreviation(moment, zone, shown):
    assert local_time.format_datetime(moment, zone) == shown


def test_the_spring_and_autumn_changes_of_daylight_saving():
    # Chicago springs forward on 03/08/2026 at 2:00 (08:00 UTC) and falls back on 11/01/2026.
    assert local_time.format_datetime(UTC(2026, 3, 8, 7, 59), "America/Chicago") == "03/08/2026 1:59 AM CST"
    assert local_time.format_datetime(UTC(2026, 3, 8, 8, 0), "America/Chicago") == "03/08/2026 3:00 AM CDT"
    # 1:30 happens twice on 11/01: first in CDT, an hour later in CST.
    assert local_time.format_datetime(UTC(2026, 11, 1, 6, 30), "America/Chicago") == "11/01/2026 1:30 AM CDT"
    assert local_time.format_datetime(UTC(2026, 11, 1, 7, 30), "America/Chicago") == "11/01/2026 1:30 AM CST"


def test_the_local_date_of_an_evening_moment_is_the_local_day():
    evening_in_texas = UTC(2026, 11, 17, 2, 30)  # 8:30 PM on 11/16 in Chicago
    assert local_time.local_date(evening_in_texas, "America/Chicago") == datetime.date(2026, 11, 16)
    assert local_time.local_date(evening_in_texas, "UTC") == datetime.date(2026, 11, 17)


def test_blank_values_show_nothing():
    assert local_time.format_datetime(None, "America/Chicago") == ""
    assert local_time.format_date(None) == ""
    assert local_time.parse_date_input("  ") is None


def test_the_users_zone_wins_then_the_subsidiarys_then_the_companys():
    company = Company(name="C", time_zone="America/New_York")
    assert local_time.zone_name(company=company) == "America/New_York"
    assert local_time.zone_name(company=company, user=User(time_zone="")) == "America/New_York"
    assert local_time.zone_name(company=company, user=User(time_zone="America/Denver")) == "America/Denver"
    assert local_time.zone_name(company=Company(name="D", time_zone="Mars/Olympus")) == local_time.DEFAULT_ZONE


def test_a_subsidiarys_pdfs_follow_the_company_unless_it_has_its_own_zone(in_app, world):
    Company.update(time_zone="America/Denver").where(Company.id == world.company.id).execute()
    freight = Subsidiary.get_by_id(world.freight.id)
    assert local_time.subsidiary_zone(freight) == "America/Denver"
    Subsidiary.update(time_zone="America/New_York").where(Subsidiary.id == freight.id).execute()
    assert local_time.subsidiary_zone(Subsidiary.get_by_id(freight.id)) == "America/New_York"


def test_setting_the_company_zone_is_audited_and_a_wrong_one_changes_nothing(in_app, world):
    company = Company.get_by_id(world.company.id)
    local_time.set_company_zone(company, "America/Los_Angeles", actor=world.admin)
    assert Company.get_by_id(company.id).time_zone == "America/Los_Angeles"
    row = AuditLog.get(AuditLog.action == "company.update")
    assert "America/Los_Angeles" in row.after and row.actor_id == world.admin.id
    with pytest.raises(Invalid, match="Choose a time zone"):
        local_time.set_company_zone(company, "Europe/Nowhere", actor=world.admin)
    assert Company.get_by_id(company.id).time_zone == "America/Los_Angeles"
    assert AuditLog.select().where(AuditLog.action == "company.update").count() == 1


def test_a_user_may_follow_the_company_again_with_a_blank_zone(in_app, world):
    user = User.get_by_id(world.billing.id)
    local_time.set_user_zone(user, "America/Denver", actor=user)
    assert User.get_by_id(user.id).time_zone == "America/Denver"
    local_time.set_user_zone(user, "", actor=user)
    assert User.get_by_id(user.id).time_zone == ""


# --- dates typed by people -------------------------------------------------------------

dates = st.dates(min_value=datetime.date(1990, 1, 1), max_value=datetime.date(2100, 12, 31))


@given(dates)
def test_a_date_typed_in_iso_or_us_form_reads_back_as_itself(day):
    assert local_time.parse_date_input(day.isoformat()) == day
    assert local_time.parse_date_input(local_time.format_date(day)) == day
    assert local_time.parse_date_input(f"  {day.month}/{day.day}/{day.year} ") == day


@given(st.dates(min_value=datetime.date(2000, 1, 1), max_value=datetime.date(2068, 12, 31)))
def test_a_two_digit_year_is_this_century(day):
    assert local_time.parse_date_input(day.strftime("%m/%d/%y")) == day


@given(st.text(max_size=40))
def test_anything_else_is_a_clear_value_error_never_a_crash(text):
    try:
        value = local_time.parse_date_input(text)
    except ValueError as exc:
        assert "is not a date" in str(exc) or "out of range" in str(exc) or "is empty" in str(exc)
    else:
        assert value is None or isinstance(value, datetime.date)


@pytest.mark.parametrize("text", ["13/01/2026", "2026-02-30", "11/16", "yesterday", "١١/١٦/٢٠٢٦"])
def test_impossible_dates_are_refused_naming_the_forms(text):
    with pytest.raises(ValueError, match="mm/dd/yyyy"):
        local_time.parse_date_input(text)
