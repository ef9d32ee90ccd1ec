"""A realistic dataset for the benchmark (and, small, for the crash test).

Two tenants, their subsidiaries (each with a Notice of Assignment), customers,
loads with their invoice lines, past batches with their BatchLoad rows, applied
Purchase and Payment Reports, payments and the audit trail those left behind.

Rows are written with bulk inserts in chunks inside one transaction, with the
ids chosen here so that no row has to be read back. Works on SQLite (the
benchmark) and PostgreSQL (the crash test).
"""
import csv
import datetime
import hashlib
import io
import random
import zipfile
from dataclasses import dataclass
from dataclasses import field

from webapp.models import BATCH_FORMAT_CAPITAL_DEPOT_ZIP
from webapp.models import BATCH_READY
from webapp.models import COMPLETED
from webapp.models import DIRECT
from webapp.models import FACTORING
from webapp.models import FEE_FLAT
from webapp.models import FINANCED
from webapp.models import INFO_NOA
from webapp.models import INVOICED
from webapp.models import QUEUED
from webapp.models import REPORT_PAYMENT
from webapp.models import REPORT_PURCHASE
from webapp.models import ROLE_ADMIN
from webapp.models import ROLE_USER
from webapp.models import UPLOAD_APPLIED
from webapp.models import AuditLog
from webapp.models import Batch
from webapp.models import BatchLoad
from webapp.models import Company
from webapp.models import Customer
from webapp.models import Factor
from webapp.models import ImportantInfo
from webapp.models import Load
from webapp.models import LoadLine
from webapp.models import Payment
from webapp.models import ReportUpload
from webapp.models import StoredFile
from webapp.models import Subsidiary
from webapp.models import SubsidiaryFactor
from webapp.models import User
from webapp.models import db
from webapp.ops.demo import CAPITAL_DEPOT_NOA
from webapp.ops.demo import line_items
from webapp.services.reports.parsing import COLUMNS as REPORT_COLUMNS

# Bump when the shape of the dataset changes: the cached file is then rebuilt.
VERSION = 2  # 2: the factor asks for no documents (the loads carry none)

PASSWORD = "bench-password"

NOA = CAPITAL_DEPOT_NOA

CITIES = [
    ("Dallas", "TX"), ("Memphis", "TN"), ("Atlanta", "GA"), ("Charlotte", "NC"),
    ("Chicago", "IL"), ("Columbus", "OH"), ("Oakland", "CA"), ("Phoenix", "AZ"),
    ("Houston", "TX"), ("New Orleans", "LA"), ("Omaha", "NE"), ("Denver", "CO"),
    ("Laredo", "TX"), ("San Antonio", "TX"), ("Nashville", "TN"), ("Louisville", "KY"),
    ("Kansas City", "MO"), ("Indianapolis", "IN"), ("Savannah", "GA"), ("Reno", "NV"),
]
WORDS = ["Summit", "Blue Ridge", "Great Lakes", "Pacific", "Lone Star", "Midwest", "Prairie",
         "Red River", "Ozark", "Gulf", "Cascade", "Keystone", "Magnolia", "Granite", "Frontier"]
KINDS = ["Freight Brokerage", "Logistics", "Shippers Co", "Produce", "Building Supply",
         "Distribution", "Transport Brokers", "Supply Chain", "Foods", "Paper Mills"]


@dataclass
class Spec:
    """How big the dataset is. The defaults are the benchmark's."""

    loads: int = 200_000
    # (company name, subsidiaries, share of the loads)
    tenants: tuple = (("Bench Trucking", 14, 0.8), ("Bench Haulers", 6, 0.2))
    customers_per_tenant: int = 300
    eligible: int = 5_000        # Queued factoring loads of the first subsidiary
    big_batch: int = 5_000       # Invoiced loads of one ready batch (for the 5,000-row reports)
    past_batches: int = 2_000    # including the big one
    batch_size: tuple = (10, 90)
    seed: int = 20261125
    today: datetime.date = field(default_factory=lambda: datetime.date(2026, 11, 25))


@dataclass
class Facts:
    """What the measurements need to find in the dataset."""

    company_id: int = 0
    other_company_id: int = 0
    eligible_subsidiary_id: int = 0
    big_batch_id: int = 0
    billing_email: str = ""
    other_billing_email: str = ""
    users: list = field(default_factory=list)
    counts: dict = field(default_factory=dict)

    def as_dict(self):
        return dict(self.__dict__)


def bulk_insert(model, fields, rows, chunk=5_000):
    """Insert ROWS (tuples in the order of FIELDS) in chunks on the open connection."""
    meta = model._meta
    rows = list(rows)
    if not rows:
        return 0
    # Every NOT NULL column the rows leave out gets the model's plain default (a column a later
    # feature adds must not break the dataset).
    extra = [name for name, f in meta.fields.items()
             if name not in fields and not f.null and not f.primary_key and f.default is not None]
    if extra:
        fields = list(fields) + extra
        defaults = [meta.fields[name].default for name in extra]
        tail = tuple(meta.fields[name].db_value(d() if callable(d) else d) for name, d in zip(extra, defaults))
        rows = [tuple(row) + tail for row in rows]
    columns = ", ".join(f'"{meta.fields[f].column_name}"' for f in fields)
    table = meta.table_name
    from webapp.database import is_postgres
    cursor = db.cursor()
    if is_postgres():
        from psycopg2.extras import execute_values
        for start in range(0, len(rows), chunk):
            execute_values(cursor, f'INSERT INTO "{table}" ({columns}) VALUES %s',
                           rows[start:start + chunk], page_size=1000)
    else:
        marks = ", ".join("?" for _ in fields)
        sql = f'INSERT INTO "{table}" ({columns}) VALUES ({marks})'
        for start in range(0, len(rows), chunk):
            cursor.executemany(sql, rows[start:start + chunk])
    return len(rows)


def _reset_sequences():
    """PostgreSQL: move each id sequence past the ids written here."""
    from webapp.database import is_postgres
    if not is_postgres():
        return
    for model in (Company, Factor, SubsidiaryFactor, User, Subsidiary, ImportantInfo, Customer, StoredFile, Batch, Load,
                  LoadLine, BatchLoad, ReportUpload, Payment, AuditLog):
        table = model._meta.table_name
        db.execute_sql(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                       f"COALESCE((SELECT MAX(id) FROM \"{table}\"), 0) + 1, false)")


def _zip_bytes(name, text):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(name, text)
    return out.getvalue()


def _csv_text(headers, rows):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headers)
    writer.writerows(rows)
    return out.getvalue()


def _money(cents):
    return f"{cents // 100}.{cents % 100:02d}"


def build(spec=None, password_hash=None):
    """Write the dataset into the (empty, migrated) database bound to the models; return Facts."""
    spec = spec or Spec()
    rng = random.Random(spec.seed)
    if password_hash is None:
        from webapp.services.auth import hash_password
        password_hash = hash_password(PASSWORD)
    now = datetime.datetime.combine(spec.today, datetime.time(12, 0))
    facts = Facts()
    ids = {"file": 0, "load": 0, "line": 0, "bl": 0, "upload": 0, "payment": 0, "audit": 0}

    def next_id(kind):
        ids[kind] += 1
        return ids[kind]

    companies, users, subsidiaries, infos, customers = [], [], [], [], []
    factors, assignments = [], []
    files, batches, loads, lines, batch_loads, uploads, payments, audits = ([] for _ in range(8))

    sub_id = cust_id = user_id = info_id = 0
    batch_id = 0
    plan = []  # per tenant: (company_id, sub ids, customers (id, mc, method, terms), n_loads, n_batches)
    remaining_batches = spec.past_batches
    for t, (name, n_subs, share) in enumerate(spec.tenants):
        company_id = t + 1
        companies.append((company_id, name, None, now))
        # Capital Depot, one per tenant (id = the company's): the bench's reports take a flat 3 % fee.
        # The dataset's loads carry no documents, so this factor asks for none: the batch figure
        # measures the invoices alone (documents behind them are a figure of their own).
        factors.append((company_id, company_id, "Capital Depot", "Capital Depot Funding, LLC", "", 9700,
                        FEE_FLAT, 300, 0, 0, False, False, BATCH_FORMAT_CAPITAL_DEPOT_ZIP, 20, True, now))
        slug = "bench" if t == 0 else f"bench{t + 1}"
        for role, local, billing in ((ROLE_ADMIN, "admin", True), (ROLE_USER, "billing", True),
                                     (ROLE_USER, "dispatch", False)):
            user_id += 1
            email = f"{local}@{slug}.test"
            users.append((user_id, email, local.title() + " " + name.split()[-1], password_hash,
                          role, company_id, None, billing, True, 1, now))
            if local == "billing":
                (facts.users.append(email))
                if t == 0:
                    facts.billing_email = email
                    facts.billing_user_id = user_id
                else:
                    facts.other_billing_email = email
        sub_ids = []
        for s in range(n_subs):
            sub_id += 1
            city, state = CITIES[(sub_id * 3) % len(CITIES)]
            sub_name = f"{name} {WORDS[s % len(WORDS)]} {'LLC' if s % 2 else 'Inc'}"
            if t == 0 and s == 0:
                sub_name = f"{name} Factoring LLC"
            subsidiaries.append((sub_id, company_id, sub_name, sub_name, f"MC-{100000 + sub_id * 37}",
                                 str(3000000 + sub_id * 41), f"{100 + s} Logistics Pkwy", "",
                                 city, state, f"{75000 + sub_id}", "(817) 555-0100",
                                 f"billing{sub_id}@bench.example", now))
            info_id += 1
            infos.append((info_id, sub_id, INFO_NOA, NOA, None, now))
            sub_ids.append(sub_id)
            assignments.append((sub_id, sub_id, company_id, spec.today - datetime.timedelta(days=800), None, now))
        custs = []
        for c in range(spec.customers_per_tenant):
            cust_id += 1
            method = DIRECT if c % 10 == 9 else FACTORING
            mc = "" if c % 20 == 7 else f"MC-{200000 + cust_id * 13}"
            city, state = CITIES[c % len(CITIES)]
            cname = f"{WORDS[c % len(WORDS)]} {KINDS[(c // len(WORDS)) % len(KINDS)]} {c // 150 + 1}"
            customers.append((cust_id, company_id, cname, mc, f"{10 + c} Commerce St", city, state,
                              f"{30000 + c}", rng.choice((30, 30, 45, 60)), method, now))
            custs.append((cust_id, mc, method))
        if t == len(spec.tenants) - 1:
            n_batches = remaining_batches
        else:
            n_batches = round(spec.past_batches * share)
            remaining_batches -= n_batches
        plan.append((company_id, sub_ids, custs, round(spec.loads * share), n_batches))

    facts.company_id = plan[0][0]
    facts.other_company_id = plan[1][0] if len(plan) > 1 else 0
    facts.eligible_subsidiary_id = plan[0][1][0]

    def applied(upload_id, company_id, batch_id, kind, filename, rows, actor, when, summary):
        """An applied report of KIND: its CSV file (the template's columns) and its upload row."""
        data = _csv_text(REPORT_COLUMNS[kind], rows).encode()
        fid = stored(company_id, filename, "text/csv", data, when)
        uploads.append((upload_id, company_id, batch_id, kind, UPLOAD_APPLIED, fid, filename,
                        hashlib.sha256(data).hexdigest(), actor, when, when, len(rows), summary))

    def make_load(company_id, number, sub, cust, status, delivered, batch=None, reason=""):
        load_id = next_id("load")
        p_city, p_state = CITIES[load_id % len(CITIES)]
        d_city, d_state = CITIES[(load_id * 7 + 3) % len(CITIES)]
        items = line_items(rng, load_id)
        total = sum(a for _, _, a in items)
        for pos, (kind, desc, amount) in enumerate(items):
            lines.append((next_id("line"), load_id, kind, desc, amount, pos))
        cust_id_, _mc, method = cust
        invoice = f"INV-{company_id}-{number}"
        row = [load_id, company_id, sub, cust_id_, f"L{company_id}-{number}", invoice, delivered,
               f"PO-{rng.randrange(100000, 999999)}", p_city, p_state,
               delivered - datetime.timedelta(days=2), d_city, d_state, delivered, total,
               method, status, batch, reason, False,
               None, None, None, None, None, "", "", 0, 0, 0, now, now]
        loads.append(row)
        return row

    # Load columns in the order make_load() writes them.
    load_fields = ["id", "company", "subsidiary", "customer", "load_number", "invoice_number",
                   "invoice_date", "customer_reference", "pickup_city", "pickup_state",
                   "pickup_date", "delivery_city", "delivery_state", "delivery_date",
                   "total_cents", "invoicing_method", "billing_status", "batch", "status_reason",
                   "factor_hold", "purchase_date", "purchase_amount_cents", "advance_cents",
                   "fee_cents", "reserve_cents", "factor_reference", "amount_warning",
                   "paid_cents", "short_pay_cents", "overpay_cents", "created_at", "updated_at"]
    col = {name: i for i, name in enumerate(load_fields)}

    def audit(company_id, actor, load_id, before, after, when, batch=None, upload=None, row=None):
        audits.append((next_id("audit"), company_id, actor, "status", "load", load_id, before,
                       after, "", batch, upload, row, when))

    def stored(company_id, filename, content_type, data, when):
        file_id = next_id("file")
        files.append((file_id, company_id, filename, content_type, len(data),
                      hashlib.sha256(data).hexdigest(), data, when))
        return file_id

    for t, (company_id, sub_ids, custs, n_loads, n_batches) in enumerate(plan):
        actor = next(u[0] for u in users if u[5] == company_id and u[1].startswith("billing@"))
        factoring_custs = [c for c in custs if c[2] == FACTORING and c[1]]
        direct_custs = [c for c in custs if c[2] == DIRECT]
        any_factoring = [c for c in custs if c[2] == FACTORING]
        number = 100000
        made = 0
        batch_number = 0
        # The eligible subsidiary: Queued factoring loads, customers with MC numbers.
        if t == 0:
            for _ in range(spec.eligible):
                number += 1
                made += 1
                delivered = spec.today - datetime.timedelta(days=rng.randrange(1, 30))
                make_load(company_id, number, sub_ids[0], rng.choice(factoring_custs), QUEUED, delivered)
        # Past batches, oldest first; the big batch is the newest of tenant 0.
        sizes = [rng.randrange(*spec.batch_size) for _ in range(n_batches)]
        if t == 0 and n_batches:
            sizes[-1] = spec.big_batch
        for b, size in enumerate(sizes):
            batch_id += 1
            batch_number += 1
            age_days = (n_batches - b) * 700 // max(n_batches, 1) + 1
            created = now - datetime.timedelta(days=age_days, minutes=rng.randrange(600))
            big = t == 0 and b == len(sizes) - 1
            if big:
                stage = INVOICED
                sub = sub_ids[1 % len(sub_ids)]
            else:
                position = b / max(n_batches, 1)
                stage = COMPLETED if position < 0.6 else (FINANCED if position < 0.85 else INVOICED)
                sub = sub_ids[b % len(sub_ids)]
            members = []
            total_cents = 0
            for _ in range(size):
                number += 1
                made += 1
                delivered = created.date() - datetime.timedelta(days=rng.randrange(1, 10))
                rejected = not big and sub != sub_ids[0] and rng.random() < 0.01
                cust = rng.choice(factoring_custs)
                if rejected:
                    row = make_load(company_id, number, sub, cust, QUEUED, delivered,
                                    reason="Rejected by factor: missing proof of delivery")
                else:
                    row = make_load(company_id, number, sub, cust, stage, delivered, batch=batch_id)
                    total_cents += row[col["total_cents"]]
                members.append((row, rejected))
            live = [(r, rej) for r, rej in members if not rej]
            zip_data = _zip_bytes("schedule.csv", _csv_text(
                ["Invoice Number", "Load Number", "Amount"],
                [(r[col["invoice_number"]], r[col["load_number"]], _money(r[col["total_cents"]]))
                 for r, _ in live]))
            file_name = f"capital-depot-batch-{batch_number:05d}.zip"
            file_id = stored(company_id, file_name, "application/zip", zip_data, created)
            batches.append((batch_id, company_id, sub, batch_number, "capital_depot", company_id, BATCH_READY,
                            len(members), len(members), "", 1, created, len(live), total_cents,
                            actor, created, created + datetime.timedelta(seconds=30), file_id,
                            file_name, hashlib.sha256(zip_data).hexdigest()))
            if big:
                facts.big_batch_id = batch_id
            for r, rejected in members:
                batch_loads.append((next_id("bl"), batch_id, r[0], not rejected,
                                    r[col["total_cents"]], r[col["invoice_number"]],
                                    r[col["status_reason"]] if rejected else ""))
                audit(company_id, actor, r[0], QUEUED, INVOICED, created, batch=batch_id)
                if rejected:
                    audit(company_id, actor, r[0], INVOICED, QUEUED, created, batch=batch_id)
            if stage in (FINANCED, COMPLETED):
                bought = created + datetime.timedelta(days=2)
                rows = []
                upload_id = next_id("upload")
                for n, (r, _) in enumerate(live, start=2):
                    total = r[col["total_cents"]]
                    fee = total * 3 // 100
                    r[col["purchase_date"]] = bought.date()
                    r[col["purchase_amount_cents"]] = total
                    r[col["advance_cents"]] = total - fee
                    r[col["fee_cents"]] = fee
                    r[col["reserve_cents"]] = 0
                    r[col["factor_reference"]] = f"CD-{r[0]}"
                    rows.append((r[col["invoice_number"]], r[col["load_number"]], str(bought.date()),
                                 _money(total), _money(total - fee), _money(fee), "0.00",
                                 "purchased", "", f"CD-{r[0]}"))
                    audit(company_id, actor, r[0], INVOICED, FINANCED, bought, upload=upload_id, row=n)
                applied(upload_id, company_id, batch_id, REPORT_PURCHASE, "Purchase_Report.csv", rows, actor,
                        bought, '{"purchased": %d}' % len(rows))
            if stage == COMPLETED:
                paid_at = created + datetime.timedelta(days=rng.randrange(20, 50))
                rows = []
                upload_id = next_id("upload")
                for n, (r, _) in enumerate(live, start=2):
                    total = r[col["total_cents"]]
                    short = 25_00 if r[0] % 97 == 0 else 0
                    amount = total - short
                    ref = f"ACH{r[0]:09d}"
                    r[col["paid_cents"]] = amount
                    r[col["short_pay_cents"]] = short
                    r[col["billing_status"]] = COMPLETED
                    payments.append((next_id("payment"), company_id, r[0], upload_id, n,
                                     paid_at.date(), amount, ref, "ACH", 0, 0, True, "", False, paid_at))
                    rows.append((r[col["invoice_number"]], r[col["load_number"]], str(paid_at.date()),
                                 _money(amount), ref, "ACH", "0.00", "0.00", "yes", ""))
                    audit(company_id, actor, r[0], FINANCED, COMPLETED, paid_at, upload=upload_id, row=n)
                applied(upload_id, company_id, batch_id, REPORT_PAYMENT, "Payments_Report.csv", rows, actor,
                        paid_at, '{"paid": %d}' % len(rows))
        # The rest: loose loads in every subsidiary but the eligible one.
        others = sub_ids[1:] or sub_ids
        while made < n_loads:
            number += 1
            made += 1
            delivered = spec.today - datetime.timedelta(days=rng.randrange(1, 700))
            if rng.random() < 0.2:
                make_load(company_id, number, rng.choice(others), rng.choice(any_factoring), QUEUED,
                          delivered)
            else:
                status = QUEUED if rng.random() < 0.2 else COMPLETED
                row = make_load(company_id, number, rng.choice(others), rng.choice(direct_custs),
                                status, delivered)
                if status == COMPLETED:
                    row[col["paid_cents"]] = row[col["total_cents"]]

    with db.atomic():
        bulk_insert(Company, ["id", "name", "partner", "created_at"], companies)
        bulk_insert(User, ["id", "email", "name", "password_hash", "role", "company", "partner",
                           "billing", "active", "session_version", "created_at"], users)
        bulk_insert(Subsidiary, ["id", "company", "name", "legal_name", "mc_number", "usdot_number",
                                 "address_line1", "address_line2", "city", "state", "postal_code",
                                 "phone", "email", "created_at"], subsidiaries)
        bulk_insert(ImportantInfo, ["id", "subsidiary", "kind", "text", "updated_by", "updated_at"], infos)
        bulk_insert(Customer, ["id", "company", "name", "mc_number", "address_line1", "city", "state",
                               "postal_code", "payment_terms_days", "invoicing_method", "created_at"],
                    customers)
        bulk_insert(StoredFile, ["id", "company", "filename", "content_type", "size", "sha256", "data",
                                 "created_at"], files, chunk=500)
        bulk_insert(Factor, ["id", "company", "name", "remit_to", "submission_email", "advance_bp", "fee_kind",
                             "fee_bp", "reserve_bp", "recourse_days", "requires_rate_confirmation",
                             "requires_proof_of_delivery", "batch_format", "attachment_limit_mb", "active",
                             "created_at"], factors)
        bulk_insert(SubsidiaryFactor, ["id", "subsidiary", "factor", "from_date", "created_by", "created_at"],
                    assignments)
        bulk_insert(Batch, ["id", "company", "subsidiary", "number", "provider", "factor", "status",
                            "progress_done", "progress_total", "error", "attempts", "heartbeat_at",
                            "load_count", "total_cents", "created_by", "created_at", "completed_at",
                            "file", "file_name", "file_sha256"], batches)
        bulk_insert(Load, load_fields, [tuple(r) for r in loads])
        bulk_insert(LoadLine, ["id", "load", "kind", "description", "amount_cents", "position"], lines)
        bulk_insert(BatchLoad, ["id", "batch", "load", "live", "amount_cents", "invoice_number",
                                "removed_reason"], batch_loads)
        bulk_insert(ReportUpload, ["id", "company", "batch", "kind", "status", "file", "filename",
                                   "sha256", "uploaded_by", "created_at", "applied_at", "row_count",
                                   "summary"], uploads)
        bulk_insert(Payment, ["id", "company", "load", "upload", "row_number", "payment_date",
                              "amount_cents", "reference", "method", "reserve_released_cents",
                              "fee_adjustment_cents", "final", "notes", "additional", "created_at"],
                    payments)
        bulk_insert(AuditLog, ["id", "company", "actor", "action", "object_type", "object_id",
                               "before", "after", "details", "batch", "upload", "row_number",
                               "created_at"], audits)
        _reset_sequences()

    facts.counts = {
        "companies": len(companies), "subsidiaries": len(subsidiaries), "customers": len(customers),
        "loads": len(loads), "load_lines": len(lines), "batches": len(batches),
        "batch_loads": len(batch_loads), "report_uploads": len(uploads), "payments": len(payments),
        "audit_rows": len(audits),
    }
    return facts
