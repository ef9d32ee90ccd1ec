"""Serve the web app and the job worker together; Ctrl-C stops both."""
import argparse
import os
import signal
import subprocess
import sys


def main():
    """Start `flask run` and `flask worker` as children and wait for either to stop."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", default="5000")
    parser.add_argument("--debug", action="store_true",
                        help="reload on every change and show the debugger (for editing the code)")
    args = parser.parse_args()
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    env = dict(os.environ)
    serve = ["run", "--host", args.host, "--port", str(args.port)]
    if args.debug:
        # The web app reloads itself on every change and shows the debugger (bound to HOST,
        # 127.0.0.1 unless told otherwise). The worker is not reloaded: restart `make dev`
        # after changing a job's code.
        env["FLASK_DEBUG"] = "1"
        serve = ["--debug"] + serve + ["--reload"]
    else:
        serve += ["--no-reload"]
    # A kill (SIGTERM, or SIGHUP when the terminal goes) stops both children as Ctrl-C does,
    # rather than leaving them serving behind a parent that is gone.
    for number in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, _stop)
    worker = subprocess.Popen(flask + ["worker"], env=env)
    web = subprocess.Popen(flask + serve, env=env)
    mode = " in debug mode (reloads on every change)" if args.debug else ""
    print(f"Factor Desk: http://{args.host}:{args.port}{mode} (worker pid {worker.pid}); Ctrl-C stops both.")
    try:
        while web.poll() is None and worker.poll() is None:
            try:
                web.wait(timeout=1)
            except subprocess.TimeoutExpired:
                pass
    except KeyboardInterrupt:
        pass
    finally:
        for proc in (web, worker):
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for proc in (web, worker):
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
    return web.returncode or 0


def _stop(number, frame):
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
