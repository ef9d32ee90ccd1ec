"""The exports at the dataset's size (issue 10): the company's loads to XLSX beside the time the
library alone takes to write the same rows (the target: at most 3 times it), and the web
process's memory while big exports stream (the money pages are timed with every page:
bench/routes.py)."""
import os
import tempfile
import time
import urllib.parse

from bench.stats import Figure
from bench.stats import Timer


def xlsx_export(bench):
    """The Loads list of the benchmark company as XLSX through services/exports, against
    XlsxWriter alone writing the same rows (already fetched) in the same mode."""
    import xlsxwriter

    from webapp.models import User
    from webapp.services.exports import sources
    from webapp.services.exports import write_xlsx

    company = User.get(User.email == bench.facts["billing_email"]).company
    table = sources.loads(company, {})
    rows = list(table.rows)
    directory = tempfile.mkdtemp(prefix="bench-xlsx-")
    ours, alone = os.path.join(directory, "ours.xlsx"), os.path.join(directory, "alone.xlsx")
    try:
        with Timer() as product:
            write_xlsx(table.columns, sources.loads(company, {}).rows, ours)
        with Timer() as library:
            book = xlsxwriter.Workbook(alone, {"constant_memory": True, "tmpdir": directory})
            sheet = book.add_worksheet("Export")
            for r, row in enumerate(rows):
                sheet.write_row(r, 0, row)
            book.close()
    finally:
        for path in (ours, alone):
            if os.path.exists(path):
                os.unlink(path)
        os.rmdir(directory)
    ratio = product.seconds / library.seconds if library.seconds else None
    bench.add(Figure(f"XLSX export of {len(rows):,} loads", f"{product.seconds:.1f} s",
                     f"library alone {library.seconds:.1f} s", "≤ 3 × the library alone",
                     ratio is not None and ratio <= 3,
                     values={"seconds": product.seconds, "library_seconds": library.seconds, "ratio": ratio,
                             "rows": len(rows)}))


# A web process of its own (the product's app, as bench/serve.py builds it), one request at a time,
# so that its memory is the export's alone.
_WEB_PROCESS = """
import sys
from werkzeug.serving import make_server
from bench.serve import app
make_server("127.0.0.1", int(sys.argv[1]), app, threaded=False).serve_forever()
"""
# How much a web process may grow while it starts a big export and then streams its file.
EXPORT_GROWTH_MB = 16


def export_memory(bench, fmt="csv"):
    """The benchmark company's Loads exported through a real web process: one subsidiary's as CSV
    (within the bound: streamed at once), then the whole list as FMT (over it: a job, run here as
    the worker would, whose file is then downloaded a slice at a time). The figure is the web process's peak
    RSS growth (VmHWM) over what it held after a warm-up, beside the file's size: flat means it
    never held the list."""
    import re
    import shutil
    import subprocess
    import sys

    from bench import http_load
    from bench.dataset import PASSWORD
    from bench.store import ROOT
    from bench.worker_mem import _status
    from webapp.models import ExportJob
    from webapp.services.exports import JOB_ROWS
    from webapp.services.exports import job as export_job

    port = http_load.free_port()
    queue = os.path.join(tempfile.mkdtemp(prefix="bench-export-"), "queue.db")  # enqueued, never consumed
    env = dict(os.environ, DATABASE_URL=bench.database_url, LOG_LEVEL="WARNING", QUEUE_URL="sqlite:///" + queue,
               SECRET_KEY="bench-" + os.urandom(16).hex())
    proc = subprocess.Popen([sys.executable, "-c", _WEB_PROCESS, str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if http_load.request("127.0.0.1", port, "GET", "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("the web process did not start")
            time.sleep(0.1)  # polling a server that is starting
        cookie = http_load.sign_in(port, bench.facts["billing_email"], PASSWORD)
        headers = {"Cookie": cookie, "User-Agent": http_load.USER_AGENT}
        for _ in range(3):  # warm-up: the app's first pages, templates and connections
            http_load.request("127.0.0.1", port, "GET", "/reports/exports/", headers=headers)
        before = _status(proc.pid)["VmHWM"]
        at_once_query, at_once_rows = _at_once_slice(bench, JOB_ROWS["csv"])
        with Timer() as at_once:
            at_once_size = _streamed(port, f"/reports/exports/loads.csv?{at_once_query}", headers)
        at_once_growth = _status(proc.pid)["VmHWM"] - before
        with Timer() as asked:
            status, answer, _ = http_load.request("127.0.0.1", port, "GET", f"/reports/exports/loads.{fmt}",
                                                  headers=headers)
        location = dict((k.lower(), v) for k, v in answer).get("location", "")
        found = re.search(r"/reports/exports/(\d+)$", location)
        if status != 303 or not found:
            raise RuntimeError(f"the export link answered {status} {location!r}, not a job")
        job_id = int(found.group(1))
        with Timer() as made:
            export_job.run_export(job_id)  # the worker's part, in this process
        job = ExportJob.get_by_id(job_id)
        with Timer() as downloaded:
            size = _streamed(port, f"/reports/exports/{job_id}/file", headers)
        peak = _status(proc.pid)["VmHWM"]
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        shutil.rmtree(os.path.dirname(queue), ignore_errors=True)
    growth = peak - before
    file_mb = size / 1e6
    bench.add(Figure(f"Web process memory exporting {job.rows_total:,} loads as {fmt.upper()}",
                     f"+{growth:.1f} MB peak RSS", f"{before:.0f} MB after warm-up; file {file_mb:.1f} MB",
                     f"≤ +{EXPORT_GROWTH_MB} MB", growth <= EXPORT_GROWTH_MB and size == job.file.size,
                     values={"growth_mb": growth, "peak_mb": peak, "before_mb": before, "file_mb": file_mb,
                             "rows": job.rows_total, "ask_seconds": asked.seconds, "job_seconds": made.seconds,
                             "download_seconds": downloaded.seconds, "at_once_rows": at_once_rows,
                             "at_once_mb": at_once_size / 1e6, "at_once_growth_mb": at_once_growth,
                             "at_once_seconds": at_once.seconds},
                     note=f"{at_once_rows:,} rows as CSV at once ({at_once_size / 1e6:.1f} MB in {at_once.seconds:.1f} s): "
                          f"+{at_once_growth:.1f} MB; the whole list's link answered in {asked.seconds * 1000:.0f} ms "
                          f"(a job); the worker's part {made.seconds:.1f} s; download {downloaded.seconds:.1f} s"))


def _at_once_slice(bench, bound):
    """The biggest slice of the benchmark company's loads by subsidiary and status that an export
    still answers at once (at most BOUND rows): its query string and its number of loads. At
    200,000 loads one subsidiary fits; at 2,000,000 a subsidiary alone is over the bound."""
    from peewee import fn

    from webapp.models import Load

    slices = (Load.select(Load.subsidiary, Load.billing_status, fn.COUNT(Load.id).alias("n"))
              .where(Load.company == bench.facts["company_id"])
              .group_by(Load.subsidiary, Load.billing_status).tuples())
    fitting = [(n, subsidiary, status) for subsidiary, status, n in slices if n <= bound]
    if not fitting:
        raise RuntimeError(f"no subsidiary and status of the company holds {bound:,} loads or fewer")
    n, subsidiary, status = max(fitting)
    return urllib.parse.urlencode({"subsidiary": subsidiary, "status": status}), n


def _streamed(port, path, headers):
    """GET PATH from the web process on PORT, reading the answer 64 KiB at a time; its bytes."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        if response.status != 200:
            raise RuntimeError(f"{path} answered {response.status}")
        size = 0
        while part := response.read(1 << 16):
            size += len(part)
        return size
    finally:
        conn.close()
