"""Reading batches back (services/batches/reading.py): their factoring state, one query for many."""
import pytest

from tests.helpers import count_queries
from tests.helpers import submit_batch
from webapp.models import COMPLETED
from webapp.models import FINANCED
from webapp.models import INVOICED
from webapp.models import Batch
from webapp.models import Load
from webapp.services import batches


@pytest.mark.parametrize("counts, state", [
    ({INVOICED: 3}, "submitted"),
    ({INVOICED: 2, FINANCED: 1}, "partially_financed"),
    ({FINANCED: 3}, "financed"),
    ({FINANCED: 3, "paid": 1}, "partially_paid"),
    ({FINANCED: 2, COMPLETED: 1}, "partially_paid"),
    ({COMPLETED: 3}, "completed"),
])
def test_factoring_state_follows_from_the_loads(counts, state):
    assert batches.factoring_state(counts) == state


def test_factoring_states_of_many_batches_in_one_query(in_app, world):
    ids = world.eligible(4)
    first = submit_batch(world.company, world.freight, ids[:2], world.billing)
    second = submit_batch(world.company, world.freight, ids[2:], world.billing)
    Load.update(billing_status=FINANCED).where(Load.id == ids[2]).execute()
    Load.update(billing_status=COMPLETED).where(Load.id.in_(ids[:2])).execute()
    pending = Batch.create(company=world.company, subsidiary=world.freight, number=50)
    listed = list(Batch.select().where(Batch.id.in_([first.id, second.id, pending.id])))
    with count_queries() as counter:
        states = batches.factoring_states(listed)
    assert counter.count == 1
    assert states == {first.id: "completed", second.id: "partially_financed"}
