"""HTTP throughput under the production server (gunicorn, 2 workers) on 127.0.0.1 only.

The load generator is wrk (Debian package `wrk`; `make bench` installs it). The small Python
client (threads, keep-alive) runs only when asked (--python-client), and the figure says so:
it is itself the bottleneck. Both are bounded in time and count. The server's queue file and
log are this process's own (two runs side by side share nothing).
"""
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse

from bench.store import DATA
from bench.store import ROOT

HERE = os.path.dirname(os.path.abspath(__file__))
USER_AGENT = "factor-desk-bench/1"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gunicorn_conf():
    path = os.path.join(ROOT, "gunicorn.conf.py")
    return path if os.path.exists(path) else None


class Server:
    """gunicorn serving bench.serve:app with the product's gunicorn.conf.py, 2 workers."""

    def __init__(self, database_url, workers=2):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = os.path.join(DATA, f"gunicorn-{os.getpid()}.log")
        self.queue_file = os.path.join(DATA, f"queue-http-{os.getpid()}.db")
        env = dict(os.environ)
        env.update({
            "DATABASE_URL": database_url,
            "QUEUE_URL": "sqlite:///" + self.queue_file,
            "SECRET_KEY": "bench-" + os.urandom(16).hex(),
            "LOG_LEVEL": "WARNING",
            "FLASK_DEBUG": "0",
        })
        cmd = [os.path.join(os.path.dirname(sys.executable), "gunicorn")]
        conf = gunicorn_conf()
        if conf:
            cmd += ["-c", conf]
        cmd += ["--workers", str(workers), "--bind", f"127.0.0.1:{self.port}", "bench.serve:app"]
        self.command = cmd
        self.config = os.path.relpath(conf, ROOT) if conf else "(no gunicorn.conf.py: gunicorn defaults)"
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def wait_ready(self, seconds=60):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}; see {self.log_path}")
            try:
                status, _, _ = request("127.0.0.1", self.port, "GET", "/healthz")
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)  # polling a server that is starting
        raise RuntimeError(f"gunicorn did not answer /healthz within {seconds} s")

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self._log.close()
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(self.queue_file + suffix):
                os.remove(self.queue_file + suffix)


def request(host, port, method, path, body=None, headers=None, timeout=30):
    """One HTTP request; returns (status, headers as a list, body bytes)."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        conn.close()


def _cookie(headers, name="session"):
    for key, value in headers:
        if key.lower() == "set-cookie" and value.startswith(name + "="):
            return value.split(";", 1)[0]
    return None


def sign_in(port, email, password):
    """Sign in through the real form (with its CSRF token); returns the Cookie header value."""
    status, headers, body = request("127.0.0.1", port, "GET", "/login", headers={"User-Agent": USER_AGENT})
    match = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', body)
    if status != 200 or not match:
        raise RuntimeError(f"/login answered {status} without a CSRF token")
    cookie = _cookie(headers)
    form = urllib.parse.urlencode({"csrf_token": match.group(1).decode(), "email": email,
                                   "password": password})
    status, headers, _ = request("127.0.0.1", port, "POST", "/login", body=form, headers={
        "User-Agent": USER_AGENT, "Content-Type": "application/x-www-form-urlencoded",
        "Cookie": cookie or ""})
    cookie = _cookie(headers) or cookie
    if status not in (302, 303) or not cookie:
        raise RuntimeError(f"sign-in answered {status}")
    return cookie


def wrk_path():
    return shutil.which("wrk")


def run_wrk(url, cookie, seconds=8, threads=2, connections=8):
    """wrk against URL; returns {"rps", "requests", "errors", "p50_ms", "p99_ms", "tool"}."""
    cmd = [wrk_path(), f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency",
           "--timeout", "10s", "-s", os.path.join(HERE, "wrk_status.lua"),
           "-H", f"Cookie: {cookie}", "-H", f"User-Agent: {USER_AGENT}", url]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    non200 = int((re.search(r"non200: (\d+)", out) or [0, 0])[1])
    socket_errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)",
                                                    (re.search(r"Socket errors:.*", out) or [""])[0]))
    latency = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.M))
    return {"rps": rps, "requests": total, "errors": non200 + socket_errors, "non200": non200,
            "socket_errors": socket_errors, "p50": latency.get("50"), "p99": latency.get("99"),
            "tool": f"wrk -t{threads} -c{connections} -d{seconds}s", "raw": out}


def run_python(url, cookie, seconds=8, connections=8, max_requests=50_000):
    """A bounded keep-alive client in threads; same result shape as run_wrk()."""
    parts = urllib.parse.urlsplit(url)
    path = parts.path + ("?" + parts.query if parts.query else "")
    deadline = time.monotonic() + seconds
    lock = threading.Lock()
    counts = {"ok": 0, "errors": 0}

    def worker():
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        while time.monotonic() < deadline:
            with lock:
                if counts["ok"] + counts["errors"] >= max_requests:
                    break
            try:
                conn.request("GET", path, headers={"Cookie": cookie, "User-Agent": USER_AGENT})
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                ok = False
                conn.close()
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
            with lock:
                counts["ok" if ok else "errors"] += 1
        conn.close()

    started = time.monotonic()
    workers = [threading.Thread(target=worker) for _ in range(connections)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(seconds + 30)
    elapsed = time.monotonic() - started
    total = counts["ok"] + counts["errors"]
    return {"rps": total / elapsed, "requests": total, "errors": counts["errors"],
            "tool": f"Python client, {connections} keep-alive connections, {seconds} s"}


def throughput(database_url, facts, paths, password, seconds=8, log=print, python_client=False, rounds=1):
    """Requests per second for each of PATHS under gunicorn (2 workers); returns {path: result}.
    With ROUNDS, the paths are measured in turn that many times and each keeps its median round
    (the host's other tenants slow one run of a few seconds, rarely all of them); every round's
    figure is in its "rounds", and the errors are those of every round. With wrk missing it
    refuses, unless PYTHON_CLIENT allows the Python client."""
    if wrk_path():
        log(f"  load generator: wrk ({wrk_path()})")
    elif python_client:
        log("  load generator: the Python client (--python-client; wrk is not installed)")
    else:
        raise RuntimeError("wrk is not installed (apt-get install wrk; `make bench` installs it), "
                           "and --python-client was not given")
    server = Server(database_url)
    results = {}
    try:
        server.wait_ready()
        cookie = sign_in(server.port, facts["billing_email"], password)
        for path in paths:
            status, _, _ = request("127.0.0.1", server.port, "GET", path,
                                   headers={"Cookie": cookie, "User-Agent": USER_AGENT})
            if status != 200:
                raise RuntimeError(f"GET {path} answered {status} under gunicorn")
        runs_of = {}
        for _ in range(rounds):
            for path in paths:
                if wrk_path():
                    result = run_wrk(server.base + path, cookie, seconds=seconds)
                else:
                    result = run_python(server.base + path, cookie, seconds=seconds)
                log(f"  {path}: {result['rps']:,.0f} req/s, {result['errors']} errors ({result['tool']})")
                runs_of.setdefault(path, []).append(result)
        for path, runs in runs_of.items():
            median = sorted(runs, key=lambda r: r["rps"])[len(runs) // 2]
            results[path] = dict(median, rounds=[r["rps"] for r in runs], errors=sum(r["errors"] for r in runs))
        for result in results.values():
            result["server"] = " ".join(
                os.path.basename(c) if i == 0 else
                os.path.relpath(c, ROOT) if os.path.isabs(c) else c
                for i, c in enumerate(server.command))
            result["config"] = server.config
    finally:
        server.stop()
    return results
