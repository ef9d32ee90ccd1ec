"""The company's time zone (Management > Company Profile): every time on every page is shown in
it, with its abbreviation; dates read 11/16/2026."""
import datetime

from tests.helpers import in_db
from webapp.models import AuditLog
from webapp.models import Company
from webapp.models import Load
from webapp.models import User

PROFILE = "/management/company-profile"


def test_an_admin_sets_the_zone_and_times_follow_it(app, client, auth, world):
    with in_db(app):
        load = Load.get_by_id(world.eligible(1)[0])
        Load.update(created_at=datetime.datetime(2026, 11, 16, 16, 42)).where(Load.id == load.id).execute()
    auth.login("admin")
    page = client.get(f"/loads/{load.id}").get_data(as_text=True)
    assert "11/16/2026 10:42 AM CST" in page and "UTC" not in page
    response = client.post(f"{PROFILE}/time-zone", data={"time_zone": "America/New_York"})
    assert response.status_code == 303
    assert "Times are shown in Eastern" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert "11/16/2026 11:42 AM EST" in client.get(f"/loads/{load.id}").get_data(as_text=True)


def test_a_users_own_zone_wins_over_the_companys(app, client, auth, world):
    with in_db(app):
        load = Load.get_by_id(world.eligible(1)[0])
        Load.update(created_at=datetime.datetime(2026, 7, 16, 16, 42)).where(Load.id == load.id).execute()
        User.update(time_zone="America/Los_Angeles").where(User.id == world.billing.id).execute()
    auth.login("billing")
    assert "07/16/2026 9:42 AM PDT" in client.get(f"/loads/{load.id}").get_data(as_text=True)


def test_a_zone_not_on_the_list_is_refused_and_changes_nothing(app, client, auth, world):
    auth.login("admin")
    response = client.post(f"{PROFILE}/time-zone", data={"time_zone": "Mars/Olympus"})
    assert response.status_code == 303
    assert "Choose a time zone from the list." in client.get(response.headers["Location"]).get_data(as_text=True)
    with in_db(app):
        assert Company.get_by_id(world.company.id).time_zone == "America/Chicago"
        assert not AuditLog.select().where(AuditLog.action == "company.update").exists()


def test_only_managers_may_set_the_zone(app, client, auth, world):
    auth.login("dispatch")
    assert client.post(f"{PROFILE}/time-zone", data={"time_zone": "UTC"}).status_code == 403
    with in_db(app):
        assert Company.get_by_id(world.company.id).time_zone == "America/Chicago"


def test_the_factoring_upload_filter_takes_us_and_iso_dates_and_shows_us(app, client, auth, world):
    auth.login("billing")
    page = client.get("/accounting/factoring-upload/?date_from=2026-11-01&date_to=11/30/2026").get_data(as_text=True)
    assert 'value="11/01/2026"' in page and 'value="11/30/2026"' in page
    page = client.get("/accounting/factoring-upload/?date_from=31/12/2026").get_data(as_text=True)
    assert "is not a date (use mm/dd/yyyy" in page and "that filter was ignored" in page


def test_my_account_sets_and_clears_the_users_own_zone(app, client, auth, world):
    auth.login("billing")
    page = client.get("/account/").get_data(as_text=True)
    assert "Your company&#39;s time zone (Central (Chicago, Dallas))" in page or "Your company's time zone" in page
    response = client.post("/account/time-zone", data={"time_zone": "America/Denver"})
    assert response.status_code == 303
    assert "Times are shown in Mountain" in client.get("/account/").get_data(as_text=True)
    with in_db(app):
        assert User.get_by_id(world.billing.id).time_zone == "America/Denver"
    response = client.post("/account/time-zone", data={"time_zone": "Atlantis/Deep"})
    assert response.status_code == 400 and "Choose a time zone from the list." in response.get_data(as_text=True)
    with in_db(app):
        assert User.get_by_id(world.billing.id).time_zone == "America/Denver"
    client.post("/account/time-zone", data={"time_zone": ""})
    with in_db(app):
        assert User.get_by_id(world.billing.id).time_zone == ""
