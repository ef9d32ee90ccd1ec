"""gunicorn settings for production: `gunicorn -c gunicorn.conf.py wsgi:app`.

Everything comes from the environment (see README, Deployment):
WEB_CONCURRENCY (worker processes, default 2), GUNICORN_THREADS (threads per worker,
default 1: sync workers), BIND (default HOST:PORT, 127.0.0.1:8000), GUNICORN_TIMEOUT,
GUNICORN_GRACEFUL_TIMEOUT, GUNICORN_MAX_REQUESTS, LOG_LEVEL, GUNICORN_CONTROL_SOCKET.
The app itself reads SECRET_KEY, DATABASE_URL, QUEUE_URL, ... (config.py).
"""
import os


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

# Logs to stderr, key=value like the app's own lines, with the request id the app
# sets on every response (X-Request-Id: taken from the proxy's header, or made up).
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
errorlog = "-"
accesslog = "-"
access_log_format = (
    'time=%(t)s level=INFO logger=gunicorn.access request_id=%({x-request-id}o)s '
    'remote=%(h)s method=%(m)s path="%(U)s" status=%(s)s bytes=%(B)s duration_ms=%(M)s '
    'agent="%(a)s"')
