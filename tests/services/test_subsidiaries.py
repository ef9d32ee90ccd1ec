"""Subsidiaries and Document Configuration (services/subsidiaries.py), tested without a request."""
import json

import pytest

from webapp.models import INFO_NOA
from webapp.models import AuditLog
from webapp.models import ImportantInfo
from webapp.models import Subsidiary
from webapp.services import audit
from webapp.services import subsidiaries
from webapp.services.validation import Invalid

GOOD = {
    "name": "Demo Reefer LLC", "legal_name": "Demo Reefer Limited Liability Company",
    "mc_number": "MC-2223334", "usdot_number": "4445556", "address_line1": "1 Cold St",
    "address_line2": "Suite 5", "city": "Amarillo", "state": "tx", "postal_code": "79101",
    "phone": "(806) 555-0111", "email": "AR@DemoReefer.example",
}


def _errors(data, company, **kw):
    with pytest.raises(Invalid) as info:
        subsidiaries.clean_subsidiary(dict(GOOD, **data), company, **kw)
    return info.value.errors


def test_clean_subsidiary_normalises_numbers_state_and_email(world, dbconn):
    values = subsidiaries.clean_subsidiary(
        dict(GOOD, mc_number="mc 1234", usdot_number=" USDOT 998877 ", email=" AR@X.Example "), world.company)
    assert values["mc_number"] == "MC-1234"
    assert values["usdot_number"] == "998877"
    assert values["state"] == "TX"
    assert values["email"] == "ar@x.example"


def test_clean_subsidiary_accepts_digits_alone_as_mc_number(world, dbconn):
    assert subsidiaries.clean_subsidiary(dict(GOOD, mc_number="7654321"), world.company)["mc_number"] == "MC-7654321"


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
def test_clean_subsidiary_names_each_bad_field(world, dbconn, field, value, message):
    errors = _errors({field: value}, world.company)
    assert list(errors) == [field]
    assert message in errors[field]


def test_clean_subsidiary_reports_every_problem_at_once(world, dbconn):
    errors = _errors({"name": "", "mc_number": "nope", "email": "x@"}, world.company)
    assert set(errors) == {"name", "mc_number", "email"}


def test_duplicate_subsidiary_name_is_a_message_not_a_crash(world, dbconn):
    errors = _errors({"name": "demo freight llc"}, world.company)
    assert errors["name"] == "A subsidiary named demo freight llc already exists in this company."
    with pytest.raises(Invalid):
        subsidiaries.create_subsidiary(world.company, dict(GOOD, name="Demo Freight LLC"), actor=world.admin)


def test_same_subsidiary_name_is_fine_in_another_company(world, dbconn):
    other = world.other_company
    sub = subsidiaries.create_subsidiary(other, dict(GOOD, name="Demo Freight LLC"), actor=world.admin)
    assert sub.company_id == other.id


def test_create_subsidiary_is_audited(world, dbconn):
    sub = subsidiaries.create_subsidiary(world.company, GOOD, actor=world.admin)
    log = AuditLog.get((AuditLog.object_type == "subsidiary") & (AuditLog.object_id == sub.id))
    assert log.action == "subsidiary.create" and log.actor_id == world.admin.id and log.company_id == world.company.id
    assert json.loads(log.after)["mc_number"] == "MC-2223334"


def test_update_subsidiary_audits_only_what_changed(world, dbconn):
    sub = world.logistics
    data = {name: getattr(sub, name) for name, _ in subsidiaries.SUBSIDIARY_FIELDS}
    data.update(mc_number="8887776", phone="(901) 555-0199")
    subsidiaries.update_subsidiary(sub, data, actor=world.admin)
    assert Subsidiary.get_by_id(sub.id).mc_number == "MC-8887776"
    log = AuditLog.get((AuditLog.action == "subsidiary.update") & (AuditLog.object_id == sub.id))
    assert json.loads(log.before) == {"mc_number": "MC-7654321", "phone": "(901) 555-0177"}
    assert json.loads(log.after) == {"mc_number": "MC-8887776", "phone": "(901) 555-0199"}


def test_update_subsidiary_may_keep_its_own_name(world, dbconn):
    sub = world.logistics
    data = {name: getattr(sub, name) for name, _ in subsidiaries.SUBSIDIARY_FIELDS}
    subsidiaries.update_subsidiary(sub, dict(data, name="DEMO LOGISTICS INC"), actor=world.admin)
    assert Subsidiary.get_by_id(sub.id).name == "DEMO LOGISTICS INC"


# --- Document Configuration ---------------------------------------------------------

def test_save_info_adds_an_entry_and_audits_it(world, dbconn):
    sub = world.logistics
    entry, outcome = subsidiaries.save_info(sub, INFO_NOA, "Pay Capital Depot.\r\nOnly them.", actor=world.admin)
    assert outcome == "added"
    assert entry.text == "Pay Capital Depot.\nOnly them."
    assert entry.updated_by_id == world.admin.id
    log = AuditLog.get(AuditLog.action == audit.DOCUMENT_CONFIG_SAVE)
    assert (log.object_type, log.object_id, log.company_id) == ("subsidiary", sub.id, world.company.id)
    assert log.after == "Pay Capital Depot.\nOnly them." and log.before == ""
    assert json.loads(log.details) == {"kind": INFO_NOA}


def test_saving_a_kind_again_replaces_it_and_keeps_the_old_text_in_history(world, dbconn):
    sub = world.logistics
    subsidiaries.save_info(sub, INFO_NOA, "First notice.", actor=world.admin)
    entry, outcome = subsidiaries.save_info(sub, INFO_NOA, "Second notice.", actor=world.admin)
    assert outcome == "replaced"
    rows = list(ImportantInfo.select().where(ImportantInfo.subsidiary == sub))
    assert [(r.kind, r.text) for r in rows] == [(INFO_NOA, "Second notice.")]
    history = subsidiaries.info_history(sub)
    assert [h.action for h in history] == ["Replaced", "Added"]
    assert history[0].before == "First notice." and history[0].after == "Second notice."
    assert history[0].kind == "Notice of Assignment" and history[0].who == world.admin.display_name


def test_saving_the_same_text_changes_nothing(world, dbconn):
    sub = world.logistics
    subsidiaries.save_info(sub, "remit_to", "PO Box 1", actor=world.admin)
    _, outcome = subsidiaries.save_info(sub, "remit_to", "PO Box 1\n\n", actor=world.admin)
    assert outcome == "unchanged"
    assert len(subsidiaries.info_history(sub)) == 1


def test_entries_of_different_kinds_live_side_by_side_in_kind_order(world, dbconn):
    sub = world.logistics
    subsidiaries.save_info(sub, "invoice_footer", "Thank you.", actor=world.admin)
    subsidiaries.save_info(sub, INFO_NOA, "Notice.", actor=world.admin)
    assert [e.kind for e in subsidiaries.entries(sub)] == [INFO_NOA, "invoice_footer"]
    assert subsidiaries.notice_of_assignment(sub)
    assert subsidiaries.notice_of_assignment(sub) == "Notice."


def test_text_keeps_inner_spacing_and_line_breaks(world, dbconn):
    sub = world.logistics
    text = "NOTICE\n\n    Capital Depot\r\n    P.O. Box 1\rDallas"
    entry, _ = subsidiaries.save_info(sub, INFO_NOA, "\n\n" + text + "   \n", actor=world.admin)
    assert entry.text == "NOTICE\n\n    Capital Depot\n    P.O. Box 1\nDallas"


@pytest.mark.parametrize("kind, text, field, message", [
    ("bogus", "x", "kind", "Choose a type"),
    ("", "x", "kind", "Choose a type"),
    (INFO_NOA, "", "text", "Enter the text."),
    (INFO_NOA, " \n\t\n ", "text", "Enter the text."),
    (INFO_NOA, "x" * 10_001, "text", "10,001 characters; at most 1,100"),
])
def test_save_info_refuses_bad_input_and_writes_nothing(world, dbconn, kind, text, field, message):
    sub = world.logistics
    with pytest.raises(Invalid) as info:
        subsidiaries.save_info(sub, kind, text, actor=world.admin)
    assert message in info.value.errors[field]
    assert not ImportantInfo.select().where(ImportantInfo.subsidiary == sub).exists()
    assert not AuditLog.select().where(AuditLog.object_type == "subsidiary").exists()


def test_text_of_exactly_the_limit_is_accepted(world, dbconn):
    text = "n " * 549 + "nn"  # 1,100 characters that wrap into 11 printed lines
    entry, _ = subsidiaries.save_info(world.logistics, INFO_NOA, text, actor=world.admin)
    assert len(entry.text) == subsidiaries.INFO_LIMITS[INFO_NOA].chars == 1_100


def test_nul_bytes_are_dropped(world, dbconn):
    entry, _ = subsidiaries.save_info(world.logistics, INFO_NOA, "a\x00b", actor=world.admin)
    assert ImportantInfo.get_by_id(entry.id).text == "ab"


def test_a_save_that_lost_a_race_on_insert_replaces_the_winner(world, dbconn, monkeypatch):
    """Two first saves at once: the loser's insert hits the unique index and becomes a replace."""
    sub = world.logistics
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
    entry, outcome = subsidiaries.save_info(sub, INFO_NOA, "Our notice.", actor=world.admin)
    assert outcome == "replaced"
    assert ImportantInfo.get_by_id(entry.id).text == "Our notice."
    assert subsidiaries.info_history(sub)[0].before == "Their notice."


def test_remove_info_deletes_and_keeps_the_text_in_history(world, dbconn):
    sub = world.logistics
    entry, _ = subsidiaries.save_info(sub, INFO_NOA, "Old notice.", actor=world.admin)
    assert subsidiaries.remove_info(sub, entry.id, actor=world.admin) == "Notice of Assignment"
    assert not subsidiaries.notice_of_assignment(sub)
    latest = subsidiaries.info_history(sub)[0]
    assert latest.action == "Removed" and latest.before == "Old notice."


def test_remove_info_of_another_subsidiary_is_not_found(world, dbconn):
    freight = world.freight
    noa = ImportantInfo.get((ImportantInfo.subsidiary == freight) & (ImportantInfo.kind == INFO_NOA))
    with pytest.raises(subsidiaries.EntryNotFound):
        subsidiaries.remove_info(world.logistics, noa.id, actor=world.admin)
    assert ImportantInfo.get_or_none(ImportantInfo.id == noa.id) is not None


def test_history_is_limited_and_newest_first(world, dbconn):
    sub = world.logistics
    for n in range(12):
        subsidiaries.save_info(sub, INFO_NOA, f"Notice {n}", actor=world.admin)
    history = subsidiaries.info_history(sub, limit=10)
    assert len(history) == 10
    assert history[0].after == "Notice 11"
