"""Upload Payment Report on Reports > Factoring (webapp/reports/uploads.py, the remittance routes):
the form, the Billing gate, tenancy, htmx and no-JS, a preview grouped by batch, confirm."""
import datetime
import io

import pytest

from tests.helpers import csv_bytes
from tests.helpers import in_db
from tests.helpers import payment_rows
from tests.helpers import reload
from tests.helpers import snapshot
from tests.views.test_templates_run_no_queries import queries_while_rendering
from webapp.models import COMPLETED
from webapp.models import FINANCED
from webapp.models import Factor
from webapp.models import ReportUpload
from webapp.services.money import format_money
from webapp.services.reports.parsing import PAYMENT_COLUMNS

HX = {"HX-Request": "true"}
FORM = "/reports/factoring/payment-report"
DAY = datetime.date(2026, 11, 30)


@pytest.fixture
def two(make_batch, world, app):
    """Two financed batches of Demo Freight LLC, two loads each, and Capital Depot's id."""
    a = make_batch("financed", count=2)
    b = make_batch("financed", count=2)
    return a, b, a.batch.factor_id


def remittance_csv(loads):
    return csv_bytes(PAYMENT_COLUMNS, [row + [""] for row in payment_rows(loads, date=DAY)])


def post(client, data, factor_id, subsidiary_id="", name="remittance.csv", headers=None):
    form = {"file": (io.BytesIO(data), name), "factor_id": str(factor_id), "subsidiary_id": str(subsidiary_id)}
    return client.post(FORM, data=form, headers=headers or {}, content_type="multipart/form-data")


def latest_upload(app):
    with in_db(app):
        return ReportUpload.select().order_by(ReportUpload.id.desc()).first()


def test_reports_factoring_offers_the_upload_to_billing_users_only(client, auth, world):
    auth.login("billing")
    index = client.get(f"/reports/factoring/?subsidiary_id={world.freight.id}").get_data(as_text=True)
    assert 'data-testid="upload-remittance"' in index
    assert f"/reports/factoring/payment-report?subsidiary_id={world.freight.id}" in index
    page = client.get(f"{FORM}?subsidiary_id={world.freight.id}").get_data(as_text=True)
    assert ">Upload Payment Report</button>" in page
    assert f'<option value="{world.freight.id}" selected>Demo Freight LLC</option>' in page
    auth.logout()
    auth.login("dispatch")
    assert 'data-testid="upload-remittance"' not in client.get("/reports/factoring/").get_data(as_text=True)
    page = client.get(FORM).get_data(as_text=True)
    assert "Only a user with the Billing permission can upload Payment Reports." in page
    assert ">Upload Payment Report</button>" not in page


def test_without_billing_the_upload_and_the_confirm_answer_403_and_change_nothing(client, auth, two, app, world):
    (a, la), (b, lb), factor_id = two
    auth.login("dispatch")
    with in_db(app):
        before = snapshot()
    assert post(client, remittance_csv(la + lb), factor_id).status_code == 403
    with in_db(app):
        assert snapshot() == before


def test_htmx_upload_previews_grouped_by_batch_and_confirm_completes_loads_of_both(client, auth, two, app, world):
    (a, la), (b, lb), factor_id = two
    auth.login("billing")
    response = post(client, remittance_csv([la[0], lb[0], lb[1]]), factor_id, world.freight.id, headers=HX)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<html" not in html and "No errors." in html and ">Confirm</button>" in html
    assert html.count('data-testid="remittance-batch"') == 2
    assert f">Batch {a.number}</a>" in html and f">Batch {b.number}</a>" in html
    assert "Demo Freight LLC · Capital Depot" in html
    upload = latest_upload(app)
    on_form = dict(HX, **{"HX-Current-URL": f"http://localhost{FORM}?subsidiary_id={world.freight.id}"})
    response = client.post(f"/reports/factoring/uploads/{upload.id}/confirm", headers=on_form)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Payment Report applied" in html and "3 completed in 2 batches" in html
    # The upload page's list of applied remittances is refreshed out of band.
    assert '<div id="remittance-applied" hx-swap-oob="true">' in html and "remittance.csv" in html
    with in_db(app):
        assert [x.billing_status for x in reload(la + lb)] == [COMPLETED, FINANCED, COMPLETED, COMPLETED]
    page = client.get(FORM).get_data(as_text=True)
    assert "remittance.csv" in page and "3 completed in 2 batches" in page
    # Each batch's page lists the remittance among its applied reports, with its part there.
    batch_page = client.get(f"/reports/factoring/batches/{b.id}").get_data(as_text=True)
    paid = format_money(lb[0].total_cents + lb[1].total_cents)
    assert "(across batches)" in batch_page
    assert f"2 rows for this batch ({paid}) of a remittance across 2 batches: 3 completed" in batch_page


def test_without_javascript_upload_and_confirm_redirect_to_the_uploads_page(client, auth, two, app, world):
    (a, la), (b, lb), factor_id = two
    auth.login("billing")
    response = post(client, remittance_csv([la[0], lb[0]]), factor_id)
    assert response.status_code == 303
    location = response.headers["Location"]
    html = client.get(location).get_data(as_text=True)
    assert "<html" in html and "Payment Report: preview" in html and "All subsidiaries · Capital Depot" in html
    response = client.post(location + "/confirm")
    assert response.status_code == 303
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Payment Report applied: 2 completed." in html
    assert f">Batch {a.number}</a>" in html and f">Batch {b.number}</a>" in html


def test_rows_that_match_no_financed_invoice_are_listed_by_row_and_column_and_block_confirm(
        client, auth, two, app, world):
    (a, la), (b, lb), factor_id = two
    rows = [row + [""] for row in payment_rows(la[:1], date=DAY)]
    rows.append(["INV-NOPE", "", DAY.isoformat(), "10.00", "ACH-9", "ACH", "0.00", "0.00", "yes", "", ""])
    auth.login("billing")
    html = post(client, csv_bytes(PAYMENT_COLUMNS, rows), factor_id, headers=HX).get_data(as_text=True)
    assert "1 error: nothing can be applied." in html and ">Confirm</button>" not in html
    assert 'data-testid="problem-nothing"' in html and "Match nothing: 1 row" in html
    assert "No such invoice or load number: INV-NOPE." in html
    upload = latest_upload(app)
    with in_db(app):
        before = snapshot()
    response = client.post(f"/reports/factoring/uploads/{upload.id}/confirm", headers=HX)
    assert response.status_code == 422 and "nothing was applied" in response.get_data(as_text=True)
    with in_db(app):
        assert snapshot() == before
    errors = client.get(f"/reports/factoring/uploads/{upload.id}/errors.csv").get_data(as_text=True)
    assert "No such invoice or load number: INV-NOPE." in errors


@pytest.mark.parametrize("case, expected", [
    ("no_file", "Choose the Payment Report file"),
    ("pdf", "This file is a PDF document"),
    ("no_factor", "Choose the factor that sent this Payment Report."),
])
def test_a_refused_upload_gets_its_message_and_stores_nothing(client, auth, two, app, case, expected):
    (a, la), _, factor_id = two
    auth.login("billing")
    with in_db(app):
        before = snapshot()
    if case == "no_file":
        response = client.post(FORM, data={"factor_id": str(factor_id)}, headers=HX)
    elif case == "pdf":
        response = post(client, b"%PDF-1.4 not a report", factor_id, name="remit.pdf", headers=HX)
    else:
        response = post(client, remittance_csv(la), "", headers=HX)
    assert response.status_code == 422
    assert expected in response.get_data(as_text=True)
    response = post(client, b"%PDF-1.4 not a report", factor_id, name="remit.pdf")  # no JS: the whole page
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "<html" in html and "Payment Report not accepted." in html
    with in_db(app):
        assert snapshot() == before


def test_another_tenants_factor_subsidiary_and_remittance_answer_404(client, auth, two, app, world):
    (a, la), _, factor_id = two
    with in_db(app):
        theirs = Factor.get(Factor.company == world.other_company.id)
    auth.login("billing")
    assert post(client, remittance_csv(la), theirs.id).status_code == 404
    assert post(client, remittance_csv(la), factor_id, world.other_sub.id).status_code == 404
    assert client.get(f"{FORM}?subsidiary_id={world.other_sub.id}").status_code == 404
    post(client, remittance_csv(la), factor_id)
    upload = latest_upload(app)
    auth.logout()
    auth.login("other")
    for suffix in ("", "/errors.csv", "/file"):
        assert client.get(f"/reports/factoring/uploads/{upload.id}{suffix}").status_code == 404
    assert client.post(f"/reports/factoring/uploads/{upload.id}/confirm").status_code == 404
    with in_db(app):
        assert ReportUpload.get_by_id(upload.id).status == "preview"


def test_the_remittance_pages_render_without_a_query(client, auth, two, app, world):
    (a, la), (b, lb), factor_id = two
    auth.login("billing")
    post(client, remittance_csv([la[0], lb[0]]), factor_id)
    upload = latest_upload(app)
    for path in (FORM, f"/reports/factoring/uploads/{upload.id}"):
        with queries_while_rendering(app) as seen:
            assert client.get(path).status_code == 200
        assert seen == [], path
    client.post(f"/reports/factoring/uploads/{upload.id}/confirm")
    with queries_while_rendering(app) as seen:
        assert client.get(f"/reports/factoring/uploads/{upload.id}").status_code == 200
        assert client.get(FORM).status_code == 200
    assert seen == []


def test_a_batch_lists_its_own_reports_and_the_remittances_that_paid_it_newest_first(client, auth, two, app, world):
    from peewee import JOIN

    from webapp.models import UPLOAD_APPLIED
    from webapp.models import Batch
    from webapp.models import Load
    from webapp.models import Payment
    from webapp.models import User
    from webapp.services.reports import summary
    from webapp.services.reports.checking import in_batch
    (a, la), (b, lb), factor_id = two
    auth.login("billing")
    post(client, remittance_csv([la[0], lb[0]]), factor_id, world.freight.id, headers=HX)
    client.post(f"/reports/factoring/uploads/{latest_upload(app).id}/confirm", headers=HX)
    remittance = latest_upload(app)
    with in_db(app):
        for made in (a, b):
            batch = Batch.get_by_id(made.id)
            shown = summary.batch_uploads(batch)
            # What one query over every applied upload of the company finds, in the same order.
            paid_it = (Payment.select(Payment.upload).join(Load, on=(Payment.load == Load.id))
                       .where(in_batch(batch) & Payment.upload.is_null(False)))
            every = (ReportUpload.select(ReportUpload.id)
                     .join(User, JOIN.LEFT_OUTER, on=(ReportUpload.uploaded_by == User.id))
                     .where(((ReportUpload.batch == batch.id)
                             | (ReportUpload.batch.is_null() & ReportUpload.id.in_(paid_it)))
                            & (ReportUpload.company == batch.company_id) & (ReportUpload.status == UPLOAD_APPLIED))
                     .order_by(ReportUpload.applied_at.desc(), ReportUpload.id.desc()))
            assert [u.id for u in shown] == [u.id for u in every]
            assert shown[0].id == remittance.id and len(shown) == 2 and shown[1].batch_id == batch.id
            assert shown[0].counts_text.startswith("1 row for this batch")
