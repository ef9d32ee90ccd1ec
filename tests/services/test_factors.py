"""Factors (services/factors.py): the records, their terms, assigning subsidiaries, and Submit
Batch sending each batch to the subsidiary's factor of the day."""
import datetime
import json

import pytest

from tests.helpers import count_queries
from tests.helpers import snapshot
from tests.helpers import submit_batch
from webapp.models import FEE_TIERED
from webapp.models import AuditLog
from webapp.models import Batch
from webapp.models import Factor
from webapp.models import FactorFeeTier
from webapp.models import SubsidiaryFactor
from webapp.services import factors
from webapp.services.batches import BatchError
from webapp.services.batches import create_batch
from webapp.services.batches import run_batch
from webapp.services.validation import Invalid

TODAY = datetime.date.today()


def _form(**overrides):
    form = {"name": "Summit Capital", "remit_to": "Summit Capital\nPO Box 1\nDallas, TX 75201",
            "submission_email": "Batches@Summit.example", "advance_bp": "90", "fee_kind": "flat",
            "fee_bp": "3.25", "reserve_bp": "10", "recourse_days": "90",
            "requires_rate_confirmation": "1", "requires_proof_of_delivery": "1",
            "batch_format": "capital_depot_zip", "attachment_limit_mb": "15", "active": "1"}
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}


def _capital_depot(company):
    return Factor.get((Factor.company == company) & (Factor.name == "Capital Depot"))


def test_the_demo_sells_to_capital_depot_on_its_terms(world, dbconn):
    for company in (world.company, world.other_company):
        depot = _capital_depot(company)
        assert (depot.advance_bp, depot.fee_kind, depot.fee_bp, depot.reserve_bp, depot.recourse_days) == \
            (9750, "flat", 250, 0, 0)
        assert factors.terms_in_words(depot) == "Advance 97.50 %, a flat 2.50 % fee, no reserve, non-recourse."
    for sub in (world.freight, world.logistics):
        assert factors.current_factor(sub) == _capital_depot(world.company)
    assert factors.current_factor(world.other_sub) == _capital_depot(world.other_company)


def test_create_keeps_basis_points_and_tiers_and_audits(world, dbconn):
    factor = factors.create_factor(world.company, _form(
        fee_kind=FEE_TIERED, fee_bp="", tier_1_days="30", tier_1_fee="2", tier_2_days="60", tier_2_fee="3.5"),
        actor=world.admin)
    assert (factor.advance_bp, factor.reserve_bp, factor.fee_bp, factor.recourse_days) == (9000, 1000, 0, 90)
    assert factor.submission_email == "batches@summit.example"
    assert [(t.up_to_days, t.fee_bp) for t in factors.tiers(factor)] == [(30, 200), (60, 350)]
    assert factors.terms_in_words(factor) == ("Advance 90.00 %, a fee of 2.00 % up to 30 days, 3.50 % up to "
                                              "60 days (3.50 % after), a 10.00 % reserve, recourse after 90 days.")
    row = AuditLog.get((AuditLog.object_type == "factor") & (AuditLog.object_id == factor.id))
    assert row.action == "factor.create" and row.actor_id == world.admin.id
    assert json.loads(row.after)["fee_tiers"] == [[30, 200], [60, 350]]


BAD = {
    "tiers unsorted": (dict(fee_kind=FEE_TIERED, tier_1_days="60", tier_1_fee="3", tier_2_days="30",
                            tier_2_fee="2"), "tier_2_days", "reach further"),
    "tiers overlapping": (dict(fee_kind=FEE_TIERED, tier_1_days="30", tier_1_fee="2", tier_2_days="30",
                               tier_2_fee="3"), "tier_2_days", "reach further"),
    "tiered without tiers": (dict(fee_kind=FEE_TIERED), "tier_1_days", "at least one tier"),
    "tier without its fee": (dict(fee_kind=FEE_TIERED, tier_1_days="30"), "tier_1_fee", "fee of tier 1"),
    "advance over 100": (dict(advance_bp="100.01"), "advance_bp", "from 0 to 100"),
    "negative reserve": (dict(reserve_bp="-1"), "reserve_bp", "percentage from 0 to 100"),
    "three decimals": (dict(fee_bp="2.125"), "fee_bp", "at most 2 decimals"),
    "not a number": (dict(fee_bp="two"), "fee_bp", "percentage"),
    "advance and reserve over 100": (dict(advance_bp="95", reserve_bp="10"), "reserve_bp", "together"),
    "address with CR/LF": (dict(submission_email="a@summit.example\r\nBcc: b@evil.example"),
                           "submission_email", "no line breaks"),
    "two addresses": (dict(submission_email="a@summit.example, b@summit.example"), "submission_email",
                      "one address only"),
    "two addresses by semicolon": (dict(submission_email="a@summit.example;b@summit.example"),
                                   "submission_email", "one address only"),
    "not an address": (dict(submission_email="summit"), "submission_email", "valid email"),
    "name used twice": (dict(name="capital depot"), "name", "already exists"),
    "no name": (dict(name=""), "name", "Enter the name"),
    "unknown format": (dict(batch_format="fax"), "batch_format", "batch file format"),
    "recourse past a year": (dict(recourse_days="400"), "recourse_days", "from 0 to 365"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_a_field_error_and_writes_nothing(world, dbconn, case):
    overrides, field, fragment = BAD[case]
    before = snapshot()
    with pytest.raises(Invalid) as refused:
        factors.create_factor(world.company, _form(**overrides), actor=world.admin)
    assert fragment in refused.value.errors[field], refused.value.errors
    assert snapshot() == before


def test_the_same_name_is_fine_in_another_company(world, dbconn):
    factor = factors.create_factor(world.other_company, _form(name="Summit Capital"), actor=world.other)
    assert factors.create_factor(world.company, _form(), actor=world.admin).name == factor.name
    assert factors.get(world.company, factor.id) is None  # another company's factor is not found


def test_update_audits_what_changed_and_nothing_when_unchanged(world, dbconn):
    depot = _capital_depot(world.company)
    values = factors.form_values(depot)
    assert factors.update_factor(depot, values, actor=world.admin) is depot
    assert not AuditLog.select().where((AuditLog.object_type == "factor") & (AuditLog.object_id == depot.id)).exists()
    factors.update_factor(depot, dict(values, fee_bp="3", advance_bp="97"), actor=world.admin)
    row = AuditLog.get((AuditLog.object_type == "factor") & (AuditLog.object_id == depot.id))
    assert row.action == "factor.update"
    assert json.loads(row.before) == {"advance_bp": 9750, "fee_bp": 250}
    assert json.loads(row.after) == {"advance_bp": 9700, "fee_bp": 300}
    assert Factor.get_by_id(depot.id).fee_bp == 300
    assert "Flat fee: 2.50 % → 3.00 %" in factors.history(depot)[0]["what"]


def test_update_refuses_another_factors_name(world, dbconn):
    other = factors.create_factor(world.company, _form(), actor=world.admin)
    before = snapshot()
    with pytest.raises(Invalid) as refused:
        factors.update_factor(other, dict(factors.form_values(other), name="Capital Depot"), actor=world.admin)
    assert "already exists" in refused.value.errors["name"]
    assert snapshot() == before


def test_expected_amounts_follow_the_terms(world, dbconn):
    depot = _capital_depot(world.company)
    assert factors.expected_amounts(depot, 1_000_00) == {
        "advance_cents": 975_00, "fee_cents": 25_00, "reserve_cents": 0, "fee_bp": 250}
    tiered = factors.create_factor(world.company, _form(
        fee_kind=FEE_TIERED, tier_1_days="30", tier_1_fee="2", tier_2_days="60", tier_2_fee="3"), actor=world.admin)
    assert [factors.fee_bp_for(tiered, days) for days in (0, 30, 31, 60, 200)] == [200, 200, 300, 300, 300]
    amounts = factors.expected_amounts(tiered, 1234_57, days_outstanding=45)
    assert amounts == {"advance_cents": 1111_11, "fee_cents": 37_04, "reserve_cents": 123_46, "fee_bp": 300}


def test_percentages_parse_to_basis_points():
    assert [factors.parse_percent(v) for v in ("97.5", "97.50", "97.5 %", "0", "100", "3.")] == \
        [9750, 9750, 9750, 0, 10000, 300]
    for bad in ("", "1e2", "١٢", "-0.5", "100.5", "97.505"):
        with pytest.raises(ValueError):
            factors.parse_percent(bad)


# --- assigning subsidiaries -------------------------------------------------------------------

def test_assign_from_a_date_and_the_current_factor_on_each_day(world, dbconn):
    depot = _capital_depot(world.company)
    summit = factors.create_factor(world.company, _form(), actor=world.admin)
    later = TODAY + datetime.timedelta(days=10)
    factors.assign(world.freight, {"factor_id": str(summit.id), "from_date": later.isoformat()}, actor=world.admin)
    assert factors.current_factor(world.freight) == depot
    assert factors.current_factor(world.freight, on=later) == summit
    row = AuditLog.get((AuditLog.action == "subsidiary.factor") & (AuditLog.object_id == world.freight.id))
    assert json.loads(row.after) == {"factor": "Summit Capital", "factor_id": summit.id, "from_date": later.isoformat()}
    # The same date again replaces that assignment, audited with what it was.
    factors.assign(world.freight, {"factor_id": str(depot.id), "from_date": later.isoformat()}, actor=world.admin)
    assert factors.current_factor(world.freight, on=later) == depot
    assert SubsidiaryFactor.select().where(SubsidiaryFactor.subsidiary == world.freight).count() == 2
    assert AuditLog.select().where(AuditLog.action == "subsidiary.factor").count() == 2


@pytest.mark.parametrize("form, field", [
    ({"factor_id": "", "from_date": TODAY.isoformat()}, "factor_id"),
    ({"factor_id": "99999999999999999999", "from_date": TODAY.isoformat()}, "factor_id"),
    ({"factor_id": "OTHER", "from_date": TODAY.isoformat()}, "factor_id"),
    ({"factor_id": "INACTIVE", "from_date": TODAY.isoformat()}, "factor_id"),
    ({"factor_id": "DEPOT", "from_date": "31/12/2026"}, "from_date"),  # US dates are read: month 31 is none
    ({"factor_id": "DEPOT", "from_date": "1999-12-31"}, "from_date"),
])
def test_assign_refuses_what_it_cannot_use_and_writes_nothing(world, dbconn, form, field):
    ids = {"OTHER": _capital_depot(world.other_company).id, "DEPOT": _capital_depot(world.company).id,
           "INACTIVE": factors.create_factor(world.company, _form(active=None), actor=world.admin).id}
    form = dict(form, factor_id=str(ids.get(form["factor_id"], form["factor_id"])))
    before = snapshot()
    with pytest.raises(Invalid) as refused:
        factors.assign(world.freight, form, actor=world.admin)
    assert set(refused.value.errors) == {field}
    assert snapshot() == before


# --- Submit Batch and the factor --------------------------------------------------------------

def test_submit_batch_records_the_subsidiarys_factor(world, in_app):
    batch = submit_batch(world.company, world.freight, world.eligible(2), world.billing)
    batch = Batch.get_by_id(batch.id)
    assert batch.factor == _capital_depot(world.company)
    assert batch.file_name.startswith("capital-depot_")
    row = AuditLog.get((AuditLog.action == "batch.submit") & (AuditLog.object_id == batch.id))
    assert json.loads(row.after)["factor"] == "Capital Depot"


def test_submit_batch_refuses_a_subsidiary_without_a_factor(world, dbconn):
    SubsidiaryFactor.delete().where(SubsidiaryFactor.subsidiary == world.freight).execute()
    before = snapshot()
    with pytest.raises(BatchError, match="Demo Freight LLC has no factor assigned. Assign one in Management > "
                                         "Company Profile"):
        create_batch(world.company, world.freight, world.eligible(2), world.billing)
    assert snapshot() == before


def test_submit_batch_refuses_an_inactive_factor(world, dbconn):
    Factor.update(active=False).where(Factor.id == _capital_depot(world.company).id).execute()
    with pytest.raises(BatchError, match="Capital Depot, is inactive"):
        create_batch(world.company, world.freight, world.eligible(1), world.billing)


def test_switching_factor_leaves_the_old_batches_with_the_old_factor(world, in_app):
    depot = _capital_depot(world.company)
    old = submit_batch(world.company, world.freight, world.eligible(2), world.billing)
    summit = factors.create_factor(world.company, _form(), actor=world.admin)
    factors.assign(world.freight, {"factor_id": str(summit.id), "from_date": TODAY.isoformat()}, actor=world.admin)
    new = Batch.get_by_id(submit_batch(world.company, world.freight, world.eligible(2), world.billing).id)
    old = Batch.get_by_id(old.id)
    assert old.factor == depot and old.file_name.startswith("capital-depot_")
    assert new.factor == summit and new.file_name.startswith("summit-capital_")
    assert [s.name for s in factors.subsidiaries_of(summit)] == ["Demo Freight LLC"]
    assert factors.factor_page(depot)["batch_count"] == 1


def test_a_factor_lists_the_subsidiaries_it_buys_from_today_not_those_it_takes_over_later(world, in_app):
    depot = _capital_depot(world.company)
    summit = factors.create_factor(world.company, _form(), actor=world.admin)
    later = (TODAY + datetime.timedelta(days=30)).isoformat()
    factors.assign(world.freight, {"factor_id": str(summit.id), "from_date": later}, actor=world.admin)
    factors.assign(world.logistics, {"factor_id": str(summit.id), "from_date": TODAY.isoformat()},
                   actor=world.admin)
    with count_queries() as counted:
        buying = [s.name for s in factors.subsidiaries_of(depot)]
    assert buying == [world.freight.name]
    assert counted.count == 2  # the subsidiaries, then all their assignments: not one query each
    assert [s.name for s in factors.subsidiaries_of(summit)] == [world.logistics.name]
    assert [s.name for s in factors.subsidiaries_of(summit, on=TODAY + datetime.timedelta(days=30))] == \
        sorted([world.freight.name, world.logistics.name])


def test_tiers_are_replaced_on_update(world, dbconn):
    factor = factors.create_factor(world.company, _form(
        fee_kind=FEE_TIERED, tier_1_days="30", tier_1_fee="2"), actor=world.admin)
    factors.update_factor(factor, dict(factors.form_values(factor), fee_kind="flat", tier_1_days="", tier_1_fee=""),
                          actor=world.admin)
    assert not FactorFeeTier.select().where(FactorFeeTier.factor == factor).exists()


def test_a_batch_without_a_factor_fails_with_where_to_fix_it(world, dbconn):
    batch = Batch.create(company=world.company, subsidiary=world.freight, number=77)
    assert run_batch(batch.id) == "failed"
    assert "Batch #77 has no factor" in Batch.get_by_id(batch.id).error


def test_the_batch_file_comes_from_the_factors_format(world, in_app, monkeypatch):
    from webapp.services.batches import formats

    def listing(contents, progress):
        progress(len(contents.loads))
        text = "\n".join(load.invoice_number for load in contents.loads)
        return f"{contents.factor.name}.txt", text.encode(), "text/plain"

    monkeypatch.setitem(formats.FORMATS, "plain_list", formats.BatchFormat("A plain list", listing))
    depot = _capital_depot(world.company)
    assert "plain_list" in factors.format_labels()
    factors.update_factor(depot, dict(factors.form_values(depot), batch_format="plain_list"), actor=world.admin)
    batch = Batch.get_by_id(submit_batch(world.company, world.freight, world.eligible(2), world.billing).id)
    assert batch.status == "ready" and batch.file_name == "Capital Depot.txt"
    assert batch.file.content_type == "text/plain" and bytes(batch.file.data).count(b"\n") == 1
