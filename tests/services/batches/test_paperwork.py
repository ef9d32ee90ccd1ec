"""The paperwork check (services/batches/eligibility.py): a load without a document its factor
requires (rate confirmation, proof of delivery) cannot go to the factor, and says so."""
import pytest

from tests.helpers import pdf_bytes
from webapp.models import Customer
from webapp.models import Factor
from webapp.models import Load
from webapp.models import LoadDocument
from webapp.services import batches
from webapp.services import loads as load_service
from webapp.services.batches.errors import BatchError


def _with_customer(load_id):
    return Load.select(Load, Customer).join(Customer).where(Load.id == load_id).get()


def _factor(world):
    return Factor.get((Factor.company == world.company) & (Factor.name == "Capital Depot"))


def test_a_load_without_its_proof_of_delivery_is_apart_naming_what_is_missing(in_app, world):
    load_id = world.eligible(1)[0]
    LoadDocument.delete().where((LoadDocument.load == load_id) & (LoadDocument.kind == "pod")).execute()
    assert load_id not in world.eligible()
    apart = {load.id for load in batches.incomplete_loads(world.company, world.freight)}
    assert load_id in apart
    reasons = batches.load_problems([_with_customer(load_id)], _factor(world))[load_id]
    assert [str(r) for r in reasons] == ["Capital Depot requires the proof of delivery (or signed BOL); it has none."]
    assert reasons[0].fix == "documents"


def test_without_either_document_both_are_named_and_a_signed_bol_counts_as_the_pod(in_app, world):
    load_id = world.eligible(1)[0]
    LoadDocument.delete().where(LoadDocument.load == load_id).execute()
    reason = batches.load_problems([_with_customer(load_id)], _factor(world))[load_id][0]
    assert "rate confirmation and the proof of delivery" in reason and "neither" in reason
    load = Load.get_by_id(load_id)
    load_service.add_document(load, None, "rate_confirmation", "rc.pdf", pdf_bytes(), None)
    load_service.add_document(load, None, "bol", "bol.pdf", pdf_bytes(), None)
    assert batches.load_problems([_with_customer(load_id)], _factor(world))[load_id] == []
    assert load_id in world.eligible()


def test_a_factor_that_requires_nothing_takes_the_load_without_documents(in_app, world):
    load_id = world.eligible(1)[0]
    LoadDocument.delete().where(LoadDocument.load == load_id).execute()
    assert load_id not in world.eligible()
    Factor.update(requires_rate_confirmation=False, requires_proof_of_delivery=False).where(
        Factor.id == _factor(world).id).execute()
    assert load_id in world.eligible()


def test_submit_batch_refuses_a_load_whose_paperwork_is_missing_and_changes_nothing(in_app, world):
    ids = world.eligible(2)
    LoadDocument.delete().where(LoadDocument.load == ids[1]).execute()
    number = Load.get_by_id(ids[1]).load_number
    with pytest.raises(BatchError, match=f"{number}: Capital Depot requires the rate confirmation"):
        batches.create_batch(world.company, world.freight, ids, world.billing)
    assert Load.select().where(Load.id.in_(ids) & Load.batch.is_null(False)).count() == 0
