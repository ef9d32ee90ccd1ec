"""Demo data: two tenants, a partner, six users, each tenant's Capital Depot factor, customers and loads in every status.

Idempotent: each row is looked up by its natural key before it is created, so
running the seed twice duplicates nothing.
"""
import contextlib
import datetime
import hashlib
import io
import random

from reportlab.pdfgen import canvas

from webapp.models import BATCH_FORMAT_CAPITAL_DEPOT_ZIP
from webapp.models import COMPLETED
from webapp.models import DIRECT
from webapp.models import FACTORING
from webapp.models import FEE_FLAT
from webapp.models import INFO_NOA
from webapp.models import QUEUED
from webapp.models import REPORT_PAYMENT
from webapp.models import REPORT_PURCHASE
from webapp.models import ROLE_ADMIN
from webapp.models import ROLE_PARTNER_ADMIN
from webapp.models import ROLE_SUPPORT
from webapp.models import ROLE_USER
from webapp.models import Batch
from webapp.models import Company
from webapp.models import Customer
from webapp.models import Factor
from webapp.models import ImportantInfo
from webapp.models import Load
from webapp.models import LoadDocument
from webapp.models import LoadLine
from webapp.models import Partner
from webapp.models import StoredFile
from webapp.models import Subsidiary
from webapp.models import SubsidiaryFactor
from webapp.models import User
from webapp.models import db
from webapp.services import batches
from webapp.services import ledger
from webapp.services import reports
from webapp.services.auth import hash_password
from webapp.services.money import format_cents
from webapp.services.reports.parsing import COLUMNS
from webapp.services.tables import write_csv

DEMO_PASSWORD = "demo-password"

CAPITAL_DEPOT_NOA = """NOTICE OF ASSIGNMENT

This invoice has been assigned and sold to, and is payable only to:

    Capital Depot Funding, LLC
    P.O. Box 4410
    Dallas, TX 75208
    Phone (214) 555-0142 · remit@capitaldepot.example

Payment to any other party will not discharge your obligation. Please update
your records and direct all payments and questions about this invoice to
Capital Depot. This notice may be revoked only in writing by Capital Depot."""

# Capital Depot's terms (DOMAIN.md): 100 % of face less a flat fee (2.5 %, as the demo's
# purchase reports say), no reserve, non-recourse; it wants the rate confirmation and the POD.
CAPITAL_DEPOT = dict(
    name="Capital Depot",
    remit_to="Capital Depot Funding, LLC\nP.O. Box 4410\nDallas, TX 75208",
    submission_email="batches@capitaldepot.example",
    advance_bp=9750, fee_kind=FEE_FLAT, fee_bp=250, reserve_bp=0, recourse_days=0,
    requires_rate_confirmation=True, requires_proof_of_delivery=True,
    batch_format=BATCH_FORMAT_CAPITAL_DEPOT_ZIP, attachment_limit_mb=20, active=True,
)
# The demo subsidiaries sell to Capital Depot from this many days before the seed's day.
FACTOR_SINCE_DAYS = 365

CUSTOMERS = [
    ("Summit Freight Brokerage", "MC-482913", "1200 Commerce St", "Dallas", "TX", "75202", 30, FACTORING),
    ("Blue Ridge Logistics", "MC-771204", "88 Peachtree Ave", "Atlanta", "GA", "30303", 30, FACTORING),
    ("Great Lakes Shippers Co", "MC-390155", "455 Wacker Dr", "Chicago", "IL", "60606", 45, FACTORING),
    ("Pacific Coast Produce", "MC-615880", "19 Harbor Way", "Oakland", "CA", "94607", 30, FACTORING),
    ("Lone Star Building Supply", "", "700 Main St", "Houston", "TX", "77002", 60, FACTORING),
    ("Midwest Grain Cooperative", "MC-208447", "12 Elevator Rd", "Omaha", "NE", "68102", 30, DIRECT),
    ("Hernández & Söhne Imports", "MC-559031", "3 Rue du Port", "Laredo", "TX", "78040", 30, FACTORING),
]

LANES = [
    ("Dallas", "TX", "Memphis", "TN"), ("Atlanta", "GA", "Charlotte", "NC"),
    ("Chicago", "IL", "Columbus", "OH"), ("Oakland", "CA", "Phoenix", "AZ"),
    ("Houston", "TX", "New Orleans", "LA"), ("Omaha", "NE", "Denver", "CO"),
    ("Laredo", "TX", "San Antonio", "TX"), ("Nashville", "TN", "Louisville", "KY"),
]


def _get_or_create(model, where, **values):
    row = model.get_or_none(where)
    if row is None:
        row = model.create(**values)
    return row


def _user(email, name, role, *, company=None, partner=None, billing=False):
    if User.get_or_none(User.email == email) is None:
        User.create(email=email, name=name, role=role, company=company, partner=partner,
                    billing=billing, password_hash=hash_password(DEMO_PASSWORD))


def _subsidiary(company, values):
    """The subsidiary of COMPANY named in VALUES, created with VALUES when missing."""
    return _get_or_create(Subsidiary, (Subsidiary.company == company) & (Subsidiary.name == values["name"]),
                          company=company, **values)


def _factor(company, subsidiaries, since):
    """Capital Depot for COMPANY, each of SUBSIDIARIES assigned to it from SINCE (unless it has a
    factor already)."""
    factor = _get_or_create(Factor, (Factor.company == company) & (Factor.name == CAPITAL_DEPOT["name"]),
                            company=company, **CAPITAL_DEPOT)
    for sub in subsidiaries:
        _get_or_create(SubsidiaryFactor, SubsidiaryFactor.subsidiary == sub,
                       subsidiary=sub, factor=factor, from_date=since)
    return factor


def line_items(rng, n):
    """The line items of the Nth demo load: linehaul, fuel surcharge, now and then accessorials
    (the benchmark's dataset draws its loads the same way)."""
    linehaul = rng.randrange(900_00, 4200_00, 25_00)
    lines = [("linehaul", "Linehaul", linehaul), ("fuel", "Fuel surcharge", linehaul * rng.choice((12, 15, 18)) // 100)]
    if n % 5 == 0:
        lines.append(("accessorial", "Detention (2 h)", 150_00))
    if n % 7 == 0:
        lines.append(("accessorial", "Lumper", 85_00))
    return lines


def _customers(company, specs):
    out = []
    for name, mc, addr, city, state, zip_, terms, method in specs:
        out.append(_get_or_create(
            Customer, (Customer.company == company) & (Customer.name == name),
            company=company, name=name, mc_number=mc, address_line1=addr, city=city,
            state=state, postal_code=zip_, payment_terms_days=terms, invoicing_method=method))
    return out


def _loads(company, prefix, subsidiaries, customers, count, rng, today):
    """COUNT loads numbered PREFIX-1001...; statuses spread, most Queued factoring."""
    existing = {n for (n,) in Load.select(Load.load_number).where(Load.company == company).tuples()}
    for i in range(count):
        number = f"{prefix}-{1001 + i}"
        if number in existing:
            continue
        customer = customers[i % len(customers)]
        sub = subsidiaries[0] if i % 4 else subsidiaries[-1]
        # Factoring loads start Queued; seed_history() sends some through the factor.
        # A few direct-billed loads were paid by the customer outside Factor Desk.
        status = QUEUED
        if customer.invoicing_method == DIRECT and i % 10 >= 8:
            status = COMPLETED
        p_city, p_state, d_city, d_state = LANES[i % len(LANES)]
        delivered = today - datetime.timedelta(days=1 + (i * 7) % 40)
        lines = line_items(rng, i)
        total = sum(a for _, _, a in lines)
        load = Load.create(
            company=company, subsidiary=sub, customer=customer, load_number=number,
            invoice_number=f"INV-{prefix}-{5001 + i}", invoice_date=delivered,
            customer_reference=f"PO-{rng.randrange(100000, 999999)}",
            pickup_city=p_city, pickup_state=p_state,
            pickup_date=delivered - datetime.timedelta(days=2),
            delivery_city=d_city, delivery_state=d_state, delivery_date=delivered,
            total_cents=total, invoicing_method=customer.invoicing_method, billing_status=status)
        LoadLine.insert_many([
            {"load": load, "kind": k, "description": d, "amount_cents": a, "position": n}
            for n, (k, d, a) in enumerate(lines)]).execute()
        if load.invoicing_method == FACTORING:
            # The factor wants both behind each invoice; every twelfth load still waits for
            # its proof of delivery, so Factoring Upload shows the paperwork check.
            kinds = ("rate_confirmation",) if i % 12 == 11 else ("rate_confirmation", "pod")
            _paperwork(load, kinds)


_PAPER_TITLES = {"rate_confirmation": "Rate confirmation", "pod": "Proof of delivery (signed BOL)"}


def _paperwork(load, kinds):
    """A one-page PDF of each of KINDS kept with LOAD, as if scanned in."""
    for kind in kinds:
        out = io.BytesIO()
        page = canvas.Canvas(out, invariant=1)
        page.setFont("Helvetica-Bold", 16)
        page.drawString(72, 720, f"{_PAPER_TITLES[kind]}: load {load.load_number}")
        page.setFont("Helvetica", 11)
        page.drawString(72, 696, f"{load.pickup_city}, {load.pickup_state} to {load.delivery_city}, "
                                 f"{load.delivery_state}; reference {load.customer_reference}")
        page.showPage()
        page.save()
        data = out.getvalue()
        name = f"{kind.replace('_', '-')}-{load.load_number}.pdf"
        stored = StoredFile.create(company=load.company_id, filename=name, content_type="application/pdf",
                                   size=len(data), sha256=hashlib.sha256(data).hexdigest(), data=data)
        LoadDocument.create(load=load.id, kind=kind, file=stored)


def seed(today=None, history=True):
    """Create the demo tenants, users, customers and loads; safe to run again.

    With HISTORY, some loads also go through past batches and reports (via the
    real services), so Reports > Factoring has something to show.
    """
    rng = random.Random(20261125)
    today = today or datetime.date.today()
    with db.atomic():
        partner = _get_or_create(Partner, Partner.name == "Demo Partner", name="Demo Partner")
        demo = _get_or_create(Company, Company.name == "Demo Trucking", name="Demo Trucking", partner=partner)
        other = _get_or_create(Company, Company.name == "Other Carrier Co", name="Other Carrier Co")

        freight, logistics, other_sub = [_subsidiary(company, values) for company, values in (
            (demo, dict(name="Demo Freight LLC", legal_name="Demo Freight LLC", mc_number="MC-1234567",
                        usdot_number="3456789", address_line1="2100 Logistics Pkwy", city="Fort Worth",
                        state="TX", postal_code="76177", phone="(817) 555-0100",
                        email="billing@demofreight.example")),
            (demo, dict(name="Demo Logistics Inc", legal_name="Demo Logistics Incorporated",
                        mc_number="MC-7654321", usdot_number="9876543", address_line1="45 Warehouse Row",
                        city="Memphis", state="TN", postal_code="38118", phone="(901) 555-0177",
                        email="ar@demologistics.example")),
            (other, dict(name="Other Carrier Transport", legal_name="Other Carrier Transport LP",
                         mc_number="MC-5550001", usdot_number="5550002", address_line1="9 Depot St",
                         city="Tulsa", state="OK", postal_code="74103", phone="(918) 555-0190",
                         email="office@othercarrier.example")))]
        _get_or_create(
            ImportantInfo, (ImportantInfo.subsidiary == freight) & (ImportantInfo.kind == INFO_NOA),
            subsidiary=freight, kind=INFO_NOA, text=CAPITAL_DEPOT_NOA)
        _get_or_create(
            ImportantInfo, (ImportantInfo.subsidiary == other_sub) & (ImportantInfo.kind == INFO_NOA),
            subsidiary=other_sub, kind=INFO_NOA, text=CAPITAL_DEPOT_NOA)

        # Demo Logistics Inc has no NOA yet but sells to Capital Depot too: its batches wait for the NOA.
        since = min(today, datetime.date.today()) - datetime.timedelta(days=FACTOR_SINCE_DAYS)
        _factor(demo, [freight, logistics], since)
        _factor(other, [other_sub], since)

        _user("admin@demo.test", "Avery Admin", ROLE_ADMIN, company=demo, billing=True)
        _user("billing@demo.test", "Blair Billing", ROLE_USER, company=demo, billing=True)
        _user("dispatch@demo.test", "Dana Dispatch", ROLE_USER, company=demo)
        _user("partner@demo.test", "Parker Partner", ROLE_PARTNER_ADMIN, partner=partner, billing=True)
        _user("support@demo.test", "Sam Support", ROLE_SUPPORT)
        _user("other@demo.test", "Olive Other", ROLE_ADMIN, company=other, billing=True)

        demo_customers = _customers(demo, CUSTOMERS)
        other_customers = _customers(other, [
            ("Prairie Wind Brokers", "MC-660112", "1 Plaza", "Wichita", "KS", "67202", 30, FACTORING),
            ("Red River Distribution", "MC-660113", "2 Levee Rd", "Shreveport", "LA", "71101", 30, FACTORING),
            ("Ozark Timber Supply", "", "3 Mill Ln", "Springfield", "MO", "65806", 45, DIRECT),
        ])
        _loads(demo, "DT", [freight, logistics], demo_customers, 72, rng, today)
        _loads(other, "OC", [other_sub], other_customers, 15, rng, today)

    if not history:
        return
    billing = User.get(User.email == "billing@demo.test")
    seed_history(demo, freight, billing, today, stages=("completed", "financed", "invoiced"))
    seed_recourse_history(demo, freight, billing, today)
    seed_history(other, other_sub, User.get(User.email == "other@demo.test"), today,
                 stages=("invoiced",))


# How many loads each past batch takes, and how far it has come with the factor.
_STAGE_SIZES = {"completed": 6, "financed": 6, "invoiced": 4}


def _report(header, rows):
    """CSV bytes of a report as staff would fill it from the factor's portal."""
    return write_csv(header, rows).encode("utf-8")


def seed_history(company, subsidiary, actor, today, stages):
    """Past batches through the real services: submitted, purchased, paid.

    Skipped when the company already has batches, so a second seed adds nothing.
    The oldest eligible loads go first; each stage is one batch.
    """
    if Batch.select().where(Batch.company == company).exists():
        return
    eligible = list(batches.eligible_loads(company, subsidiary)
                    .order_by(Load.delivery_date, Load.id))
    pool = [load for load in eligible if not batches.load_problems([load]).get(load.id)]
    purchased_on = (today - datetime.timedelta(days=12)).isoformat()
    paid_on = (today - datetime.timedelta(days=3)).isoformat()
    for stage in stages:
        chosen, pool = pool[:_STAGE_SIZES[stage]], pool[_STAGE_SIZES[stage]:]
        if not chosen:
            return
        batch = batches.create_batch(company, subsidiary, [l.id for l in chosen], actor)
        batches.run_batch(batch.id)
        batches.mark_sent(batch, actor)  # past batches went to the factor long ago
        if stage == "invoiced":
            continue
        purchase_rows = []
        for n, load in enumerate(chosen):
            fee = load.total_cents * 25 // 1000  # Capital Depot: a flat 2.5 %, no reserve
            status, reason = "purchased", ""
            if stage == "financed" and n == len(chosen) - 1:
                status, reason = "held", "Debtor over its credit limit; waiting for approval"
            purchase_rows.append([
                load.invoice_number, load.load_number, purchased_on, format_cents(load.total_cents),
                format_cents(load.total_cents - fee), format_cents(fee), "0.00", status, reason,
                f"CD-{batch.number:04d}-{n + 1:02d}"])
        _apply(batch, REPORT_PURCHASE, _report(COLUMNS[REPORT_PURCHASE], purchase_rows),
               actor, f"Purchase_Report_batch_{batch.number}.csv")
        if stage != "completed":
            continue
        payment_rows = []
        for n, load in enumerate(chosen):
            paid = load.total_cents - (50_00 if n == 0 else 0)  # one short pay, as in real life
            payment_rows.append([
                load.invoice_number, load.load_number, paid_on, format_cents(paid),
                f"ACH-{700100 + n}", "ACH", "0.00", "0.00", "yes",
                "Short paid: lumper receipt missing" if n == 0 else ""])
        _apply(batch, REPORT_PAYMENT, _report(COLUMNS[REPORT_PAYMENT], payment_rows),
               actor, f"Payments_Report_batch_{batch.number}.csv")


# A recourse factor with a reserve, for the ledger's figures (reserve, recourse, chargebacks).
LONE_STAR = dict(name="Lone Star Funding", remit_to="Lone Star Funding, Inc.\nP.O. Box 2200\nAustin, TX 78768",
                 advance_bp=8700, fee_kind="flat", fee_bp=300, reserve_bp=1000, recourse_days=60,
                 batch_format=BATCH_FORMAT_CAPITAL_DEPOT_ZIP, attachment_limit_mb=20, active=True)


LONE_STAR_NOA = """NOTICE OF ASSIGNMENT

This invoice has been assigned and sold to, and is payable only to:

    Lone Star Funding, Inc.
    P.O. Box 2200
    Austin, TX 78768

Payment to any other party will not discharge your obligation. Direct all payments
and questions about this invoice to Lone Star Funding."""


@contextlib.contextmanager
def _notice_of_the_day(subsidiary, text):
    """SUBSIDIARY's Notice of Assignment reads TEXT for the while: the invoices of a batch sold
    to an earlier factor carry that factor's notice, as they did when they went out."""
    where = (ImportantInfo.subsidiary == subsidiary) & (ImportantInfo.kind == INFO_NOA)
    saved = ImportantInfo.get(where).text
    ImportantInfo.update(text=text).where(where).execute()
    try:
        yield
    finally:
        ImportantInfo.update(text=saved).where(where).execute()


def seed_recourse_history(company, subsidiary, actor, today):
    """A past batch of five invoices sold to a recourse factor with a 10 % reserve (Lone Star
    Funding, before the subsidiary moved to Capital Depot), through the real services, so that
    every figure of the dashboard has something to show: one paid in full with its reserve
    released, one short paid, two still open near and past their recourse deadline, one
    charged back. Skipped when that factor exists already."""
    if Factor.get_or_none((Factor.company == company) & (Factor.name == LONE_STAR["name"])):
        return
    factor = Factor.create(company=company, **LONE_STAR)
    pool = [load for load in batches.eligible_loads(company, subsidiary).order_by(Load.delivery_date, Load.id)
            if not batches.load_problems([load]).get(load.id)][:5]
    if len(pool) < 5:
        return
    # Their invoices went out 50 to 66 days ago (the factor's 60 days of recourse run from them).
    for load, days in zip(pool, (58, 56, 52, 66, 64)):
        Load.update(invoice_date=today - datetime.timedelta(days=days)).where(Load.id == load.id).execute()
    batch = batches.create_batch(company, subsidiary, [x.id for x in pool], actor)
    # Sold to Lone Star: its file names that factor, and its invoices carry Lone Star's notice.
    Batch.update(factor=factor).where(Batch.id == batch.id).execute()
    with _notice_of_the_day(subsidiary, LONE_STAR_NOA):
        batches.run_batch(batch.id)
    batches.mark_sent(batch, actor)
    submitted = datetime.datetime.combine(today - datetime.timedelta(days=50), datetime.time(15, 0))
    Batch.update(created_at=submitted).where(Batch.id == batch.id).execute()
    pool = [Load.get_by_id(x.id) for x in pool]
    purchased_on = (today - datetime.timedelta(days=48)).isoformat()
    rows = []
    for n, load in enumerate(pool):
        fee, reserve = load.total_cents * 3 // 100, load.total_cents // 10
        rows.append([load.invoice_number, load.load_number, purchased_on, format_cents(load.total_cents),
                     format_cents(load.total_cents - fee - reserve), format_cents(fee), format_cents(reserve),
                     "purchased", "", f"LS-{batch.number:04d}-{n + 1:02d}"])
    _apply(batch, REPORT_PURCHASE, _report(COLUMNS[REPORT_PURCHASE], rows), actor,
           f"Lone_Star_purchases_batch_{batch.number}.csv")
    paid_on = today.isoformat()
    full, short = pool[0], pool[1]
    payments = [
        [full.invoice_number, full.load_number, paid_on, format_cents(full.total_cents), "CHK-88120", "Check",
         format_cents(full.total_cents // 10), "0.00", "yes", ""],
        [short.invoice_number, short.load_number, paid_on, format_cents(short.total_cents - 75_00), "ACH-88121",
         "ACH", format_cents(short.total_cents // 10 - 75_00), "0.00", "yes", "Short paid: detention disputed"],
    ]
    _apply(batch, REPORT_PAYMENT, _report(COLUMNS[REPORT_PAYMENT], payments), actor,
           f"Lone_Star_collections_batch_{batch.number}.csv")
    charged = pool[4]
    ledger.record_chargeback(charged, charged.total_cents * 87 // 100, today - datetime.timedelta(days=2),
                             "Debtor did not pay within the factor's 60 days of recourse", actor)


def _apply(batch, kind, data, actor, filename):
    """Preview then confirm a report, as the upload screen does."""
    batch = Batch.get_by_id(batch.id)
    result = reports.preview(batch, kind, data, actor, filename=filename)
    reports.apply(result.upload, actor)
