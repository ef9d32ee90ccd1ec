"""No template runs a query: every page's view hands its template all it shows (the read model
of one service call), so rendering touches the database not once."""
import contextlib
import io

import pytest
from flask import before_render_template
from flask import template_rendered

from tests.helpers import payment_csv
from webapp.models import ReportUpload
from webapp.models import db

PAGES = [
    ("billing", "/"),
    ("billing", "/loads/"),
    ("billing", "/loads/?sort=customer"),
    ("billing", "/loads/new"),
    ("billing", "/loads/import"),
    ("billing", "/customers/"),
    ("billing", "/customers/new"),
    ("billing", "/accounting/factoring-upload/"),
    ("billing", "/reports/factoring/"),
    ("admin", "/management/company-profile/"),
    ("admin", "/users/"),
    ("admin", "/users/new"),
    ("billing", "/account/"),
    ("billing", "/account/two-factor"),
    ("support", "/account/"),
]


@contextlib.contextmanager
def queries_while_rendering(app):
    """The SQL run between the start and the end of each template's rendering."""
    seen, rendering = [], []
    real = db.obj.execute_sql

    def spy(sql, *args, **kwargs):
        if rendering:
            seen.append((rendering[-1], sql))
        return real(sql, *args, **kwargs)

    def started(sender, template, context, **extra):
        rendering.append(template.name)

    def finished(sender, template, context, **extra):
        rendering.pop()

    db.obj.execute_sql = spy
    before_render_template.connect(started, app)
    template_rendered.connect(finished, app)
    try:
        yield seen
    finally:
        db.obj.execute_sql = real
        before_render_template.disconnect(started, app)
        template_rendered.disconnect(finished, app)


@pytest.mark.parametrize("who,path", PAGES)
def test_a_page_renders_without_a_query(app, client, auth, who, path):
    auth.login(who)
    with queries_while_rendering(app) as seen:
        response = client.get(path)
    assert response.status_code == 200, path
    assert seen == [], seen


def test_the_pages_of_a_batch_a_load_and_an_upload_render_without_a_query(app, client, auth, completed_batch):
    auth.login("billing")
    batch, load = completed_batch.batch, completed_batch.loads[0]
    with app.app_context(), db.connection_context():
        upload = ReportUpload.select().where(ReportUpload.batch == batch.id).order_by(ReportUpload.id).first()
    paths = [f"/reports/factoring/batches/{batch.id}", f"/loads/{load.id}", f"/loads/{load.id}/edit",
             f"/reports/factoring/uploads/{upload.id}"]
    for path in paths:
        with queries_while_rendering(app) as seen:
            response = client.get(path, follow_redirects=True)
        assert response.status_code == 200, path
        assert seen == [], (path, seen)


def test_a_report_preview_renders_without_a_query(app, client, auth, financed_batch):
    auth.login("billing")
    data = payment_csv(financed_batch.loads)
    sent = client.post(f"/reports/factoring/batches/{financed_batch.batch.id}/payment-report",
                       data={"file": (io.BytesIO(data), "Payments_Report.csv")}, content_type="multipart/form-data")
    assert sent.status_code == 303
    with queries_while_rendering(app) as seen:
        response = client.get(sent.headers["Location"])
    assert response.status_code == 200 and b"Confirm" in response.data
    assert seen == [], seen
