"""Floors: the cheapest way to do the same work, measured in the same run.

- the fixed-string route (see bench.app) for every page figure;
- reportlab drawing an invoice's text on a bare page, once per invoice;
- the csv module plus the bare database driver (sqlite3, or psycopg2 on PostgreSQL) writing
  the same rows, for report uploads.

Database is the floors' plain connection to the run's copy: the driver's own connection
with an execute() that takes ? marks on either database (see PlainConnection).
"""
import csv
import datetime
import io
import sqlite3
import time

from reportlab.lib.pagesizes import letter
from reportlab.pdfgen import canvas

from bench.dataset import NOA

FONT = "Helvetica"  # a base font, nothing embedded: what the product uses for Windows-1252 text


def invoice_text(row):
    """The text an invoice carries, as lines (ROW: a dict of the load's invoice facts)."""
    lines = [
        row["subsidiary"], f"MC {row['sub_mc']} · USDOT {row['sub_dot']}", "",
        f"INVOICE {row['invoice_number']}", f"Invoice date {row['invoice_date']}",
        f"Load {row['load_number']} · Customer reference {row['customer_reference']}", "",
        "Bill to", row["customer"], f"MC {row['customer_mc']}", "",
        f"Pickup {row['pickup']}", f"Delivery {row['delivery']}", "",
    ]
    for desc, amount in row["lines"]:
        lines.append(f"{desc:<40} {amount:>14}")
    lines += [f"{'Total':<40} {row['total']:>14}", f"Terms: Net {row['terms']} days", ""]
    lines += NOA.splitlines()
    return lines


def reportlab_pages(rows):
    """Draw each invoice's text on its own bare one-page PDF; returns the total bytes."""
    font = FONT
    size = 0
    for row in rows:
        buffer = io.BytesIO()
        page = canvas.Canvas(buffer, pagesize=letter, invariant=1)
        page.setFont(font, 10)
        y = 740
        for text in invoice_text(row):
            page.drawString(54, y, text)
            y -= 14
        page.showPage()
        page.save()
        size += buffer.tell()
    return size


class Database:
    """Where the floors read and write: the database of a URL (SQLite file or PostgreSQL)."""

    def __init__(self, url):
        self.url = url
        self.postgres = url.startswith(("postgres://", "postgresql://"))
        self.driver = "psycopg2" if self.postgres else "sqlite3"

    def connect(self, autocommit=False):
        """A PlainConnection with the app's settings (SQLite: webapp.database.SQLITE_PRAGMAS)."""
        if self.postgres:
            import psycopg2
            conn = psycopg2.connect(self.url)
            conn.autocommit = autocommit
            return PlainConnection(conn, postgres=True)
        conn = sqlite3.connect(self.url[len("sqlite:///"):], isolation_level=None, timeout=30)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=10000", "foreign_keys=ON",
                       "cache_size=-32768"):
            conn.execute(f"PRAGMA {pragma}")
        return PlainConnection(conn, postgres=False)


class PlainConnection:
    """A driver connection whose execute(sql, params) takes ? marks and returns the cursor, as
    sqlite3's does; on PostgreSQL the marks become psycopg2's and a transaction starts by itself
    (BEGIN IMMEDIATE is SQLite's way to take the write lock first)."""

    def __init__(self, conn, postgres):
        self.conn = conn
        self.postgres = postgres

    def execute(self, sql, params=()):
        if not self.postgres:
            return self.conn.execute(sql, params)
        if sql.startswith("BEGIN"):
            return None
        if sql == "ROLLBACK":
            self.conn.rollback()
            return None
        cursor = self.conn.cursor()
        cursor.execute(sql.replace("%", "%%").replace("?", "%s"), tuple(params))
        return cursor

    def close(self):
        self.conn.close()


def invoice_rows(database, load_ids):
    """The invoice facts of LOAD_IDS read with the bare driver (for the reportlab floor)."""
    marks = ",".join("?" for _ in load_ids)
    rows = {}
    conn = database.connect(autocommit=True)
    for r in conn.execute(
            f"SELECT l.id, l.invoice_number, l.invoice_date, l.load_number, l.customer_reference, "
            f"l.pickup_city, l.pickup_state, l.delivery_city, l.delivery_state, l.total_cents, "
            f"s.legal_name, s.mc_number, s.usdot_number, c.name, c.mc_number, c.payment_terms_days "
            f"FROM load l JOIN subsidiary s ON s.id = l.subsidiary_id "
            f"JOIN customer c ON c.id = l.customer_id WHERE l.id IN ({marks})", load_ids):
        rows[r[0]] = {
            "invoice_number": r[1], "invoice_date": r[2], "load_number": r[3],
            "customer_reference": r[4], "pickup": f"{r[5]}, {r[6]}", "delivery": f"{r[7]}, {r[8]}",
            "total": f"${r[9] / 100:,.2f}", "subsidiary": r[10], "sub_mc": r[11], "sub_dot": r[12],
            "customer": r[13], "customer_mc": r[14], "terms": r[15], "lines": [],
        }
    for load_id, desc, amount in conn.execute(
            f"SELECT load_id, description, amount_cents FROM load_line WHERE load_id IN ({marks}) "
            f"ORDER BY load_id, position", load_ids):
        rows[load_id]["lines"].append((desc, f"${amount / 100:,.2f}"))
    conn.close()
    return [rows[i] for i in load_ids]


# The report floors write what an apply writes, row for row, to the same tables: the loads'
# conditional UPDATE, one history row (audit_log) per status change, the ledger rows and their
# running totals (ledger_total), and the undo snapshot (report_load_change: the fields an
# apply may change, before and after, as JSON arrays built by SQLite). With bare sqlite3 and
# the app's own pragmas (foreign keys on, its cache), in multi-row statements of 500 rows:
# measured 2-3 times cheaper than executemany for the UPDATE, so the floor uses them.
_FLOOR_CHUNK = 500
_SNAPSHOT = ("json_array(billing_status, batch_id, purchase_date, purchase_amount_cents, advance_cents, fee_cents, "
             "reserve_cents, factor_reference, amount_warning, json(CASE WHEN factor_hold THEN 'true' ELSE 'false' END), "
             "status_reason, paid_cents, short_pay_cents, overpay_cents, invoicing_method)")
_LEDGER_COLUMNS = ("company_id, subsidiary_id, factor_id, load_id, batch_id, kind, amount_cents, entry_date, upload_id, "
                   "row_number, actor_id, chargeback_id, reversal_of_id, reason, created_at")
_AUDIT_COLUMNS = ("company_id, actor_id, action, object_type, object_id, before, after, details, batch_id, upload_id, "
                  "row_number, created_at")


# The same snapshot in PostgreSQL's JSON functions.
_SNAPSHOT_PG = ("json_build_array(billing_status, batch_id, purchase_date, purchase_amount_cents, advance_cents, "
                "fee_cents, reserve_cents, factor_reference, amount_warning, factor_hold, status_reason, paid_cents, "
                "short_pay_cents, overpay_cents, invoicing_method)::text")


def _snapshot(conn):
    return _SNAPSHOT_PG if conn.postgres else _SNAPSHOT


def _cents(text):
    return int(round(float(text) * 100)) if text else 0


def _floor_loads(conn, company_id, invoices):
    """{invoice: (id, batch, subsidiary, factor, status, paid, face)} of the company's INVOICES,
    and an upload and a user of the company for the rows' pointers."""
    found = {}
    for start in range(0, len(invoices), _FLOOR_CHUNK):
        chunk = invoices[start:start + _FLOOR_CHUNK]
        for row in conn.execute(
                "SELECT l.invoice_number, l.id, l.batch_id, l.subsidiary_id, b.factor_id, l.billing_status, "
                "l.paid_cents, COALESCE(l.purchase_amount_cents, l.total_cents) FROM load l "
                f"JOIN batch b ON b.id = l.batch_id WHERE l.company_id = ? AND l.invoice_number IN "
                f"({', '.join('?' * len(chunk))})", [company_id] + chunk):
            found[row[0]] = row[1:]
    upload, actor = conn.execute("SELECT id, uploaded_by_id FROM report_upload WHERE company_id = ? "
                                 "ORDER BY id LIMIT 1", (company_id,)).fetchone()
    return found, upload, actor


def _many(conn, head, one, tail, rows, params=(), after=()):
    """HEAD VALUES (ONE), (ONE)... TAIL for ROWS, _FLOOR_CHUNK at a time."""
    for start in range(0, len(rows), _FLOOR_CHUNK):
        chunk = rows[start:start + _FLOOR_CHUNK]
        conn.execute(f"{head} VALUES {', '.join([one] * len(chunk))} {tail}",
                     list(params) + [v for row in chunk for v in row] + list(after))


def _floor_snapshot(conn, upload, load_ids):
    for start in range(0, len(load_ids), _FLOOR_CHUNK):
        chunk = load_ids[start:start + _FLOOR_CHUNK]
        conn.execute(f"INSERT INTO report_load_change (upload_id, load_id, before, after) SELECT ?, id, {_snapshot(conn)}, '' "
                     f"FROM load WHERE id IN ({', '.join('?' * len(chunk))})", [upload] + chunk)


def _floor_snapshot_after(conn, upload):
    conn.execute(f"UPDATE report_load_change SET after = (SELECT {_snapshot(conn)} FROM load WHERE load.id = "
                 "report_load_change.load_id) WHERE upload_id = ?", (upload,))


def _floor_ledger(conn, rows):
    """The ledger rows and their running totals by (company, subsidiary, factor, kind, month)."""
    _many(conn, f"INSERT INTO ledger_entry ({_LEDGER_COLUMNS})", "(" + ", ".join("?" * 15) + ")", "", rows)
    totals = {}
    for r in rows:
        key = (r[0], r[1], r[2] or 0, r[5], r[7][:8] + "01")
        amount, n = totals.get(key, (0, 0))
        totals[key] = (amount + r[6], n + 1)
    _many(conn, "INSERT INTO ledger_total (company_id, subsidiary_id, factor_key, kind, month, amount_cents, entries)",
          "(?, ?, ?, ?, ?, ?, ?)", "ON CONFLICT (company_id, subsidiary_id, factor_key, kind, month) DO UPDATE SET "
          "amount_cents = ledger_total.amount_cents + excluded.amount_cents, "
          "entries = ledger_total.entries + excluded.entries",
          [key + value for key, value in sorted(totals.items())])


def purchase_floor(database, company_id, data):
    """The cheapest way to apply the Purchase Report: the csv module, then the bare driver writing
    the same rows to the same tables as the product (see above: loads, audit_log, ledger_entry,
    ledger_total, report_load_change), rolled back; returns (seconds, CPU seconds)."""
    started, cpu = time.perf_counter(), time.process_time()
    reader = csv.reader(io.StringIO(data.decode("utf-8-sig")))
    next(reader)
    now = datetime.datetime.utcnow().isoformat(" ")
    rows = [r for r in reader if r]
    conn = database.connect()
    try:
        conn.execute("BEGIN IMMEDIATE")
        loads, upload, actor = _floor_loads(conn, company_id, [r[0] for r in rows])
        updates, history, ledger = [], [], []
        for number, r in enumerate(rows, start=2):
            load_id, batch, sub, factor = loads[r[0]][:4]
            face, advance, fee, reserve = _cents(r[3]), _cents(r[4]), _cents(r[5]), _cents(r[6])
            # A date, not its text: PostgreSQL types a VALUES list by what it is given.
            updates.append((load_id, datetime.date.fromisoformat(r[2]), face, advance, fee, reserve, r[9], batch))
            history.append((company_id, actor, "load.status", "load", load_id, "invoiced", "financed",
                            f'{{"advance_cents": {advance}, "fee_cents": {fee}, "report": "purchase", '
                            f'"reserve_cents": {reserve}}}', batch, upload, number, now))
            for kind, cents in (("purchased", face), ("advance", advance), ("fee", fee), ("reserve_held", reserve)):
                if cents:
                    ledger.append((company_id, sub, factor, load_id, batch, kind, cents, r[2], upload, number, actor,
                                   None, None, "", now))
        _floor_snapshot(conn, upload, [u[0] for u in updates])
        _many(conn, "UPDATE load SET billing_status = 'financed', purchase_date = v.column2, "
              "purchase_amount_cents = v.column3, advance_cents = v.column4, fee_cents = v.column5, "
              "reserve_cents = v.column6, factor_reference = v.column7, amount_warning = '', factor_hold = FALSE, "
              "status_reason = '', updated_at = ? FROM (", "(?, ?, ?, ?, ?, ?, ?, ?)",
              ") AS v WHERE load.id = v.column1 AND load.batch_id = v.column8 AND load.billing_status = 'invoiced'",
              updates, params=(now,))
        _many(conn, f"INSERT INTO audit_log ({_AUDIT_COLUMNS})", "(" + ", ".join("?" * 12) + ")", "", history)
        _floor_ledger(conn, ledger)
        _floor_snapshot_after(conn, upload)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        conn.execute("ROLLBACK")
    finally:
        conn.close()
    return seconds, cpu


def payment_floor(database, company_id, data):
    """The cheapest way to apply the Payment Report: the csv module, then the bare driver writing
    the same rows to the same tables as the product (see above: payment, loads, audit_log,
    ledger_entry, ledger_total, report_load_change), rolled back; returns (seconds, CPU seconds)."""
    started, cpu = time.perf_counter(), time.process_time()
    reader = csv.reader(io.StringIO(data.decode("utf-8-sig")))
    next(reader)
    now = datetime.datetime.utcnow().isoformat(" ")
    rows = [r for r in reader if r]
    conn = database.connect()
    try:
        conn.execute("BEGIN IMMEDIATE")
        loads, upload, actor = _floor_loads(conn, company_id, [r[0] for r in rows])
        payments, updates, history, ledger = [], [], [], []
        for number, r in enumerate(rows, start=2):
            load_id, batch, sub, factor, status, paid, face = loads[r[0]]
            amount, released, adjustment = _cents(r[3]), _cents(r[6]), _cents(r[7])
            final = r[8].strip().lower() in ("yes", "y", "true", "1")
            payments.append((company_id, load_id, upload, number, r[2], amount, r[4], r[5], released, adjustment,
                             final, r[9], False, now))
            new_paid = paid + amount
            new_status = "completed" if final else status
            short, over = (max(0, face - new_paid), max(0, new_paid - face)) if final else (0, 0)
            updates.append((load_id, status, paid, new_status, new_paid, short, over, batch))
            if new_status != status:
                history.append((company_id, actor, "load.status", "load", load_id, status, new_status,
                                f'{{"overpay_cents": {over}, "paid_cents": {new_paid}, "report": "payment", '
                                f'"short_pay_cents": {short}}}', batch, upload, number, now))
            for kind, cents in (("collected", amount), ("reserve_released", released), ("fee_adjustment", adjustment),
                                ("short_pay", short), ("overpay", over)):
                if cents:
                    ledger.append((company_id, sub, factor, load_id, batch, kind, cents, r[2], upload, number, actor,
                                   None, None, "", now))
        _floor_snapshot(conn, upload, [u[0] for u in updates])
        _many(conn, "INSERT INTO payment (company_id, load_id, upload_id, row_number, payment_date, amount_cents, "
              "reference, method, reserve_released_cents, fee_adjustment_cents, final, notes, additional, created_at)",
              "(" + ", ".join("?" * 14) + ")", "", payments)
        _many(conn, "UPDATE load SET billing_status = v.column4, paid_cents = v.column5, short_pay_cents = v.column6, "
              "overpay_cents = v.column7, updated_at = ? FROM (", "(?, ?, ?, ?, ?, ?, ?, ?)",
              ") AS v WHERE load.id = v.column1 AND load.batch_id = v.column8 AND load.billing_status = v.column2 "
              "AND load.paid_cents = v.column3", updates, params=(now,))
        _many(conn, f"INSERT INTO audit_log ({_AUDIT_COLUMNS})", "(" + ", ".join("?" * 12) + ")", "", history)
        _floor_ledger(conn, ledger)
        _floor_snapshot_after(conn, upload)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        conn.execute("ROLLBACK")
    finally:
        conn.close()
    return seconds, cpu
