"""Subsidiary and Document Configuration rules, tested without a request."""
import json

import pytest

from webapp.models import INFO_NOA
from webapp.models import AuditLog
from webapp.models import Company
from webapp.models import ImportantInfo
from webapp.models import Subsidiary
from webapp.models import User
from webapp.services import audit
from webapp.services import subsidiaries
from webapp.services.validation import Invalid

GOOD = {
    "name": "Demo Reefer LLC", "legal_name": "Demo Reefer Limited Liability Company",
    "mc_number": "MC-2223334", "usdot_number": "4445556", "address_line1": "1 Cold St",
    "address_line2": "Suite 5", "city": "Amarillo", "state": "tx", "postal_code": "79101",
    "phone": "(806) 555-0111", "email": "AR@DemoReefer.example",
}


@pytest.fixture
def demo(dbconn):
    return Company.get(Company.name == "Demo Trucking")


@pytest.fixture
def admin(dbconn):
    return User.get(User.email == "admin@demo.test")


def _sub(demo, name="Demo Logistics Inc"):
    return Subsidiary.get((Subsidiary.company == demo) & (Subsidiary.name == name))


def _errors(data, company, **kw):
    with pytest.raises(Invalid) as info:
        subsidiaries.clean_subsidiary(dict(GOOD, **data), company, **kw)
    return info.value.errors


def test_clean_subsidiary_normalises_numbers_state_and_email(demo):
    values = subsidiaries.clean_subsidiary(
        dict(GOOD, mc_number="mc 1234", usdot_number=" USDOT 998877 ", email=" AR@X.Example "), demo)
    assert values["mc_number"] == "MC-1234"
    assert values["usdot_number"] == "998877"
    assert values["state"] == "TX"
    assert values["email"] == "ar@x.example"


def test_clean_subsidiary_accepts_digits_alone_as_mc_number(demo):
    assert subsidiaries.clean_subsidiary(dict(GOOD, mc_number="7654321"), demo)["mc_number"] == "MC-7654321"


@pytest.mark.parametrize("field, value, message", [
    ("name", "  ", "Enter the display name."),
    ("legal_name", "", "Enter the legal name."),
    ("name", "x" * 121, "at most 120 characters"),
    ("mc_number", "ABC-12", "should look like MC-1234567"),
    ("mc_number", "MC-123456789", "should look like MC-1234567"),
    ("usdot_number", "12a45", "digits only"),
    ("email", "not-an-email", "valid email address"),
    ("state", "Texas", "two-letter state code"),
    ("postal_code", "7510", "ZIP should look like"),
    ("phone", "call me", "phone number"),
    ("address_line1", "y" * 201, "at most 200 characters"),
])
def test_clean_subsidiary_names_each_bad_field(demo, field, value, message):
    errors = _errors({field: value}, demo)
    assert list(errors) == [field]
    assert message in errors[field]


def test_clean_subsidiary_reports_every_problem_at_once(demo):
    errors = _errors({"name": "", "mc_number": "nope", "email": "x@"}, demo)
    assert set(errors) == {"name", "mc_number", "email"}


def test_duplicate_subsidiary_name_is_a_message_not_a_crash(demo, admin):
    errors = _errors({"name": "demo freight llc"}, demo)
    assert errors["name"] == "A subsidiary named demo freight llc already exists in this company."
    with pytest.raises(Invalid):
        subsidiaries.create_subsidiary(demo, dict(GOOD, name="Demo Freight LLC"), actor=admin)


def test_same_subsidiary_name_is_fine_in_another_company(dbconn, admin):
    other = Company.get(Company.name == "Other Carrier Co")
    sub = subsidiaries.create_subsidiary(other, dict(GOOD, name="Demo Freight LLC"), actor=admin)
    assert sub.company_id == other.id


def test_create_subsidiary_is_audited(demo, admin):
    sub = subsidiaries.create_subsidiary(demo, GOOD, actor=admin)
    log = AuditLog.get((AuditLog.object_type == "subsidiary") & (AuditLog.object_id == sub.id))
    assert log.action == "subsidiary.create" and log.actor_id == admin.id and log.company_id == demo.id
    assert json.loads(log.after)["mc_number"] == "MC-2223334"


def test_update_subsidiary_audits_only_what_changed(demo, admin):
    sub = _sub(demo)
    data = {name: getattr(sub, name) for name, _ in subsidiaries.SUBSIDIARY_FIELDS}
    data.update(mc_number="8887776", phone="(901) 555-0199")
    subsidiaries.update_subsidiary(sub, data, actor=admin)
    assert Subsidiary.get_by_id(sub.id).mc_number == "MC-8887776"
    log = AuditLog.get((AuditLog.action == "subsidiary.update") & (AuditLog.object_id == sub.id))
    assert json.loads(log.before) == {"mc_number": "MC-7654321", "phone": "(901) 555-0177"}
    assert json.loads(log.after) == {"mc_number": "MC-8887776", "phone": "(901) 555-0199"}


def test_update_subsidiary_may_keep_its_own_name(demo, admin):
    sub = _sub(demo)
    data = {name: getattr(sub, name) for name, _ in subsidiaries.SUBSIDIARY_FIELDS}
    subsidiaries.update_subsidiary(sub, dict(data, name="DEMO LOGISTICS INC"), actor=admin)
    assert Subsidiary.get_by_id(sub.id).name == "DEMO LOGISTICS INC"


# --- Document Configuration ---------------------------------------------------------

def test_save_info_adds_an_entry_and_audits_it(demo, admin):
    sub = _sub(demo)
    entry, outcome = subsidiaries.save_info(sub, INFO_NOA, "Pay Capital Depot.\r\nOnly them.", actor=admin)
    assert outcome == "added"
    assert entry.text == "Pay Capital Depot.\nOnly them."
    assert entry.updated_by_id == admin.id
    log = AuditLog.get(AuditLog.action == audit.DOCUMENT_CONFIG_SAVE)
    assert (log.object_type, log.object_id, log.company_id) == ("subsidiary", sub.id, demo.id)
    assert log.after == "Pay Capital Depot.\nOnly them." and log.before == ""
    assert json.loads(log.details) == {"kind": INFO_NOA}


def test_saving_a_kind_again_replaces_it_and_keeps_the_old_text_in_history(demo, admin):
    sub = _sub(demo)
    subsidiaries.save_info(sub, INFO_NOA, "First notice.", actor=admin)
    entry, outcome = subsidiaries.save_info(sub, INFO_NOA, "Second notice.", actor=admin)
    assert outcome == "replaced"
    rows = list(ImportantInfo.select().where(ImportantInfo.subsidiary == sub))
    assert [(r.kind, r.text) for r in rows] == [(INFO_NOA, "Second notice.")]
    history = subsidiaries.info_history(sub)
    assert [h.action for h in history] == ["Replaced", "Added"]
    assert history[0].before == "First notice." and history[0].after == "Second notice."
    assert history[0].kind == "Notice of Assignment" and history[0].who == admin.display_name


def test_saving_the_same_text_changes_nothing(demo, admin):
    sub = _sub(demo)
    subsidiaries.save_info(sub, "remit_to", "PO Box 1", actor=admin)
    _, outcome = subsidiaries.save_info(sub, "remit_to", "PO Box 1\n\n", actor=admin)
    assert outcome == "unchanged"
    assert len(subsidiaries.info_history(sub)) == 1


def test_entries_of_different_kinds_live_side_by_side_in_kind_order(demo, admin):
    sub = _sub(demo)
    subsidiaries.save_info(sub, "invoice_footer", "Thank you.", actor=admin)
    subsidiaries.save_info(sub, INFO_NOA, "Notice.", actor=admin)
    assert [e.kind for e in subsidiaries.entries(sub)] == [INFO_NOA, "invoice_footer"]
    assert subsidiaries.notice_of_assignment(sub)
    assert subsidiaries.notice_of_assignment(sub) == "Notice."


def test_text_keeps_inner_spacing_and_line_breaks(demo, admin):
    sub = _sub(demo)
    text = "NOTICE\n\n    Capital Depot\r\n    P.O. Box 1\rDallas"
    entry, _ = subsidiaries.save_info(sub, INFO_NOA, "\n\n" + text + "   \n", actor=admin)
    assert entry.text == "NOTICE\n\n    Capital Depot\n    P.O. Box 1\nDallas"


@pytest.mark.parametrize("kind, text, field, message", [
    ("bogus", "x", "kind", "Choose a type"),
    ("", "x", "kind", "Choose a type"),
    (INFO_NOA, "", "text", "Enter the text."),
    (INFO_NOA, " \n\t\n ", "text", "Enter the text."),
    (INFO_NOA, "x" * 10_001, "text", "10,001 characters; at most 10,000"),
])
def test_save_info_refuses_bad_input_and_writes_nothing(demo, admin, kind, text, field, message):
    sub = _sub(demo)
    with pytest.raises(Invalid) as info:
        subsidiaries.save_info(sub, kind, text, actor=admin)
    assert message in info.value.errors[field]
    assert not ImportantInfo.select().where(ImportantInfo.subsidiary == sub).exists()
    assert not AuditLog.select().where(AuditLog.object_type == "subsidiary").exists()


def test_text_of_exactly_ten_thousand_characters_is_accepted(demo, admin):
    entry, _ = subsidiaries.save_info(_sub(demo), INFO_NOA, "n" * 10_000, actor=admin)
    assert len(entry.text) == 10_000


def test_nul_bytes_are_dropped(demo, admin):
    entry, _ = subsidiaries.save_info(_sub(demo), INFO_NOA, "a\x00b", actor=admin)
    assert ImportantInfo.get_by_id(entry.id).text == "ab"


def test_a_save_that_lost_a_race_on_insert_replaces_the_winner(demo, admin, monkeypatch):
    """Two first saves at once: the loser's insert hits the unique index and becomes a replace."""
    sub = _sub(demo)
    real_get = ImportantInfo.get_or_none
    calls = {"n": 0}

    def racing_get(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            # Someone else adds the entry right after our read found none.
            ImportantInfo.create(subsidiary=sub, kind=INFO_NOA, text="Their notice.")
            return None
        return real_get(*args, **kwargs)

    monkeypatch.setattr(ImportantInfo, "get_or_none", racing_get)
    entry, outcome = subsidiaries.save_info(sub, INFO_NOA, "Our notice.", actor=admin)
    assert outcome == "replaced"
    assert ImportantInfo.get_by_id(entry.id).text == "Our notice."
    assert subsidiaries.info_history(sub)[0].before == "Their notice."


def test_remove_info_deletes_and_keeps_the_text_in_history(demo, admin):
    sub = _sub(demo)
    entry, _ = subsidiaries.save_info(sub, INFO_NOA, "Old notice.", actor=admin)
    assert subsidiaries.remove_info(sub, entry.id, actor=admin) == "Notice of Assignment"
    assert not subsidiaries.notice_of_assignment(sub)
    latest = subsidiaries.info_history(sub)[0]
    assert latest.action == "Removed" and latest.before == "Old notice."


def test_remove_info_of_another_subsidiary_is_not_found(demo, admin):
    freight = _sub(demo, "Demo Freight LLC")
    noa = ImportantInfo.get((ImportantInfo.subsidiary == freight) & (ImportantInfo.kind == INFO_NOA))
    with pytest.raises(subsidiaries.EntryNotFound):
        subsidiaries.remove_info(_sub(demo), noa.id, actor=admin)
    assert ImportantInfo.get_or_none(ImportantInfo.id == noa.id) is not None


def test_history_is_limited_and_newest_first(demo, admin):
    sub = _sub(demo)
    for n in range(12):
        subsidiaries.save_info(sub, INFO_NOA, f"Notice {n}", actor=admin)
    history = subsidiaries.info_history(sub, limit=10)
    assert len(history) == 10
    assert history[0].after == "Notice 11"
