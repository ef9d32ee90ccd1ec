"""Management > Company Profile (webapp/company): subsidiaries, Document Configuration, Important Info."""
import re

import pytest

from tests.helpers import count_queries
from webapp.models import INFO_NOA
from webapp.models import AuditLog
from webapp.models import ImportantInfo
from webapp.models import Subsidiary

BASE = "/management/company-profile"
HX = {"HX-Request": "true"}


def _noa(sub):
    return ImportantInfo.get_or_none((ImportantInfo.subsidiary == sub) & (ImportantInfo.kind == INFO_NOA))


def _text_blocks(html):
    return re.findall(r'<div class="noa-text" data-testid="info-text-[a-z_]+">(.*?)</div>', html, re.S)


# --- the page ----------------------------------------------------------------------

def test_admin_sees_first_subsidiary_details_and_its_noa(client, auth, world, dbconn):
    auth.login("admin")
    html = client.get(BASE + "/").get_data(as_text=True)
    assert '<option value="%d" selected>Demo Freight LLC</option>' % world.freight.id in html
    assert "Demo Logistics Inc</option>" in html
    assert "MC-1234567" in html and "3456789" in html and "Fort Worth, TX 76177" in html
    assert "Document Configuration" in html
    assert 'aria-label="Add important info"' in html and "btn btn-primary btn-round" in html
    assert "NOTICE OF ASSIGNMENT\n\nThis invoice has been assigned" in _text_blocks(html)[0]
    assert "No Notice of Assignment" not in html


def test_choosing_a_subsidiary_shows_it_and_notes_the_missing_noa(client, auth, world, dbconn):
    logistics = world.logistics
    auth.login("admin")
    html = client.get(f"{BASE}/?subsidiary_id={logistics.id}").get_data(as_text=True)
    assert f'<option value="{logistics.id}" selected>Demo Logistics Inc</option>' in html
    assert "Demo Logistics Incorporated" in html
    assert "No Notice of Assignment." in html
    assert _text_blocks(html) == []


def test_page_lists_only_the_company_in_views_subsidiaries(client, auth):
    auth.login("other")
    html = client.get(BASE + "/").get_data(as_text=True)
    assert "Other Carrier Transport" in html
    assert "Demo Freight LLC" not in html and "Demo Logistics Inc" not in html


def test_noa_with_html_is_shown_escaped_with_line_breaks(client, auth, world, dbconn):
    logistics = world.logistics
    auth.login("admin")
    text = 'Pay <b>only</b> Capital Depot\n<script>alert("x")</script>\n  Box 1 & 2'
    client.post(f"{BASE}/{logistics.id}/info", data={"kind": INFO_NOA, "text": text})
    html = client.get(f"{BASE}/?subsidiary_id={logistics.id}").get_data(as_text=True)
    assert "<script>alert" not in html and "<b>only</b>" not in html
    block = _text_blocks(html)[0]
    assert block == ("Pay &lt;b&gt;only&lt;/b&gt; Capital Depot\n"
                     "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;\n  Box 1 &amp; 2")


def test_dispatch_sees_it_read_only(client, auth, dbconn):
    auth.login("dispatch")
    html = client.get(BASE + "/").get_data(as_text=True)
    assert "Document Configuration" in html and "NOTICE OF ASSIGNMENT" in html
    assert "Add important info" not in html
    assert ">Edit<" not in html and ">Remove<" not in html and "Edit details" not in html
    assert "Add subsidiary" not in html
    assert "Only Admins, Partner Admins and Support can change" in html


@pytest.mark.parametrize("method, path", [
    ("GET", "/{sub}/info/new"),
    ("GET", "/{sub}/info/{info}/edit"),
    ("POST", "/{sub}/info"),
    ("POST", "/{sub}/info/{info}/remove"),
    ("GET", "/{sub}/edit"),
    ("POST", "/{sub}/edit"),
    ("GET", "/subsidiaries/new"),
    ("POST", "/subsidiaries/new"),
])
def test_dispatch_cannot_change_anything(client, auth, world, dbconn, method, path):
    freight = world.freight
    noa = _noa(freight)
    auth.login("dispatch")
    url = BASE + path.format(sub=freight.id, info=noa.id)
    data = {"kind": INFO_NOA, "text": "Hijacked", "name": "Hijacked", "legal_name": "Hijacked"}
    response = client.open(url, method=method, data=data if method == "POST" else None)
    assert response.status_code == 403
    assert _noa(freight).text == noa.text
    assert Subsidiary.get_by_id(freight.id).name == "Demo Freight LLC"
    assert not AuditLog.select().where(AuditLog.object_type == "subsidiary").exists()


@pytest.mark.parametrize("method, path", [
    ("GET", "/?subsidiary_id={sub}"),
    ("GET", "/{sub}/info/new"),
    ("GET", "/{sub}/info/{info}/edit"),
    ("POST", "/{sub}/info"),
    ("POST", "/{sub}/info/{info}/remove"),
    ("GET", "/{sub}/edit"),
    ("POST", "/{sub}/edit"),
])
def test_other_tenant_gets_404_on_demo_subsidiaries(client, auth, world, dbconn, method, path):
    freight = world.freight
    noa = _noa(freight)
    auth.login("other")
    url = BASE + path.format(sub=freight.id, info=noa.id)
    response = client.open(url, method=method,
                           data={"kind": INFO_NOA, "text": "x", "name": "x", "legal_name": "x"}
                           if method == "POST" else None)
    assert response.status_code == 404
    assert "Demo Freight" not in response.get_data(as_text=True)
    assert _noa(freight).text == noa.text


def test_entry_of_another_subsidiary_is_404_through_this_one(client, auth, world, dbconn):
    freight, logistics = world.freight, world.logistics
    noa = _noa(freight)
    auth.login("admin")
    assert client.get(f"{BASE}/{logistics.id}/info/{noa.id}/edit").status_code == 404
    assert client.post(f"{BASE}/{logistics.id}/info/{noa.id}/remove").status_code == 404
    assert _noa(freight) is not None


# --- Manage Important Info ----------------------------------------------------------

def test_plus_button_loads_the_dialog_with_htmx(client, auth, world, dbconn):
    logistics = world.logistics
    auth.login("admin")
    html = client.get(f"{BASE}/?subsidiary_id={logistics.id}").get_data(as_text=True)
    url = f"{BASE}/{logistics.id}/info/new"
    assert f'href="{url}" hx-get="{url}" hx-target="#modal"' in html
    dialog = client.get(url, headers=HX).get_data(as_text=True)
    assert dialog.lstrip().startswith("<dialog") and "<html" not in dialog
    assert "Manage Important Info" in dialog
    assert '<label for="info-kind">Type</label>' in dialog
    assert '<label for="info-text">Text</label>' in dialog
    for label in ("Notice of Assignment", "Remit To", "Invoice Terms", "Invoice Footer"):
        assert f">{label}</option>" in dialog
    assert '<button type="submit" class="btn btn-primary">Save</button>' in dialog
    assert "data-close-dialog" in dialog


def test_without_javascript_the_plus_link_is_a_whole_page_with_the_same_form(client, auth, world, dbconn):
    logistics = world.logistics
    auth.login("admin")
    html = client.get(f"{BASE}/{logistics.id}/info/new").get_data(as_text=True)
    assert "<html" in html and "<dialog" not in html
    assert "<h1>Manage Important Info</h1>" in html
    assert 'name="csrf_token"' in html and f'action="{BASE}/{logistics.id}/info"' in html


def test_save_with_htmx_re_renders_the_section_and_closes_the_dialog(client, auth, world, dbconn):
    logistics = world.logistics
    auth.login("admin")
    response = client.post(f"{BASE}/{logistics.id}/info", headers=HX,
                           data={"kind": INFO_NOA, "text": "Line one\r\nLine two"})
    assert response.status_code == 200
    assert response.headers["HX-Retarget"] == "#doc-config"
    assert response.headers["HX-Reswap"] == "outerHTML"
    html = response.get_data(as_text=True)
    assert '<div id="doc-config"' in html and "<html" not in html
    assert '<div id="modal" aria-live="polite" hx-swap-oob="true"></div>' in html
    assert "Notice of Assignment saved for Demo Logistics Inc." in html
    assert _text_blocks(html) == ["Line one\nLine two"]
    assert _noa(logistics).text == "Line one\nLine two"


def test_save_without_javascript_redirects_back_with_a_message(client, auth, world, dbconn):
    logistics = world.logistics
    auth.login("admin")
    response = client.post(f"{BASE}/{logistics.id}/info", data={"kind": "remit_to", "text": "PO Box 9"})
    assert response.status_code == 303
    assert response.headers["Location"] == f"{BASE}/?subsidiary_id={logistics.id}"
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Remit To saved for Demo Logistics Inc." in html and "PO Box 9" in html


def test_errors_are_shown_inside_the_dialog(client, auth, world, dbconn):
    logistics = world.logistics
    auth.login("admin")
    response = client.post(f"{BASE}/{logistics.id}/info", headers=HX, data={"kind": "nope", "text": " "})
    assert response.status_code == 200
    assert response.headers["HX-Retarget"] == "#info-form"
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith("<form id=\"info-form\"")
    assert "Choose a type: Notice of Assignment, Remit To, Invoice Terms, Invoice Footer." in html
    assert "Enter the text." in html
    assert _noa(logistics) is None


def test_too_long_text_is_refused_with_its_length_and_kept_in_the_form(client, auth, world, dbconn):
    logistics = world.logistics
    auth.login("admin")
    response = client.post(f"{BASE}/{logistics.id}/info", data={"kind": INFO_NOA, "text": "z" * 10_050})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "The text is too long: 10,050 characters; at most 1,100 are allowed." in html
    assert "z" * 10_050 in html
    assert _noa(logistics) is None


def test_replace_keeps_history_on_the_page(client, auth, world, dbconn):
    freight = world.freight
    old = _noa(freight).text
    auth.login("admin")
    client.post(f"{BASE}/{freight.id}/info", data={"kind": INFO_NOA, "text": "New notice <v2>"})
    html = client.get(f"{BASE}/?subsidiary_id={freight.id}").get_data(as_text=True)
    assert _text_blocks(html) == ["New notice &lt;v2&gt;"]
    assert ImportantInfo.select().where(ImportantInfo.subsidiary == freight).count() == 1
    history = html[html.index('id="history-title"'):]
    assert "Replaced" in history and "Avery Admin" in history
    assert "This invoice has been assigned and sold to" in history  # the previous text
    log = AuditLog.get(AuditLog.object_id == freight.id)
    assert log.before == old and log.after == "New notice <v2>"


def test_edit_dialog_fixes_the_type_and_prefills_the_text(client, auth, world, dbconn):
    freight = world.freight
    noa = _noa(freight)
    auth.login("admin")
    html = client.get(f"{BASE}/{freight.id}/info/{noa.id}/edit", headers=HX).get_data(as_text=True)
    assert re.findall(r"<option [^>]*>([^<]+)</option>", html) == ["Notice of Assignment"]
    assert "Capital Depot Funding, LLC" in html
    assert f'name="info_id" value="{noa.id}"' in html


def test_remove_asks_for_confirmation_and_is_audited(client, auth, world, dbconn):
    freight = world.freight
    noa = _noa(freight)
    auth.login("admin")
    page = client.get(BASE + "/").get_data(as_text=True)
    assert 'hx-confirm="Remove the Notice of Assignment of Demo Freight LLC?' in page
    response = client.post(f"{BASE}/{freight.id}/info/{noa.id}/remove", headers=HX)
    html = response.get_data(as_text=True)
    assert response.headers["HX-Retarget"] == "#doc-config"
    assert "Notice of Assignment removed from Demo Freight LLC." in html
    assert "No Notice of Assignment." in html
    assert _noa(freight) is None
    log = AuditLog.get(AuditLog.action == "document_config.remove")
    assert log.before == noa.text and log.object_id == freight.id
    assert client.post(f"{BASE}/{freight.id}/info/{noa.id}/remove").status_code == 404


@pytest.mark.parametrize("who", ["partner", "support"])
def test_partner_admin_and_support_may_configure(client, auth, world, dbconn, who):
    logistics = world.logistics
    auth.login(who)
    assert "Add important info" in client.get(f"{BASE}/?subsidiary_id={logistics.id}").get_data(as_text=True)
    response = client.post(f"{BASE}/{logistics.id}/info", data={"kind": INFO_NOA, "text": "By " + who})
    assert response.status_code == 303
    assert _noa(logistics).text == "By " + who


# --- subsidiary details -------------------------------------------------------------

def _details(sub, **changes):
    data = {f: getattr(sub, f) for f in ("name", "legal_name", "mc_number", "usdot_number",
                                          "address_line1", "address_line2", "city", "state",
                                          "postal_code", "phone", "email")}
    data.update(changes)
    return data


def test_manager_edits_subsidiary_details(client, auth, world, dbconn):
    logistics = world.logistics
    auth.login("admin")
    form = client.get(f"{BASE}/{logistics.id}/edit").get_data(as_text=True)
    assert 'value="Demo Logistics Incorporated"' in form and '<label for="f-usdot_number">' in form
    response = client.post(f"{BASE}/{logistics.id}/edit",
                           data=_details(logistics, mc_number="1112223", city="Nashville"))
    assert response.status_code == 303
    saved = Subsidiary.get_by_id(logistics.id)
    assert (saved.mc_number, saved.city) == ("MC-1112223", "Nashville")
    assert AuditLog.get(AuditLog.action == "subsidiary.update").actor.email == "admin@demo.test"


def test_bad_subsidiary_details_are_refused_with_messages(client, auth, world, dbconn):
    logistics = world.logistics
    auth.login("admin")
    response = client.post(f"{BASE}/{logistics.id}/edit", data=_details(
        logistics, name="Demo Freight LLC", mc_number="MX99", usdot_number="DOT-12-34", email="ar@"))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "A subsidiary named Demo Freight LLC already exists in this company." in html
    assert "The MC number should look like MC-1234567" in html
    assert "The USDOT number should be digits only" in html
    assert "Enter a valid email address" in html
    assert 'value="MX99"' in html  # what was typed is kept
    assert Subsidiary.get_by_id(logistics.id).mc_number == "MC-7654321"


def test_manager_adds_a_subsidiary(client, auth, dbconn):
    auth.login("admin")
    response = client.post(BASE + "/subsidiaries/new", data={
        "name": "Demo Reefer LLC", "legal_name": "Demo Reefer LLC", "mc_number": "MC-5556667",
        "usdot_number": "7778889", "city": "Amarillo", "state": "TX", "postal_code": "79101"})
    assert response.status_code == 303
    sub = Subsidiary.get(Subsidiary.name == "Demo Reefer LLC")
    assert sub.company.name == "Demo Trucking"
    assert response.headers["Location"].endswith(f"?subsidiary_id={sub.id}")
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Subsidiary Demo Reefer LLC added." in html and "No Notice of Assignment." in html


# --- CSRF ---------------------------------------------------------------------------

def test_csrf_is_enforced_when_enabled(app, client, auth, world, dbconn):
    logistics = world.logistics
    auth.login("admin")
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = client.post(f"{BASE}/{logistics.id}/info", data={"kind": INFO_NOA, "text": "No token"})
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert response.status_code == 400
    assert "Your form expired or was sent from elsewhere. Reload the page and try again." in \
        response.get_data(as_text=True)
    assert _noa(logistics) is None


def test_csrf_token_in_the_form_is_accepted(app, client, auth, world, dbconn):
    logistics = world.logistics
    auth.login("admin")
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        form = client.get(f"{BASE}/{logistics.id}/info/new").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
        response = client.post(f"{BASE}/{logistics.id}/info",
                               data={"kind": INFO_NOA, "text": "With token", "csrf_token": token})
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert response.status_code == 303
    assert _noa(logistics).text == "With token"


def test_page_runs_a_bounded_number_of_queries(client, auth, world, dbconn):
    """History and entries come with their authors in one query each, whatever their number."""
    freight = world.freight
    auth.login("admin")
    for n in range(15):
        client.post(f"{BASE}/{freight.id}/info", data={"kind": INFO_NOA, "text": f"Notice {n}"})
    with count_queries() as counter:
        assert client.get(f"{BASE}/?subsidiary_id={freight.id}").status_code == 200
    assert 0 < counter.count <= 8
