"""The access matrix: every route of the url_map × every role × own/other tenant.

Routes are discovered from the app, not listed here, so a new route is checked the
moment it exists. A route whose view carries no `access` mark (set by the decorators
in webapp/permissions.py) fails, and so does a URL parameter this file does not know:
add it to PARAMS below, with the object of a tenant it names.

Expectations, per route and HTTP method:
- anonymous: the login wall (302 to /login; 401 with HX-Redirect for htmx);
- a signed-in role without the permission: 403 (on another tenant's object 403 or 404:
  the role gate answers before the object is looked up, and reveals nothing);
- an allowed role asking for another tenant's object: 404, never 403 or 200;
- an allowed role on its own tenant's object: served (not 401/403/404/405, not 5xx,
  not the login wall). POSTs carry no form data, so 400/409/422 and redirects are fine.
"""
import datetime
import functools
import hashlib
import io
import json
import uuid
import zipfile

import pytest
from peewee import fn

from tests.conftest import DEMO_USERS
from tests.conftest import PASSWORD
from tests.helpers import TWO_FACTOR_SECRETS
from tests.helpers import recovery_codes
from webapp import create_app
from webapp.database import connection
from webapp.models import BATCH_READY
from webapp.models import FINANCED
from webapp.models import INFO_NOA
from webapp.models import MANAGER_ROLES
from webapp.models import REPORT_PAYMENT
from webapp.models import REPORT_PURCHASE
from webapp.models import ROLE_SUPPORT
from webapp.models import ROLE_USER
from webapp.models import UPLOAD_APPLIED
from webapp.models import Batch
from webapp.models import BatchLoad
from webapp.models import Company
from webapp.models import Customer
from webapp.models import ExportJob
from webapp.models import Factor
from webapp.models import ImportantInfo
from webapp.models import Load
from webapp.models import LoadDocument
from webapp.models import LoadLine
from webapp.models import Payment
from webapp.models import ReportUpload
from webapp.models import StoredFile
from webapp.models import Subsidiary
from webapp.models import SubsidiaryFactor
from webapp.models import User
from webapp.models import utcnow
from webapp.permissions import accessible_companies
from webapp.services.auth import start_session

# URL parameter -> (names a tenant's object?, how to get its value from a tenant's objects).
# A route with a parameter missing here fails: add it, with what it names.
PARAMS = {
    "load_id": (True, lambda o: o["load"].id),
    "subsidiary_id": (True, lambda o: o["subsidiary"].id),
    "customer_id": (True, lambda o: o["customer"].id),
    "user_id": (True, lambda o: o["user"].id),
    "batch_id": (True, lambda o: o["batch"].id),
    "upload_id": (True, lambda o: o["upload"].id),
    "info_id": (True, lambda o: o["info"].id),
    "document_id": (True, lambda o: o["document"].id),
    "payment_id": (True, lambda o: o["payment"].id),
    "factor_id": (True, lambda o: o["factor"].id),
    # An emailed link's token names no tenant object: a made-up one (refused as not valid).
    "token": (False, lambda o: "not-a-real-token"),
    # An export's list and file type name no tenant object: the loads, as CSV.
    "what": (False, lambda o: "loads"),
    "fmt": (False, lambda o: "csv"),
    # A big export's job: one of the tenant's, asked by its user (make_objects makes none).
    "job_id": (True, lambda o: _export_job(o["user"])),
}


def _export_job(user):
    """The id of a new export job (waiting) of USER's company, asked by USER."""
    with connection():
        return ExportJob.create(company=user.company_id, user=user.id, what="loads", fmt="csv", key="matrix").id

ACCESS_LEVELS = ("public", "user", "manager", "support", "billing")
# Signed-in roles: the demo users, plus Support after switching to Other Carrier Co.
ROLES = ("admin", "billing", "dispatch", "partner", "support", "support-switched", "other")
SKIPPED_METHODS = {"HEAD", "OPTIONS"}


def _discover():
    """(rule, endpoint, method) for every rule of a freshly built app, static aside."""
    app = create_app({"TESTING": True, "SECRET_KEY": "collect", "QUEUE_URL": "immediate",
                      "DATABASE_URL": "sqlite:///:memory:"})
    cases = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        if rule.endpoint == "static" or rule.endpoint.endswith(".static"):
            continue  # files from a static folder: public by nature
        for method in sorted(rule.methods - SKIPPED_METHODS):
            cases.append(pytest.param(rule.rule, rule.endpoint, method,
                                      id=f"{method} {rule.rule} ({rule.endpoint})"))
    return cases


ROUTES = _discover()


# --- objects owned by a tenant --------------------------------------------------------

def _stored(company, filename, content_type, data):
    return StoredFile.create(company=company, filename=filename, content_type=content_type,
                             size=len(data), sha256=hashlib.sha256(data).hexdigest(), data=data)


@functools.cache
def _tiny_pdf():
    from pypdf import PdfWriter
    writer = PdfWriter()
    writer.add_blank_page(width=612, height=792)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def make_objects(company):
    """One of every kind of tenant object, all of COMPANY, linked as in real use.

    A Financed load in a submitted batch, with its line, a proof of delivery, an applied
    Purchase Report, a partial payment from an applied Payment Report; a subsidiary with a
    Notice of Assignment, sold to a factor (the batch's); a customer; a user.
    """
    tag = uuid.uuid4().hex[:8]
    today = datetime.date.today()
    amount = 1_650_00
    sub = Subsidiary.create(company=company, name=f"Matrix Sub {tag}", legal_name=f"Matrix Sub {tag} LLC",
                            mc_number="MC-1000001", usdot_number="2000002", address_line1="1 Test Way",
                            city="Dallas", state="TX", postal_code="75201")
    info = ImportantInfo.create(subsidiary=sub, kind=INFO_NOA,
                                text="NOTICE OF ASSIGNMENT\nPay Capital Depot only.")
    factor = Factor.create(company=company, name=f"Matrix Factor {tag}", advance_bp=9750, fee_bp=250)
    SubsidiaryFactor.create(subsidiary=sub, factor=factor, from_date=today)
    customer = Customer.create(company=company, name=f"Matrix Customer {tag}", mc_number="MC-3000003",
                               city="Memphis", state="TN", payment_terms_days=30)
    user = User.create(email=f"matrix-{tag}@example.test", name="Matrix Person", role=ROLE_USER,
                       company=company, password_hash="!unusable")
    number = (Batch.select(fn.MAX(Batch.number)).where(Batch.company == company).scalar() or 0) + 1
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as zf:
        zf.writestr("schedule.csv", "Invoice Number,Amount\n")
    batch_file = _stored(company, f"batch-{number}.zip", "application/zip", zipped.getvalue())
    batch = Batch.create(company=company, subsidiary=sub, factor=factor, number=number, status=BATCH_READY,
                         progress_done=1, progress_total=1, load_count=1, total_cents=amount,
                         completed_at=utcnow(), file=batch_file, file_name=batch_file.filename,
                         file_sha256=batch_file.sha256)
    load = Load.create(company=company, subsidiary=sub, customer=customer, load_number=f"MX-{tag}",
                       invoice_number=f"INV-MX-{tag}", invoice_date=today, pickup_city="Dallas",
                       pickup_state="TX", pickup_date=today, delivery_city="Memphis",
                       delivery_state="TN", delivery_date=today, total_cents=amount,
                       billing_status=FINANCED, batch=batch, purchase_date=today,
                       purchase_amount_cents=amount, advance_cents=amount - 50_00, fee_cents=50_00,
                       reserve_cents=0, paid_cents=500_00)
    LoadLine.create(load=load, kind="linehaul", description="Linehaul", amount_cents=amount)
    BatchLoad.create(batch=batch, load=load, amount_cents=amount, invoice_number=load.invoice_number)
    document = LoadDocument.create(load=load, kind="pod",
                                   file=_stored(company, "pod.pdf", "application/pdf", _tiny_pdf()))
    purchase_csv = (f"Invoice Number,Load Number,Purchase Date,Invoice Amount,Advance Amount,Fee Amount\n"
                    f"{load.invoice_number},{load.load_number},{today},16500.00,16000.00,50.00\n").encode()
    upload = ReportUpload.create(company=company, batch=batch, kind=REPORT_PURCHASE, status=UPLOAD_APPLIED,
                                 file=_stored(company, "Purchase_Report.csv", "text/csv", purchase_csv),
                                 filename="Purchase_Report.csv", sha256=hashlib.sha256(purchase_csv).hexdigest(),
                                 applied_at=utcnow(), row_count=1, summary=json.dumps({"purchased": 1}))
    payment_csv = (f"Invoice Number,Payment Date,Amount Paid,Reference,Payment Method,Final\n"
                   f"{load.invoice_number},{today},500.00,ACH-{tag},ACH,no\n").encode()
    payment_upload = ReportUpload.create(
        company=company, batch=batch, kind=REPORT_PAYMENT, status=UPLOAD_APPLIED,
        file=_stored(company, "Payments_Report.csv", "text/csv", payment_csv),
        filename="Payments_Report.csv", sha256=hashlib.sha256(payment_csv).hexdigest(),
        applied_at=utcnow(), row_count=1, summary=json.dumps({"payments": 1}))
    payment = Payment.create(company=company, load=load, upload=payment_upload, row_number=2,
                             payment_date=today, amount_cents=500_00, reference=f"ACH-{tag}",
                             method="ACH", final=False)
    return {"subsidiary": sub, "info": info, "customer": customer, "user": user, "batch": batch,
            "load": load, "document": document, "upload": upload, "payment": payment, "factor": factor}


# --- signing in -----------------------------------------------------------------------

# Session contents per demo user, captured once through the real login form and reused:
# every test database is a copy of one template, so the user ids do not change.
_SESSIONS = {}


def _signed_in_client(app, role, companies):
    """A test client signed in as ROLE (see ROLES)."""
    client = app.test_client()
    who = "support" if role == "support-switched" else role
    if who not in _SESSIONS:
        response = client.post("/login", data={"email": DEMO_USERS[who], "password": PASSWORD})
        if who in TWO_FACTOR_SECRETS:  # the second step: a recovery code
            response = client.post("/login/code", data={"code": recovery_codes(who)[0]})
        assert response.status_code == 302, f"{who} could not sign in ({response.status_code})"
        assert not response.headers["Location"].startswith("/login"), f"{who} was not signed in"
        with client.session_transaction() as sess:
            _SESSIONS[who] = dict(sess)
    with client.session_transaction() as sess:
        sess.clear()
        sess.update(_SESSIONS[who])
        # Sessions end on the server, and each test has its own database: open this one's.
        sess["_user_id"] = _open_session(app, who)
        if role == "support-switched":
            sess["company_id"] = companies["Other Carrier Co"].id
    return client


def _open_session(app, who):
    """A server-side session for WHO in APP's database (as the login form opens one); its id."""
    opened = app.extensions.setdefault("matrix_sessions", {})
    if who not in opened:
        with app.app_context(), connection():
            user = User.get(User.email == DEMO_USERS[who])
            start_session(user, ip="127.0.0.1", user_agent="", lifetime_hours=1)
            opened[who] = user.get_id()
    return opened[who]


def _role_facts(role, companies):
    """(user, own company, other company) for ROLE."""
    who = "support" if role == "support-switched" else role
    user = User.get(User.email == DEMO_USERS[who])
    if role == "support-switched":
        own = companies["Other Carrier Co"]
    elif user.company_id:
        own = user.company
    else:
        own = accessible_companies(user).first()
    other = companies["Other Carrier Co"] if own.name == "Demo Trucking" else companies["Demo Trucking"]
    return user, own, other


def _allowed(access, user):
    if access in ("public", "user"):
        return True
    if access == "manager":
        return user.role in MANAGER_ROLES
    if access == "support":
        return user.role == ROLE_SUPPORT
    return bool(user.billing)  # billing


# --- expectations ---------------------------------------------------------------------

def _describe(response):
    where = response.headers.get("Location") or response.headers.get("HX-Redirect") or ""
    return f"{response.status_code}{' -> ' + where if where else ''}"


def _to_login(location):
    return (location or "").split("?")[0].rstrip("/").endswith("/login")


def _expect_login_wall(response, htmx):
    if htmx:
        assert response.status_code == 401 and _to_login(response.headers.get("HX-Redirect")), (
            f"expected 401 with HX-Redirect to /login, got {_describe(response)}")
        assert b"<form" not in response.data, "a whole login page was sent to an htmx request"
    else:
        assert response.status_code == 302 and _to_login(response.headers.get("Location")), (
            f"expected a redirect to /login, got {_describe(response)}")


def _expect_served(response):
    code = response.status_code
    assert code < 500, f"server error {code}"
    assert code not in (401, 403, 404, 405), f"expected to be served, got {_describe(response)}"
    assert not (300 <= code < 400 and _to_login(response.headers.get("Location"))), (
        f"expected to be served, got the login wall {_describe(response)}")


def _expect_answered(response):
    assert response.status_code < 500, f"server error {response.status_code}"
    assert response.status_code not in (401, 403), f"refused: {_describe(response)}"


def _expect(response, codes):
    assert response.status_code in codes, (
        f"expected {' or '.join(map(str, codes))}, got {_describe(response)}")


def _send(client, method, url, htmx=False):
    headers = {"HX-Request": "true"} if htmx else {}
    data = None if method == "GET" else {}
    response = client.open(url, method=method, data=data, headers=headers)
    response.close()
    return response


# --- the matrix -----------------------------------------------------------------------

def route_problem(app, rule, method):
    """Why RULE cannot be checked (no permission decorator, an unknown parameter), or None."""
    where = f"{method} {rule.rule} ({rule.endpoint})"
    if getattr(app.view_functions[rule.endpoint], "access", None) not in ACCESS_LEVELS:
        return (f"{where} has no permission decorator: put one of @public, @login_required, "
                "@manager_required, @billing_required from webapp/permissions.py under its @bp.route.")
    unknown = sorted(set(rule.arguments) - set(PARAMS))
    if unknown:
        return (f"{where} has URL parameter(s) {unknown} that the access matrix does not know: add "
                "them to PARAMS in tests/test_access_matrix.py with the tenant object they name "
                "(or a fixed value if they name none).")
    return None


def test_an_unguarded_route_or_an_unknown_parameter_is_caught(app):
    from webapp.permissions import login_required

    @app.route("/_probe/unguarded")
    def unguarded():
        return "open to all"

    @app.route("/_probe/<int:widget_id>")
    @login_required
    def widget(widget_id):
        return "?"

    rules = {r.endpoint: r for r in app.url_map.iter_rules()}
    assert "no permission decorator" in route_problem(app, rules["unguarded"], "GET")
    assert "['widget_id']" in route_problem(app, rules["widget"], "GET")
    assert route_problem(app, rules["loads.detail"], "GET") is None


def test_every_route_is_checked():
    """Discovery found the routes (a broken discovery must not pass as an empty matrix)."""
    endpoints = {case.values[1] for case in ROUTES}
    assert {"auth.login", "main.index", "health.healthz"} <= endpoints


def test_demo_roles_cover_both_sides_of_every_gate(app):
    """The roles used here include someone allowed and someone refused for each gate."""
    with app.app_context(), connection():
        users = {r: User.get(User.email == e) for r, e in DEMO_USERS.items()}
    assert {u.role in MANAGER_ROLES for u in users.values()} == {True, False}
    assert {bool(u.billing) for u in users.values()} == {True, False}
    assert users["other"].company.name == "Other Carrier Co"


@pytest.mark.parametrize("rule_text, endpoint, method", ROUTES)
def test_route_access(app, rule_text, endpoint, method, subtests):
    """One route and method, for anonymous and every role, on own and other tenant's objects."""
    rule = next((r for r in app.url_map.iter_rules() if r.rule == rule_text and r.endpoint == endpoint),
                None)
    assert rule is not None, f"{rule_text} disappeared between collection and run"
    problem = route_problem(app, rule, method)
    if problem:
        pytest.fail(problem)
    access = app.view_functions[endpoint].access
    tenant_route = any(PARAMS[a][0] for a in rule.arguments)

    def db_work(fn, *args):
        # Outside any request: an app context held across requests would share `g` with them.
        with app.app_context(), connection() as conn, conn.atomic():
            return fn(*args)

    companies = db_work(lambda: {c.name: c for c in Company.select()})
    probes = {}  # company id -> objects for the "not yours" and "not allowed" checks

    def probe(company):
        if company.id not in probes:
            probes[company.id] = db_work(make_objects, company)
        return probes[company.id]

    def url_for_objects(objects):
        values = {a: PARAMS[a][1](objects) for a in rule.arguments}
        return rule.build(values, append_unknown=False)[1]

    anon_url = url_for_objects(probe(companies["Demo Trucking"]) if rule.arguments else {})
    for htmx in (False, True):
        with subtests.test(msg=f"anonymous{' (htmx)' if htmx else ''} {method} {anon_url}"):
            response = _send(app.test_client(), method, anon_url, htmx=htmx)
            if access == "public":
                _expect_answered(response)
            else:
                _expect_login_wall(response, htmx)

    plans = []
    for role in ROLES:
        user, own, other = db_work(_role_facts, role, companies)
        plans.append((role, own, other, _allowed(access, user)))
    # Refused and foreign checks first: they must change nothing.
    for role, own, other, allowed in plans:
        client = _signed_in_client(app, role, companies)
        if tenant_route:
            url = url_for_objects(probe(other))
            with subtests.test(msg=f"{role} {method} another tenant's {url}"):
                _expect(_send(client, method, url), (404,) if allowed else (403, 404))
        if not allowed:
            url = url_for_objects(probe(own)) if rule.arguments else anon_url
            with subtests.test(msg=f"{role} (not allowed: {access}) {method} {url}"):
                _expect(_send(client, method, url), (403,))
    # Allowed roles on their own tenant's objects, each on fresh ones (a POST may delete).
    for role, own, other, allowed in plans:
        if not allowed:
            continue
        client = _signed_in_client(app, role, companies)
        url = url_for_objects(db_work(make_objects, own)) if rule.arguments else anon_url
        with subtests.test(msg=f"{role} {method} own {url}"):
            response = _send(client, method, url)
            # A public page may send a signed-in user elsewhere (/login -> /, /logout -> /login).
            (_expect_answered if access == "public" else _expect_served)(response)
