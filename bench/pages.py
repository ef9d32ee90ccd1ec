"""Pages through the Flask test client: server time, queries per request, query plans."""
import re
import time

from bench.stats import Timer
from bench.stats import ms
from bench.stats import percentile

# Tables big enough that a full scan of them is a finding.
BIG_TABLES = ("load", "load_line", "batch_load", "audit_log", "payment", "report_upload",
              "batch", "stored_file")


class NotAvailable(Exception):
    """The feature a figure measures is not in the product yet."""


class Session:
    """A signed-in test client of the benchmark app."""

    def __init__(self, app, email, password, code=None):
        """Sign in as EMAIL; CODE is the second step's (a recovery code) for a user with
        two-factor sign-in on."""
        self.app = app
        self.client = app.test_client()
        with app.app_context():
            response = self.client.post("/login", data={"email": email, "password": password})
        if code is not None and response.headers.get("Location", "").startswith("/login/code"):
            with app.app_context():
                response = self.client.post("/login/code", data={"code": code})
        if response.status_code not in (302, 303) or "/login" in response.headers.get("Location", ""):
            raise RuntimeError(f"could not sign in as {email}: HTTP {response.status_code}")

    def get(self, url, headers=None):
        """One GET of URL in an app context of its own, as a server gives each request.

        The bench keeps an app context open for its own service calls; a request made inside
        it would share its `g` with every other request (the signed-in user, the company in
        view), and skip loading them as a real request must.
        """
        with self.app.app_context():
            return self.client.get(url, headers=headers)

    def time(self, url, n=50, warmup=5, check=None, headers=None):
        """N timed GETs of URL after WARMUP untimed ones; returns (samples in s, last response).

        The samples are wall-clock times; the CPU time of each request (this process's
        user + system time, which other processes on a busy machine do not inflate)
        is kept in self.cpu_samples. HEADERS go with every GET (HX-Request for a fragment).
        """
        response = None
        for _ in range(warmup):
            response = self.get(url, headers)
            _expect_ok(url, response, check)
        samples = []
        self.cpu_samples = []
        for _ in range(n):
            cpu = time.process_time()
            with Timer() as t:
                response = self.get(url, headers)
            self.cpu_samples.append(time.process_time() - cpu)
            samples.append(t.seconds)
            _expect_ok(url, response, check)
        return samples, response

    def capture(self, url, headers=None):
        """The SQL statements one GET of URL runs: [(sql, params, seconds)]."""
        from webapp.models import db
        events = []

        def hook(event):
            events.append((event.sql, tuple(event.params or ()), event.duration))

        db.obj.query_hooks.append(hook)
        try:
            response = self.get(url, headers)
        finally:
            db.obj.query_hooks.remove(hook)
        _expect_ok(url, response, None)
        return events


def _expect_ok(url, response, check):
    if response.status_code != 200:
        raise RuntimeError(f"GET {url} answered HTTP {response.status_code}")
    if check is not None and check not in response.get_data(as_text=True):
        raise NotAvailable(f"GET {url} does not show {check!r} (page not built yet?)")


def summary(samples):
    return {"p50_ms": ms(percentile(samples, 50)), "p95_ms": ms(percentile(samples, 95)),
            "max_ms": ms(max(samples)), "n": len(samples)}


def explain(sql, params):
    """The database's query plan of one statement, as its detail lines."""
    from webapp.database import is_postgres
    from webapp.models import db
    if is_postgres():
        return [row[0] for row in db.execute_sql("EXPLAIN " + sql, params).fetchall()]
    cursor = db.execute_sql("EXPLAIN QUERY PLAN " + sql, params)
    return [row[3] for row in cursor.fetchall()]


def plan_findings(plan, seconds=None):
    """What in a plan can cost time on a big table: full scans, and sorts in a slow query.

    A temporary B-tree is reported only when the query took over 5 ms: sorting the
    page's few rows after an index search is cheap, sorting a whole tenant is not.
    """
    findings = []
    for detail in plan:
        pg = re.search(r"Seq Scan on (\w+)", detail)   # PostgreSQL's words for a full scan
        if pg and pg.group(1) in BIG_TABLES:
            findings.append(f"full table scan of {pg.group(1)}")
        m = re.match(r"SCAN (\w+)( AS \w+)?( USING (COVERING )?INDEX (\w+))?", detail)
        if m and m.group(1) in BIG_TABLES:
            if m.group(3):
                findings.append(f"full index scan of {m.group(1)} ({m.group(5)})")
            else:
                findings.append(f"full table scan of {m.group(1)}")
        if "USE TEMP B-TREE" in detail and (seconds is None or seconds > 0.005):
            findings.append(detail.lower())
    return findings


def query_report(session, url, headers=None):
    """Queries of one GET of URL with their plans and findings."""
    events = session.capture(url, headers)
    queries = []
    for sql, params, seconds in events:
        entry = {"sql": sql, "ms": round(ms(seconds), 2)}
        if sql.lstrip().upper().startswith("SELECT"):
            entry["plan"] = explain(sql, params)
            entry["findings"] = plan_findings(entry["plan"], seconds)
        queries.append(entry)
    return {"url": url, "count": len(events), "queries": queries}
