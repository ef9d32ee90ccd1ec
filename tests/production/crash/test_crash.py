"""The crash test: the production path under concurrent use, with its queue worker killed.

PostgreSQL (a fresh database) + Redis (a fresh DB number) + gunicorn with 2 web
workers + 1 queue worker, each a real process on 127.0.0.1. Four clients sign in
and, at the same time, submit overlapping batches through the real forms (with
their CSRF tokens); the queue worker is killed with SIGKILL while it is building
a batch, and started again; then the clients upload Purchase and Payment Reports,
two of them racing with the same file on the same batch. Afterwards the database
must tell one consistent story.

It runs in the PostgreSQL pass (TEST_DATABASE_URL set; REQUIRE_POSTGRES=1 in CI,
where a missing service fails it) or with CRASH_TEST=1; elsewhere it is skipped.
"""
import datetime
import os
import re
import uuid

import pytest

from tests import backing_services
from tests.helpers import at_once
from tests.production.crash.harness import Client
from tests.production.crash.harness import Stack
from tests.production.crash.harness import request
from tests.production.crash.harness import wait_until

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
REDIS_HOST = "127.0.0.1"
REDIS_PORT = 6379
CLAIM_KEY = "factor-desk:crash-test:claim"
TERMINAL = ("ready", "failed", "cancelled")
LIVE = ("pending", "running", "ready", "failed")


def _pg_url():
    url = os.environ.get("TEST_DATABASE_URL", "")
    if url.startswith("postgres"):
        return url
    if os.environ.get("CRASH_TEST") == "1":
        return os.environ.get("CRASH_DATABASE_URL", DEFAULT_PG)
    return None


def _claim_redis_db():
    """A Redis DB number nobody uses (empty), claimed with a key; returns (client, number).

    0 is the default and 15 is the production tests' queue: neither is taken.
    """
    import redis
    for number in range(14, 0, -1):
        client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=number, socket_timeout=5)
        if client.dbsize() == 0 and client.set(CLAIM_KEY, os.getpid(), nx=True, ex=1800):
            return client, number
    raise RuntimeError("no empty Redis database (1-14) to run the crash test in")


def _redis_up():
    import redis
    backing_services.ensure_redis(f"redis://{REDIS_HOST}:{REDIS_PORT}/0")
    redis.Redis(host=REDIS_HOST, port=REDIS_PORT, socket_timeout=5).ping()
    return True


def _build_database(url):
    """Migrate the fresh database and write a small version of the benchmark's dataset."""
    from bench import dataset
    from webapp import create_app
    from webapp import database
    from webapp.models import User
    from webapp.models import db

    create_app({"TESTING": True, "SECRET_KEY": "crash-setup", "DATABASE_URL": url,
                "QUEUE_URL": "immediate"})
    database.migrate()
    spec = dataset.Spec(loads=3_000, tenants=(("Crash Trucking", 3, 0.8), ("Crash Haulers", 2, 0.2)),
                        customers_per_tenant=30, eligible=1_200, big_batch=40, past_batches=12,
                        batch_size=(5, 20))
    with database.connection():
        facts = dataset.build(spec)
        billing = User.get(User.email == facts.billing_email)
        emails = [facts.billing_email, "admin@bench.test"]
        for n in (3, 4):
            email = f"billing{n}@bench.test"
            User.create(email=email, name=f"Billing {n}", password_hash=billing.password_hash,
                        role="user", company=billing.company_id, billing=True)
            emails.append(email)
    db.close()
    return facts, emails


class Crash:
    """What the test needs: the stack, a reading connection, the dataset's facts."""

    def __init__(self, stack, url, facts, emails):
        import psycopg2
        self.stack = stack
        self.facts = facts
        self.emails = emails
        self.conn = psycopg2.connect(url)
        self.conn.autocommit = True

    def rows(self, sql, *params):
        with self.conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()

    def value(self, sql, *params):
        rows = self.rows(sql, *params)
        return rows[0][0] if rows else None

    def client(self, email):
        from bench.dataset import PASSWORD
        return Client(self.stack.port, email, PASSWORD)


@pytest.fixture
def crash(tmp_path):
    """The whole production stack on a fresh PostgreSQL database and Redis DB; stopped at the end."""
    server_url = _pg_url()
    if server_url is None:
        pytest.skip("the crash test runs in the PostgreSQL pass (TEST_DATABASE_URL=postgresql://...) "
                    "or with CRASH_TEST=1")
    backing_services.need("PostgreSQL", lambda: backing_services.pg_server_available(server_url))
    backing_services.need("Redis", _redis_up)
    redis_client, redis_db = _claim_redis_db()
    name = f"fd_crash_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    url = backing_services.recreate_pg_database(server_url, name)
    stack = None
    crash = None
    try:
        facts, emails = _build_database(url)
        stack = Stack(url, f"redis://{REDIS_HOST}:{REDIS_PORT}/{redis_db}", str(tmp_path))
        stack.start_web()
        stack.start_worker()
        crash = Crash(stack, url, facts, emails)
        yield crash
    except BaseException:
        if stack is not None:
            print(stack.logs())
        raise
    finally:
        if crash is not None:
            crash.conn.close()
        if stack is not None:
            stack.close()
        redis_client.flushdb()
        redis_client.close()
        from webapp.models import db
        if not db.is_closed():
            db.close()
        backing_services.drop_pg_databases(server_url, [name])


def _together(functions):
    """Run FUNCTIONS in threads released at the same moment; re-raise the first error."""
    results = at_once(functions, timeout=300)
    errors = [result for result in results if isinstance(result, BaseException)]
    if errors:
        raise errors[0]
    return results


def _submit(client, subsidiary_id, load_ids):
    """Submit Batch, then read the message the page shows: True when a batch was made."""
    status, headers, _ = client.post(f"/accounting/factoring-upload/submit?subsidiary_id={subsidiary_id}",
                                     [("load_id", str(i)) for i in load_ids])
    assert status == 303, f"Submit Batch answered {status}"
    status, _, body = client.get(headers["location"])
    assert status == 200
    text = body.decode("utf-8", "replace")
    made = re.search(r"Batch #\d+ submitted", text) is not None
    refused = "already in batch" in text
    said = re.findall(r'class="flash[^"]*"[^>]*>(.*?)</div>', text, re.S)
    assert made != refused, f"Submit Batch said neither 'submitted' nor 'already in batch' (or both): {said}"
    return made


def _ids_on_page(client, subsidiary_id):
    status, _, body = client.get(f"/accounting/factoring-upload/?subsidiary_id={subsidiary_id}&per_page=200")
    assert status == 200
    return [int(i) for i in re.findall(rb'name="load_id" value="(\d+)"', body)]


def _purchase_csv(rows, today):
    """All purchased, but the first load rejected and the second held; returns (bytes, expected)."""
    lines = ["Invoice Number,Load Number,Purchase Date,Invoice Amount,Advance Amount,Fee Amount,"
             "Reserve Amount,Status,Reason,Factor Reference"]
    expected = {}
    for n, (load_id, invoice, number, total) in enumerate(rows):
        fee = total * 3 // 100
        status, reason = "purchased", ""
        if n == 0 and len(rows) > 2:
            status, reason = "rejected", "Missing proof of delivery"
        elif n == 1 and len(rows) > 2:
            status, reason = "held", "Debtor over credit limit"
        expected[load_id] = status
        lines.append(f"{invoice},{number},{today},{total / 100:.2f},{(total - fee) / 100:.2f},"
                     f"{fee / 100:.2f},0.00,{status},{reason},CD-{load_id}")
    return ("\r\n".join(lines) + "\r\n").encode(), expected


def _payment_csv(rows, purchased, today):
    """A final payment for every purchased load but the last, which is paid in part."""
    lines = ["Invoice Number,Load Number,Payment Date,Amount Paid,Reference,Payment Method,"
             "Reserve Released,Fee Adjustment,Final,Notes"]
    expected = {}
    paying = [r for r in rows if r[0] in purchased]
    for n, (load_id, invoice, number, total) in enumerate(paying):
        partial = n == len(paying) - 1 and len(paying) > 1
        amount = total // 2 if partial else total
        expected[load_id] = ("partial" if partial else "final", amount)
        lines.append(f"{invoice},{number},{today},{amount / 100:.2f},ACH{load_id:08d},ACH,0.00,0.00,"
                     f"{'no' if partial else 'yes'},")
    return ("\r\n".join(lines) + "\r\n").encode(), expected


def _upload_and_confirm(client, batch_id, kind, data):
    """Upload a report on the batch page's form, then Confirm; returns the HTTP statuses."""
    path = f"/reports/factoring/batches/{batch_id}/{kind}-report"
    filename = "Purchase_Report.csv" if kind == "purchase" else "Payments_Report.csv"
    status, headers, _ = client.post(path, [], files={"file": (filename, data)})
    if status != 303:
        return (status, None)  # refused at upload (e.g. already applied): nothing to confirm
    match = re.search(r"/uploads/(\d+)", headers.get("location", ""))
    assert match, f"the upload redirected to {headers.get('location')!r}"
    client.get(headers["location"])
    status2, _, _ = client.post(f"/reports/factoring/uploads/{match.group(1)}/confirm", [])
    return (status, status2)


def test_killed_worker_and_racing_clients_leave_one_consistent_story(crash):
    facts = crash.facts
    sub = facts.eligible_subsidiary_id
    company = facts.company_id
    eligible = [r[0] for r in crash.rows(
        "SELECT id FROM load WHERE subsidiary_id = %s AND billing_status = 'queued' "
        "AND invoicing_method = 'factoring' AND batch_id IS NULL ORDER BY id", sub)]
    assert len(eligible) == 1_200
    clients = [crash.client(email) for email in crash.emails]
    _together([c.sign_in for c in clients])

    # 1. Four clients submit overlapping selections at the same moment.
    # Big enough that the worker is still drawing the first batch when the test looks.
    slices = [eligible[0:480], eligible[240:720], eligible[480:960], eligible[720:1200]]
    made = _together([lambda c=c, s=s: _submit(c, sub, s) for c, s in zip(clients, slices)])
    first_round = crash.rows("SELECT id, load_count FROM batch WHERE subsidiary_id = %s "
                             "AND created_at > now() - interval '1 hour' ORDER BY id", sub)
    assert 1 <= len(first_round) < 4, (
        f"{len(first_round)} of 4 overlapping submissions made a batch: overlap was not refused")
    assert sum(made) == len(first_round), "the messages shown disagree with the batches made"

    # 2. Kill the queue worker with SIGKILL while it is building a batch, then start another.
    def mid_batch():
        rows = crash.rows("SELECT id, progress_done, progress_total FROM batch WHERE status = 'running' "
                          "AND progress_done > 0 AND progress_done < progress_total")
        return rows[0] if rows else None

    killed_id, killed_done, killed_total = wait_until("a batch half built by the worker", mid_batch, 120,
                                                      interval=0.02)
    crash.stack.workers[-1].kill()
    crash.stack.workers[-1].proc.wait(timeout=10)
    crash.stack.start_worker()

    # 3. Meanwhile all four submit what Factoring Upload lists now: one batch at most wins.
    pages = _together([lambda c=c: _ids_on_page(c, sub) for c in clients])
    if pages[0]:
        made = _together([lambda c=c, ids=ids: _submit(c, sub, ids) for c, ids in zip(clients, pages)])
        assert sum(made) <= 1, f"{sum(made)} of 4 submissions of the same loads made a batch"

    mine = lambda: crash.rows("SELECT id, status, error, attempts FROM batch WHERE subsidiary_id = %s "  # noqa: E731
                              "AND created_at > now() - interval '1 hour' ORDER BY id", sub)

    def all_done():
        rows = mine()
        return rows if rows and all(r[1] in TERMINAL for r in rows) else None

    try:
        done = wait_until("every batch to finish (ready, failed or cancelled)", all_done, 240, interval=0.25)
    except AssertionError:
        raise AssertionError(f"batches stuck: {mine()}\n{crash.stack.logs()}")
    retried = set()
    for batch_id, status, error, attempts in done:
        if status == "failed":
            retried.add(batch_id)
            assert error, f"batch {batch_id} failed without saying why"
            # Failed with retry: the Retry button brings it to ready.
            clients[0].get(f"/reports/factoring/batches/{batch_id}")
            status_code, _, _ = clients[0].post(f"/reports/factoring/batches/{batch_id}/retry", [])
            assert status_code in (200, 303)
    done = wait_until("retried batches to finish", all_done, 240, interval=0.25)
    killed = {r[0]: r for r in done}[killed_id]
    assert killed[1] == "ready", f"the batch whose worker was killed ended {killed[1]}: {killed[2]}"
    if killed_id not in retried:
        assert killed[3] >= 2, "the killed batch was not taken up again by a new attempt"
    ready = [r[0] for r in done if r[1] == "ready"]
    assert ready

    # 4. Reports: two clients race with the same file on each batch, Purchase then Payment.
    today = datetime.date.today().isoformat()
    expected_purchase, expected_payment = {}, {}
    for kind in ("purchase", "payment"):
        jobs = []
        for n, batch_id in enumerate(ready):
            rows = crash.rows("SELECT l.id, l.invoice_number, l.load_number, l.total_cents FROM load l "
                              "JOIN batch_load bl ON bl.load_id = l.id "
                              "WHERE bl.batch_id = %s AND bl.live ORDER BY l.id", batch_id)
            if kind == "purchase":
                data, expected = _purchase_csv(rows, today)
                expected_purchase.update(expected)
            else:
                purchased = {i for i, s in expected_purchase.items() if s == "purchased"}
                data, expected = _payment_csv(rows, purchased, today)
                expected_payment.update(expected)
            a, b = clients[n % 4], clients[(n + 1) % 4]
            jobs += [lambda c=a, i=batch_id, d=data: _upload_and_confirm(c, i, kind, d),
                     lambda c=b, i=batch_id, d=data: _upload_and_confirm(c, i, kind, d)]
        _together(jobs)

    print(f"crash test: first round made {len(first_round)} batch(es) of 4 submissions; worker killed "
          f"at {killed_done}/{killed_total} of batch {killed_id}; batches {done}; "
          f"{len(expected_purchase)} loads reported purchased/rejected/held, {len(expected_payment)} paid")

    # 5. One consistent story.
    _assert_consistent(crash, company, sub, ready, expected_purchase, expected_payment)
    status, _, body = request(crash.stack.port, "GET", "/healthz")
    assert status == 200, body


def _assert_consistent(crash, company, sub, ready, expected_purchase, expected_payment):
    # Every load is in at most one live batch, and Load.batch says which.
    twice = crash.rows("SELECT bl.load_id, COUNT(*) FROM batch_load bl JOIN batch b ON b.id = bl.batch_id "
                       "WHERE bl.live AND b.status IN %s GROUP BY bl.load_id HAVING COUNT(*) > 1", LIVE)
    assert twice == [], f"loads in two live batches: {twice[:10]}"
    mismatched = crash.rows(
        "SELECT l.id, l.batch_id, bl.batch_id FROM load l "
        "FULL JOIN (SELECT bl.load_id, bl.batch_id FROM batch_load bl JOIN batch b ON b.id = bl.batch_id "
        "           WHERE bl.live AND b.status IN %s) bl ON bl.load_id = l.id "
        "WHERE l.company_id = %s AND l.batch_id IS DISTINCT FROM bl.batch_id", LIVE, company)
    assert mismatched == [], f"Load.batch disagrees with the live batch rows: {mismatched[:10]}"

    # Statuses agree with batches: a load of the subsidiary in no live batch is Queued;
    # a load of a batch still building is Queued; of a ready batch, past Queued.
    free = crash.rows("SELECT id, billing_status FROM load WHERE subsidiary_id = %s AND batch_id IS NULL "
                      "AND billing_status <> 'queued' AND id IN (SELECT load_id FROM batch_load bl JOIN batch b "
                      "ON b.id = bl.batch_id WHERE b.subsidiary_id = %s AND b.created_at > now() - interval "
                      "'1 hour')", sub, sub)
    assert free == [], f"loads out of every batch that are not Queued: {free[:10]}"
    building = crash.rows("SELECT l.id, l.billing_status, b.status FROM load l JOIN batch b ON b.id = l.batch_id "
                          "WHERE b.status IN ('pending', 'running', 'failed') AND l.billing_status <> 'queued'")
    assert building == [], f"loads of unfinished batches that moved: {building[:10]}"
    early = crash.rows("SELECT l.id FROM load l JOIN batch b ON b.id = l.batch_id "
                       "WHERE b.status = 'ready' AND l.billing_status = 'queued'")
    assert early == [], f"loads of ready batches still Queued: {early[:10]}"

    # Each load of a ready batch moved Queued -> Invoiced once, even for the batch built twice.
    moves = crash.rows(
        "SELECT bl.load_id, COUNT(a.id) FROM batch_load bl LEFT JOIN audit_log a ON a.object_type = 'load' "
        "AND a.object_id = bl.load_id AND a.batch_id = bl.batch_id AND a.before = 'queued' "
        "AND a.after = 'invoiced' WHERE bl.batch_id IN %s GROUP BY bl.load_id HAVING COUNT(a.id) <> 1",
        tuple(ready))
    assert moves == [], f"loads whose move to Invoiced was recorded other than once: {moves[:10]}"
    files = crash.rows("SELECT b.id FROM batch b LEFT JOIN stored_file f ON f.id = b.file_id "
                       "WHERE b.id IN %s AND (f.id IS NULL OR f.size = 0 OR f.sha256 <> b.file_sha256)",
                       tuple(ready))
    assert files == [], f"ready batches without their stored ZIP: {files}"

    # Each report was applied once per batch, whatever the race.
    applied = dict(((b, k), n) for b, k, n in crash.rows(
        "SELECT batch_id, kind, COUNT(*) FROM report_upload WHERE status = 'applied' AND batch_id IN %s "
        "GROUP BY batch_id, kind", tuple(ready)))
    for batch_id in ready:
        assert applied.get((batch_id, "purchase")) == 1, f"batch {batch_id}: purchase reports applied " \
                                                         f"{applied.get((batch_id, 'purchase'), 0)} times"
        assert applied.get((batch_id, "payment")) == 1, f"batch {batch_id}: payment reports applied " \
                                                        f"{applied.get((batch_id, 'payment'), 0)} times"

    # Statuses agree with the applied uploads.
    state = {i: (s, hold, b, paid) for i, s, hold, b, paid in crash.rows(
        "SELECT id, billing_status, factor_hold, batch_id, paid_cents FROM load WHERE id IN %s",
        tuple(expected_purchase))}
    for load_id, outcome in expected_purchase.items():
        status, hold, batch_id, paid = state[load_id]
        if outcome == "rejected":
            assert (status, batch_id) == ("queued", None), f"rejected load {load_id}: {state[load_id]}"
        elif outcome == "held":
            assert status == "invoiced" and hold, f"held load {load_id}: {state[load_id]}"
        else:
            kind, amount = expected_payment[load_id]
            want = "completed" if kind == "final" else "financed"
            assert (status, paid) == (want, amount), f"load {load_id} ({kind} payment): {state[load_id]}"

    # No payment recorded twice: one row per paid load, and the load's sum is the rows' sum.
    payments = dict(crash.rows("SELECT load_id, COUNT(*) FROM payment WHERE load_id IN %s GROUP BY load_id",
                               tuple(expected_payment)))
    assert all(payments.get(i) == 1 for i in expected_payment), (
        f"payments per load: {[(i, payments.get(i)) for i in expected_payment if payments.get(i) != 1][:10]}")
    sums = crash.rows("SELECT l.id, l.paid_cents, COALESCE(SUM(p.amount_cents), 0) FROM load l "
                      "LEFT JOIN payment p ON p.load_id = l.id WHERE l.company_id = %s "
                      "GROUP BY l.id, l.paid_cents HAVING l.paid_cents <> COALESCE(SUM(p.amount_cents), 0) "
                      "AND COUNT(p.id) > 0", company)
    assert sums == [], f"loads whose paid amount is not the sum of their payments: {sums[:10]}"
