"""gunicorn settings for production: `gunicorn -c gunicorn.conf.py wsgi:app`.

Everything comes from the environment (see README, Deployment):
WEB_CONCURRENCY (worker processes, default 2), GUNICORN_THREADS (threads per worker,
default 1: sync workers), BIND (default HOST:PORT, 127.0.0.1:8000), GUNICORN_TIMEOUT,
GUNICORN_GRACEFUL_TIMEOUT, GUNICORN_MAX_REQUESTS, LOG_LEVEL, GUNICORN_CONTROL_SOCKET.
The app itself reads SECRET_KEY, DATABASE_URL, QUEUE_URL, ... (config.py).
"""
import importlib.util
import os

from gunicorn import glogging


def _int(name, default):
    return int(os.environ.get(name, default))


bind = os.environ.get("BIND") or f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = _int("WEB_CONCURRENCY", 2)
threads = _int("GUNICORN_THREADS", 1)
worker_class = "gthread" if threads > 1 else "sync"

# Requests are short (file generation runs in the queue worker), so a worker stuck
# this long is killed and replaced; on SIGTERM, requests in flight get this long to end.
timeout = _int("GUNICORN_TIMEOUT", 60)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = 5

# Recycle workers now and then so that no slow leak grows without bound.
max_requests = _int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = max_requests // 10

# Each worker builds its own app, and so its own database and queue connections:
# connections opened before fork would be shared between processes.
preload_app = False

# Heartbeat files on tmpfs where there is one (containers often have a slow /tmp).
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"

# gunicorn's control socket is one path per user by default; two servers on one
# machine would fight over it, so it is off unless a path is given.
if os.environ.get("GUNICORN_CONTROL_SOCKET"):
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]
else:
    control_socket_disable = True

# Logs: error lines to stderr, access lines to stdout, one key=value line per record
# like the app's own (webapp/logs.py), with the request id the app sets on every
# response (X-Request-Id: taken from the proxy's header, or made up).
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
errorlog = "-"
accesslog = "-"
# The access line's fields after time, level and logger: key=%(atom)s pairs, each value
# escaped by webapp.logs.AccessFormatter (a quote or a space in a path or a user agent
# cannot break the line).
access_log_format = (
    "request_id=%({x-request-id}o)s remote=%(h)s method=%(m)s path=%(U)s status=%(s)s "
    "bytes=%(B)s duration_ms=%(M)s agent=%(a)s")


def _load_logs():
    """webapp/logs.py, loaded by its path: importing the package webapp here would import
    the app into the master process, and the workers that SIGHUP starts would then run
    that old copy instead of importing the app afresh."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "webapp", "logs.py")
    spec = importlib.util.spec_from_file_location("factor_desk_logs", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_logs = _load_logs()


class _RawAtoms(glogging.SafeAtoms):
    """gunicorn's atoms as they are (SafeAtoms puts a backslash before every quote for its
    own quoting; the formatter escapes the values itself), still '-' when missing."""

    def __init__(self, atoms):
        dict.__init__(self, atoms)


class _Logger(glogging.Logger):
    """gunicorn's logger, its handlers writing the app's key=value lines."""

    atoms_wrapper_class = _RawAtoms

    def setup(self, cfg):
        super().setup(cfg)
        for log, formatter in ((self.error_log, _logs.Formatter()),
                               (self.access_log, _logs.AccessFormatter())):
            for handler in log.handlers:
                handler.setFormatter(formatter)


logger_class = _Logger
