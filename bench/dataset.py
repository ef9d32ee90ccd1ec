"""A realistic dataset for the benchmark (and, small, for the crash test).

Tenants with their subsidiaries (each with a Notice of Assignment), customers, loads with
their invoice lines, past batches with their BatchLoad rows, the Purchase and Payment
Reports applied to them, payments, a few chargebacks, the ledger those money events wrote
(with its monthly running totals) and the audit trail they left behind.

The money is the product's: every Financed and Completed load carries the ledger rows
services/ledger writes when its reports are applied (face, advance, fee and reserve held at
purchase; collected, reserve released, short pay and overpay at payment), a chargeback
carries its chargeback row, and ledger_total holds their sums, so every invariant of
services/ledger/invariants.py holds on the dataset. The benchmark company sold to Summit
Reserve Capital (advance 90 %, reserve 7 %) until it moved to Capital Depot (advance 97 %, no
reserve, 90 days' recourse), so its older history holds reserve held and released, and a
balance the factor still keeps (short pays are taken from it, and the latest releases are
not paid yet). Loads billed direct were paid by the customer outside Factor Desk: Completed
with nothing paid through the factor, as in the demo data.

How it grows (Spec.at): 200,000 loads is the base, two tenants. At N times that, the
benchmark company keeps N times the history (older Completed batches and older loads billed
direct, going N times further back) and there are N other tenants the size of the base's
second one; the benchmark company's open pipeline (its Queued, Invoiced and Financed loads
and batches, the 5,000 eligible loads, the 5,000-load batch) stays the same size, as a real
carrier's open work does not grow with its archive.

Rows are written with bulk inserts in chunks inside one transaction, parents before
children, with the ids chosen here so that no row has to be read back, and flushed as they
are made, so memory stays flat at any size. Works on SQLite and PostgreSQL.
"""
import collections
import csv
import datetime
import hashlib
import io
import json
import random
import zipfile
from dataclasses import dataclass
from dataclasses import field

from webapp.models import BATCH_FORMAT_CAPITAL_DEPOT_ZIP
from webapp.models import BATCH_READY
from webapp.models import CHARGED_BACK
from webapp.models import COMPLETED
from webapp.models import DIRECT
from webapp.models import FACTORING
from webapp.models import FEE_FLAT
from webapp.models import FINANCED
from webapp.models import INFO_NOA
from webapp.models import INVOICED
from webapp.models import LEDGER_ADVANCE
from webapp.models import LEDGER_CHARGEBACK
from webapp.models import LEDGER_COLLECTED
from webapp.models import LEDGER_FEE
from webapp.models import LEDGER_OVERPAY
from webapp.models import LEDGER_PURCHASED
from webapp.models import LEDGER_RESERVE_HELD
from webapp.models import LEDGER_RESERVE_RELEASED
from webapp.models import LEDGER_SHORT_PAY
from webapp.models import QUEUED
from webapp.models import REPORT_PAYMENT
from webapp.models import REPORT_PURCHASE
from webapp.models import ROLE_ADMIN
from webapp.models import ROLE_USER
from webapp.models import UPLOAD_APPLIED
from webapp.models import AuditLog
from webapp.models import Batch
from webapp.models import BatchLoad
from webapp.models import Chargeback
from webapp.models import Company
from webapp.models import Customer
from webapp.models import Factor
from webapp.models import ImportantInfo
from webapp.models import LedgerEntry
from webapp.models import LedgerTotal
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
from webapp.services.audit import LOAD_CHARGEBACK
from webapp.services.audit import LOAD_STATUS
from webapp.services.reports.parsing import COLUMNS as REPORT_COLUMNS

# Bump when the shape of the dataset changes: the cached file is then rebuilt.
VERSION = 3  # 3: the ledger, reserve, chargebacks, partial payments; grows by Spec.at(scale)

BASE_LOADS = 200_000
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

# The window (days back from today) the base dataset's batches and loads span; the open
# pipeline lives in its newest 40 %.
WINDOW_DAYS = 700
COMPLETED_SHARE, FINANCED_SHARE = 0.6, 0.25
# The benchmark company left Summit Reserve Capital for Capital Depot this many days ago.
SWITCH_DAYS = 420


@dataclass
class Spec:
    """How big the dataset is. The defaults are the benchmark's base (200,000 loads)."""

    loads: int = BASE_LOADS      # at history 1 and no more tenants
    # (company name, subsidiaries, share of the loads)
    tenants: tuple = (("Bench Trucking", 14, 0.8), ("Bench Haulers", 6, 0.2))
    customers_per_tenant: int = 300
    eligible: int = 5_000        # Queued factoring loads of the first subsidiary
    big_batch: int = 5_000       # Invoiced loads of one ready batch (for the 5,000-row reports)
    past_batches: int = 2_000    # including the big one
    batch_size: tuple = (10, 90)
    history: float = 1.0         # how many times the base's history the first tenant keeps
    more_tenants: int = 0        # copies of the last tenant's shape added after it
    seed: int = 20261125
    today: datetime.date = field(default_factory=lambda: datetime.date(2026, 11, 25))

    @classmethod
    def at(cls, loads):
        """The benchmark's dataset of LOADS loads (see the module: what grows and what does not)."""
        if loads < BASE_LOADS:
            raise ValueError(f"the benchmark's dataset starts at {BASE_LOADS:,} loads")
        growth = loads / BASE_LOADS
        return cls(history=growth, more_tenants=max(0, round(growth) - 1))

    def total_loads(self):
        return round(self.loads * self.tenants[0][2] * self.history) + sum(
            round(self.loads * share) for _, _, share in self.tenants[1:]) + self.more_tenants * round(
            self.loads * self.tenants[-1][2])


@dataclass
class Facts:
    """What the measurements need to find in the dataset."""

    company_id: int = 0
    other_company_id: int = 0
    eligible_subsidiary_id: int = 0
    big_batch_id: int = 0
    billing_email: str = ""
    billing_user_id: int = 0
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
        # COPY: PostgreSQL's bulk path, several times cheaper than INSERT statements.
        for start in range(0, len(rows), chunk):
            text = io.StringIO("".join("\t".join(_copy_value(v) for v in row) + "\n"
                                       for row in rows[start:start + chunk]))
            cursor.copy_expert(f'COPY "{table}" ({columns}) FROM STDIN', text)
    else:
        marks = ", ".join("?" for _ in fields)
        sql = f'INSERT INTO "{table}" ({columns}) VALUES ({marks})'
        for start in range(0, len(rows), chunk):
            cursor.executemany(sql, rows[start:start + chunk])
    return len(rows)


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_value(value):
    """VALUE in COPY's text format."""
    if value is None:
        return "\\N"
    if value is True or value is False:
        return "t" if value else "f"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "\\\\x" + bytes(value).hex()
    if isinstance(value, datetime.datetime):
        return value.isoformat(" ")
    if isinstance(value, str):
        return value.translate(_COPY_ESCAPES)
    return str(value)


# Each table's columns in the order the rows below are made, parents before children (the
# order the buffers are flushed in, so that every foreign key finds its row).
TABLES = [
    (Company, ["id", "name", "partner", "created_at"]),
    (User, ["id", "email", "name", "password_hash", "role", "company", "partner", "billing", "active",
            "session_version", "created_at"]),
    (Subsidiary, ["id", "company", "name", "legal_name", "mc_number", "usdot_number", "address_line1",
                  "address_line2", "city", "state", "postal_code", "phone", "email", "created_at"]),
    (ImportantInfo, ["id", "subsidiary", "kind", "text", "updated_by", "updated_at"]),
    (Customer, ["id", "company", "name", "mc_number", "address_line1", "city", "state", "postal_code",
                "payment_terms_days", "invoicing_method", "created_at"]),
    (StoredFile, ["id", "company", "filename", "content_type", "size", "sha256", "data", "created_at"]),
    (Factor, ["id", "company", "name", "remit_to", "submission_email", "advance_bp", "fee_kind", "fee_bp",
              "reserve_bp", "recourse_days", "requires_rate_confirmation", "requires_proof_of_delivery",
              "batch_format", "attachment_limit_mb", "active", "created_at"]),
    (SubsidiaryFactor, ["id", "subsidiary", "factor", "from_date", "created_by", "created_at"]),
    (Batch, ["id", "company", "subsidiary", "number", "provider", "factor", "status", "progress_done",
             "progress_total", "error", "attempts", "heartbeat_at", "load_count", "total_cents", "created_by",
             "created_at", "completed_at", "file", "file_name", "file_sha256", "started_at", "sent_at",
             "sent_by"]),
    (Load, ["id", "company", "subsidiary", "customer", "load_number", "invoice_number", "invoice_date",
            "customer_reference", "pickup_city", "pickup_state", "pickup_date", "delivery_city",
            "delivery_state", "delivery_date", "total_cents", "invoicing_method", "billing_status", "batch",
            "status_reason", "factor_hold", "purchase_date", "purchase_amount_cents", "advance_cents",
            "fee_cents", "reserve_cents", "factor_reference", "amount_warning", "paid_cents",
            "short_pay_cents", "overpay_cents", "created_at", "updated_at"]),
    (LoadLine, ["id", "load", "kind", "description", "amount_cents", "position"]),
    (BatchLoad, ["id", "batch", "load", "live", "amount_cents", "invoice_number", "removed_reason"]),
    (ReportUpload, ["id", "company", "batch", "kind", "status", "file", "filename", "sha256", "uploaded_by",
                    "created_at", "applied_at", "row_count", "summary"]),
    (Payment, ["id", "company", "load", "upload", "row_number", "payment_date", "amount_cents", "reference",
               "method", "reserve_released_cents", "fee_adjustment_cents", "final", "notes", "additional",
               "created_at"]),
    (Chargeback, ["id", "company", "load", "batch", "upload", "row_number", "chargeback_date", "amount_cents",
                  "reserve_applied_cents", "reason", "previous_invoicing_method", "created_by", "created_at"]),
    (LedgerEntry, ["company", "subsidiary", "factor", "load", "batch", "kind", "amount_cents", "entry_date",
                   "upload", "row_number", "actor", "chargeback", "reason", "created_at"]),
    (AuditLog, ["id", "company", "actor", "action", "object_type", "object_id", "before", "after", "details",
                "batch", "upload", "row_number", "created_at"]),
]
FIELDS = dict(TABLES)
# Load columns by name, for the rows make_load() returns (lists, filled in as the load moves on).
COL = {name: i for i, name in enumerate(FIELDS[Load])}


class Writer:
    """Rows buffered per table and written in dependency order whenever enough are waiting."""

    def __init__(self, limit=60_000):
        self.limit = limit
        self.buffers = {model: [] for model, _ in TABLES}
        self.counts = collections.Counter()
        self.waiting = 0

    def add(self, model, row):
        self.buffers[model].append(row)
        self.waiting += 1

    def flush(self, force=False):
        """Write what waits (only when it is over the limit, unless FORCE). Call it only where
        every row made so far is final (a load's row changes until its batch is done)."""
        if not force and self.waiting < self.limit:
            return
        for model, fields in TABLES:
            rows = self.buffers[model]
            if rows:
                bulk_insert(model, fields, rows, chunk=500 if model is StoredFile else 5_000)
                self.counts[model._meta.table_name] += len(rows)
                rows.clear()
        self.waiting = 0


def _reset_sequences():
    """PostgreSQL: move each id sequence past the ids written here."""
    from webapp.database import is_postgres
    if not is_postgres():
        return
    for model, fields in TABLES:
        if "id" not in fields:
            continue
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


def _month(day):
    return day.replace(day=1)


@dataclass
class Tenant:
    """One company's plan: how many loads, batches of each stage, and how far back it goes."""

    company_id: int
    name: str
    n_subs: int
    loads: int
    completed: int          # Completed batches (these grow with the history)
    completed_base: int     # ... at the base size
    open: int               # Financed and Invoiced batches, the newest
    financed: int
    history: float


def plan_tenants(spec):
    """The tenants of SPEC: its own, then MORE_TENANTS copies of the last one's shape."""
    shapes = list(spec.tenants) + [spec.tenants[-1]] * spec.more_tenants
    batches = [round(spec.past_batches * share) for _, _, share in spec.tenants[:-1]]
    batches.append(spec.past_batches - sum(batches))   # the base's batches add up to past_batches
    batches += [batches[-1]] * spec.more_tenants
    out = []
    for t, ((name, n_subs, share), n_batches) in enumerate(zip(shapes, batches)):
        if t >= len(spec.tenants):
            name = f"{name} {t - len(spec.tenants) + 2}"
        history = spec.history if t == 0 else 1.0
        completed_base = round(n_batches * COMPLETED_SHARE)
        financed = round(n_batches * FINANCED_SHARE)
        out.append(Tenant(t + 1, name, n_subs, round(spec.loads * share * history),
                          round(completed_base * history), completed_base, n_batches - completed_base,
                          financed, history))
    return out


def build(spec=None, password_hash=None):
    """Write the dataset into the (empty, migrated) database bound to the models; return Facts."""
    spec = spec or Spec()
    with db.atomic():
        facts = _Builder(spec, password_hash).run()
        _reset_sequences()
    return facts


class _Builder:
    """Makes the rows of one dataset (see the module) and hands them to a Writer."""

    def __init__(self, spec, password_hash):
        self.spec = spec
        self.rng = random.Random(spec.seed)
        if password_hash is None:
            from webapp.services.auth import hash_password
            password_hash = hash_password(PASSWORD)
        self.password_hash = password_hash
        self.now = datetime.datetime.combine(spec.today, datetime.time(12, 0))
        self.out = Writer()
        self.ids = collections.Counter()
        self.totals = collections.defaultdict(lambda: [0, 0])   # ledger_total by its key
        self.facts = Facts()

    def next_id(self, kind):
        self.ids[kind] += 1
        return self.ids[kind]

    def run(self):
        spec, facts = self.spec, self.facts
        tenants = plan_tenants(spec)
        made = [self.company(t) for t in tenants]
        facts.company_id = tenants[0].company_id
        facts.other_company_id = tenants[1].company_id if len(tenants) > 1 else 0
        facts.eligible_subsidiary_id = made[0][0][0]
        for tenant, (sub_ids, custs, actor, factors) in zip(tenants, made):
            self.loads_of(tenant, sub_ids, custs, actor, factors)
        self.out.flush(force=True)
        bulk_insert(LedgerTotal, ["company", "subsidiary", "factor_key", "kind", "month", "amount_cents",
                                  "entries"],
                    [key + tuple(v) for key, v in sorted(self.totals.items())])
        counts = self.out.counts
        facts.counts = {
            "companies": counts["company"], "subsidiaries": counts["subsidiary"],
            "customers": counts["customer"], "loads": counts["load"], "load_lines": counts["load_line"],
            "batches": counts["batch"], "batch_loads": counts["batch_load"],
            "report_uploads": counts["report_upload"], "payments": counts["payment"],
            "chargebacks": counts["chargeback"], "ledger_entries": counts["ledger_entry"],
            "ledger_totals": len(self.totals), "audit_rows": counts["audit_log"],
        }
        return facts

    # --- companies --------------------------------------------------------------

    def company(self, tenant):
        """The company, its users, factors, subsidiaries and customers; returns
        (subsidiary ids, customers (id, mc, method), billing user id, (old factor, factor))."""
        spec, out, now = self.spec, self.out, self.now
        company_id, name = tenant.company_id, tenant.name
        out.add(Company, (company_id, name, None, now))
        # Capital Depot (id = the company's): the bench's reports take a flat 3 % fee. The
        # dataset's loads carry no documents, so it asks for none: the batch figure measures
        # the invoices alone (documents behind them are a figure of their own).
        factor = company_id
        out.add(Factor, (factor, company_id, "Capital Depot", "Capital Depot Funding, LLC", "", 9700, FEE_FLAT,
                         300, 0, 90, False, False, BATCH_FORMAT_CAPITAL_DEPOT_ZIP, 20, True, now))
        # The factor before it, with a reserve (ids after every tenant's Capital Depot).
        old_factor = 1_000 + company_id
        out.add(Factor, (old_factor, company_id, "Summit Reserve Capital", "Summit Reserve Capital, Inc.", "",
                         9000, FEE_FLAT, 300, 700, 90, False, False, BATCH_FORMAT_CAPITAL_DEPOT_ZIP, 20, False,
                         now))
        slug = "bench" if company_id == 1 else f"bench{company_id}"
        actor = None
        for role, local, billing in ((ROLE_ADMIN, "admin", True), (ROLE_USER, "billing", True),
                                     (ROLE_USER, "dispatch", False)):
            user_id = self.next_id("user")
            email = f"{local}@{slug}.test"
            out.add(User, (user_id, email, local.title() + " " + name.split()[-1], self.password_hash,
                           role, company_id, None, billing, True, 1, now))
            if local == "billing":
                actor = user_id
                self.facts.users.append(email)
                if company_id == 1:
                    self.facts.billing_email = email
                    self.facts.billing_user_id = user_id
                elif company_id == 2:
                    self.facts.other_billing_email = email
        since = spec.today - datetime.timedelta(days=round(WINDOW_DAYS * tenant.history) + 60)
        switch = spec.today - datetime.timedelta(days=SWITCH_DAYS)
        sub_ids = []
        for s in range(tenant.n_subs):
            sub_id = self.next_id("subsidiary")
            city, state = CITIES[(sub_id * 3) % len(CITIES)]
            sub_name = f"{name} {WORDS[s % len(WORDS)]} {'LLC' if s % 2 else 'Inc'}"
            if company_id == 1 and s == 0:
                sub_name = f"{name} Factoring LLC"
            out.add(Subsidiary, (sub_id, company_id, sub_name, sub_name, f"MC-{100000 + sub_id * 37}",
                                 str(3000000 + sub_id * 41), f"{100 + s} Logistics Pkwy", "", city, state,
                                 f"{75000 + sub_id}", "(817) 555-0100", f"billing{sub_id}@bench.example", now))
            out.add(ImportantInfo, (self.next_id("info"), sub_id, INFO_NOA, NOA, None, now))
            out.add(SubsidiaryFactor, (self.next_id("assignment"), sub_id, old_factor, since, None, now))
            out.add(SubsidiaryFactor, (self.next_id("assignment"), sub_id, factor, switch, None, now))
            sub_ids.append(sub_id)
        custs = []
        for c in range(spec.customers_per_tenant):
            cust_id = self.next_id("customer")
            method = DIRECT if c % 10 == 9 else FACTORING
            mc = "" if c % 20 == 7 else f"MC-{200000 + cust_id * 13}"
            city, state = CITIES[c % len(CITIES)]
            cname = f"{WORDS[c % len(WORDS)]} {KINDS[(c // len(WORDS)) % len(KINDS)]} {c // 150 + 1}"
            out.add(Customer, (cust_id, company_id, cname, mc, f"{10 + c} Commerce St", city, state,
                               f"{30000 + c}", self.rng.choice((30, 30, 45, 60)), method, now))
            custs.append((cust_id, mc, method))
        return sub_ids, custs, actor, (old_factor, factor)

    # --- rows of every kind -----------------------------------------------------

    def make_load(self, company_id, number, sub, cust, status, delivered, batch=None, reason=""):
        """A load row (a list: its purchase and payments are filled in later) and its lines."""
        rng = self.rng
        load_id = self.next_id("load")
        p_city, p_state = CITIES[load_id % len(CITIES)]
        d_city, d_state = CITIES[(load_id * 7 + 3) % len(CITIES)]
        items = line_items(rng, load_id)
        total = 0
        for pos, (kind, desc, amount) in enumerate(items):
            self.out.add(LoadLine, (self.next_id("line"), load_id, kind, desc, amount, pos))
            total += amount
        row = [load_id, company_id, sub, cust[0], f"L{company_id}-{number}", f"INV-{company_id}-{number}",
               delivered, f"PO-{rng.randrange(100000, 999999)}", p_city, p_state,
               delivered - datetime.timedelta(days=2), d_city, d_state, delivered, total,
               cust[2], status, batch, reason, False,
               None, None, None, None, None, "", "", 0, 0, 0, self.now, self.now]
        self.out.add(Load, row)
        return row

    def audit(self, company_id, actor, load_id, before, after, when, batch=None, upload=None, row=None,
              action=LOAD_STATUS, details=""):
        self.out.add(AuditLog, (self.next_id("audit"), company_id, actor, action, "load", load_id, before,
                                after, details, batch, upload, row, when))

    def stored(self, company_id, filename, content_type, data, when):
        file_id = self.next_id("file")
        self.out.add(StoredFile, (file_id, company_id, filename, content_type, len(data),
                                  hashlib.sha256(data).hexdigest(), data, when))
        return file_id

    def applied(self, company_id, batch_id, kind, filename, rows, actor, when, summary):
        """An applied report of KIND (its CSV file, the template's columns); returns its id."""
        upload_id = self.next_id("upload")
        data = _csv_text(REPORT_COLUMNS[kind], rows).encode()
        file_id = self.stored(company_id, filename, "text/csv", data, when)
        self.out.add(ReportUpload, (upload_id, company_id, batch_id, kind, UPLOAD_APPLIED, file_id, filename,
                                    hashlib.sha256(data).hexdigest(), actor, when, when, len(rows),
                                    json.dumps(summary, sort_keys=True)))
        return upload_id

    def ledger(self, head, kind, cents, day, when, upload=None, row=None, actor=None, chargeback=None,
               reason=""):
        """One ledger row (HEAD: company, subsidiary, factor, load, batch) and its running total,
        as services/ledger.record() writes them; rows of zero are left out, as there."""
        if not cents:
            return
        company, subsidiary, factor = head[0], head[1], head[2]
        self.out.add(LedgerEntry, head + (kind, cents, day, upload, row, actor, chargeback, reason, when))
        total = self.totals[(company, subsidiary, factor or 0, kind, _month(day))]
        total[0] += cents
        total[1] += 1

    # --- a tenant's loads -------------------------------------------------------

    def loads_of(self, tenant, sub_ids, custs, actor, factors):
        spec, rng, out = self.spec, self.rng, self.out
        company_id = tenant.company_id
        factoring_custs = [c for c in custs if c[2] == FACTORING and c[1]]
        direct_custs = [c for c in custs if c[2] == DIRECT]
        any_factoring = [c for c in custs if c[2] == FACTORING]
        self.number = 100000
        made = extra = 0   # extra: loads of the batches the longer history adds
        # The eligible subsidiary: Queued factoring loads, customers with MC numbers.
        if company_id == 1:
            for _ in range(spec.eligible):
                self.number += 1
                made += 1
                delivered = spec.today - datetime.timedelta(days=rng.randrange(1, 30))
                self.make_load(company_id, self.number, sub_ids[0], rng.choice(factoring_custs), QUEUED,
                               delivered)
        # Past batches, oldest first: the Completed history, then the open pipeline (Financed,
        # then Invoiced); the big batch is the newest of the first tenant.
        n_base = tenant.completed_base + tenant.open
        offset = (n_base - tenant.completed_base) * WINDOW_DAYS / n_base + 1
        span = WINDOW_DAYS * tenant.completed_base / n_base * tenant.history
        for b in range(tenant.completed + tenant.open):
            size = rng.randrange(*spec.batch_size)
            if b < tenant.completed:
                age = offset + (tenant.completed - b) * span / tenant.completed
                stage = COMPLETED
            else:
                j = b - tenant.completed + tenant.completed_base   # its place in the base's order
                age = (n_base - j) * WINDOW_DAYS / n_base + 1
                stage = FINANCED if j < tenant.completed_base + tenant.financed else INVOICED
            big = company_id == 1 and b == tenant.completed + tenant.open - 1
            if big:
                size = spec.big_batch
            count = self.batch(tenant, sub_ids, factoring_custs, actor, factors, b, size, int(age), stage, big)
            made += count
            if b < tenant.completed - tenant.completed_base:
                extra += count
            out.flush()
        # The rest: loose loads in every subsidiary but the eligible one. Beyond the base's share
        # (what the longer history adds and its extra batches did not take), they are older than
        # the base's window, all billed direct and paid outside Factor Desk.
        others = sub_ids[1:] or sub_ids
        loose = max(0, tenant.loads - made)
        older = min(loose, max(0, tenant.loads - round(tenant.loads / tenant.history) - extra))
        for n in range(loose):
            self.number += 1
            if n < older:
                days = rng.randrange(WINDOW_DAYS, max(WINDOW_DAYS + 1, round(WINDOW_DAYS * tenant.history)))
                self.make_load(company_id, self.number, rng.choice(others), rng.choice(direct_custs), COMPLETED,
                               spec.today - datetime.timedelta(days=days))
            else:
                delivered = spec.today - datetime.timedelta(days=rng.randrange(1, WINDOW_DAYS))
                if rng.random() < 0.2:
                    self.make_load(company_id, self.number, rng.choice(others), rng.choice(any_factoring),
                                   QUEUED, delivered)
                else:
                    status = QUEUED if rng.random() < 0.2 else COMPLETED
                    self.make_load(company_id, self.number, rng.choice(others), rng.choice(direct_custs), status,
                                   delivered)
            if n % 10_000 == 0:
                out.flush()

    def batch(self, tenant, sub_ids, factoring_custs, actor, factors, b, size, age_days, stage, big):
        """One past batch of SIZE loads AGE_DAYS old at STAGE, with its reports, payments, ledger
        rows and history; returns how many loads it made."""
        rng, out = self.rng, self.out
        company_id = tenant.company_id
        batch_id = self.next_id("batch")
        created = self.now - datetime.timedelta(days=age_days, minutes=rng.randrange(600))
        old_factor, new_factor = factors
        factor = old_factor if age_days > SWITCH_DAYS else new_factor
        terms = (9000, 700) if factor == old_factor else (9700, 0)   # advance and reserve, basis points
        sub = sub_ids[1 % len(sub_ids)] if big else sub_ids[b % len(sub_ids)]
        members = []
        total_cents = 0
        for _ in range(size):
            self.number += 1
            delivered = created.date() - datetime.timedelta(days=rng.randrange(1, 10))
            rejected = not big and sub != sub_ids[0] and rng.random() < 0.01
            cust = rng.choice(factoring_custs)
            if rejected:
                row = self.make_load(company_id, self.number, sub, cust, QUEUED, delivered,
                                     reason="Rejected by factor: missing proof of delivery")
            else:
                row = self.make_load(company_id, self.number, sub, cust, INVOICED, delivered, batch=batch_id)
                total_cents += row[COL["total_cents"]]
            members.append((row, rejected))
        live = [r for r, rejected in members if not rejected]
        zip_data = _zip_bytes("schedule.csv", _csv_text(
            ["Invoice Number", "Load Number", "Amount"],
            [(r[COL["invoice_number"]], r[COL["load_number"]], _money(r[COL["total_cents"]])) for r in live]))
        file_name = f"capital-depot-batch-{b + 1:05d}.zip"
        file_id = self.stored(company_id, file_name, "application/zip", zip_data, created)
        done = created + datetime.timedelta(seconds=30)
        out.add(Batch, (batch_id, company_id, sub, b + 1, "capital_depot", factor, BATCH_READY, len(members),
                        len(members), "", 1, created, len(live), total_cents, actor, created, done, file_id,
                        file_name, hashlib.sha256(zip_data).hexdigest(), created, done + datetime.timedelta(
                            hours=1), actor))
        if big:
            self.facts.big_batch_id = batch_id
        for r, rejected in members:
            out.add(BatchLoad, (self.next_id("batch_load"), batch_id, r[0], not rejected, r[COL["total_cents"]],
                                r[COL["invoice_number"]], r[COL["status_reason"]] if rejected else ""))
            self.audit(company_id, actor, r[0], QUEUED, INVOICED, created, batch=batch_id)
            if rejected:
                self.audit(company_id, actor, r[0], INVOICED, QUEUED, created, batch=batch_id)
        head = (company_id, sub, factor)
        if stage in (FINANCED, COMPLETED):
            self.purchase(head, batch_id, live, actor, created + datetime.timedelta(days=2), terms)
        if stage == COMPLETED:
            self.payment(head, batch_id, live, actor, created + datetime.timedelta(days=rng.randrange(20, 50)),
                         age_days)
        elif stage == FINANCED and company_id == 1:
            self.partly_paid(head, batch_id, live, actor, created, age_days)
        return len(members)

    def purchase(self, head, batch_id, live, actor, bought, terms):
        """The Purchase Report that financed LIVE, and its ledger rows."""
        advance_bp, reserve_bp = terms
        rows = []
        upload_id = self.ids["upload"] + 1
        for n, r in enumerate(live, start=2):
            total = r[COL["total_cents"]]
            fee = total * 3 // 100
            reserve = total * reserve_bp // 10_000
            advance = total - fee - reserve
            r[COL["billing_status"]] = FINANCED
            r[COL["purchase_date"]] = bought.date()
            r[COL["purchase_amount_cents"]] = total
            r[COL["advance_cents"]] = advance
            r[COL["fee_cents"]] = fee
            r[COL["reserve_cents"]] = reserve
            r[COL["factor_reference"]] = f"CD-{r[0]}"
            rows.append((r[COL["invoice_number"]], r[COL["load_number"]], str(bought.date()), _money(total),
                         _money(advance), _money(fee), _money(reserve), "purchased", "", f"CD-{r[0]}"))
            self.audit(head[0], actor, r[0], INVOICED, FINANCED, bought, upload=upload_id, row=n)
            where = head + (r[0], batch_id)
            for kind, cents in ((LEDGER_PURCHASED, total), (LEDGER_ADVANCE, advance), (LEDGER_FEE, fee),
                                (LEDGER_RESERVE_HELD, reserve)):
                self.ledger(where, kind, cents, bought.date(), bought, upload_id, n, actor)
        self.applied(head[0], batch_id, REPORT_PURCHASE, "Purchase_Report.csv", rows, actor, bought,
                     {"purchased": len(rows)})

    def payment(self, head, batch_id, live, actor, paid_at, age_days):
        """The Payment Report that completed LIVE: a few short pays (taken from the reserve where
        there is one) and overpays; the latest old-factor releases not paid yet."""
        rows = []
        upload_id = self.ids["upload"] + 1
        day = paid_at.date()
        release = age_days > SWITCH_DAYS + 45
        for n, r in enumerate(live, start=2):
            load_id, total, reserve = r[0], r[COL["total_cents"]], r[COL["reserve_cents"]]
            short = 25_00 if load_id % 97 == 0 else 0
            over = 10_00 if not short and load_id % 89 == 0 else 0
            amount = total - short + over
            released = max(0, reserve - short) if release else 0
            ref = f"ACH{load_id:09d}"
            r[COL["billing_status"]] = COMPLETED
            r[COL["paid_cents"]] = amount
            r[COL["short_pay_cents"]] = short
            r[COL["overpay_cents"]] = over
            self.out.add(Payment, (self.next_id("payment"), head[0], load_id, upload_id, n, day, amount, ref, "ACH",
                                   released, 0, True, "", False, paid_at))
            rows.append((r[COL["invoice_number"]], r[COL["load_number"]], str(day), _money(amount), ref, "ACH",
                         _money(released), "0.00", "yes", ""))
            self.audit(head[0], actor, load_id, FINANCED, COMPLETED, paid_at, upload=upload_id, row=n)
            where = head + (load_id, batch_id)
            for kind, cents in ((LEDGER_COLLECTED, amount), (LEDGER_RESERVE_RELEASED, released),
                                (LEDGER_SHORT_PAY, short), (LEDGER_OVERPAY, over)):
                self.ledger(where, kind, cents, day, paid_at, upload_id, n, actor)
        self.applied(head[0], batch_id, REPORT_PAYMENT, "Payments_Report.csv", rows, actor, paid_at,
                     {"paid": len(rows)})

    def partly_paid(self, head, batch_id, live, actor, created, age_days):
        """Financed invoices of the benchmark company: a few partly paid (a Payment Report of those
        rows), a few charged back by the factor once past its 90 days of recourse."""
        paid = [r for r in live if r[0] % 53 == 0]
        # One invoice of every eighth batch old enough to be past the recourse period.
        charged = [r for r in live if r[0] % 53][:1] if batch_id % 8 == 0 and age_days > 100 else []
        if paid:
            paid_at = created + datetime.timedelta(days=30)
            day = paid_at.date()
            upload_id = self.ids["upload"] + 1
            rows = []
            for n, r in enumerate(paid, start=2):
                amount = r[COL["total_cents"]] // 2
                ref = f"ACH{r[0]:09d}"
                r[COL["paid_cents"]] = amount
                self.out.add(Payment, (self.next_id("payment"), head[0], r[0], upload_id, n, day, amount, ref,
                                       "ACH", 0, 0, False, "partial", False, paid_at))
                rows.append((r[COL["invoice_number"]], r[COL["load_number"]], str(day), _money(amount), ref, "ACH",
                             "0.00", "0.00", "no", "partial"))
                self.ledger(head + (r[0], batch_id), LEDGER_COLLECTED, amount, day, paid_at, upload_id, n, actor)
            self.applied(head[0], batch_id, REPORT_PAYMENT, "Payments_Report.csv", rows, actor, paid_at,
                         {"paid": len(rows)})
        for r in charged:
            when = created + datetime.timedelta(days=95)
            amount = r[COL["purchase_amount_cents"]]
            chargeback_id = self.next_id("chargeback")
            reason = "Debtor did not pay within the recourse period"
            r[COL["billing_status"]] = CHARGED_BACK
            r[COL["invoicing_method"]] = DIRECT
            self.out.add(Chargeback, (chargeback_id, head[0], r[0], batch_id, None, None, when.date(), amount, 0,
                                      reason, FACTORING, actor, when))
            self.ledger(head + (r[0], batch_id), LEDGER_CHARGEBACK, amount, when.date(), when, actor=actor,
                        chargeback=chargeback_id, reason=reason)
            self.audit(head[0], actor, r[0], FINANCED, CHARGED_BACK, when, batch=batch_id,
                       action=LOAD_CHARGEBACK, details=json.dumps(
                           {"reason": reason, "amount_cents": amount, "chargeback": chargeback_id,
                            "reserve_applied_cents": 0, "date": when.date().isoformat()}, sort_keys=True))
