"""scripts/run_dev.py (make run): a kill stops the web app and the worker with it, as Ctrl-C does."""
import os
import signal
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid):
    with open(f"/proc/{pid}/task/{pid}/children") as fh:
        return [int(p) for p in fh.read().split()]


def _answers(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def test_a_kill_of_make_runs_process_stops_the_web_app_and_the_worker(tmp_path):
    port = _free_port()
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{tmp_path / 'app.db'}",
               QUEUE_URL=f"sqlite:///{tmp_path / 'queue.db'}", SECRET_KEY="test")
    proc = subprocess.Popen([sys.executable, "scripts/run_dev.py", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not _answers(port):  # the web app is up (polled: no fixed sleep)
            assert proc.poll() is None and time.monotonic() < deadline, "make run's web app did not start"
            time.sleep(0.1)
        children = _children(proc.pid)
        assert len(children) == 2  # the worker and the web app
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        for child in children:
            assert not os.path.exists(f"/proc/{child}") or open(f"/proc/{child}/stat").read().split()[2] == "Z"
        assert not _answers(port)
    finally:
        if proc.poll() is None:
            proc.kill()
