"""Reading batches back (services/batches/reading.py): the one state line of a batch in every
state, the time left, one query for many, and Factoring Upload's box of batches needing action."""
import datetime

import pytest

from tests.helpers import count_queries
from tests.helpers import submit_batch
from webapp.models import BATCH_CANCELLED
from webapp.models import BATCH_FAILED
from webapp.models import BATCH_PENDING
from webapp.models import BATCH_READY
from webapp.models import BATCH_RUNNING
from webapp.models import CHARGED_BACK
from webapp.models import COMPLETED
from webapp.models import FINANCED
from webapp.models import INVOICED
from webapp.models import QUEUED
from webapp.models import Batch
from webapp.models import BatchLoad
from webapp.models import Factor
from webapp.models import Load
from webapp.services import batches
from webapp.services.batches import reading

NOW = datetime.datetime(2026, 11, 16, 16, 42)


def _batch(status, **fields):
    """An unsaved batch of Capital Depot in STATUS (batch_state reads only its fields)."""
    batch = Batch(status=status, number=4, progress_total=fields.pop("total", 40), **fields)
    batch.factor = Factor(id=1, name="Capital Depot")
    return batch


@pytest.mark.parametrize("status, fields, counts, key, line", [
    (BATCH_PENDING, {}, None, "waiting", "Waiting to start"),
    (BATCH_RUNNING, {"progress_done": 11, "started_at": NOW - datetime.timedelta(seconds=22)}, None,
     "generating", "Generating invoice 12 of 40"),
    (BATCH_RUNNING, {"progress_done": 40}, None, "generating", "Building the schedule and the batch file"),
    (BATCH_FAILED, {"error": "Could not render the invoice for load DT-1."}, None, "failed",
     "Failed — Could not render the invoice for load DT-1."),
    (BATCH_CANCELLED, {}, None, "cancelled", "Cancelled"),
    (BATCH_READY, {}, {INVOICED: 5}, "ready", "Ready to send"),
    (BATCH_READY, {"sent_at": NOW}, {INVOICED: 5}, "sent", "Sent to Capital Depot"),
    (BATCH_READY, {}, {INVOICED: 5, "held": 2}, "sent", "Sent to Capital Depot, 2 held"),
    (BATCH_READY, {"sent_at": NOW}, {INVOICED: 1, FINANCED: 4, "held": 1}, "partly_funded",
     "Partly funded — 4 of 5 funded, 1 held"),
    (BATCH_READY, {"sent_at": NOW}, {FINANCED: 5}, "funded", "Funded"),
    (BATCH_READY, {"sent_at": NOW}, {FINANCED: 5, "paid": 1}, "partly_paid", "Partly paid — 1 of 5 paid"),
    (BATCH_READY, {"sent_at": NOW}, {FINANCED: 3, COMPLETED: 2}, "partly_paid", "Partly paid — 2 of 5 paid"),
    (BATCH_READY, {"sent_at": NOW}, {COMPLETED: 5}, "paid", "Paid"),
    (BATCH_READY, {"sent_at": NOW}, {COMPLETED: 4, CHARGED_BACK: 1}, "charged_back", "Charged back — 1 of 5 invoices"),
    (BATCH_READY, {"sent_at": NOW}, {}, "rejected", "Rejected — every invoice left the batch"),
])
def test_every_state_has_one_line_in_the_clerks_words(status, fields, counts, key, line):
    state = batches.batch_state(_batch(status, **fields), counts, NOW)
    assert (state.key, state.line) == (key, line)
    assert state.badge == batches.STATES[key]
    assert state.hint  # every state says what happens next
    assert state.needs_action == (key in ("waiting", "generating", "failed", "ready"))
    assert state.live == (key in ("waiting", "generating"))


def test_generating_counts_and_estimates_the_time_left_at_the_pace_so_far():
    started = NOW - datetime.timedelta(seconds=30)
    state = batches.batch_state(_batch(BATCH_RUNNING, progress_done=10, started_at=started), None, NOW)
    assert state.progress.text == "Generating invoice 11 of 40"
    assert state.progress.percent == 25
    assert state.progress.seconds_left == 90  # 3 s an invoice, 30 to go
    assert state.progress.time_left == "about 2 minutes left"
    first = batches.batch_state(_batch(BATCH_RUNNING, progress_done=0, started_at=started), None, NOW)
    assert first.progress.seconds_left is None and first.progress.time_left == ""  # nothing to go by yet


@pytest.mark.parametrize("seconds, words", [
    (None, ""), (4, "a few seconds left"), (22, "about 20 seconds left"), (58, "about 60 seconds left"),
    (60, "about 1 minute left"), (200, "about 3 minutes left"), (4 * 3600, "about 4 hours left"),
])
def test_time_left_reads_as_a_person_says_it(seconds, words):
    assert reading.time_left_text(seconds) == words


def test_states_of_many_batches_in_one_query(in_app, world):
    ids = world.eligible(4)
    first = submit_batch(world.company, world.freight, ids[:2], world.billing)
    second = submit_batch(world.company, world.freight, ids[2:], world.billing)
    Load.update(billing_status=FINANCED).where(Load.id == ids[2]).execute()
    Load.update(billing_status=COMPLETED).where(Load.id.in_(ids[:2])).execute()
    pending = Batch.create(company=world.company, subsidiary=world.freight, number=50)
    listed = list(batches.batch_list(world.company).where(Batch.id.in_([first.id, second.id, pending.id])))
    with count_queries() as counter:
        states = batches.batch_states(listed)
    assert counter.count == 1
    assert {i: s.key for i, s in states.items()} == {first.id: "paid", second.id: "partly_funded",
                                                     pending.id: "waiting"}


def test_a_rejected_load_no_longer_counts_in_the_state(in_app, world):
    ids = world.eligible(2)
    batch = submit_batch(world.company, world.freight, ids, world.billing)
    Load.update(billing_status=FINANCED).where(Load.id == ids[0]).execute()
    # Rejected as a Purchase Report rejects: back to Queued, out of the batch, its batch_load not live.
    Load.update(billing_status=QUEUED, batch=None).where(Load.id == ids[1]).execute()
    BatchLoad.update(live=False).where((BatchLoad.batch == batch.id) & (BatchLoad.load == ids[1])).execute()
    batch = Batch.get_by_id(batch.id)
    assert batches.batch_state(batch, reading._load_counts([batch])[batch.id]).key == "funded"


def test_mark_sent_moves_ready_to_sent_once_and_is_audited(in_app, world):
    batch = Batch.get_by_id(submit_batch(world.company, world.freight, world.eligible(2), world.billing).id)
    assert batches.batch_states([batch])[batch.id].key == "ready"
    batches.mark_sent(batch, world.billing)
    again = Batch.get_by_id(batch.id)
    assert again.sent_at is not None and again.sent_by_id == world.billing.id
    assert batches.batch_states([again])[batch.id].key == "sent"
    with pytest.raises(batches.BatchError, match="already marked as sent"):
        batches.mark_sent(again, world.billing)
    assert Batch.get_by_id(batch.id).sent_at == again.sent_at  # the refusal changed nothing


def test_mark_sent_refuses_a_batch_without_its_file(in_app, world):
    waiting = batches.create_batch(world.company, world.freight, world.eligible(1), world.billing)
    with pytest.raises(batches.BatchError, match="no file to send yet"):
        batches.mark_sent(waiting, world.billing)
    assert Batch.get_by_id(waiting.id).sent_at is None


def test_the_box_lists_only_batches_needing_action(in_app, world):
    ids = world.eligible(6)
    sent = submit_batch(world.company, world.freight, ids[:1], world.billing)
    batches.mark_sent(sent, world.billing)
    funded = submit_batch(world.company, world.freight, ids[1:2], world.billing)
    Load.update(billing_status=FINANCED).where(Load.id == ids[1]).execute()  # a report came back
    ready = submit_batch(world.company, world.freight, ids[2:3], world.billing)
    failed = submit_batch(world.company, world.freight, ids[3:4], world.billing)
    Batch.update(status=BATCH_FAILED, error="boom").where(Batch.id == failed.id).execute()
    waiting = batches.create_batch(world.company, world.freight, ids[4:5], world.billing)
    cancelled = batches.create_batch(world.company, world.freight, ids[5:6], world.billing)
    batches.cancel_batch(cancelled, world.billing)
    box = batches.active_batches(world.company, world.freight)
    assert [b.id for b in box.items] == [waiting.id, failed.id, ready.id]  # newest first
    assert [box.states[b.id].key for b in box.items] == ["waiting", "failed", "ready"]
    assert box.more == 0
    assert sent.id not in box.states and funded.id not in box.states


def test_the_box_shows_a_few_and_counts_the_rest(in_app, world):
    ids = world.eligible(4)
    for load_id in ids:
        submit_batch(world.company, world.freight, [load_id], world.billing)
    box = batches.active_batches(world.company, world.freight, shown=3)
    assert len(box.items) == 3 and box.more == 1


def test_the_box_reads_the_partial_index_of_batches_needing_action(in_app, world):
    """Not every batch of the subsidiary newest first: the few that need action (migration 0024)."""
    from webapp.database import is_postgres
    from webapp.models import db
    from webapp.services.batches.reading import _needs_action
    from webapp.services.batches.reading import batch_list
    if is_postgres():
        pytest.skip("PostgreSQL plans from statistics; a test database this small is read whole")
    sql, params = batch_list(world.company, world.freight).where(_needs_action()).order_by(
        Batch.created_at.desc()).limit(8).sql()
    plan = " ".join(str(row[-1]) for row in db.execute_sql("EXPLAIN QUERY PLAN " + sql, params))
    assert "USING INDEX batch_needs_action" in plan
