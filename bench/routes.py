"""Every GET route of the app, and what the bench does with it: a page is timed, anything else
is named here with the reason it is not a page.

Like the access matrix, the check reads the app's url_map: a GET route in neither table fails
the bench (and tests/bench/test_routes.py) naming it, so a new page cannot stay out of the bench.

A page's URL names the dataset's objects by {placeholder}; places() finds them in the database
at run time, creating what the dataset has none of (an upload waiting for confirmation, a
Support user) outside the timed part.
"""
import datetime
from dataclasses import dataclass

# Who a page is timed as: the dataset's billing user, unless the page is for managers (the
# company's admin) or for Support only.
BILLING = "billing"
ADMIN = "admin"
SUPPORT = "support"


@dataclass(frozen=True)
class Page:
    """One timed GET: its name in the table, its URL (with {placeholders}), a text the answer
    must show (so an empty or wrong page is not timed as a fast one), and who asks for it."""

    name: str
    url: str
    check: str = None
    user: str = BILLING
    htmx: bool = False


# endpoint -> the pages timed for it (the lists' filters and sorts are timed by the step
# "lists" besides: run.LOAD_LIST_VARIANTS and run.OTHER_LIST_VARIANTS).
PAGES = {
    "main.index": (Page("Dashboard (home page), full dataset", "/", "Money by stage"),),
    "loads.index": (Page("Loads list, full dataset", "/loads/", "L1-"),),
    "loads.detail": (Page("Load detail, a Financed load with payments", "/loads/{paid_load}",
                          "{paid_load_number}"),),
    "loads.create": (Page("New load form", "/loads/new", "Customer"),),
    "loads.update": (Page("Edit load form, a Queued load", "/loads/{queued_load}/edit",
                          "{queued_load_number}"),),
    "loads.import_loads": (Page("Import loads form", "/loads/import", "Import"),),
    "customers.index": (Page("Customers list, 300 customers", "/customers/", "Customers"),
                        Page("Customers list, search", "/customers/?q=Freight", "Customers"),
                        Page("Customers list, sorted by terms", "/customers/?sort=terms&dir=desc", "Customers")),
    "customers.create": (Page("New customer form", "/customers/new", "Customer"),),
    "customers.update": (Page("Edit customer form", "/customers/{customer}/edit", "{customer_name}"),),
    "company.index": (Page("Company profile, 10 subsidiaries", "/management/company-profile/",
                           "{subsidiary_name}"),
                      Page("Company profile, another subsidiary chosen",
                           "/management/company-profile/?subsidiary_id={other_subsidiary}", "{other_subsidiary_name}")),
    "company.create": (Page("New subsidiary form", "/management/company-profile/subsidiaries/new",
                            "Add subsidiary", user=ADMIN),),
    "company.update": (Page("Edit subsidiary form", "/management/company-profile/{subsidiary}/edit",
                            "{subsidiary_name}", user=ADMIN),),
    "company.new_info": (Page("New important info form",
                              "/management/company-profile/{subsidiary}/info/new", "Important",
                              user=ADMIN),),
    "company.edit_info": (Page("Edit important info form",
                               "/management/company-profile/{subsidiary}/info/{info}/edit", "Important",
                               user=ADMIN),),
    "factors.index": (Page("Factors list", "/management/factors/", "Capital Depot"),),
    "factors.detail": (Page("Factor detail", "/management/factors/{factor}", "Capital Depot"),),
    "factors.create": (Page("New factor form", "/management/factors/new", "Factor", user=ADMIN),),
    "factors.update": (Page("Edit factor form", "/management/factors/{factor}/edit", "Capital Depot",
                            user=ADMIN),),
    "users.index": (Page("Users list", "/users/", "{billing_email}", user=ADMIN),),
    "users.create": (Page("New user form", "/users/new", "Email", user=ADMIN),),
    "users.update": (Page("Edit user form", "/users/{user}/edit", "{user_email}", user=ADMIN),),
    "account.index": (Page("My account", "/account/", "{billing_email}"),),
    "account.two_factor_enrol": (Page("Two-factor enrolment", "/account/two-factor", "authenticator"),),
    "mail_log.index": (Page("Mail log (Support)", "/management/mail/", "Mail", user=SUPPORT),
                       Page("Mail log (Support), failed only", "/management/mail/?status=failed", "Mail",
                            user=SUPPORT)),
    "factoring.index": (Page("Factoring Upload page, 5,000 eligible loads",
                             "/accounting/factoring-upload/?subsidiary_id={eligible}",
                             "{eligible_load_number}"),),
    "reports.index": (Page("Reports > Factoring, full dataset", "/reports/factoring/", "Batch"),),
    "reports.batch": (Page("Batch page, a batch of {typical_batch_loads} loads with reports applied",
                           "/reports/factoring/batches/{typical_batch}", "Batch #"),),
    "batch_email.send": (Page("Email to the factor form, 5,000-load batch",
                              "/reports/factoring/batches/{big}/email", "Capital Depot"),),
    "batch_email.sends": (Page("Email to the factor, the batch page's list of sends (htmx)",
                               "/reports/factoring/batches/{big}/email/sends", None, htmx=True),),
    "report_uploads.show": (
        Page("Applied Payment Report", "/reports/factoring/uploads/{applied_upload}", "Payment Report"),
        Page("Purchase Report waiting for confirmation, {pending_rows} rows",
             "/reports/factoring/uploads/{pending_upload}", "Confirm"),
        Page("Remittance waiting for confirmation, {remittance_rows} rows over {remittance_batches} batches",
             "/reports/factoring/uploads/{pending_remittance}", "Confirm"),
    ),
    "report_uploads.column_mapping": (Page("Column mapping of a Purchase Report, {pending_rows} rows",
                                           "/reports/factoring/uploads/{pending_upload}/mapping",
                                           "Invoice Number"),),
    "report_uploads.remittance_form": (Page("Upload Payment Report (remittance) form",
                                            "/reports/factoring/payment-report", "Payment Report"),),
    "money_reports.aging": (Page("Reports > Aging, full dataset", "/reports/aging", "Open invoices"),),
    "money_reports.reserve": (Page("Reports > Reserve, full dataset", "/reports/reserve", "Statement"),),
    "money_reports.cost": (Page("Reports > Cost and speed, full dataset", "/reports/cost", "Cost"),),
    "exports.index": (Page("Your exports", "/reports/exports/", "Your exports"),),
}

# endpoint -> why it is not a page.
NOT_PAGES = {
    "static": "files of the static folder",
    "health.healthz": "the health check a load balancer asks for, not a page",
    "auth.login": "for signed-out users: no tenant data behind it",
    "auth.code": "for signed-out users, between password and code: no tenant data behind it",
    "auth.forgot_password": "for signed-out users: no tenant data behind it",
    "auth.reset_password": "for signed-out users, from an emailed link: no tenant data behind it",
    "auth.invitation": "for signed-out users, from an emailed link: no tenant data behind it",
    "loads.download_document": "a download (a load's stored document)",
    "loads.import_template": "a download (the import's CSV template)",
    "loads.line_row": "an htmx fragment: one blank line of the load form, no query",
    "exports.export": "a download, or for a long list a redirect to its new export job (step money times the XLSX "
                      "of every load and measures the web process's memory exporting them)",
    "exports.export_batch_loads": "a download (a batch's loads as CSV or XLSX), or a redirect to its export job",
    "exports.download": "a download (a big export's kept file, streamed a slice at a time)",
    "exports.show": "a big export's page and the htmx fragment it polls: one row read",
    "report_uploads.purchase_template": "a download (the Purchase Report's CSV template)",
    "report_uploads.payment_template": "a download (the Payment Report's CSV template)",
    "report_uploads.batch_purchase_template": "a download (a batch's pre-filled Purchase Report)",
    "report_uploads.batch_payment_template": "a download (a batch's pre-filled Payment Report)",
    "report_uploads.errors_csv": "a download (an upload's rows with errors)",
    "report_uploads.original": "a download (an upload's original file)",
    "reports.download": "a download (a batch's ZIP)",
    "reports.progress": "an htmx fragment polled while a batch's job runs; a redirect without htmx",
    "reports.row": "an htmx fragment polled while a batch's job runs; a redirect without htmx",
}


def get_endpoints(app):
    """{endpoint: rule} of every route of APP that answers GET."""
    return {rule.endpoint: rule.rule for rule in app.url_map.iter_rules() if "GET" in rule.methods}


def uncovered(app, extra=()):
    """[(endpoint, rule)] of APP's GET routes that are neither timed nor named as not a page
    (EXTRA: endpoints the bench adds itself, such as the floor)."""
    return sorted((endpoint, rule) for endpoint, rule in get_endpoints(app).items()
                  if endpoint not in PAGES and endpoint not in NOT_PAGES and endpoint not in extra)


def stale(app):
    """Endpoints of the tables that APP no longer has."""
    known = get_endpoints(app)
    return sorted(e for e in list(PAGES) + list(NOT_PAGES) if e not in known)


def check(bench, extra=()):
    """A failed figure for each GET route of the bench's app that the tables do not name, and
    for each entry the app no longer has; True when there is none."""
    from bench.stats import Figure
    missing, gone = uncovered(bench.app, extra), stale(bench.app)
    for endpoint, rule in missing:
        bench.add(Figure(f"GET {rule} ({endpoint})", "not in the bench", "", "every page timed", False,
                         note="add it to bench/routes.py: PAGES with its URL, or NOT_PAGES with why"))
    for endpoint in gone:
        bench.add(Figure(f"{endpoint} (bench/routes.py)", "no such route in the app", "", "every entry a route",
                         False, note="remove or rename it in bench/routes.py"))
    if missing or gone:
        return False
    bench.add(Figure("Every GET route of the app in the bench",
                     f"{len(PAGES)} routes timed ({len(requests())} pages), {len(NOT_PAGES)} named as not pages",
                     "", "none left out", True, values={"timed": sorted(PAGES), "not_pages": NOT_PAGES}))
    return True


def sessions(app, facts, password):
    """{user kind: a signed-in Session} of the dataset's billing user, its company's admin, and a
    Support user made for the bench."""
    from bench.pages import Session
    support_email, support_code = support_user(password)
    return {BILLING: Session(app, facts["billing_email"], password),
            ADMIN: Session(app, admin_email(facts["company_id"]), password),
            SUPPORT: Session(app, support_email, password, code=support_code)}


def requests():
    """(endpoint, page) of every page of PAGES, in order."""
    return [(endpoint, page) for endpoint, pages in PAGES.items() for page in pages]


def request_of(page, values):
    """(name, url, check, headers) of PAGE with VALUES (from places()) filled in."""
    return (filled(page.name, values), filled(page.url, values), filled(page.check, values),
            {"HX-Request": "true"} if page.htmx else None)


def measure(bench, password):
    """Time every page of PAGES, each signed in as its user, beside the run's floor."""
    values = places(bench.facts)
    signed_in = sessions(bench.app, bench.facts, password)
    for _endpoint, page in requests():
        name, url, check, headers = request_of(page, values)
        bench.guarded(name, lambda name=name, url=url, check=check, headers=headers, page=page: bench.page(
            name, url, check=check, session=signed_in[page.user], headers=headers))


def admin_email(company_id):
    """The email of an active Admin of the company (the dataset makes one per tenant)."""
    from webapp.models import ROLE_ADMIN
    from webapp.models import User
    return (User.select(User.email).where((User.company == company_id) & (User.role == ROLE_ADMIN)
                                          & User.active).order_by(User.id).first().email)


def places(facts):
    """The values of the pages' {placeholders}, found in (or added to) the bench database."""
    from peewee import fn

    from webapp.models import FINANCED
    from webapp.models import INVOICED
    from webapp.models import QUEUED
    from webapp.models import Batch
    from webapp.models import Customer
    from webapp.models import ImportantInfo
    from webapp.models import Load
    from webapp.models import Payment
    from webapp.models import ReportUpload
    from webapp.models import Subsidiary
    from webapp.models import User

    company = facts["company_id"]
    eligible = facts["eligible_subsidiary_id"]
    paid = (Load.select(Load.id, Load.load_number).join(Payment, on=(Payment.load == Load.id))
            .where((Load.company == company) & (Load.billing_status == FINANCED)).order_by(Load.id).first())
    queued = (Load.select(Load.id, Load.load_number)
              .where((Load.subsidiary == eligible) & (Load.billing_status == QUEUED) & Load.batch.is_null())
              .order_by(Load.id).first())
    customer = Customer.select().where(Customer.company == company).order_by(Customer.id).first()
    subsidiary = Subsidiary.get_by_id(eligible)
    other_subsidiary = (Subsidiary.select().where((Subsidiary.company == company) & (Subsidiary.id != eligible))
                        .order_by(Subsidiary.id).first())
    info = ImportantInfo.select(ImportantInfo.id).where(ImportantInfo.subsidiary == eligible).first()
    other_user = (User.select().where((User.company == company) & (User.email != facts["billing_email"]))
                  .order_by(User.id.desc()).first())
    applied = (ReportUpload.select(ReportUpload.id)
               .where((ReportUpload.company == company) & (ReportUpload.kind == "payment"))
               .order_by(ReportUpload.id.desc()).first())
    # A batch as most are (its size the median of the company's), with its reports applied.
    typical = (Batch.select(Batch.id, Batch.load_count).join(ReportUpload, on=(ReportUpload.batch == Batch.id))
               .where((Batch.company == company) & (Batch.id != facts["big_batch_id"]))
               .group_by(Batch.id).having(fn.COUNT(ReportUpload.id) >= 2)
               .order_by(Batch.load_count, Batch.id))
    count = typical.count()
    typical = typical.offset(count // 2).first()
    pending, pending_rows = pending_upload(facts, INVOICED)
    remittance, remittance_rows, remittance_batches = pending_remittance(facts)
    return {
        "eligible": eligible, "eligible_load_number": queued.load_number,
        "big": facts["big_batch_id"],
        "paid_load": paid.id, "paid_load_number": paid.load_number,
        "queued_load": queued.id, "queued_load_number": queued.load_number,
        "customer": customer.id, "customer_name": customer.name,
        "subsidiary": subsidiary.id, "subsidiary_name": subsidiary.name, "info": info.id,
        "other_subsidiary": other_subsidiary.id, "other_subsidiary_name": other_subsidiary.name,
        "factor": company_factor(company), "user": other_user.id, "user_email": other_user.email,
        "billing_email": facts["billing_email"], "applied_upload": applied.id,
        "typical_batch": typical.id, "typical_batch_loads": typical.load_count,
        "pending_upload": pending, "pending_rows": pending_rows, "pending_remittance": remittance,
        "remittance_rows": remittance_rows, "remittance_batches": remittance_batches,
    }


def company_factor(company_id):
    from webapp.models import Factor
    return Factor.select(Factor.id).where(Factor.company == company_id).order_by(Factor.id).first().id


def pending_upload(facts, invoiced):
    """(upload id, rows) of a Purchase Report waiting for confirmation: of the newest Invoiced
    batch, previewed through the product as a clerk's upload would be."""
    from bench import product
    from webapp.models import Batch
    from webapp.models import Load
    from webapp.models import User

    batch = (Batch.select(Batch.id).join(Load, on=(Load.batch == Batch.id))
             .where((Batch.company == facts["company_id"]) & (Batch.id != facts["big_batch_id"])
                    & (Load.billing_status == invoiced))
             .order_by(Batch.id.desc()).first())
    rows = list(Load.select(Load.id, Load.invoice_number, Load.load_number, Load.total_cents)
                .where(Load.batch == batch.id).order_by(Load.id).tuples())
    today = datetime.date(2026, 11, 25)
    lines = ["Invoice Number,Load Number,Purchase Date,Invoice Amount,Advance Amount,Fee Amount,"
             "Reserve Amount,Status,Reason,Factor Reference"]
    for load_id, invoice, number, total in rows:
        fee = total * 3 // 100
        lines.append(f"{invoice},{number},{today},{total / 100:.2f},{(total - fee) / 100:.2f},"
                     f"{fee / 100:.2f},0.00,purchased,,CD-{load_id}")
    data = ("\r\n".join(lines) + "\r\n").encode("utf-8")
    actor = User.get(User.email == facts["billing_email"])
    upload = product.preview_report("purchase", batch.id, data, "Purchase_Report.csv", actor)
    return upload.id, len(rows)


def pending_remittance(facts, rows=50):
    """(upload id, rows, batches) of a Payment Report for the whole company from its factor, waiting
    for confirmation: ROWS Financed invoices still owed, the newest, paid in full."""
    from bench import product
    from webapp.models import FINANCED
    from webapp.models import Load
    from webapp.models import User

    company = facts["company_id"]
    owed = Load.purchase_amount_cents - Load.paid_cents
    found = list(Load.select(Load.id, Load.invoice_number, Load.load_number, owed, Load.batch)
                 .where((Load.company == company) & (Load.billing_status == FINANCED) & (owed > 0))
                 .order_by(Load.id.desc()).limit(rows).tuples())
    lines = ["Invoice Number,Load Number,Payment Date,Amount Paid,Reference,Payment Method,"
             "Reserve Released,Fee Adjustment,Final,Notes"]
    lines += [f"{invoice},{number},2026-11-25,{amount / 100:.2f},RB{load_id:09d},ACH,0.00,0.00,yes,"
              for load_id, invoice, number, amount, _batch in found]
    data = ("\r\n".join(lines) + "\r\n").encode("utf-8")
    actor = User.get(User.email == facts["billing_email"])
    upload = product.preview_remittance(company, company_factor(company), data, "Remittance.csv", actor)
    return upload.id, len(found), len({batch for *_, batch in found})


def support_user(password):
    """(email, a recovery code) of a Support user with two-factor sign-in on (Support must have
    it), created through the product's services; the dataset has none."""
    import pyotp

    from webapp.models import ROLE_SUPPORT
    from webapp.services import two_factor
    from webapp.services import users

    user = users.create_user(actor=None, email="support@bench.test", name="Support Bench", role=ROLE_SUPPORT,
                             company=None, partner=None, billing=False, password=password)
    secret = two_factor.begin(user)
    codes = two_factor.confirm(user, pyotp.TOTP(secret).now())
    return user.email, codes[0]


def filled(text, values):
    """TEXT with its {placeholders} replaced (None stays None)."""
    return None if text is None else text.format(**values)
