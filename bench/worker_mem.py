"""Peak memory of a real queue worker (`flask --app wsgi worker`) while it builds a batch."""
import os
import signal
import subprocess
import sys
import time

from bench.floors import Database
from bench.store import DATA
from bench.store import ROOT


def _status(pid):
    """VmHWM and VmRSS of PID in MB, from /proc (no psutil)."""
    out = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                out[key] = int(value.split()[0]) / 1024.0
    return out


def start_worker(database_url, queue_url):
    """The product's queue worker as a child process."""
    env = dict(os.environ)
    env.update({"DATABASE_URL": database_url, "QUEUE_URL": queue_url,
                "SECRET_KEY": "bench-" + os.urandom(8).hex(), "LOG_LEVEL": "WARNING"})
    log = open(os.path.join(DATA, f"worker-{os.getpid()}.log"), "wb")
    proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--workers", "1"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    proc.log = log
    return proc


def stop_worker(proc):
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    proc.log.close()


def wait_batch(database_url, batch_id, proc, seconds=600):
    """Poll the batch row until its job is finished; returns (status, error)."""
    deadline = time.monotonic() + seconds
    conn = Database(database_url).connect(autocommit=True)
    try:
        while time.monotonic() < deadline:
            row = conn.execute("SELECT status, error FROM batch WHERE id = ?", (batch_id,)).fetchone()
            if row and row[0] in ("ready", "failed", "cancelled"):
                return row
            if proc.poll() is not None:
                raise RuntimeError(f"the worker exited with {proc.returncode}; see {proc.log.name}")
            time.sleep(0.1)  # polling the database for the job's end
    finally:
        conn.close()
    raise RuntimeError(f"batch {batch_id} not finished within {seconds} s")


def _remove_queue(queue_file):
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(queue_file + suffix):
            os.remove(queue_file + suffix)


def measure(database_url, submit):
    """Run SUBMIT() (which enqueues one batch and returns its id) then a real worker; memory in MB."""
    queue_file = os.path.join(DATA, f"queue-worker-{os.getpid()}.db")   # this process's own
    _remove_queue(queue_file)
    queue_url = "sqlite:///" + queue_file
    started = time.perf_counter()
    batch_id = submit(queue_url)
    proc = start_worker(database_url, queue_url)
    try:
        status, error = wait_batch(database_url, batch_id, proc)
        seconds = time.perf_counter() - started
        mem = _status(proc.pid)
    finally:
        stop_worker(proc)
        _remove_queue(queue_file)
    return {"batch_id": batch_id, "status": status, "error": error, "seconds": seconds,
            "peak_mb": mem.get("VmHWM"), "rss_mb": mem.get("VmRSS")}
