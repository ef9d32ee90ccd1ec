"""Workbooks in the bench: a 5,000-row Purchase Report as a factor's XLSX (title block, its own
column names, a totals row, read through the saved column mapping) beside the same rows as our
CSV, and the peak memory of a process reading a 10 MB workbook."""
import datetime
import io
import os
import subprocess
import sys

from bench.pages import NotAvailable
from bench.stats import Figure
from bench.stats import Median
from bench.stats import Timer
from bench.stats import ms
from bench.store import DATA
from bench.store import ROOT

FACTOR_HEADER = ["Inv #", "Load Ref", "Funded", "Face Value", "Net Advance", "Discount", "Holdback", "Status",
                 "Reason", "Sched #"]
MAPPING = {"Invoice Number": "inv#", "Load Number": "loadref", "Purchase Date": "funded",
           "Invoice Amount": "facevalue", "Advance Amount": "netadvance", "Fee Amount": "discount",
           "Reserve Amount": "holdback", "Status": "status", "Reason": "reason", "Factor Reference": "sched#"}
MEMORY_LIMIT_MB = 300


def _openpyxl():
    try:
        import openpyxl
    except ImportError:
        raise NotAvailable("openpyxl (requirements-dev.txt) writes the bench's workbooks")
    return openpyxl


def purchase_workbook(rows, day):
    """ROWS (load id, invoice, load number, total cents) as a factor's XLSX: title block, header,
    date cells, numbers, a totals row."""
    openpyxl = _openpyxl()
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Funding")
    for line in (["Capital Depot"], ["Schedule of Accounts Purchased"], ["Client: bench"], []):
        sheet.append(line)
    sheet.append(FACTOR_HEADER)
    total = 0
    for load_id, invoice, number, cents in rows:
        fee = cents * 3 // 100
        sheet.append([invoice, number, day, cents / 100, (cents - fee) / 100, fee / 100, 0, "purchased", "",
                      f"CD-{load_id}"])
        total += cents
    sheet.append([])
    sheet.append(["Total", "", "", total / 100])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def xlsx_purchase(bench, csv_figure):
    """Preview and apply of the 5,000-row Purchase Report as XLSX, beside its CSV (CSV_FIGURE:
    the values the CSV run recorded in the same run). The mapping is saved first (set-up)."""
    from webapp.models import Batch
    from webapp.models import ReportUpload
    from webapp.models import User
    from webapp.services import reports
    from webapp.services.reports import mapping
    from webapp.services.sql import write_transaction

    if csv_figure is None:
        raise NotAvailable("needs the CSV Purchase Report of 5,000 rows (step reports) in the same run")
    rows = bench.big_batch_rows()
    data = purchase_workbook(rows, datetime.date(2026, 11, 25))
    batch = Batch.get_by_id(bench.facts["big_batch_id"])
    actor = User.get(User.email == bench.facts["billing_email"])
    # The CSV run financed the big batch; put it back (set-up, not measured) with the product's undo.
    applied = (ReportUpload.select().where((ReportUpload.batch == batch.id) & (ReportUpload.status == "applied")
                                            & (ReportUpload.kind == "purchase")).order_by(ReportUpload.id.desc()).first())
    if applied is not None:
        reports.reverse(applied, actor, "bench: the XLSX run reads the same rows")
    first = reports.preview(batch, "purchase", data, actor, "Funding.xlsx")
    if first.step is not None:
        with write_transaction():
            mapping.save(company_id=batch.company_id, factor_id=batch.factor_id, kind="purchase",
                         table=first.parsed.table, choice=MAPPING, actor=actor)
    preview = Median(bench.profiled, "xlsx-purchase-preview", reports.preview, batch, "purchase", data, actor,
                     "Funding.xlsx")
    upload = preview.result.upload
    with Timer() as apply:
        bench.profiled("xlsx-purchase-apply", reports.apply, upload, actor)
    csv_preview_s, csv_apply_s = csv_figure["preview_ms"] / 1000, csv_figure["apply_ms"] / 1000
    floor_s = csv_figure["floor_ms"] / 1000
    preview_ratio = preview.seconds / csv_preview_s
    bound = 2 * floor_s
    cpu_ratios = (ms(preview.cpu) / csv_figure["preview_cpu_ms"], ms(apply.cpu) / csv_figure["floor_cpu_ms"])
    bench.add(Figure(
        f"Purchase report of {len(rows):,} rows as a factor's XLSX (mapped columns): preview, then apply",
        f"preview {ms(preview.seconds):.0f} ms ({preview_ratio:.1f} × the CSV preview), apply "
        f"{ms(apply.seconds):.0f} ms ({apply.seconds / floor_s:.1f} × the CSV floor); CPU: preview "
        f"{cpu_ratios[0]:.1f} ×, apply {cpu_ratios[1]:.1f} ×",
        f"the same rows as CSV: preview {ms(csv_preview_s):.0f} ms, apply {ms(csv_apply_s):.0f} ms, "
        f"floor {ms(floor_s):.0f} ms",
        "preview ≤ 2 × the CSV preview; apply within the CSV apply's bound (≤ 2 × its floor)",
        preview_ratio <= 2 and apply.seconds <= bound,
        values={"rows": len(rows), "preview_ms": ms(preview.seconds), "apply_ms": ms(apply.seconds),
                "preview_ratio": preview_ratio, "apply_floor_ratio": apply.seconds / floor_s,
                "bound_ms": ms(bound), "bytes": len(data), "preview_cpu_ratio": cpu_ratios[0],
                "apply_cpu_floor_ratio": cpu_ratios[1]},
        cpu_met=cpu_ratios[0] <= 2 and cpu_ratios[1] <= 2))


# The peak is VmHWM of /proc/self/status: getrusage's ru_maxrss would include the parent's
# memory from before exec (the bench process itself).
_READER = """
import sys
def peak_mb():
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM")) // 1024
from webapp.services.reports.parsing import parse_report
data = open(sys.argv[1], "rb").read()
baseline = peak_mb()
report = parse_report("purchase", data, filename="big.xlsx", max_bytes=len(data) + 1)
print(len(report.rows), baseline, peak_mb())
"""


def big_workbook(path):
    """An XLSX of about 10 MB: 50,000 invoice rows (the row limit) of our columns, whose two
    notes columns of random text make it large (every cell distinct: the ZIP cannot shrink it)."""
    from webapp.services.reports.parsing import PURCHASE_COLUMNS
    openpyxl = _openpyxl()
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Funding")
    sheet.append(list(PURCHASE_COLUMNS) + ["Notes", "Remarks"])
    for i in range(50_000):
        sheet.append([f"INV-{i:06d}", f"L-{i:06d}", datetime.date(2026, 11, 25), 1000 + i / 100, 970 + i / 100,
                      30, 0, "purchased", "", f"CD-{i}", os.urandom(64).hex(), os.urandom(64).hex()])
    book.save(path)
    return os.path.getsize(path)


def workbook_memory(bench):
    """Peak memory of a process reading a 10 MB workbook with the product's reader (the web
    process's upload preview and the worker read files the same way)."""
    path = os.path.join(DATA, "big_workbook.xlsx")
    if not os.path.exists(path):
        big_workbook(path)
    size = os.path.getsize(path)
    out = subprocess.run([sys.executable, "-c", _READER, path], cwd=ROOT, capture_output=True, text=True,
                         timeout=600)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    rows, baseline_mb, peak_mb = (int(x) for x in out.stdout.split())
    bench.add(Figure(
        f"Peak memory reading a {size / (1024 * 1024):.1f} MB workbook ({rows:,} rows)",
        f"{peak_mb} MB", f"{baseline_mb} MB (the same process with the app imported and the file read in)",
        f"≤ {MEMORY_LIMIT_MB} MB", peak_mb <= MEMORY_LIMIT_MB,
        values={"bytes": size, "rows": rows, "peak_mb": peak_mb, "baseline_mb": baseline_mb}))
