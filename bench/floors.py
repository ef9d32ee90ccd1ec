"""Floors: the cheapest way to do the same work, measured in the same run.

- the fixed-string route (see bench.app) for every page figure;
- reportlab drawing an invoice's text on a bare page, once per invoice;
- the csv module plus sqlite3 executemany of the same updates, for report uploads.
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


def invoice_rows(conn, load_ids):
    """The invoice facts of LOAD_IDS read with plain sqlite3 (for the reportlab floor)."""
    marks = ",".join("?" for _ in load_ids)
    rows = {}
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
    return [rows[i] for i in load_ids]


def _connect(path):
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=10000")
    return conn


def purchase_floor(path, company_id, data):
    """csv parse + executemany of the purchase updates, rolled back; returns (seconds, CPU seconds)."""
    started, cpu = time.perf_counter(), time.process_time()
    reader = csv.reader(io.StringIO(data.decode("utf-8-sig")))
    next(reader)
    now = datetime.datetime.utcnow().isoformat(" ")
    params = [(r[2], int(round(float(r[3]) * 100)), int(round(float(r[4]) * 100)),
               int(round(float(r[5]) * 100)), int(round(float(r[6]) * 100)), r[9], now,
               company_id, r[0]) for r in reader if r]
    conn = _connect(path)
    try:
        conn.execute("BEGIN")
        conn.executemany(
            "UPDATE load SET billing_status = 'financed', purchase_date = ?, "
            "purchase_amount_cents = ?, advance_cents = ?, fee_cents = ?, reserve_cents = ?, "
            "factor_reference = ?, updated_at = ? WHERE company_id = ? AND invoice_number = ?",
            params)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        conn.execute("ROLLBACK")
    finally:
        conn.close()
    return seconds, cpu


def payment_floor(path, company_id, data):
    """csv parse + executemany of the payment rows and load updates, rolled back; returns (seconds, CPU seconds)."""
    started, cpu = time.perf_counter(), time.process_time()
    reader = csv.reader(io.StringIO(data.decode("utf-8-sig")))
    next(reader)
    now = datetime.datetime.utcnow().isoformat(" ")
    rows = [r for r in reader if r]
    inserts = [(company_id, r[2], int(round(float(r[3]) * 100)), r[4], r[5], now,
                company_id, r[0]) for r in rows]
    updates = [(int(round(float(r[3]) * 100)), now, company_id, r[0]) for r in rows]
    conn = _connect(path)
    try:
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO payment (company_id, load_id, payment_date, amount_cents, reference, "
            "method, reserve_released_cents, fee_adjustment_cents, final, notes, additional, "
            "created_at) SELECT ?, id, ?, ?, ?, ?, 0, 0, 1, '', 0, ? FROM load "
            "WHERE company_id = ? AND invoice_number = ?", inserts)
        conn.executemany(
            "UPDATE load SET billing_status = 'completed', paid_cents = paid_cents + ?, "
            "updated_at = ? WHERE company_id = ? AND invoice_number = ?", updates)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        conn.execute("ROLLBACK")
    finally:
        conn.close()
    return seconds, cpu
