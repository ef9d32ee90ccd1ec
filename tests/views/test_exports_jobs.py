"""The export addresses and a big export's page (webapp/reports/exports.py): a list within the
bound downloads at once; a bigger one sends the clerk to its job's page, which follows the job
(htmx every second) and then offers the file; a failure says why and offers Try again; another
company's job is not found; Your exports lists the signed-in user's own."""
import csv
import io

import pytest

from tests.helpers import in_db
from tests.views.test_templates_run_no_queries import queries_while_rendering
from webapp.models import EXPORT_FAILED
from webapp.models import EXPORT_RUNNING
from webapp.models import ExportJob
from webapp.models import Load
from webapp.services import exports

HX = {"HX-Request": "true"}


@pytest.fixture
def app(app):
    """The app with a bound of 2 rows: every demo list is big."""
    app.config["EXPORT_JOB_ROWS"] = 2
    return app


def _job_id(response):
    assert response.status_code == 303, response.status_code
    return int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])


def _rows(data):
    return list(csv.reader(io.StringIO(data.decode("utf-8").lstrip("\ufeff"))))


def test_a_list_within_the_bound_downloads_at_once(app, client, auth, world):
    app.config["EXPORT_JOB_ROWS"] = 10_000
    auth.login("billing")
    response = client.get("/reports/exports/loads.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert 'filename="loads.csv"' in response.headers["Content-Disposition"]
    rows = _rows(response.data)
    response.close()  # a streamed answer holds its request's context until closed
    with in_db(app):
        assert len(rows) - 1 == Load.select().where(Load.company == world.company.id).count()
        assert ExportJob.select().count() == 0


def test_a_big_list_becomes_a_job_whose_page_offers_the_file(app, client, auth, world):
    auth.login("billing")
    job_id = _job_id(client.get(f"/reports/exports/loads.csv?subsidiary={world.freight.id}"))
    page = client.get(f"/reports/exports/{job_id}").get_data(as_text=True)  # the immediate queue made it
    assert 'data-state="ready"' in page and "loads.csv is ready:" in page and "Download loads.csv" in page
    assert "hx-trigger" not in page  # nothing left to follow
    response = client.get(f"/reports/exports/{job_id}/file")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert int(response.headers["Content-Length"]) == len(response.data)
    with in_db(app):
        job = ExportJob.get_by_id(job_id)
        assert len(_rows(response.data)) - 1 == job.rows_total == Load.select().where(
            Load.subsidiary == world.freight.id).count()
    again = _job_id(client.get(f"/reports/exports/loads.csv?subsidiary={world.freight.id}"))
    assert again != job_id  # a finished export is not reused: the list may have changed


def test_the_page_follows_a_running_job_every_second(app, client, auth, world):
    auth.login("billing")
    job_id = _job_id(client.get("/reports/exports/loads.xlsx"))
    with in_db(app):
        ExportJob.update(status=EXPORT_RUNNING, rows_done=45_000, rows_total=160_000, file=None,
                         filename="loads.xlsx").where(ExportJob.id == job_id).execute()
    fragment = client.get(f"/reports/exports/{job_id}", headers=HX).get_data(as_text=True)
    assert 'id="export-state"' in fragment
    assert "Preparing loads.xlsx: 45,000 of 160,000 rows" in fragment
    assert 'hx-trigger="every 1s"' in fragment and f'hx-get="/reports/exports/{job_id}"' in fragment
    assert "<html" not in fragment
    page = client.get(f"/reports/exports/{job_id}").get_data(as_text=True)
    assert "<html" in page and "Check again" in page  # without JavaScript, a link to look again
    assert client.get(f"/reports/exports/{job_id}/file").status_code == 303  # not ready: its page


def test_a_failed_export_says_why_and_tries_again(app, client, auth, world):
    auth.login("billing")
    job_id = _job_id(client.get("/reports/exports/loads.csv?method=email"))
    with in_db(app):
        ExportJob.update(status=EXPORT_FAILED, error="The disk was full.").where(ExportJob.id == job_id).execute()
    page = client.get(f"/reports/exports/{job_id}").get_data(as_text=True)
    assert 'data-state="failed"' in page and "The disk was full." in page and "Try again" in page
    fragment = client.post(f"/reports/exports/{job_id}/retry", headers=HX).get_data(as_text=True)
    assert 'data-state="ready"' in fragment and "Try again" not in fragment
    response = client.post(f"/reports/exports/{job_id}/retry")  # not failed any more: nothing to do
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/reports/exports/{job_id}")


def test_a_batchs_loads_and_another_companys_objects(app, client, auth, world, make_batch):
    batch, loads = make_batch("submitted")
    other, _ = make_batch("submitted", subsidiary=world.other_sub)
    auth.login("billing")
    job_id = _job_id(client.get(f"/reports/exports/batches/{batch.id}/loads.csv"))
    data = client.get(f"/reports/exports/{job_id}/file").data
    assert {row[0] for row in _rows(data)[1:]} == {load.load_number for load in loads}
    assert client.get(f"/reports/exports/batches/{other.id}/loads.csv").status_code == 404
    assert client.get("/reports/exports/nothing.csv").status_code == 404
    assert client.get("/reports/exports/loads.pdf").status_code == 404
    auth.logout()
    auth.login("other")
    for url in (f"/reports/exports/{job_id}", f"/reports/exports/{job_id}/file"):
        assert client.get(url).status_code == 404
    assert client.post(f"/reports/exports/{job_id}/retry").status_code == 404


def test_your_exports_lists_your_own(app, client, auth, world):
    auth.login("billing")
    mine = _job_id(client.get("/reports/exports/loads.csv"))
    auth.logout()
    auth.login("admin")
    theirs = _job_id(client.get("/reports/exports/loads.xlsx"))
    page = client.get("/reports/exports/").get_data(as_text=True)
    assert f'href="/reports/exports/{theirs}"' in page and f'href="/reports/exports/{mine}"' not in page


def test_the_export_pages_run_no_queries_while_rendering(app, client, auth, world):
    auth.login("billing")
    job_id = _job_id(client.get("/reports/exports/loads.csv"))
    for url in (f"/reports/exports/{job_id}", "/reports/exports/"):
        with queries_while_rendering(app) as seen:
            assert client.get(url).status_code == 200
        assert seen == [], f"{url} queried while rendering: {seen}"


def test_an_excel_export_has_a_lower_bound_than_a_csv(app, client, auth, world, monkeypatch):
    """An XLSX is whole before its first byte leaves, a CSV streams at once: each its own bound."""
    app.config["EXPORT_JOB_ROWS"] = None
    with in_db(app):
        loads = Load.select().where(Load.company == world.company.id).count()
    monkeypatch.setitem(exports.JOB_ROWS, "csv", loads)
    monkeypatch.setitem(exports.JOB_ROWS, "xlsx", loads - 1)
    auth.login("billing")
    page = client.get("/reports/exports/").get_data(as_text=True)
    assert f"more than {loads:,} rows as CSV, or {loads - 1:,} as Excel" in page
    response = client.get("/reports/exports/loads.csv")
    assert response.status_code == 200
    response.close()
    assert _job_id(client.get("/reports/exports/loads.xlsx"))
