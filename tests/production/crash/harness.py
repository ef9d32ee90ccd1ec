"""The crash test's moving parts: real processes on 127.0.0.1 and HTTP clients.

Everything here is started as a child process in its own process group and
stopped by Stack.close(), whatever happened before.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import uuid

from bench import http_load

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BIN = os.path.dirname(sys.executable)
USER_AGENT = "factor-desk-crash-test"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(what, predicate, seconds, interval=0.1):
    """Poll PREDICATE until it returns a true value (returned), or fail naming WHAT."""
    deadline = time.monotonic() + seconds
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {seconds} s waiting for {what}")
        time.sleep(interval)  # polling a real process or the database, not timing the test


class Process:
    """One child process in its own process group, its output in a log file."""

    def __init__(self, name, cmd, env, log_dir):
        self.name = name
        self.log_path = os.path.join(log_dir, f"{name}.log")
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def kill(self, sig=signal.SIGKILL):
        """Send SIG to the whole process group (gunicorn's workers, the worker's threads)."""
        if self.alive():
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass

    def stop(self, timeout=20):
        """SIGTERM, then SIGKILL if it does not end in TIMEOUT seconds."""
        self.kill(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill(signal.SIGKILL)
            self.proc.wait(timeout=10)
        self._log.close()

    def tail(self, lines=40):
        try:
            with open(self.log_path, "rb") as fh:
                return b"\n".join(fh.read().splitlines()[-lines:]).decode("utf-8", "replace")
        except OSError:
            return ""


class Stack:
    """gunicorn (2 workers) and the queue worker, on one PostgreSQL database and one Redis DB."""

    def __init__(self, database_url, queue_url, log_dir):
        self.log_dir = log_dir
        self.port = free_port()
        self.env = dict(os.environ)
        for name in ("FLASK_DEBUG", "TESTING"):
            self.env.pop(name, None)
        self.env.update({
            "DATABASE_URL": database_url,
            "QUEUE_URL": queue_url,
            "SECRET_KEY": "crash-" + uuid.uuid4().hex,
            "WEB_CONCURRENCY": "2",
            "GUNICORN_THREADS": "1",
            "BIND": f"127.0.0.1:{self.port}",
            # A worker that stopped beating this long ago is dead: recovery may take its batch.
            "JOB_STALE_SECONDS": "4",
            "LOG_LEVEL": "INFO",
        })
        self.web = None
        self.workers = []

    def start_web(self):
        cmd = [os.path.join(BIN, "gunicorn")]
        if os.path.exists(os.path.join(ROOT, "gunicorn.conf.py")):
            cmd += ["-c", os.path.join(ROOT, "gunicorn.conf.py")]
        cmd += ["--workers", "2", "--bind", f"127.0.0.1:{self.port}", "wsgi:app"]
        self.web = Process("gunicorn", cmd, self.env, self.log_dir)
        wait_until("gunicorn to answer /healthz", self._healthy, 60)

    def _healthy(self):
        if not self.web.alive():
            raise AssertionError(f"gunicorn exited ({self.web.proc.returncode}):\n{self.web.tail()}")
        try:
            status, _, _ = request(self.port, "GET", "/healthz")
        except OSError:
            return False
        return status == 200

    def start_worker(self):
        """One queue worker (`flask --app wsgi worker`), as in production."""
        n = len(self.workers) + 1
        worker = Process(f"worker-{n}", [sys.executable, "-m", "flask", "--app", "wsgi", "worker",
                                         "--workers", "1"], self.env, self.log_dir)
        self.workers.append(worker)
        return worker

    def logs(self):
        parts = []
        for proc in [self.web] + self.workers:
            if proc is not None:
                parts.append(f"--- {proc.name} (last lines)\n{proc.tail()}")
        return "\n".join(parts)

    def close(self):
        for proc in self.workers + [self.web]:
            if proc is not None:
                try:
                    proc.stop()
                except Exception:  # keep stopping the others
                    proc.kill(signal.SIGKILL)


def request(port, method, path, body=None, headers=None, timeout=60):
    """One HTTP request to 127.0.0.1:PORT; returns (status, headers, body bytes)."""
    return http_load.request("127.0.0.1", port, method, path, body, headers, timeout)


class Client:
    """A person's browser, reduced to what the test needs: cookies, CSRF token, forms."""

    def __init__(self, port, email, password):
        self.port = port
        self.email = email
        self.password = password
        self.cookies = {}
        self.csrf = None
        self.log = []

    def _headers(self, extra=None):
        headers = {"User-Agent": USER_AGENT}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        headers.update(extra or {})
        return headers

    def _remember(self, headers):
        for key, value in headers:
            if key.lower() == "set-cookie":
                pair = value.split(";", 1)[0]
                name, _, val = pair.partition("=")
                if val:
                    self.cookies[name.strip()] = val.strip()
                else:
                    self.cookies.pop(name.strip(), None)

    def get(self, path):
        status, headers, body = request(self.port, "GET", path, headers=self._headers())
        self._remember(headers)
        self._token_from(body)
        self.log.append(("GET", path, status))
        return status, headers, body

    def post(self, path, fields, files=None):
        """POST a form (multipart when FILES {name: (filename, bytes)}); CSRF token included."""
        fields = list(fields) + [("csrf_token", self.csrf or "")]
        if files:
            boundary = "----crash" + uuid.uuid4().hex
            body = _multipart(fields, files, boundary)
            ctype = f"multipart/form-data; boundary={boundary}"
        else:
            body = urllib.parse.urlencode(fields).encode()
            ctype = "application/x-www-form-urlencoded"
        status, headers, data = request(self.port, "POST", path, body=body,
                                        headers=self._headers({"Content-Type": ctype}))
        self._remember(headers)
        self.log.append(("POST", path, status))
        return status, dict((k.lower(), v) for k, v in headers), data

    def _token_from(self, body):
        match = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', body or b"")
        if match:
            self.csrf = match.group(1).decode()

    def sign_in(self):
        status, _, _ = self.get("/login")
        assert status == 200 and self.csrf, f"/login answered {status} without a CSRF token"
        status, headers, _ = self.post("/login", [("email", self.email), ("password", self.password)])
        assert status in (302, 303) and "/login" not in headers.get("location", ""), (
            f"sign-in of {self.email} answered {status}")
        # A page with a form: the token of this session.
        self.get("/accounting/factoring-upload/")
        assert self.csrf


def _multipart(fields, files, boundary):
    out = []
    for name, value in fields:
        out.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
                   .encode())
    for name, (filename, data) in files.items():
        out.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                   f"Content-Type: text/csv\r\n\r\n".encode() + data + b"\r\n")
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out)
