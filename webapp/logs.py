r"""Log lines for the operator: one `key=value` line per record, whatever the message holds.

The app's logger, the job worker (`flask worker`) and gunicorn (gunicorn.conf.py: its
error and access lines) all write this format, so that one line is one record and a
program can read it back:

    time="2025-03-04 10:15:02,114" level=ERROR logger=webapp request_id=lb-7f3a.42
    msg="Exception on /loads/ [GET]" exc_type=RuntimeError exc="disk full"
    traceback="Traceback (most recent call last):\n  File ..."

(one line in the log; cut here to fit). A value is written as it is when it is a plain
token; otherwise, and always for free text (msg, path, agent, exc, traceback), it is put
in double quotes with `\` `"` newline, carriage return and tab written as `\\` `\"`
`\n` `\r` `\t`, and any other control character (or line or paragraph separator) as
`\uXXXX`. So a message, an exception or a header from outside can neither break the
line nor forge a field.

This module imports nothing of the app (Flask only inside the filter), so that
gunicorn.conf.py can load it in gunicorn's master process without importing the app.
"""
import logging
import re

# Fields that hold free text: always quoted (as they were before this module), so that a
# reader sees at a glance where text from outside starts and ends.
ALWAYS_QUOTED = frozenset({"msg", "path", "agent", "exc", "traceback", "stack"})

# Whitespace, quotes, `=`, backslashes, control characters (C0, DEL, C1), the line and
# paragraph separators, and lone surrogates: the value is quoted.
_NEEDS_QUOTES = re.compile('[\\s"=\\\\\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]')
# What is escaped inside the quotes.
_NEEDS_ESCAPE = re.compile('["\\\\\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]')
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match):
    char = match.group()
    return _ESCAPES.get(char) or f"\\u{ord(char):04x}"


def format_value(value, quote=False):
    """VALUE as it goes after `key=`: bare when it is a plain token, else quoted and escaped."""
    text = "-" if value is None else str(value)
    if quote or not text or _NEEDS_QUOTES.search(text):
        return '"' + _NEEDS_ESCAPE.sub(_escape, text) + '"'
    return text


def format_fields(fields):
    """`key=value key=value ...` from (key, value) pairs, on one line."""
    return " ".join(f"{key}={format_value(value, key in ALWAYS_QUOTED)}" for key, value in fields)


class Formatter(logging.Formatter):
    """time, level, logger, request_id, msg; with an exception, exc_type, exc and traceback."""

    def format(self, record):
        return format_fields(self.fields(record))

    def fields(self, record):
        """The record's (key, value) pairs, in order."""
        fields = [
            ("time", self.formatTime(record, self.datefmt)),
            ("level", record.levelname),
            ("logger", record.name),
            ("request_id", getattr(record, "request_id", "-")),
        ]
        fields.extend(self.message_fields(record))
        fields.extend(self.exception_fields(record))
        if record.stack_info:
            fields.append(("stack", self.formatStack(record.stack_info)))
        return fields

    def message_fields(self, record):
        return [("msg", record.getMessage())]

    def exception_fields(self, record):
        exc_info = record.exc_info
        if exc_info and exc_info[0] is not None:
            exc_type, exc, _ = exc_info
            if not record.exc_text:  # cached on the record, as logging.Formatter does
                record.exc_text = self.formatException(exc_info)
            name = exc_type.__qualname__
            if exc_type.__module__ not in ("builtins", "__main__"):
                name = f"{exc_type.__module__}.{name}"
            return [("exc_type", name), ("exc", str(exc)), ("traceback", record.exc_text)]
        if record.exc_text:  # formatted elsewhere (a record that came over a socket)
            return [("traceback", record.exc_text)]
        return []


class AccessFormatter(Formatter):
    """gunicorn's access lines: the fields of its access_log_format, each value escaped.

    The format is `key=%(atom)s` pairs separated by spaces (gunicorn.conf.py); the record's
    argument is the mapping of atoms (remote address, path, status, headers, ...). Each
    pair becomes a field after time, level and logger, so a path or a user agent holding
    quotes or spaces is escaped like any other value. A format that is not made of such
    pairs is written whole as msg.
    """

    def fields(self, record):
        pairs = self._pairs(record)
        if pairs is None:
            return super().fields(record)
        return [("time", self.formatTime(record, self.datefmt)), ("level", record.levelname),
                ("logger", record.name), *pairs]

    @staticmethod
    def _pairs(record):
        atoms = record.args
        if not isinstance(record.msg, str) or not hasattr(atoms, "keys"):
            return None
        pairs = []
        for token in record.msg.split():
            key, sep, template = token.partition("=")
            if not sep or not key.isidentifier():
                return None
            try:
                pairs.append((key, template % atoms))
            except (KeyError, TypeError, ValueError):
                return None
        return pairs


class RequestIdFilter(logging.Filter):
    """Adds the request id to every log record ("-" outside a request)."""

    def filter(self, record):
        from flask import g
        from flask import has_request_context
        record.request_id = g.get("request_id", "-") if has_request_context() else "-"
        return True
