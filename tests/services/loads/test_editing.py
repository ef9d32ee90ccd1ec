"""Editing a load (services/loads/editing.py): locked in a batch, and a lost race saves nothing."""
import pytest

from tests.helpers import LOAD_LINES
from webapp.models import INVOICED
from webapp.models import Load
from webapp.models import LoadLine
from webapp.services import loads as service


def test_edit_of_a_load_in_a_batch_is_locked(failed_batch, dbconn):
    load = failed_batch.loads[0]  # still Queued, held by its batch until Retry or Cancel
    with pytest.raises(service.LoadLocked, match="in a batch"):
        service.update_load(Load.get_by_id(load.id), None, service.blank_form(load), LOAD_LINES)


def test_edit_that_loses_the_race_changes_nothing(dbconn):
    load = Load.get(Load.load_number == "DT-1002")
    stale = Load.get_by_id(load.id)  # read while Queued ...
    Load.update(billing_status=INVOICED).where(Load.id == load.id).execute()  # ... then submitted
    data = service.blank_form(stale)
    data["customer_reference"] = "TOO-LATE"
    with pytest.raises(service.LoadLocked, match="moved on by someone else"):
        service.update_load(stale, None, data, LOAD_LINES)
    assert Load.get_by_id(load.id).customer_reference != "TOO-LATE"
    assert LoadLine.select().where(LoadLine.load == load.id).count() == len(service.lines_of(stale))
