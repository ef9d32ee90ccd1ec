"""The company switcher (webapp/auth) of Partner Admin and Support; every page shows the company in view."""
import re

import pytest


def _switcher_options(html):
    block = re.search(r'<select id="company-switch".*?</select>', html, re.S)
    return re.findall(r'<option value="\d+"[^>]*>([^<]+)</option>', block.group(0)) if block else None


def _in_view(html):
    """The company shown in the top bar: the switcher's choice, or the plain name."""
    selected = re.search(r'<select id="company-switch".*?<option value="\d+" selected>([^<]+)</option>',
                         html, re.S)
    if selected:
        return selected.group(1)
    plain = re.search(r'<span class="company-name" data-testid="company-in-view">([^<]+)</span>', html)
    return plain.group(1) if plain else None


def test_partner_admin_sees_only_the_partners_companies(client, auth, dbconn):
    auth.login("partner")
    html = client.get("/").get_data(as_text=True)
    assert _switcher_options(html) == ["Demo Trucking"]
    assert _in_view(html) == "Demo Trucking"


def test_support_sees_every_company(client, auth, dbconn):
    auth.login("support")
    html = client.get("/").get_data(as_text=True)
    assert _switcher_options(html) == ["Demo Trucking", "Other Carrier Co"]


@pytest.mark.parametrize("who", ["admin", "dispatch", "other"])
def test_company_users_have_no_switcher_but_see_their_company(client, auth, who):
    auth.login(who)
    html = client.get("/").get_data(as_text=True)
    assert _switcher_options(html) is None
    assert _in_view(html) == ("Other Carrier Co" if who == "other" else "Demo Trucking")


def test_partner_admin_cannot_switch_to_a_company_outside_the_partner(client, auth, world, dbconn):
    auth.login("partner")
    response = client.post("/switch-company", data={"company_id": world.other_company.id},
                           follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "You cannot work in that company." in html
    assert _in_view(html) == "Demo Trucking"
    customers = client.get("/customers/").get_data(as_text=True)
    assert "Summit Freight Brokerage" in customers


@pytest.mark.parametrize("who", ["admin", "other"])
def test_company_user_cannot_switch_company(client, auth, world, dbconn, who):
    auth.login(who)
    own = "Other Carrier Co" if who == "other" else "Demo Trucking"
    target = world.company if who == "other" else world.other_company
    html = client.post("/switch-company", data={"company_id": target.id},
                       follow_redirects=True).get_data(as_text=True)
    assert "You cannot work in that company." in html
    assert _in_view(client.get("/customers/").get_data(as_text=True)) == own


def test_unknown_company_id_is_refused(client, auth):
    auth.login("support")
    html = client.post("/switch-company", data={"company_id": "999999"},
                       follow_redirects=True).get_data(as_text=True)
    assert "You cannot work in that company." in html


def test_support_switches_and_sees_that_companys_data(client, auth, world, dbconn):
    auth.login("support")
    html = client.post("/switch-company", data={"company_id": world.other_company.id},
                       follow_redirects=True).get_data(as_text=True)
    assert "Now working in Other Carrier Co." in html
    assert _in_view(html) == "Other Carrier Co"
    profile = client.get("/management/company-profile/").get_data(as_text=True)
    assert "Other Carrier Transport" in profile and "Demo Freight LLC" not in profile


def _page_urls(app):
    """Every GET page of the app that takes no URL parameter (sign-in, health and files aside;
    two-factor enrolment only opens before enrolment)."""
    skip = {"static", "auth.login", "auth.code", "auth.forgot_password", "health.healthz",
            "account.two_factor_enrol"}
    urls = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in skip or rule.arguments or "GET" not in rule.methods:
            continue
        urls.append(rule.rule)
    return sorted(urls)


@pytest.mark.parametrize("who, expected", [
    ("admin", "Demo Trucking"), ("dispatch", "Demo Trucking"), ("partner", "Demo Trucking"),
    ("support", "Demo Trucking"), ("other", "Other Carrier Co"),
])
def test_every_page_shows_the_company_in_view(app, client, auth, who, expected):
    auth.login(who)
    urls = _page_urls(app)
    assert "/management/company-profile/" in urls and "/customers/" in urls
    checked = 0
    for url in urls:
        response = client.get(url)
        html = response.get_data(as_text=True)
        if response.status_code == 403 or response.mimetype != "text/html" or "<html" not in html:
            continue  # a page this role may not open, a download, or a fragment
        assert response.status_code == 200, f"{url}: {response.status_code}"
        assert _in_view(html) == expected, url
        checked += 1
    assert checked >= 5
