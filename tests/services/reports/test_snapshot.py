"""The undo snapshot an apply keeps (report_load_change), built by the database as JSON."""
import json

from tests.helpers import apply_report
from tests.helpers import csv_bytes
from tests.helpers import purchase_rows
from webapp.models import Load
from webapp.models import ReportLoadChange
from webapp.services.reports.parsing import PURCHASE_COLUMNS
from webapp.services.reports.writing import SNAPSHOT_NAMES
from webapp.services.reports.writing import load_states


def test_the_snapshot_an_apply_keeps_reads_as_the_loads_state(make_batch, world, dbconn):
    made = make_batch(count=3)
    batch, loads = made.batch, made.loads
    rows = purchase_rows(loads)
    rows[1][7:9] = ["held", "Waiting for the debtor's approval"]
    rows[2][7:9] = ["rejected", "No POD"]
    before = load_states([x.id for x in loads])

    applied = apply_report(batch, "purchase", csv_bytes(PURCHASE_COLUMNS, rows), world.billing)

    kept = {change.load_id: (json.loads(change.before), json.loads(change.after))
            for change in ReportLoadChange.select().where(ReportLoadChange.upload == applied.upload.id)}
    assert {load_id: b for load_id, (b, _) in kept.items()} == before
    assert {load_id: a for load_id, (_, a) in kept.items()} == load_states([x.id for x in loads])
    after = {load_id: dict(zip(SNAPSHOT_NAMES, a)) for load_id, (_, a) in kept.items()}
    financed, held, rejected = (after[x.id] for x in loads)
    assert financed["billing_status"] == "financed"
    assert financed["purchase_date"] == Load.get_by_id(loads[0].id).purchase_date.isoformat()
    assert (held["factor_hold"], financed["factor_hold"]) == (True, False)
    assert (rejected["batch"], rejected["purchase_date"]) == (None, None)
