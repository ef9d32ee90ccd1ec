"""Two people submitting overlapping loads at once, and the job run by a real queue consumer."""
import pytest

from tests.helpers import World
from tests.helpers import at_once
from tests.helpers import in_db
from tests.helpers import start_consumer
from webapp import create_app
from webapp.database import connection
from webapp.models import BATCH_READY
from webapp.models import INVOICED
from webapp.models import Batch
from webapp.models import BatchLoad
from webapp.models import Load
from webapp.models import db
from webapp.services import batches


def _submit_together(app, world, selections):
    """Run create_batch for each selection in its own thread and connection, all at once."""
    return at_once([lambda ids=ids: batches.create_batch(world.company, world.freight, ids, world.billing)
                    for ids in selections], each=lambda: in_db(app))


@pytest.fixture
def picks(app, world):
    with in_db(app):
        ids = world.eligible(4)
        numbers = {i: Load.get_by_id(i).load_number for i in ids}
    db.close()
    return ids, numbers


def test_overlapping_submissions_at_the_same_moment_put_each_load_in_one_batch(app, world, picks):
    ids, numbers = picks
    first, second = ids[:3], ids[2:]  # ids[2] is in both
    results = _submit_together(app, world, [first, second])
    won = [r for r in results if isinstance(r, Batch)]
    lost = [r for r in results if isinstance(r, batches.BatchError)]
    assert len(won) == 1 and len(lost) == 1
    assert isinstance(lost[0], batches.BatchConflict)
    assert numbers[ids[2]] in str(lost[0])
    assert f"batch #{won[0].number}" in str(lost[0])
    with in_db(app):
        assert Batch.select().count() == 1
        live = [bl.load_id for bl in BatchLoad.select().where(BatchLoad.live)]
        assert len(live) == len(set(live))
        assert set(live) == {bl.load_id for bl in BatchLoad.select().where(BatchLoad.batch == won[0].id)}
        reserved = Load.select().where(Load.batch.is_null(False)).count()
        assert reserved == won[0].load_count


def test_the_same_selection_submitted_twice_at_once_creates_one_batch(app, world, picks):
    ids, _ = picks
    results = _submit_together(app, world, [ids, ids])
    assert sum(isinstance(r, Batch) for r in results) == 1
    assert sum(isinstance(r, batches.BatchConflict) for r in results) == 1
    with in_db(app):
        assert Batch.select().count() == 1
        assert BatchLoad.select().count() == len(ids)


@pytest.fixture
def queued_app(db_url, tmp_path):
    """The app with a real on-disk queue (not immediate mode) and a consumer running its tasks."""
    app = create_app({
        "TESTING": True, "SECRET_KEY": "t", "DATABASE_URL": db_url,
        "QUEUE_URL": "sqlite:///" + str(tmp_path / "queue.db"),
    })
    consumer = start_consumer(app.extensions["huey"])
    yield app
    consumer.stop(graceful=True)
    if not db.is_closed():
        db.close()


def test_a_real_consumer_runs_the_job_and_the_loads_move_to_invoiced(queued_app):
    from webapp import jobs
    with queued_app.app_context():
        with connection():
            demo = World()
            ids = demo.eligible(3)
            batch = batches.create_batch(demo.company, demo.freight, ids, demo.billing)
            assert not queued_app.extensions["huey"].immediate
            result = jobs.enqueue("generate_batch", batch.id)
        assert result.get(blocking=True, timeout=60) == BATCH_READY
        with connection():
            assert Batch.get_by_id(batch.id).status == BATCH_READY
            assert Load.select().where(Load.id.in_(ids), Load.billing_status == INVOICED).count() == 3
