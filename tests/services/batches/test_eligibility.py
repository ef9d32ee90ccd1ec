"""Which loads can go to the factor (services/batches/eligibility.py): list, filters, reasons, totals."""
from webapp.models import QUEUED
from webapp.models import Customer
from webapp.models import Load
from webapp.models import LoadLine
from webapp.services import batches


def test_eligible_loads_are_queued_factoring_loads_of_the_subsidiary_in_no_batch(in_app, world):
    loads = list(batches.eligible_loads(world.company, world.freight))
    assert loads
    for load in loads:
        assert load.billing_status == QUEUED
        assert load.invoicing_method == "factoring"
        assert load.subsidiary_id == world.freight.id
        assert load.batch_id is None
        assert load.customer.mc_number


def test_customer_without_mc_number_puts_its_loads_apart_with_the_reason(in_app, world):
    apart = list(batches.incomplete_loads(world.company, world.freight))
    assert apart, "the demo has a customer without an MC number"
    reasons = batches.load_problems(apart)
    without_mc = [load for load in apart if not load.customer.mc_number]
    assert without_mc
    for load in without_mc:
        assert any("no MC number" in r for r in reasons[load.id])
        assert [r.fix for r in reasons[load.id]] == ["customer"]
    eligible_ids = {load.id for load in batches.eligible_loads(world.company, world.freight)}
    assert not eligible_ids & {load.id for load in apart}


def test_load_problems_name_every_missing_piece(in_app, world):
    load = Load.get_by_id(world.eligible(1)[0])
    Load.update(invoice_number=None, invoice_date=None).where(Load.id == load.id).execute()
    LoadLine.update(amount_cents=LoadLine.amount_cents + 1).where(LoadLine.load == load.id).execute()
    load = Load.select(Load, Customer).join(Customer).where(Load.id == load.id).get()
    reasons = batches.load_problems([load])[load.id]
    text = " ".join(reasons)
    assert "no invoice number" in text
    assert "no invoice date" in text
    assert "line items add up to" in text
    assert load.id in {row.id for row in batches.incomplete_loads(world.company, world.freight)}


def test_zero_total_is_a_reason(in_app, world):
    load_id = world.eligible(1)[0]
    LoadLine.delete().where(LoadLine.load == load_id).execute()
    Load.update(total_cents=0).where(Load.id == load_id).execute()
    load = Load.select(Load, Customer).join(Customer).where(Load.id == load_id).get()
    assert batches.load_problems([load])[load_id] == ["The total is not above zero."]


def test_filters_narrow_the_list(in_app, world):
    loads = list(batches.eligible_loads(world.company, world.freight))
    target = loads[0]
    by_text = batches.eligible_loads(world.company, world.freight, batches.LoadFilter(q=target.load_number))
    assert [load.id for load in by_text] == [target.id]
    by_invoice = batches.eligible_loads(world.company, world.freight, batches.LoadFilter(q=target.invoice_number))
    assert target.id in [load.id for load in by_invoice]
    by_customer = list(batches.eligible_loads(world.company, world.freight,
                                              batches.LoadFilter(customer_id=target.customer_id)))
    assert by_customer and all(load.customer_id == target.customer_id for load in by_customer)
    day = target.delivery_date
    by_date = list(batches.eligible_loads(world.company, world.freight,
                                          batches.LoadFilter(date_from=day, date_to=day)))
    assert by_date and all(load.delivery_date == day for load in by_date)
