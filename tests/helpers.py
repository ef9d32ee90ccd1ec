"""What the tests share besides fixtures: the demo world, making a batch, files people write, a snapshot.

In full: the demo world, the one way to make a batch (in any state), report and load-import
files as people write them, the load form, a snapshot of the business tables to prove that
nothing changed, and a count of the queries a block runs.

The fixtures built on these (world, make_batch, a batch in each state) are in tests/conftest.py.
"""
import collections
import contextlib
import datetime
import io
import logging
import os
import signal
import threading

import pytest
from pypdf import PdfWriter
from reportlab.pdfgen import canvas

from webapp import jobs
from webapp.database import connection
from webapp.models import ALL_MODELS
from webapp.models import FACTORING
from webapp.models import UPLOAD_PREVIEW
from webapp.models import Batch
from webapp.models import Company
from webapp.models import Customer
from webapp.models import Load
from webapp.models import Partner
from webapp.models import ReportUpload
from webapp.models import StoredFile
from webapp.models import Subsidiary
from webapp.models import User
from webapp.services import batches
from webapp.services import reports
from webapp.services.batches import batch_file
from webapp.services.money import format_cents
from webapp.services.previews import LOAD_IMPORT
from webapp.services.previews import REPORT
from webapp.services.previews import content_type
from webapp.services.reports.parsing import PAYMENT_COLUMNS
from webapp.services.reports.parsing import PURCHASE_COLUMNS

PASSWORD = "demo-password"
DEMO_USERS = {
    "admin": "admin@demo.test",
    "billing": "billing@demo.test",
    "dispatch": "dispatch@demo.test",
    "partner": "partner@demo.test",
    "support": "support@demo.test",
    "other": "other@demo.test",
}
DATA = os.path.join(os.path.dirname(__file__), "data")
# Two-factor sign-in is required for Support and Partner Admin: the test template enrols the
# demo ones (enrol_demo_two_factor) with these secrets and recovery codes, and the `auth`
# fixture signs them in with a recovery code after the password.
TWO_FACTOR_SECRETS = {"partner": "JBSWY3DPEHPK3PXPPARTNERA", "support": "JBSWY3DPEHPK3PXPSUPPORTA"}


def recovery_codes(who):
    """The ten recovery codes the test template gives demo user WHO."""
    return [f"{who[:4]}-reco-very-{i:04d}" for i in range(10)]


def enrol_demo_two_factor():
    """Turn two-factor sign-in on for the demo users who must have it (in the template)."""
    from webapp.models import RecoveryCode
    from webapp.models import utcnow
    from webapp.services.two_factor import hash_code
    for who, secret in TWO_FACTOR_SECRETS.items():
        user = User.get(User.email == DEMO_USERS[who])
        User.update(two_factor_secret=secret, two_factor_enabled_at=utcnow()).where(User.id == user.id).execute()
        RecoveryCode.insert_many([{"user": user.id, "code_hash": hash_code(code), "created_at": utcnow()}
                                  for code in recovery_codes(who)]).execute()


# --- the demo world ----------------------------------------------------------------------------

class World:
    """The demo data as the tests see it (read inside an open connection): the two tenants, the
    subsidiaries and a user of each role, as they were when the test started."""

    def __init__(self):
        self.company = Company.get(Company.name == "Demo Trucking")
        self.freight = Subsidiary.get((Subsidiary.company == self.company) & (Subsidiary.name == "Demo Freight LLC"))
        self.logistics = Subsidiary.get((Subsidiary.company == self.company)
                                        & (Subsidiary.name == "Demo Logistics Inc"))
        self.other_company = Company.get(Company.name == "Other Carrier Co")
        self.other_sub = Subsidiary.get(Subsidiary.company == self.other_company)
        self.partner_org = Partner.get(Partner.name == "Demo Partner")
        self.admin, self.billing, self.dispatch, self.partner, self.support, self.other = (
            self.user(who) for who in DEMO_USERS)

    def user(self, who):
        """A demo user as the database has it now, by short name ("billing") or email."""
        return User.get(User.email == DEMO_USERS.get(who, who))

    def customer(self, name, company=None):
        """A customer of COMPANY (Demo Trucking) by name, as the database has it now."""
        return Customer.get((Customer.company == (company or self.company)) & (Customer.name == name))

    def eligible(self, n=None, subsidiary=None):
        """Ids of the first N loads of SUBSIDIARY (Demo Freight LLC) that can go to the factor,
        by load number."""
        subsidiary = subsidiary or self.freight
        query = (batches.eligible_loads(Company.get_by_id(subsidiary.company_id), subsidiary)
                 .order_by(Load.load_number))
        if n:
            query = query.limit(n)
        return [load.id for load in query]


# --- batches ------------------------------------------------------------------------------------

# What make_batch can leave a batch in (its docstring says what each means).
BATCH_STATES = ("submitted", "financed", "completed", "failed")

Made = collections.namedtuple("Made", "batch loads")


def submit_batch(company, subsidiary, load_ids, actor):
    """Create a batch and start its job after the commit, as Submit Batch does (in tests the
    immediate queue runs the job at once). Returns the batch as created."""
    batch = batches.create_batch(company, subsidiary, load_ids, actor)
    jobs.start_batch(batch.id)
    return batch


def _render_fails(*args):
    raise RuntimeError("boom")


def make_batch(world, state="submitted", count=3, subsidiary=None):
    """A batch of the first COUNT eligible loads of SUBSIDIARY (Demo Freight LLC) in STATE, through
    the real services (inside an app context and a connection):

    - submitted: Submit Batch and its job; the loads are Invoiced and the file is ready;
    - financed: then a Purchase Report that buys every load (3 % fee, no reserve);
    - completed: then a Payment Report that pays every load in full;
    - failed: the job could not render an invoice ("boom"); the loads stay Queued, reserved.

    The submitter and the uploader are the tenant's Billing user (billing@ or other@demo.test).
    Returns Made(batch, loads), both read back, the loads by load number."""
    assert state in BATCH_STATES, state
    subsidiary = subsidiary or world.freight
    actor = world.other if subsidiary.company_id == world.other_company.id else world.billing
    company = Company.get_by_id(subsidiary.company_id)
    ids = world.eligible(count, subsidiary)
    assert len(ids) == count, "the demo data has fewer eligible loads than asked for"
    with pytest.MonkeyPatch.context() as patch:
        if state == "failed":
            patch.setattr(batch_file, "render_invoice", _render_fails)
        batch = submit_batch(company, subsidiary, ids, actor)
    loads = reload_ids(ids)
    batch = Batch.get_by_id(batch.id)
    if state in ("financed", "completed"):
        apply_report(batch, "purchase", purchase_csv(loads), actor)
    if state == "completed":
        apply_report(batch, "payment", payment_csv(loads), actor)
    return Made(Batch.get_by_id(batch.id), reload(loads))


def reload_ids(load_ids):
    """The loads LOAD_IDS, fresh, in that order."""
    fresh = {x.id: x for x in Load.select().where(Load.id.in_(load_ids))}
    return [fresh[i] for i in load_ids]


def reload(loads):
    """Fresh copies of LOADS, in the same order."""
    return reload_ids([x.id for x in loads])


def apply_report(batch, kind, data, user, name="report.csv"):
    """Preview a report then confirm it, as the upload screen does; the preview must be clean.
    Returns the Preview applied."""
    result = reports.preview(batch, kind, data, user, name)
    assert result.ok, [str(e) for e in result.errors]
    return reports.apply(result.upload, user)


# --- files as people write them -------------------------------------------------------------------

PURCHASE_DATE = datetime.date(2026, 11, 25)


def csv_bytes(headers, rows, *, delimiter=",", newline="\r\n", encoding="utf-8", bom=False):
    """A CSV file as Excel writes it (quotes only where needed)."""
    def cell(value):
        text = "" if value is None else str(value)
        if any(ch in text for ch in (delimiter, '"', "\n", "\r")):
            text = '"' + text.replace('"', '""') + '"'
        return text
    lines = [delimiter.join(cell(h) for h in headers)]
    lines += [delimiter.join(cell(v) for v in row) for row in rows]
    data = (newline.join(lines) + newline).encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def purchase_rows(loads, *, fee_rate=0.03, date=PURCHASE_DATE, status="purchased"):
    """A complete Purchase Report body for LOADS: 100 % minus a flat fee, no reserve (Capital Depot)."""
    rows = []
    for i, load in enumerate(loads):
        fee = round(load.total_cents * fee_rate)
        rows.append([load.invoice_number, load.load_number, date.isoformat(), format_cents(load.total_cents),
                     format_cents(load.total_cents - fee), format_cents(fee), "0.00", status, "",
                     f"CD-{1000 + i}"])
    return rows


def purchase_csv(loads, **kwargs):
    return csv_bytes(PURCHASE_COLUMNS, purchase_rows(loads, **kwargs))


def payment_rows(loads, *, date=datetime.date(2026, 12, 20), amounts=None, final="yes", method="ACH"):
    rows = []
    for i, load in enumerate(loads):
        amount = amounts[i] if amounts else load.total_cents
        rows.append([load.invoice_number, load.load_number, date.isoformat(), format_cents(amount),
                     f"ACH-{7000 + i}", method, "0.00", "0.00", final, ""])
    return rows


def payment_csv(loads, **kwargs):
    return csv_bytes(PAYMENT_COLUMNS, payment_rows(loads, **kwargs))


LOADS_HEADER = ["Load Number", "Invoice Number", "Subsidiary", "Customer", "Linehaul", "Fuel Surcharge",
                "Pickup Date", "Delivery Date"]


def load_row(load="IMP-1", invoice="INV-IMP-1", sub="Demo Freight LLC", customer="Summit Freight Brokerage",
             linehaul="1000.00", fuel="150.00", pickup="11/22/2026", delivery="11/24/2026"):
    """One row of a load-import file under LOADS_HEADER."""
    return [load, invoice, sub, customer, linehaul, fuel, pickup, delivery]


def loads_csv(*rows, header=LOADS_HEADER, sep=",", eol="\n", encoding="utf-8", bom=False):
    """A load-import file as Excel or a portal might write it."""
    return csv_bytes(header, rows, delimiter=sep, newline=eol, encoding=encoding, bom=bom)


def pdf_bytes(pages=1, text_width=612):
    """A PDF of PAGES blank pages, as a scan of a document might be."""
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=text_width, height=792)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# --- the forms ------------------------------------------------------------------------------------

def customer_form(**overrides):
    """The New Customer form filled in (Acme Brokerage, factoring, Net 45)."""
    data = {"name": "Acme Brokerage", "mc_number": "mc-100200", "address_line1": "5 Dock St",
            "city": "Tulsa", "state": "ok", "postal_code": "74103", "payment_terms_days": "45",
            "invoicing_method": FACTORING}
    data.update(overrides)
    return data


LOAD_LINES = [("linehaul", "Linehaul", "$2,450.00"), ("fuel", "", "367.50"), ("accessorial", "", "")]


def load_form(world, **overrides):
    """The New Load form of Demo Trucking filled in (a Demo Freight LLC load for Summit)."""
    form = {
        "subsidiary_id": str(world.freight.id), "customer_id": str(world.customer("Summit Freight Brokerage").id),
        "load_number": "NEW-1", "invoice_number": "INV-NEW-1", "invoice_date": "2026-11-25",
        "customer_reference": "PO-1", "pickup_city": "Dallas", "pickup_state": "tx",
        "pickup_date": "2026-11-22", "delivery_city": "Memphis", "delivery_state": "TN",
        "delivery_date": "2026-11-24", "invoicing_method": "",
    }
    form.update(overrides)
    return form


def post_form(form, lines):
    """The form as the browser posts it: the line rows as parallel lists."""
    data = dict(form)
    data["line_kind"] = [k for k, _, _ in lines]
    data["line_description"] = [d for _, d, _ in lines]
    data["line_amount"] = [a for _, _, a in lines]
    return data


# --- "nothing changed" ----------------------------------------------------------------------------

# The business's tables: people and their sign-ins aside (signing in writes to those).
PEOPLE_MODELS = {"User", "LoginAttempt", "LoginRefusal", "UserSession"}
BUSINESS_MODELS = [model for model in ALL_MODELS if model.__name__ not in PEOPLE_MODELS]
_KEPT_FOR_PREVIEW = [content_type(purpose) for purpose in (LOAD_IMPORT, REPORT)]


def snapshot(previews=True):
    """Every row of the business tables, to compare before and after what must change nothing.

    previews=False leaves out what a preview may keep: a report upload waiting for its
    confirmation, and the file kept for a preview (unless it is an applied upload's)."""
    rows = {}
    for model in BUSINESS_MODELS:
        query = model.select().order_by(model._meta.primary_key)
        if not previews and model is ReportUpload:
            query = query.where(ReportUpload.status != UPLOAD_PREVIEW)
        if not previews and model is StoredFile:
            applied = ReportUpload.select(ReportUpload.file).where(ReportUpload.status != UPLOAD_PREVIEW)
            query = query.where(StoredFile.content_type.not_in(_KEPT_FOR_PREVIEW) | StoredFile.id.in_(applied))
        rows[model._meta.table_name] = [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)
                                        for row in query.tuples()]
    return rows


# --- outside a request, at once, counted ----------------------------------------------------------

@contextlib.contextmanager
def in_db(app):
    """The app's context and a connection of its own, to read or change rows outside a request
    (never around one: the request would share the context's `g`)."""
    with app.app_context(), connection():
        yield


def at_once(functions, each=contextlib.nullcontext, timeout=60):
    """Run FUNCTIONS each in a thread of its own, released together once every thread has entered
    EACH() (its own connection, say); their results, or the exception each raised, in order."""
    barrier = threading.Barrier(len(functions))
    results = [None] * len(functions)

    def run(index, function):
        try:
            with each():
                barrier.wait(timeout=30)
                results[index] = function()
        except BaseException as exc:  # handed back: the test says what it expects of each
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i, f)) for i, f in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in threads), f"a thread did not finish in {timeout} s"
    return results


def start_consumer(huey, workers=2):
    """A Huey consumer of HUEY in threads of this process, polling fast, started. The signal
    handlers it installs are put back, so that Ctrl-C still stops pytest."""
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    consumer = huey.create_consumer(workers=workers, worker_type="thread", periodic=False,
                                    initial_delay=0.05, max_delay=0.2)
    consumer.start()
    for sig, handler in saved.items():
        signal.signal(sig, handler)
    return consumer


class count_queries:
    """Count the SQL statements peewee runs inside the block (its DEBUG log, one line each)."""

    def __enter__(self):
        self.count = 0
        self._logger = logging.getLogger("peewee")
        self._level = self._logger.level
        self._handler = logging.Handler()
        self._handler.emit = self._seen
        self._logger.addHandler(self._handler)
        self._logger.setLevel(logging.DEBUG)
        return self

    def _seen(self, record):
        self.count += 1

    def __exit__(self, *exc):
        self._logger.removeHandler(self._handler)
        self._logger.setLevel(self._level)


# --- unsaved records for drawing invoices, and PDFs with text ----------------------------------

INVOICE_DAY = datetime.date(2026, 11, 20)


def invoice_subsidiary(**kw):
    """Demo Freight LLC as an unsaved Subsidiary, for drawing an invoice without a database."""
    values = dict(name="Demo Freight LLC", legal_name="Demo Freight LLC", mc_number="MC-1234567",
                  usdot_number="3456789", address_line1="2100 Logistics Pkwy", city="Fort Worth",
                  state="TX", postal_code="76177", phone="(817) 555-0100", email="billing@demofreight.example")
    values.update(kw)
    return Subsidiary(**values)


def invoice_customer(**kw):
    """A debtor as an unsaved Customer."""
    values = dict(name="Summit Freight Brokerage", mc_number="MC-482913", address_line1="1200 Commerce St",
                  city="Dallas", state="TX", postal_code="75202", payment_terms_days=30)
    values.update(kw)
    return Customer(**values)


def invoice_load(**kw):
    """A delivered load as an unsaved Load."""
    values = dict(load_number="DT-1005", invoice_number="INV-DT-5005", invoice_date=INVOICE_DAY,
                  customer_reference="PO-448812", pickup_city="Dallas", pickup_state="TX",
                  pickup_date=INVOICE_DAY - datetime.timedelta(days=2), delivery_city="Memphis",
                  delivery_state="TN", delivery_date=INVOICE_DAY, total_cents=318250)
    values.update(kw)
    return Load(**values)


def text_pdf(pages=1, label="Proof of delivery page"):
    """A PDF of PAGES pages, each with a line of text ("LABEL 1", "LABEL 2", ...)."""
    out = io.BytesIO()
    c = canvas.Canvas(out, invariant=1)
    for n in range(pages):
        c.drawString(72, 720, f"{label} {n + 1}")
        c.showPage()
    c.save()
    return out.getvalue()
