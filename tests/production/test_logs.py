"""One log line per record (webapp/logs.py): quotes, newlines or `=` stay on it, and it reads back.

Messages, exceptions and request headers that hold quotes, newlines or `=` stay on their line,
and the line reads back to the same fields."""
import datetime
import io
import logging
import os
import re
import runpy
import subprocess
import sys

import pytest
from flask import current_app
from gunicorn.config import Config as GunicornConfig
from hypothesis import given
from hypothesis import strategies as st

from webapp import create_app
from webapp import logs
from webapp.models import db
from webapp.permissions import public

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Quotes, newlines, a carriage return, a tab, `=`, a backslash before an n (not a newline),
# Unicode line breaks that str.splitlines() honours, a control character, non-ASCII text.
NASTY = 'disk "full"\nmsg="forged" level=CRITICAL\r\n\tC:\\new\\table \\" end\x0b\x1c\x85\u2028\x1b café'

_FIELD = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|[^\s"]+)(?: |$)')
_ESCAPE = re.compile(r"\\(u[0-9a-f]{4}|.)")
_ESCAPED = {"\\": "\\", '"': '"', "n": "\n", "r": "\r", "t": "\t"}


def parse(line):
    """A log line back to its fields: key=value pairs one space apart, nothing else.

    (shlex.split would split the pairs right, but it leaves `\\n` as two characters, and
    after it a newline and a backslash followed by an n look the same.)"""
    assert line.splitlines() == [line], f"not one line: {line!r}"
    fields, pos = {}, 0
    while pos < len(line):
        match = _FIELD.match(line, pos)
        assert match, f"not key=value at {pos}: {line[pos:]!r}"
        key, value = match.groups()
        assert key not in fields, f"{key} twice in {line!r}"
        if value.startswith('"'):
            value = _ESCAPE.sub(
                lambda e: chr(int(e[1][1:], 16)) if len(e[1]) == 5 else _ESCAPED[e[1]], value[1:-1])
        fields[key] = value
        pos = match.end()
    return fields


def _one_record_per_line(output, count):
    lines = output.splitlines()
    assert output.endswith("\n") and len(lines) == count, output
    return [parse(line) for line in lines]


@given(st.text())
def test_any_value_stays_on_one_line_and_reads_back(value):
    line = f"k={logs.format_value(value)} msg={logs.format_value(value, quote=True)} end=1"
    assert parse(line) == {"k": value, "msg": value, "end": "1"}


@pytest.mark.parametrize("value, written", [
    ("plain", "plain"), ("lb-7f3a.42", "lb-7f3a.42"), ("", '""'), (None, "-"), (42, "42"),
    ("two words", '"two words"'), ("a=b", '"a=b"'), ('say "hi"', r'"say \"hi\""'),
    ("back\\slash", r'"back\\slash"'), ("one\ntwo\r\tthree", r'"one\ntwo\r\tthree"'),
    ("bell\x07 sep\u2028 nel\x85 lone\ud800", r'"bell\u0007 sep\u2028 nel\u0085 lone\ud800"'),
    ("café", "café"),
])
def test_values_are_quoted_and_escaped_only_when_they_need_it(value, written):
    assert logs.format_value(value) == written


def _capture(name, formatter):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    logger = logging.getLogger(name)
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger, stream


def test_the_formatter_writes_an_exception_on_one_line():
    logger, stream = _capture("tests.logs.direct", logs.Formatter())
    try:
        raise ValueError(NASTY)
    except ValueError:
        logger.exception('could not read "%s"\nfor batch %s', "report.csv", 7)
        exc_info = sys.exc_info()
    logger.warning("no exception here", stack_info=True)

    first, second = _one_record_per_line(stream.getvalue(), 2)
    assert list(first) == ["time", "level", "logger", "request_id", "msg", "exc_type", "exc", "traceback"]
    assert first["level"] == "ERROR" and first["logger"] == "tests.logs.direct"
    assert first["request_id"] == "-"
    assert first["msg"] == 'could not read "report.csv"\nfor batch 7'
    assert (first["exc_type"], first["exc"]) == ("ValueError", NASTY)
    assert first["traceback"] == logging.Formatter().formatException(exc_info)
    assert first["traceback"].startswith("Traceback (most recent call last):\n")
    assert first["traceback"].endswith(f"ValueError: {NASTY}")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}", first["time"])

    assert list(second) == ["time", "level", "logger", "request_id", "msg", "stack"]
    assert second["stack"].startswith("Stack (most recent call last):\n")


def test_an_exception_of_a_library_is_named_with_its_module():
    import peewee
    logger, stream = _capture("tests.logs.module", logs.Formatter())
    try:
        raise peewee.OperationalError("database is locked")
    except peewee.OperationalError:
        logger.exception("boom")
    (fields,) = _one_record_per_line(stream.getvalue(), 1)
    assert (fields["exc_type"], fields["exc"]) == ("peewee.OperationalError", "database is locked")


@pytest.fixture
def logged_app(db_url):
    """A production-like app (errors are logged, not raised) whose log goes to a string."""
    app = create_app({"TESTING": False, "DEBUG": False, "SECRET_KEY": "test-secret",
                      "DATABASE_URL": db_url, "QUEUE_URL": "immediate", "WTF_CSRF_ENABLED": False})

    @app.route("/_probe/crash")
    @public
    def crash():
        raise RuntimeError(NASTY)

    @app.route("/_probe/log")
    @public
    def log():
        current_app.logger.warning("a note %s", NASTY)
        return "logged"

    stream = io.StringIO()
    app.logger.handlers[0].setStream(stream)
    records = []
    counter = logging.Handler()
    counter.emit = records.append
    app.logger.addHandler(counter)
    app.log_output, app.log_records = stream, records
    yield app
    if not db.is_closed():
        db.close()


def test_the_apps_logger_writes_a_crash_on_one_line_with_the_request_id(logged_app):
    logged_app.config["PROXY_COUNT"] = 1  # the ids below come from the proxy in front
    client = logged_app.test_client()
    assert client.get("/_probe/crash", headers={"X-Request-Id": "probe-7"}).status_code == 500
    assert client.get("/_probe/log", headers={"X-Request-Id": "probe-8"}).status_code == 200

    lines = _one_record_per_line(logged_app.log_output.getvalue(), len(logged_app.log_records))
    crashes = [f for f in lines if "exc_type" in f]
    assert crashes and all(f["request_id"] == "probe-7" for f in crashes)
    assert crashes[0]["exc_type"] == "RuntimeError" and crashes[0]["exc"] == NASTY
    assert crashes[0]["traceback"].endswith(f"RuntimeError: {NASTY}")
    assert 'raise RuntimeError(NASTY)' in crashes[0]["traceback"]
    (note,) = [f for f in lines if f["request_id"] == "probe-8"]
    assert (note["level"], note["logger"], note["msg"]) == ("WARNING", "webapp", f"a note {NASTY}")


def test_a_line_logged_outside_a_request_has_no_request_id(logged_app):
    with logged_app.app_context():
        logged_app.logger.info("from the worker")
    (fields,) = _one_record_per_line(logged_app.log_output.getvalue(), 1)
    assert (fields["request_id"], fields["msg"]) == ("-", "from the worker")


# --- gunicorn ----------------------------------------------------------------------------------

class _Response:
    status = "200 OK"
    headers = [("Content-Type", "text/html"), ("X-Request-Id", "probe-9")]
    sent = 1234


@pytest.fixture
def gunicorn_logger():
    """gunicorn's logger as gunicorn.conf.py sets it up, writing to strings."""
    settings = runpy.run_path(os.path.join(ROOT, "gunicorn.conf.py"))
    cfg = GunicornConfig()
    for name in ("errorlog", "accesslog", "access_log_format", "loglevel", "logger_class"):
        cfg.set(name, settings[name])
    assert cfg.logger_class is settings["logger_class"]
    logger = cfg.logger_class(cfg)
    streams, handlers = {}, []
    for log in (logger.error_log, logger.access_log):
        (handler,) = [h for h in log.handlers if getattr(h, "_gunicorn", False)]  # not pytest's
        assert type(handler.formatter).__module__ == "factor_desk_logs"  # webapp/logs.py by path
        streams[log.name] = io.StringIO()
        handler.setStream(streams[log.name])
        handlers.append((log, handler))
    yield logger, streams
    for log, handler in handlers:
        log.removeHandler(handler)


def test_gunicorns_access_line_escapes_the_path_and_the_user_agent(gunicorn_logger):
    logger, streams = gunicorn_logger
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": "/x", "SERVER_PROTOCOL": "HTTP/1.1",
               "PATH_INFO": '/loads/a b"c', "QUERY_STRING": "", "REMOTE_ADDR": "203.0.113.9",
               "HTTP_USER_AGENT": 'Mozilla/5.0 "quoted" status=500\nforged=1'}
    logger.access(_Response(), [("User-Agent", environ["HTTP_USER_AGENT"])], environ,
                  datetime.timedelta(milliseconds=42))

    (fields,) = _one_record_per_line(streams["gunicorn.access"].getvalue(), 1)
    assert list(fields) == ["time", "level", "logger", "request_id", "remote", "method", "path",
                            "status", "bytes", "duration_ms", "agent"]
    assert fields["request_id"] == "probe-9" and fields["logger"] == "gunicorn.access"
    assert (fields["path"], fields["agent"]) == ('/loads/a b"c', environ["HTTP_USER_AGENT"])
    assert (fields["status"], fields["bytes"], fields["duration_ms"]) == ("200", "1234", "42")
    assert 'path="/loads/a b\\"c" status=200' in streams["gunicorn.access"].getvalue()


def test_gunicorns_error_lines_are_in_the_same_format(gunicorn_logger):
    logger, streams = gunicorn_logger
    logger.info("Booting worker with pid: %s", 4242)
    try:
        raise OSError(NASTY)
    except OSError:
        logger.exception("Error handling request /x")
    booting, failed = _one_record_per_line(streams["gunicorn.error"].getvalue(), 2)
    assert (booting["logger"], booting["msg"]) == ("gunicorn.error", "Booting worker with pid: 4242")
    assert (failed["level"], failed["exc_type"], failed["exc"]) == ("ERROR", "OSError", NASTY)


def test_gunicorn_conf_does_not_import_the_app_into_the_master():
    # Workers import the app themselves, so that SIGHUP brings up the code on disk.
    code = ("import runpy, sys; runpy.run_path('gunicorn.conf.py'); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('webapp', 'config', 'flask')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
