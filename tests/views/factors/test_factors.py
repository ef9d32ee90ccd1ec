"""Management > Factors (webapp/factors) and the Factor section of Company Profile: who reads,
who changes, tenancy, field errors, and the factor shown on the batch pages."""
import datetime
import html as htmllib

import pytest

from tests.helpers import count_queries
from webapp.models import AuditLog
from webapp.models import Factor
from webapp.models import SubsidiaryFactor

BASE = "/management/factors"
PROFILE = "/management/company-profile"


def _depot(company):
    return Factor.get((Factor.company == company) & (Factor.name == "Capital Depot"))


def _form(**overrides):
    form = {"name": "Summit Capital", "remit_to": "PO Box 1\nDallas, TX", "submission_email": "b@summit.example",
            "advance_bp": "90", "fee_kind": "flat", "fee_bp": "3", "reserve_bp": "10", "recourse_days": "90",
            "requires_proof_of_delivery": "1", "batch_format": "capital_depot_zip", "attachment_limit_mb": "20",
            "active": "1"}
    form.update(overrides)
    return form


def test_the_menu_lists_factors_for_everyone(client, auth):
    auth.login("dispatch")
    assert f'href="{BASE}/"' in client.get("/").get_data(as_text=True)


def test_list_and_detail_show_the_terms_in_words(client, auth, world, dbconn):
    auth.login("dispatch")
    page = client.get(BASE + "/").get_data(as_text=True)
    assert "Capital Depot" in page and "Advance 97.50 %, a flat 2.50 % fee, no reserve, non-recourse." in page
    assert "Add factor" not in page and "Only Admins, Partner Admins and Support" in page
    detail = client.get(f"{BASE}/{_depot(world.company).id}").get_data(as_text=True)
    assert "Demo Freight LLC" in detail and "Demo Logistics Inc" in detail
    assert "Rate confirmation, Proof of delivery (signed BOL)" in detail
    assert "P.O. Box 4410<br>Dallas, TX 75208" in detail
    assert "Edit factor" not in detail


def test_a_user_cannot_change_a_factor(client, auth, world, dbconn):
    auth.login("billing")
    assert client.get(BASE + "/new").status_code == 403
    assert client.post(f"{BASE}/{_depot(world.company).id}/edit", data=_form()).status_code == 403


def test_another_companys_factor_is_not_found(client, auth, world, dbconn):
    auth.login("admin")
    other = _depot(world.other_company)
    assert client.get(f"{BASE}/{other.id}").status_code == 404
    assert client.post(f"{BASE}/{other.id}/edit", data=_form()).status_code == 404
    assert "Other Carrier" not in client.get(BASE + "/").get_data(as_text=True)


def test_admin_adds_and_edits_a_factor(client, auth, world, dbconn):
    auth.login("admin")
    response = client.post(BASE + "/new", data=_form())
    assert response.status_code == 303
    factor = Factor.get((Factor.company == world.company) & (Factor.name == "Summit Capital"))
    assert response.headers["Location"].endswith(f"{BASE}/{factor.id}")
    assert (factor.advance_bp, factor.reserve_bp, factor.requires_rate_confirmation) == (9000, 1000, False)
    page = client.get(f"{BASE}/{factor.id}/edit").get_data(as_text=True)
    assert 'value="90.00"' in page and 'value="10.00"' in page
    response = client.post(f"{BASE}/{factor.id}/edit", data=_form(fee_bp="3.5"))
    assert response.status_code == 303 and Factor.get_by_id(factor.id).fee_bp == 350
    assert [a.action for a in AuditLog.select().where(AuditLog.object_type == "factor")
            .order_by(AuditLog.id)] == ["factor.create", "factor.update"]
    assert "Flat fee: 3.00 % → 3.50 %" in client.get(f"{BASE}/{factor.id}").get_data(as_text=True)


@pytest.mark.parametrize("overrides, field, message", [
    (dict(name="Capital Depot"), "name", "already exists"),
    (dict(advance_bp="97.555"), "advance_bp", "at most 2 decimals"),
    (dict(submission_email="a@x.example, b@x.example"), "submission_email", "one address only"),
    (dict(fee_kind="tiered", tier_1_days="60", tier_1_fee="3", tier_2_days="30", tier_2_fee="2"),
     "tier_2_days", "reach further"),
])
def test_a_refused_form_comes_back_with_the_field_error(client, auth, world, dbconn, overrides, field, message):
    auth.login("partner")
    count = Factor.select().count()
    response = client.post(BASE + "/new", data=_form(**overrides))
    assert response.status_code == 400
    page = htmllib.unescape(response.get_data(as_text=True))
    assert f'id="f-{field}-error"' in page and message in page
    assert Factor.select().count() == count


# --- Company Profile: the subsidiary's factor ----------------------------------------------

def test_company_profile_shows_each_subsidiarys_factor(client, auth, world, dbconn):
    auth.login("dispatch")
    page = client.get(f"{PROFILE}/?subsidiary_id={world.freight.id}").get_data(as_text=True)
    assert "Demo Freight LLC sells its invoices to" in page
    assert "Demo Freight LLC → Capital Depot · Demo Logistics Inc → Capital Depot" in page
    assert "Assign factor" not in page


def test_a_manager_assigns_a_factor_from_a_date_with_its_history(client, auth, world, dbconn):
    auth.login("admin")
    summit = Factor.create(company=world.company, name="Summit Capital", advance_bp=9000, fee_bp=300)
    today = datetime.date.today()
    response = client.post(f"{PROFILE}/{world.freight.id}/factor",
                           data={"factor_id": summit.id, "from_date": today.isoformat()})
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"Demo Freight LLC sells to Summit Capital from {today:%m/%d/%Y}." in page
    assert 'data-testid="current-factor">Demo Freight LLC sells its invoices to' in page
    assert page.index("Summit Capital</td>") < page.index("Capital Depot</td>")  # newest first
    assert AuditLog.get(AuditLog.action == "subsidiary.factor").actor_id == world.admin.id


def test_assigning_refuses_another_companys_factor_or_subsidiary(client, auth, world, dbconn):
    auth.login("admin")
    before = SubsidiaryFactor.select().count()
    today = datetime.date.today().isoformat()
    response = client.post(f"{PROFILE}/{world.freight.id}/factor",
                           data={"factor_id": _depot(world.other_company).id, "from_date": today})
    assert response.status_code == 400 and "Choose one of the company" in response.get_data(as_text=True)
    assert client.post(f"{PROFILE}/{world.other_sub.id}/factor",
                       data={"factor_id": _depot(world.company).id, "from_date": today}).status_code == 404
    assert client.post(f"{PROFILE}/{world.freight.id}/factor", data={"factor_id": _depot(world.company).id,
                                                                     "from_date": "soon"}).status_code == 400
    assert SubsidiaryFactor.select().count() == before
    auth.logout()
    auth.login("billing")
    assert client.post(f"{PROFILE}/{world.freight.id}/factor", data={}).status_code == 403


def test_factoring_upload_names_the_factor_and_warns_without_one(client, auth, world, dbconn):
    auth.login("billing")
    page = client.get(f"/accounting/factoring-upload/?subsidiary_id={world.freight.id}").get_data(as_text=True)
    assert 'data-testid="workspace-factor">Capital Depot' in page and "no-factor" not in page
    SubsidiaryFactor.delete().where(SubsidiaryFactor.subsidiary == world.freight).execute()
    page = client.get(f"/accounting/factoring-upload/?subsidiary_id={world.freight.id}").get_data(as_text=True)
    assert 'data-testid="no-factor"' in page and "has no factor assigned" in page


# --- the batch pages show the factor the batch was sent to ----------------------------------

def test_batch_pages_show_the_factor_it_was_sent_to(client, auth, world, submitted_batch, dbconn):
    batch = submitted_batch.batch
    summit = Factor.create(company=world.company, name="Summit Capital", advance_bp=9000, fee_bp=300)
    SubsidiaryFactor.create(subsidiary=world.freight, factor=summit, from_date=datetime.date.today())
    auth.login("dispatch")
    page = client.get(f"/reports/factoring/batches/{batch.id}").get_data(as_text=True)
    assert "Capital Depot</a></dd>" in page and "Summit Capital" not in page
    with count_queries() as counter:
        listing = client.get("/reports/factoring/").get_data(as_text=True)
    assert '<td data-testid="batch-factor">Capital Depot</td>' in listing
    assert counter.count <= 6
