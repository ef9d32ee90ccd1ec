"""A load's page (webapp/loads): every field, lines, batch and factoring figures, payments, history."""
import datetime

from tests.helpers import LOAD_LINES
from tests.helpers import load_form
from tests.helpers import post_form
from webapp.models import FINANCED
from webapp.models import INVOICED
from webapp.models import QUEUED
from webapp.models import AuditLog
from webapp.models import Batch
from webapp.models import Load
from webapp.models import Payment
from webapp.models import ReportUpload
from webapp.models import StoredFile
from webapp.services import audit
from webapp.services import ledger


def test_detail_shows_every_field_lines_and_history(client, auth, world, dbconn):
    auth.login("admin")
    response = client.post("/loads/new", data=post_form(load_form(world), LOAD_LINES))
    assert response.status_code == 303
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    for text in ("NEW-1", "INV-NEW-1", "11/25/2026", "PO-1", "Dallas, TX", "11/22/2026",
                 "Memphis, TN", "11/24/2026", "Demo Freight LLC", "Summit Freight Brokerage",
                 "MC-482913", "Factoring", "Linehaul", "Fuel surcharge", "$2,450.00", "$367.50",
                 "$2,817.50", "Status history", "Entered by hand"):
        assert text in html, text


def test_detail_of_another_tenants_load_is_404(client, auth, dbconn):
    other_load = Load.get(Load.load_number == "OC-1001")
    auth.login("admin")
    assert client.get(f"/loads/{other_load.id}").status_code == 404
    assert client.get(f"/loads/{other_load.id}/edit").status_code == 404


def test_detail_shows_batch_factoring_figures_payments_and_status_causes(client, auth, world, dbconn):
    demo = world.company
    load = Load.get(Load.load_number == "DT-1001")
    admin = world.admin
    batch = Batch.create(company=demo, subsidiary=load.subsidiary_id, number=77, load_count=1)
    file = StoredFile.create(company=demo, filename="Purchase_Report.csv", sha256="x", data=b"x")
    upload = ReportUpload.create(company=demo, batch=batch, kind="purchase", file=file,
                                 filename="Purchase_Report.csv", sha256="x")
    Load.update(batch=batch, billing_status=FINANCED, purchase_date=datetime.date(2026, 11, 26),
                advance_cents=2000_00, fee_cents=60_00, reserve_cents=0, factor_reference="CD-555",
                paid_cents=1500_00, short_pay_cents=12_50).where(Load.id == load.id).execute()
    Payment.create(company=demo, load=load, payment_date=datetime.date(2026, 12, 20),
                   amount_cents=1500_00, reference="CHK-4411", method="Check", final=False)
    # The page reads the money from the ledger: the rows the report and the payment would write.
    head = (demo.id, load.subsidiary_id, None, load.id, batch.id)
    ledger.record([ledger.Entry(*head, kind, cents, day, upload.id, 4) for kind, cents, day in (
        ("purchased", 2060_00, datetime.date(2026, 11, 26)), ("advance", 2000_00, datetime.date(2026, 11, 26)),
        ("fee", 60_00, datetime.date(2026, 11, 26)), ("collected", 1500_00, datetime.date(2026, 12, 20)),
        ("short_pay", 12_50, datetime.date(2026, 12, 20)))])
    AuditLog.insert_many(audit.status_change_rows([(demo.id, load.id)], QUEUED, INVOICED,
                                                  actor=admin.id, batch=batch.id)).execute()
    AuditLog.insert_many(audit.status_change_rows([(demo.id, load.id)], INVOICED, FINANCED,
                                                  actor=admin.id, batch=batch.id, upload=upload.id,
                                                  rows={load.id: 4})).execute()
    AuditLog.insert_many(audit.status_change_rows([(demo.id, load.id)], FINANCED, QUEUED,
                                                  actor=admin.id, details={"reason": "Debtor over limit"})
                         ).execute()
    auth.login("billing")
    html = client.get(f"/loads/{load.id}").get_data(as_text=True)
    assert "Set by hand · Debtor over limit" in html
    assert f'href="/reports/factoring/batches/{batch.id}"' in html
    for text in ("Batch 77", "11/26/2026", "$2,000.00", "$60.00", "CD-555", "$1,500.00", "$12.50",
                 "CHK-4411", "Check", "No (partial)", "Purchase Report Purchase_Report.csv, row 4",
                 "Avery Admin"):
        assert text in html, text
    assert "Locked" in html and f"/loads/{load.id}/edit" not in html


def test_a_factor_hold_reads_as_held_in_the_history(client, auth, world, dbconn):
    demo = world.company
    load = Load.get((Load.company == demo) & (Load.load_number == "DT-1002"))
    audit.record("load.hold", "load", load.id, company=demo, before=INVOICED, after=INVOICED,
                 details={"reason": "Debtor over its credit limit"})
    auth.login("admin")
    page = client.get(f"/loads/{load.id}").get_data(as_text=True)
    history = page[page.index('id="history"'):]
    assert "Held by the factor" in history
    assert "→" not in history.split("Held by the factor", 1)[1].split("</tr>", 1)[0]
