"""Peewee models and the vocabulary of statuses, roles and kinds.

Money is always integer cents. The database is declared here unbound
(a proxy) and initialised in create_app() from DATABASE_URL.
"""
import datetime

from peewee import SQL
from peewee import BigIntegerField
from peewee import BlobField
from peewee import BooleanField
from peewee import CharField
from peewee import Check
from peewee import DatabaseProxy
from peewee import DateField
from peewee import DateTimeField
from peewee import ForeignKeyField
from peewee import IntegerField
from peewee import Model
from peewee import TextField

db = DatabaseProxy()


def utcnow():
    """Naive UTC timestamp (both SQLite and PostgreSQL store it the same way)."""
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


# --- vocabulary -----------------------------------------------------------

ROLE_ADMIN = "admin"
ROLE_PARTNER_ADMIN = "partner_admin"
ROLE_SUPPORT = "support"
ROLE_USER = "user"
ROLES = {
    ROLE_ADMIN: "Admin",
    ROLE_PARTNER_ADMIN: "Partner Admin",
    ROLE_SUPPORT: "Support",
    ROLE_USER: "User",
}
# Roles that may configure subsidiaries, the NOA and users.
MANAGER_ROLES = (ROLE_ADMIN, ROLE_PARTNER_ADMIN, ROLE_SUPPORT)

QUEUED = "queued"
INVOICED = "invoiced"
FINANCED = "financed"
COMPLETED = "completed"
# A recourse factor bought the invoice, the debtor did not pay, the factor charged it back:
# the load left the factor (invoicing method direct); services/ledger/chargebacks.py.
CHARGED_BACK = "charged_back"
BILLING_STATUSES = {
    QUEUED: "Queued",
    INVOICED: "Invoiced",
    FINANCED: "Financed",
    COMPLETED: "Completed",
    CHARGED_BACK: "Charged back",
}

FACTORING = "factoring"
DIRECT = "direct"
INVOICING_METHODS = {FACTORING: "Factoring", DIRECT: "Direct"}

INFO_NOA = "noa"
INFO_KINDS = {
    INFO_NOA: "Notice of Assignment",
    "remit_to": "Remit To",
    "invoice_terms": "Invoice Terms",
    "invoice_footer": "Invoice Footer",
}

LINE_KINDS = {
    "linehaul": "Linehaul",
    "fuel": "Fuel surcharge",
    "accessorial": "Accessorial",
}

# Batch.provider, from before factors were records (0010): kept, no longer read.
PROVIDER_CAPITAL_DEPOT = "capital_depot"

# How a factor's fee is charged: one rate, or by days outstanding in tiers (FactorFeeTier).
FEE_FLAT = "flat"
FEE_TIERED = "tiered"
FEE_KINDS = {FEE_FLAT: "Flat", FEE_TIERED: "By days outstanding (tiers)"}
# The batch file a factor takes (services/batches/formats.py builds each; its labels are there).
BATCH_FORMAT_CAPITAL_DEPOT_ZIP = "capital_depot_zip"

# Batch job status (the file generation), not the factoring state of its loads.
BATCH_PENDING = "pending"
BATCH_RUNNING = "running"
BATCH_READY = "ready"
BATCH_FAILED = "failed"
BATCH_CANCELLED = "cancelled"
BATCH_STATUSES = {
    BATCH_PENDING: "Waiting to start",
    BATCH_RUNNING: "Submitting",
    BATCH_READY: "Submitted",
    BATCH_FAILED: "Failed",
    BATCH_CANCELLED: "Cancelled",
}

REPORT_PURCHASE = "purchase"
REPORT_PAYMENT = "payment"
REPORT_KINDS = {REPORT_PURCHASE: "Purchase Report", REPORT_PAYMENT: "Payment Report"}

UPLOAD_PREVIEW = "preview"
UPLOAD_APPLIED = "applied"
UPLOAD_REVERSED = "reversed"  # applied, then put back as it was (its file stays on record)

PAYMENT_METHODS = ("ACH", "Check", "Wire")

# The ledger's kinds of money event with the factor (LedgerEntry.kind), in statement order.
# Amounts are positive for the event itself; a reversal (undo) is a row of the same kind with
# the amount negated and reversal_of set, so every sum by kind is the net.
LEDGER_PURCHASED = "purchased"  # the invoice's face, bought by the factor
LEDGER_ADVANCE = "advance"  # cash paid to the carrier at purchase
LEDGER_FEE = "fee"
LEDGER_RESERVE_HELD = "reserve_held"
LEDGER_COLLECTED = "collected"  # a debtor's payment to the factor
LEDGER_RESERVE_RELEASED = "reserve_released"
LEDGER_SHORT_PAY = "short_pay"
LEDGER_OVERPAY = "overpay"
LEDGER_FEE_ADJUSTMENT = "fee_adjustment"
LEDGER_CHARGEBACK = "chargeback"  # what the carrier owes the factor for a charged-back invoice
LEDGER_RESERVE_CHARGED = "reserve_charged"  # the part of a chargeback the factor took from the reserve
LEDGER_KINDS = {
    LEDGER_PURCHASED: "Invoice purchased",
    LEDGER_ADVANCE: "Advance paid",
    LEDGER_FEE: "Fee charged",
    LEDGER_RESERVE_HELD: "Reserve held",
    LEDGER_COLLECTED: "Payment collected",
    LEDGER_RESERVE_RELEASED: "Reserve released",
    LEDGER_SHORT_PAY: "Short pay",
    LEDGER_OVERPAY: "Overpay",
    LEDGER_FEE_ADJUSTMENT: "Fee adjustment",
    LEDGER_CHARGEBACK: "Chargeback",
    LEDGER_RESERVE_CHARGED: "Reserve charged (chargeback)",
}

# A recorded email's delivery (MailMessage.status).
MAIL_QUEUED = "queued"
MAIL_SENT = "sent"
MAIL_FAILED = "failed"
MAIL_STATUSES = {MAIL_QUEUED: "Queued", MAIL_SENT: "Sent", MAIL_FAILED: "Failed"}


class BaseModel(Model):
    """Base for every table: bound to the deferred database."""

    class Meta:
        database = db
        legacy_table_names = False


# --- tenants and people ---------------------------------------------------

class Partner(BaseModel):
    """An organisation that manages several carrier companies."""

    name = CharField(unique=True)
    created_at = DateTimeField(default=utcnow)


class Company(BaseModel):
    """A carrier: the tenant. Every business row belongs to one."""

    name = CharField(unique=True)
    partner = ForeignKeyField(Partner, null=True, backref="companies", on_delete="SET NULL")
    # The IANA zone every time is shown in (services/local_time.py); a user may choose another.
    time_zone = CharField(default="America/Chicago")
    # An Admin's setting: every user of the company signs in with a second factor.
    require_two_factor = BooleanField(default=False)
    created_at = DateTimeField(default=utcnow)


class User(BaseModel):
    """A person who signs in. Support users have no company."""

    email = CharField(unique=True)
    name = CharField(default="")
    password_hash = CharField()
    role = CharField(default=ROLE_USER, constraints=[Check(
        "role in ('admin', 'partner_admin', 'support', 'user')")])
    company = ForeignKeyField(Company, null=True, backref="users", on_delete="RESTRICT")
    partner = ForeignKeyField(Partner, null=True, backref="users", on_delete="RESTRICT")
    billing = BooleanField(default=False)
    active = BooleanField(default=True)
    # Bumped on deactivation or password change: older sessions stop working.
    session_version = IntegerField(default=1)
    # The user's own time zone (My account); blank: the company's.
    time_zone = CharField(default="")
    created_at = DateTimeField(default=utcnow)
    last_login_at = DateTimeField(null=True)
    # When the person last chose their password (invitation, reset, change, set-password).
    # An invited user who has not yet has none, and the password_hash "!invited".
    password_set_at = DateTimeField(null=True)
    # Two-factor sign-in (services/two_factor.py): the TOTP secret (base32), pending until
    # two_factor_enabled_at is set by a first code; the last time step a code was accepted for.
    two_factor_secret = CharField(default="")
    two_factor_enabled_at = DateTimeField(null=True)
    two_factor_last_step = IntegerField(default=0)

    # Flask-Login protocol
    is_anonymous = False

    @property
    def is_authenticated(self):
        return True

    @property
    def is_active(self):
        return bool(self.active)

    def get_id(self):
        # The signed-in session's token is set at sign-in and by the loader (services/auth.py).
        return f"{self.id}:{self.session_version}:{getattr(self, 'session_token', '')}"

    @property
    def role_label(self):
        return ROLES.get(self.role, self.role)

    @property
    def is_manager(self):
        return self.role in MANAGER_ROLES

    @property
    def display_name(self):
        return self.name or self.email


class LoginAttempt(BaseModel):
    """Every sign-in attempt, kept for rate limiting and for the record."""

    email = CharField(index=True)
    ip = CharField(default="")
    success = BooleanField(default=False)
    created_at = DateTimeField(default=utcnow, index=True)


class UserSession(BaseModel):
    """A signed-in browser (services/auth.py). Its cookie carries a random token; the id is
    the token's SHA-256, so the table alone signs nobody in. Open until ended_at is set
    (sign-out, deactivation, password change), expires_at passes, or it sits idle too long."""

    id = CharField(primary_key=True)
    user = ForeignKeyField(User, backref="sessions", on_delete="CASCADE")
    created_at = DateTimeField(default=utcnow)
    last_seen_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField()
    ended_at = DateTimeField(null=True)
    ip = CharField(default="")
    user_agent = CharField(default="")


class AccountToken(BaseModel):
    """A link sent by email (services/account_links.py): an invitation (kind "invite") or a
    password reset ("reset"). The link carries a random token; the row's id is its SHA-256.
    Good once, until expires_at, and until a newer link of the same kind voids it."""

    id = CharField(primary_key=True)
    user = ForeignKeyField(User, backref="account_tokens", on_delete="CASCADE")
    kind = CharField(constraints=[Check("kind in ('invite', 'reset')")])
    created_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField()
    used_at = DateTimeField(null=True)
    voided_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("user", "kind"), False),)


class PasswordResetRequest(BaseModel):
    """Every "Forgot password?" request, known email or not, for its rate limit."""

    email = CharField(index=True)
    ip = CharField(default="", index=True)
    created_at = DateTimeField(default=utcnow, index=True)


class RecoveryCode(BaseModel):
    """One of a user's ten single-use two-factor recovery codes; only its SHA-256 is kept."""

    user = ForeignKeyField(User, backref="recovery_codes", on_delete="CASCADE")
    code_hash = CharField(unique=True)
    created_at = DateTimeField(default=utcnow)
    used_at = DateTimeField(null=True)


class LoginRefusal(BaseModel):
    """A sign-in refused unheard (too many recent failures), for the record: not a failure,
    so it never extends a lockout. reason: "email" or "address"."""

    email = CharField()
    ip = CharField(default="")
    reason = CharField(default="email")
    created_at = DateTimeField(default=utcnow)


# --- subsidiaries and their documents --------------------------------------

class Subsidiary(BaseModel):
    """The legal entity that bills: its name, MC/USDOT and address print on invoices."""

    company = ForeignKeyField(Company, backref="subsidiaries", on_delete="CASCADE")
    name = CharField()
    legal_name = CharField(default="")
    mc_number = CharField(default="")
    usdot_number = CharField(default="")
    address_line1 = CharField(default="")
    address_line2 = CharField(default="")
    city = CharField(default="")
    state = CharField(default="")
    postal_code = CharField(default="")
    phone = CharField(default="")
    email = CharField(default="")
    # The zone its PDFs (invoice and schedule dates) follow; blank: the company's.
    time_zone = CharField(default="")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("company", "name"), True),)


class ImportantInfo(BaseModel):
    """One Document Configuration entry; at most one of each kind per subsidiary."""

    subsidiary = ForeignKeyField(Subsidiary, backref="important_info", on_delete="CASCADE")
    kind = CharField()
    text = TextField()
    updated_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("subsidiary", "kind"), True),)

    @property
    def kind_label(self):
        return INFO_KINDS.get(self.kind, self.kind)


# --- customers and loads ---------------------------------------------------

class Customer(BaseModel):
    """A debtor: the broker or shipper who owes the invoice."""

    company = ForeignKeyField(Company, backref="customers", on_delete="CASCADE")
    name = CharField()
    mc_number = CharField(default="")
    address_line1 = CharField(default="")
    city = CharField(default="")
    state = CharField(default="")
    postal_code = CharField(default="")
    payment_terms_days = IntegerField(default=30)
    invoicing_method = CharField(default=FACTORING)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("company", "name"), True),)


class StoredFile(BaseModel):
    """Bytes kept in the database so that every web node and worker sees them."""

    company = ForeignKeyField(Company, backref="files", on_delete="CASCADE")
    filename = CharField()
    content_type = CharField(default="application/octet-stream")
    size = IntegerField(default=0)
    sha256 = CharField(index=True)
    data = BlobField()
    created_at = DateTimeField(default=utcnow)


# --- factors ------------------------------------------------------------------

class Factor(BaseModel):
    """A factoring company as one carrier agreed with it: its addresses and terms.

    Percentages are basis points (9750 = 97.50 %). recourse_days 0 means non-recourse.
    """

    company = ForeignKeyField(Company, backref="factors", on_delete="CASCADE")
    name = CharField()
    remit_to = TextField(default="")  # the remit-to address, one line per line
    submission_email = CharField(default="")  # where batches are sent
    advance_bp = IntegerField(default=0)
    fee_kind = CharField(default=FEE_FLAT)
    fee_bp = IntegerField(default=0)  # the flat fee (tiered: see FactorFeeTier)
    reserve_bp = IntegerField(default=0)
    recourse_days = IntegerField(default=0)
    requires_rate_confirmation = BooleanField(default=True)
    requires_proof_of_delivery = BooleanField(default=True)
    batch_format = CharField(default=BATCH_FORMAT_CAPITAL_DEPOT_ZIP)
    attachment_limit_mb = IntegerField(default=20)
    # The default subject and cover message of "Email to <factor>" (services/mail/factor.py
    # fills in {subsidiary}, {batch_number}, {count}, {total}); empty: the built-in wording.
    cover_subject = CharField(default="")
    cover_message = TextField(default="")
    active = BooleanField(default=True)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("company", "name"), True),)

    @property
    def is_recourse(self):
        return self.recourse_days > 0


class FactorFeeTier(BaseModel):
    """A tiered fee: invoices outstanding up to `up_to_days` days pay `fee_bp`."""

    factor = ForeignKeyField(Factor, backref="fee_tiers", on_delete="CASCADE")
    up_to_days = IntegerField()
    fee_bp = IntegerField()

    class Meta:
        indexes = ((("factor", "up_to_days"), True),)


class SubsidiaryFactor(BaseModel):
    """A subsidiary sells to FACTOR from FROM_DATE on; the current one is the latest from-date
    not after today."""

    subsidiary = ForeignKeyField(Subsidiary, backref="factor_assignments", on_delete="CASCADE")
    factor = ForeignKeyField(Factor, backref="assignments", on_delete="RESTRICT")
    from_date = DateField()
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("subsidiary", "from_date"), True),)


class Batch(BaseModel):
    """A schedule of accounts sent to one factor for one subsidiary."""

    company = ForeignKeyField(Company, backref="batches", on_delete="CASCADE")
    subsidiary = ForeignKeyField(Subsidiary, backref="batches", on_delete="RESTRICT")
    number = IntegerField()
    provider = CharField(default=PROVIDER_CAPITAL_DEPOT)
    # The factor it was sent to (set by Submit Batch; null only before migration 0010 filled it).
    factor = ForeignKeyField(Factor, null=True, backref="batches", on_delete="RESTRICT")
    status = CharField(default=BATCH_PENDING, index=True)
    progress_done = IntegerField(default=0)
    progress_total = IntegerField(default=0)
    error = TextField(default="")
    attempts = IntegerField(default=0)
    heartbeat_at = DateTimeField(null=True)
    load_count = IntegerField(default=0)
    total_cents = IntegerField(default=0)
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow, index=True)
    completed_at = DateTimeField(null=True)
    file = ForeignKeyField(StoredFile, null=True, on_delete="SET NULL")
    file_name = CharField(default="")
    file_sha256 = CharField(default="")
    # When the running attempt took the batch (the time-left estimate), and when and by whom its
    # file went to the factor (Mark as sent, or Email to <factor>): until then, "Ready to send".
    started_at = DateTimeField(null=True)
    sent_at = DateTimeField(null=True)
    sent_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="sent_batches")

    class Meta:
        indexes = ((("company", "number"), True),
                   # The home page's failed and ready batches, by number (0022).
                   (("company", "status", "number"), False),
                   # Reports > Factoring: one subsidiary's batches, and its sorts by total and count.
                   (("company", "subsidiary", "number"), False),
                   (("company", "total_cents"), False),
                   (("company", "load_count"), False),
                   # The latest batch's factor (Upload Payment Report); the sort by date; one
                   # subsidiary's newest (Factoring Upload's box).
                   (("company", "created_at"), False),
                   (("company", "subsidiary", "created_at"), False))


class Load(BaseModel):
    """A delivered load and its invoice. total_cents is the sum of its lines."""

    company = ForeignKeyField(Company, backref="loads", on_delete="CASCADE")
    subsidiary = ForeignKeyField(Subsidiary, backref="loads", on_delete="RESTRICT")
    customer = ForeignKeyField(Customer, backref="loads", on_delete="RESTRICT")
    load_number = CharField()
    invoice_number = CharField(null=True)
    invoice_date = DateField(null=True)
    customer_reference = CharField(default="")
    pickup_city = CharField(default="")
    pickup_state = CharField(default="")
    pickup_date = DateField(null=True)
    delivery_city = CharField(default="")
    delivery_state = CharField(default="")
    delivery_date = DateField(null=True)
    total_cents = IntegerField(default=0)
    invoicing_method = CharField(default=FACTORING)
    billing_status = CharField(default=QUEUED, constraints=[Check(
        "billing_status in ('queued', 'invoiced', 'financed', 'completed', 'charged_back')")])
    # The live batch holding this load (null when in none).
    batch = ForeignKeyField(Batch, null=True, backref="loads", on_delete="SET NULL")
    # Why the factor rejected or holds it (kept after it returns to Queued).
    status_reason = TextField(default="")
    factor_hold = BooleanField(default=False)
    # What the factor's purchase report said.
    purchase_date = DateField(null=True)
    purchase_amount_cents = IntegerField(null=True)
    advance_cents = IntegerField(null=True)
    fee_cents = IntegerField(null=True)
    reserve_cents = IntegerField(null=True)
    factor_reference = CharField(default="")
    amount_warning = TextField(default="")
    # Payments applied (sums of Payment rows, kept here for lists and totals).
    paid_cents = IntegerField(default=0)
    short_pay_cents = IntegerField(default=0)
    overpay_cents = IntegerField(default=0)
    # The date of the latest payment (kept by a trigger on payment, migration 0018).
    paid_on = DateField(null=True)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = (
            (("company", "load_number"), True),
            (("company", "invoice_number"), True),
            # The list by status pages by (status, id): PostgreSQL's index must end with the id
            # (SQLite's always does) to walk the order without sorting a whole status (0021).
            (("company", "billing_status", "id"), False),
            # One customer's loads, by load number (the Loads list's customer filter, 0023).
            (("company", "customer", "load_number"), False),
            (("company", "delivery_date"), False),
            # Factoring Upload: a subsidiary's Queued factoring loads by load number (0007).
            (("company", "subsidiary", "billing_status", "invoicing_method", "load_number"), False),
            (("company", "total_cents"), False),
            (("company", "invoicing_method", "load_number"), False),
            (("company", "billing_status", "load_number"), False),
            # A remittance names a load by the factor's reference of its purchase (0016).
            (("company", "factor_reference"), False),
            # Reports > Aging's open invoices, oldest first; the invoices nearing recourse (0018).
            (("company", "billing_status", "invoice_date"), False),
            # A batch's loads still waiting for a report (the home page's batches needing action).
            (("batch", "billing_status"), False),
            # The invoices paid in full this month (the home page's Completed this month).
            (("company", "billing_status", "paid_on"), False),
        )

    @property
    def status_label(self):
        return BILLING_STATUSES.get(self.billing_status, self.billing_status)


class LoadLine(BaseModel):
    """A line item of a load's invoice."""

    load = ForeignKeyField(Load, backref="lines", on_delete="CASCADE")
    kind = CharField(default="linehaul")
    description = CharField(default="")
    amount_cents = IntegerField()
    position = IntegerField(default=0)


class LoadDocument(BaseModel):
    """A PDF kept with a load (rate confirmation, proof of delivery), merged behind its invoice."""

    load = ForeignKeyField(Load, backref="documents", on_delete="CASCADE")
    kind = CharField(default="pod")
    file = ForeignKeyField(StoredFile, on_delete="CASCADE")
    uploaded_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)


class BatchLoad(BaseModel):
    """A load's membership of a batch. A live row per load at most (partial unique index)."""

    batch = ForeignKeyField(Batch, backref="batch_loads", on_delete="CASCADE")
    load = ForeignKeyField(Load, backref="batch_loads", on_delete="CASCADE")
    live = BooleanField(default=True)
    amount_cents = IntegerField(default=0)
    invoice_number = CharField(default="")
    removed_reason = TextField(default="")

    class Meta:
        indexes = ((("batch", "load"), True),)


class ReportMapping(BaseModel):
    """How one factor's report with a given header reads into our fields, saved by a person.

    header_key is the SHA-256 of the header's sorted normalized names (a file with the same
    columns in another order is the same header); headers the names as written (JSON list);
    columns JSON {our column: the file's normalized header}, our columns not in the file left out.
    """

    company = ForeignKeyField(Company, on_delete="CASCADE")
    factor = ForeignKeyField(Factor, on_delete="CASCADE")
    kind = CharField()
    header_key = CharField()
    headers = TextField(default="")
    columns = TextField(default="")
    saved_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    saved_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("factor", "kind", "header_key"), True),)


class ReportUpload(BaseModel):
    """A Purchase or Payment Report file: previewed, then applied once (and maybe reversed)."""

    company = ForeignKeyField(Company, backref="report_uploads", on_delete="CASCADE")
    # The batch it was uploaded on; null for a remittance uploaded on Reports > Factoring for a
    # subsidiary (subsidiary set) or the whole company (both null), from one factor (0016).
    batch = ForeignKeyField(Batch, null=True, backref="uploads", on_delete="CASCADE")
    subsidiary = ForeignKeyField(Subsidiary, null=True, backref="report_uploads", on_delete="CASCADE")
    factor = ForeignKeyField(Factor, null=True, backref="report_uploads", on_delete="RESTRICT")
    kind = CharField()
    status = CharField(default=UPLOAD_PREVIEW)
    file = ForeignKeyField(StoredFile, on_delete="RESTRICT")
    filename = CharField(default="")
    sha256 = CharField()
    uploaded_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)
    applied_at = DateTimeField(null=True)
    row_count = IntegerField(default=0)
    summary = TextField(default="")  # JSON: counts and totals of what it did
    mapping = ForeignKeyField(ReportMapping, null=True, on_delete="SET NULL")  # read with it
    reversed_at = DateTimeField(null=True)
    reversed_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="reversed_uploads")
    reverse_reason = TextField(default="")

    class Meta:
        # The remittances applied lately (no batch), newest first (0022).
        indexes = ((("company", "batch", "status", "applied_at"), False),)


class ReportLoadChange(BaseModel):
    """What an applied report changed on one load: its fields before and after (JSON)."""

    upload = ForeignKeyField(ReportUpload, backref="load_changes", on_delete="CASCADE")
    load = ForeignKeyField(Load, on_delete="CASCADE")
    before = TextField()
    after = TextField()

    class Meta:
        indexes = ((("load", "upload"), False),)


class Payment(BaseModel):
    """A customer payment reported by the factor, applied to a load."""

    company = ForeignKeyField(Company, backref="payments", on_delete="CASCADE")
    load = ForeignKeyField(Load, backref="payments", on_delete="CASCADE")
    upload = ForeignKeyField(ReportUpload, null=True, backref="payments", on_delete="SET NULL")
    row_number = IntegerField(null=True)
    payment_date = DateField()
    amount_cents = IntegerField()
    reference = CharField(default="")
    method = CharField(default="")
    reserve_released_cents = IntegerField(default=0)
    fee_adjustment_cents = IntegerField(default=0)
    final = BooleanField(default=True)
    notes = TextField(default="")
    additional = BooleanField(default=False)  # paid after the load was already Completed
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("load", "payment_date", "amount_cents", "reference"), True),)


# --- mail ------------------------------------------------------------------------

class MailMessage(BaseModel):
    """One email, recorded before it goes out (services/mail): who to, what, and how its
    delivery went. status: queued (not tried yet), sent, failed (error says why; it may be
    tried again). claimed_at: a worker is delivering it now (two workers never send it twice)."""

    company = ForeignKeyField(Company, null=True, backref="mail", on_delete="SET NULL")
    user = ForeignKeyField(User, null=True, backref="mail", on_delete="SET NULL")
    kind = CharField()
    to_address = CharField()
    from_address = CharField(default="")
    reply_to = CharField(default="")
    subject = TextField()
    text_body = TextField()
    html_body = TextField(default="")
    message_id = CharField(unique=True)
    status = CharField(default=MAIL_QUEUED, index=True)
    attempts = IntegerField(default=0)
    error = TextField(default="")
    claimed_at = DateTimeField(null=True)
    next_attempt_at = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow, index=True)
    sent_at = DateTimeField(null=True)

    @property
    def status_label(self):
        return MAIL_STATUSES.get(self.status, self.status)


class MailAttachment(BaseModel):
    """A file sent with a message, kept with it so that a retry sends the same bytes."""

    message = ForeignKeyField(MailMessage, backref="attachments", on_delete="CASCADE")
    filename = CharField()
    content_type = CharField(default="application/octet-stream")
    size = IntegerField(default=0)
    data = BlobField()


class BatchSend(BaseModel):
    """The batch file emailed to its factor once ("Email to <factor>"): the message holds to,
    when, the message id and whether it was delivered."""

    batch = ForeignKeyField(Batch, backref="sends", on_delete="CASCADE")
    message = ForeignKeyField(MailMessage, on_delete="CASCADE")
    sent_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)


class NoticeOptOut(BaseModel):
    """A user turned one kind of notice off (services/mail/notices.py); no row: it is on."""

    user = ForeignKeyField(User, backref="notice_opt_outs", on_delete="CASCADE")
    kind = CharField()
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("user", "kind"), True),)


class AuditLog(BaseModel):
    """Who did what to which object, with before and after; also a load's status history."""

    company = ForeignKeyField(Company, null=True, backref="audit", on_delete="CASCADE")
    actor = ForeignKeyField(User, null=True, on_delete="SET NULL")
    action = CharField()
    object_type = CharField()
    object_id = IntegerField(null=True)
    before = TextField(default="")
    after = TextField(default="")
    details = TextField(default="")
    # For load status changes: what caused it.
    batch = ForeignKeyField(Batch, null=True, on_delete="SET NULL")
    upload = ForeignKeyField(ReportUpload, null=True, on_delete="SET NULL")
    row_number = IntegerField(null=True)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("object_type", "object_id"), False),)


# --- the ledger (services/ledger) ---------------------------------------------------------

class Chargeback(BaseModel):
    """A recourse factor charged an invoice back (services/ledger/chargebacks.py): recorded by a
    Billing user on the load, or by a Payment Report row (upload, row_number). Undone: undone_at
    is set and the ledger holds reversing rows; the record itself stays."""

    company = ForeignKeyField(Company, backref="chargebacks", on_delete="CASCADE")
    load = ForeignKeyField(Load, backref="chargebacks", on_delete="RESTRICT")
    batch = ForeignKeyField(Batch, null=True, on_delete="SET NULL")
    upload = ForeignKeyField(ReportUpload, null=True, on_delete="SET NULL")
    row_number = IntegerField(null=True)
    chargeback_date = DateField()
    amount_cents = IntegerField()
    reserve_applied_cents = IntegerField(default=0)
    reason = TextField(default="")
    previous_invoicing_method = CharField(default=FACTORING)
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)
    undone_at = DateTimeField(null=True)
    undone_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="chargebacks_undone")
    undo_reason = TextField(default="")


class LedgerEntry(BaseModel):
    """One money event with the factor, append-only: never updated or deleted. The cause is the
    upload and its row, or the person (actor) with a reason. Written in the event's
    transaction by services/ledger.record()."""

    company = ForeignKeyField(Company, backref="ledger", on_delete="CASCADE")
    subsidiary = ForeignKeyField(Subsidiary, on_delete="RESTRICT")
    factor = ForeignKeyField(Factor, null=True, on_delete="RESTRICT")
    load = ForeignKeyField(Load, null=True, backref="ledger", on_delete="RESTRICT")
    batch = ForeignKeyField(Batch, null=True, on_delete="RESTRICT")
    kind = CharField()
    amount_cents = IntegerField()
    entry_date = DateField()
    upload = ForeignKeyField(ReportUpload, null=True, on_delete="SET NULL")
    row_number = IntegerField(null=True)
    actor = ForeignKeyField(User, null=True, on_delete="SET NULL")
    chargeback = ForeignKeyField(Chargeback, null=True, on_delete="RESTRICT")
    # The row this one reverses (an undo); a row is reversed at most once.
    reversal_of = ForeignKeyField("self", null=True, unique=True, backref="reversals", on_delete="RESTRICT")
    reason = TextField(default="")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = (
            (("company", "entry_date"), False),
            (("load", "kind"), False),
            (("batch", "kind"), False),
        )

    @property
    def kind_label(self):
        return LEDGER_KINDS.get(self.kind, self.kind)


class LedgerTotal(BaseModel):
    """Running sums of the ledger by company, subsidiary, factor (0: none), kind and month,
    kept in the same transaction as each LedgerEntry: the dashboard and the reserve and cost
    pages read these instead of every row (a test proves they equal a full recount)."""

    company = ForeignKeyField(Company, on_delete="CASCADE")
    subsidiary = ForeignKeyField(Subsidiary, on_delete="CASCADE")
    factor_key = IntegerField(default=0)
    kind = CharField()
    month = DateField()  # the first of the month of the entries' dates
    amount_cents = BigIntegerField(default=0)
    entries = IntegerField(default=0)

    class Meta:
        indexes = ((("company", "subsidiary", "factor_key", "kind", "month"), True),
                   # This month's and this year's sums (the home page), migration 0018.
                   (("company", "month", "kind"), False))



# --- running counts (services/tallies): kept by triggers on load (migration 0018) --------

class LoadTally(BaseModel):
    """How many loads, and their face total, per company, subsidiary, billing status and
    invoicing method: the lists' counts and the home page's stages read these."""

    company = ForeignKeyField(Company, on_delete="CASCADE")
    subsidiary = ForeignKeyField(Subsidiary, on_delete="CASCADE")
    billing_status = CharField()
    invoicing_method = CharField()
    n = IntegerField(default=0)
    total_cents = BigIntegerField(default=0)

    class Meta:
        indexes = ((("company", "subsidiary", "billing_status", "invoicing_method"), True),)


class OpenTally(BaseModel):
    """Financed invoices with a balance, by subsidiary, debtor, factor (0: none) and day (the
    invoice date, else the purchase date, as days since 1970-01-01): aging's buckets, the
    cash expected and the invoices nearing recourse are sums over these."""

    company = ForeignKeyField(Company, on_delete="CASCADE")
    subsidiary = ForeignKeyField(Subsidiary, on_delete="CASCADE")
    customer = ForeignKeyField(Customer, on_delete="CASCADE")
    factor_key = IntegerField(default=0)
    day_n = IntegerField()
    n = IntegerField(default=0)
    open_cents = BigIntegerField(default=0)

    class Meta:
        indexes = ((("company", "subsidiary", "customer", "factor_key", "day_n"), True),
                   # The invoices of recent days, with what the cash forecast reads (covering).
                   (("company", "day_n", "customer", "open_cents"), False),
                   # Aging by debtor and by subsidiary read these alone (covering).
                   (("company", "customer", "day_n", "n", "open_cents"), False),
                   (("company", "subsidiary", "day_n", "n", "open_cents"), False))


class OpenDayTally(BaseModel):
    """open_tally summed per subsidiary, factor (0: none) and day, without the debtor: the home
    page's stage, buckets and invoices nearing recourse, and aging by subsidiary, read its few
    rows."""

    company = ForeignKeyField(Company, on_delete="CASCADE")
    subsidiary = ForeignKeyField(Subsidiary, on_delete="CASCADE")
    factor_key = IntegerField(default=0)
    day_n = IntegerField()
    n = IntegerField(default=0)
    open_cents = BigIntegerField(default=0)

    class Meta:
        indexes = ((("company", "subsidiary", "factor_key", "day_n"), True),
                   (("company", "factor_key", "day_n"), False))


class OpenDebtorTally(BaseModel):
    """open_tally summed per debtor alone: Reports > Aging finds its largest debtors here."""

    company = ForeignKeyField(Company, on_delete="CASCADE")
    customer = ForeignKeyField(Customer, on_delete="CASCADE")
    n = IntegerField(default=0)
    open_cents = BigIntegerField(default=0)

    class Meta:
        indexes = ((("company", "customer"), True), (("company", "open_cents"), False))


class PayDaysTally(BaseModel):
    """Completed invoices by debtor and days from the invoice date to the final payment: the
    debtors' days to pay (median, 90th percentile) without reading every payment."""

    company = ForeignKeyField(Company, on_delete="CASCADE")
    customer = ForeignKeyField(Customer, on_delete="CASCADE")
    days = IntegerField()
    n = IntegerField(default=0)

    class Meta:
        # The two with n: Reports > Cost and speed reads the histograms from the index (0023).
        indexes = ((("company", "customer", "days"), True), (("company", "days", "n"), False),
                   (("company", "customer", "days", "n"), False))


class DebtorDaysTally(BaseModel):
    """pay_days_tally summed per debtor: Completed invoices and their days to pay in all (the
    mean days to pay the cash forecast uses, from one row per debtor)."""

    company = ForeignKeyField(Company, on_delete="CASCADE")
    customer = ForeignKeyField(Customer, on_delete="CASCADE")
    n = IntegerField(default=0)
    days_total = BigIntegerField(default=0)

    class Meta:
        indexes = ((("company", "customer"), True),)


class FundDaysTally(BaseModel):
    """Purchased invoices by factor (0: none), subsidiary, week of the purchase (its Monday, as
    days since 1970-01-01) and days from the batch's submission to the purchase."""

    company = ForeignKeyField(Company, on_delete="CASCADE")
    factor_key = IntegerField(default=0)
    subsidiary = ForeignKeyField(Subsidiary, on_delete="CASCADE")
    week_n = IntegerField()
    days = IntegerField()
    n = IntegerField(default=0)

    class Meta:
        # The second: each factor and subsidiary's days summed over the weeks, from the index (0023).
        indexes = ((("company", "factor_key", "subsidiary", "week_n", "days"), True),
                   (("company", "factor_key", "subsidiary", "days", "n"), False))


class BatchTally(BaseModel):
    """Each batch's loads per billing status (batch_key: the batch's id; rows at zero are
    removed): the batches with loads still waiting for a Purchase or Payment Report."""

    company = ForeignKeyField(Company, on_delete="CASCADE")
    batch_key = IntegerField()
    billing_status = CharField()
    n = IntegerField(default=0)

    class Meta:
        indexes = ((("company", "batch_key", "billing_status"), True),
                   (("company", "billing_status", "batch_key"), False))


class BatchMoneyTally(BaseModel):
    """Each batch's live loads per billing status with what its page and status line read of them
    (migration 0022): their face total, what is still owed on the Financed ones, how many have a
    payment, are held by the factor, or need a look (held, short or over paid, amount warning)."""

    company = ForeignKeyField(Company, on_delete="CASCADE")
    batch_key = IntegerField()
    billing_status = CharField()
    n = IntegerField(default=0)
    total_cents = BigIntegerField(default=0)
    open_cents = BigIntegerField(default=0)
    paid_n = IntegerField(default=0)
    held_n = IntegerField(default=0)
    look_n = IntegerField(default=0)

    class Meta:
        indexes = ((("company", "batch_key", "billing_status"), True),)


class LedgerBalance(BaseModel):
    """The ledger's all-time sums per company, subsidiary, factor (0: none) and kind, kept by
    triggers on ledger_entry: the reserve balance and the chargebacks read one row each,
    however many months of history there are."""

    company = ForeignKeyField(Company, on_delete="CASCADE")
    subsidiary = ForeignKeyField(Subsidiary, on_delete="CASCADE")
    factor_key = IntegerField(default=0)
    kind = CharField()
    n = IntegerField(default=0)
    amount_cents = BigIntegerField(default=0)

    class Meta:
        indexes = ((("company", "subsidiary", "factor_key", "kind"), True),)

# Partial unique indexes (migration 0007): a load is in at most one live batch;
# a report file is applied once per batch. "WHERE live", not "live = true": the
# condition the migrations create, so create_tables() builds the same index.
BatchLoad.add_index(BatchLoad.index(BatchLoad.load, unique=True, name="batch_load_one_live",
                                    where=BatchLoad.live))
# The batches that need the clerk (Factoring Upload's box), newest first (migration 0024).
NEEDS_ACTION_WHERE = (f"status IN ('{BATCH_PENDING}', '{BATCH_RUNNING}', '{BATCH_FAILED}') "
                      f"OR (status = '{BATCH_READY}' AND sent_at IS NULL)")
Batch.add_index(Batch.index(Batch.company, Batch.subsidiary, Batch.created_at, name="batch_needs_action",
                            where=SQL(NEEDS_ACTION_WHERE)))
ReportUpload.add_index(ReportUpload.index(
    ReportUpload.batch, ReportUpload.kind, ReportUpload.sha256, unique=True,
    name="report_upload_applied_once", where=(ReportUpload.status == UPLOAD_APPLIED)))


ALL_MODELS = [
    Partner, Company, User, LoginAttempt, Subsidiary, ImportantInfo, Customer,
    StoredFile, Batch, Load, LoadLine, LoadDocument, BatchLoad, ReportMapping, ReportUpload, ReportLoadChange,
    Payment, AuditLog, UserSession, LoginRefusal, Factor, FactorFeeTier, SubsidiaryFactor,
    AccountToken, PasswordResetRequest, RecoveryCode,
    Chargeback, LedgerEntry, LedgerTotal, LoadTally, OpenTally, OpenDayTally, OpenDebtorTally, PayDaysTally,
    DebtorDaysTally, FundDaysTally, BatchTally, BatchMoneyTally, LedgerBalance,
    MailMessage, MailAttachment, BatchSend, NoticeOptOut,
]



# An export too big to answer at once (services/exports/job.py): made by the queue worker.
EXPORT_WAITING = "waiting"
EXPORT_RUNNING = "running"
EXPORT_READY = "ready"
EXPORT_FAILED = "failed"


class ExportJob(BaseModel):
    """A big list export made by the queue worker for the user who asked: what list with which
    filters, how far it got, and the file it made (kept for a while, then swept)."""

    company = ForeignKeyField(Company, on_delete="CASCADE")
    user = ForeignKeyField(User, null=True, on_delete="SET NULL")
    what = CharField()  # a list of services/exports/sources.py LISTS
    fmt = CharField()  # csv or xlsx
    args = TextField(default="{}")  # the filters on screen, as JSON
    # What was asked (company, user, list, format, filters) as a digest: one job per request
    # while it runs, however often the button is pressed.
    key = CharField(index=True)
    status = CharField(default=EXPORT_WAITING, index=True)
    rows_done = IntegerField(default=0)
    rows_total = IntegerField(default=0)
    file = ForeignKeyField(StoredFile, null=True, on_delete="SET NULL")
    filename = CharField(default="")
    error = TextField(default="")
    attempts = IntegerField(default=0)
    heartbeat_at = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)
    finished_at = DateTimeField(null=True)


ALL_MODELS.append(ExportJob)
