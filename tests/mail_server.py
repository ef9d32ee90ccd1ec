"""A real SMTP server on 127.0.0.1 for the mail tests, and a reader of the .eml outbox.

`smtp_server` (registered in tests/conftest.py) starts aiosmtpd on a free port, points the
test's app at it (MAIL_URL=smtp://127.0.0.1:<port>) and keeps what it received:
`smtp_server.messages` (email.message.EmailMessage, attachments included) and
`smtp_server.envelopes` (the SMTP envelope: mail_from, rcpt_tos). `smtp_server.refuse("550 ...")`
makes it answer every RCPT with that line. `outbox_messages(app)` reads the .eml files the
default transport wrote, oldest first. `closed_port()` is a port nobody listens on.
"""
import email
import email.policy
import glob
import os
import socket
import threading

import pytest
from aiosmtpd.controller import Controller


def closed_port():
    """A port on 127.0.0.1 that nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Handler:
    def __init__(self):
        self.messages = []
        self.envelopes = []
        self.refusal = None
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refusal:
            return self.refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content or envelope.content,
                                           policy=email.policy.default)
        with self.lock:
            self.messages.append(message)
            self.envelopes.append({"mail_from": envelope.mail_from, "rcpt_tos": list(envelope.rcpt_tos)})
        return "250 Message accepted for delivery"


class SmtpServer:
    """One aiosmtpd server on 127.0.0.1 and what it received."""

    def __init__(self):
        self.handler = _Handler()
        self.port = closed_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    @property
    def url(self):
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def messages(self):
        return list(self.handler.messages)

    @property
    def envelopes(self):
        return list(self.handler.envelopes)

    def refuse(self, line="550 5.1.1 Mailbox unavailable"):
        """Answer every recipient with LINE from now on (None: accept again)."""
        self.handler.refusal = line

    def start(self):
        self.controller.start()
        return self

    def stop(self):
        self.controller.stop()


def use_mail_url(app, url):
    """Point APP (and the mail settings it configured) at URL."""
    from webapp.services.mail import settings
    app.config["MAIL_URL"] = url
    settings.configure(url=url, sender=app.config["MAIL_FROM"], timeout=5,
                       max_attempts=app.config.get("MAIL_MAX_ATTEMPTS", 6))


@pytest.fixture
def smtp_server(app):
    """aiosmtpd on 127.0.0.1, the test's app sending to it; stopped (and the outbox put back) after."""
    server = SmtpServer().start()
    use_mail_url(app, server.url)
    yield server
    server.stop()
    use_mail_url(app, "")


def outbox_messages(app):
    """The .eml files in APP's instance/outbox/, oldest first, as EmailMessage."""
    found = []
    for path in sorted(glob.glob(os.path.join(app.instance_path, "outbox", "*.eml")),
                       key=lambda p: (os.path.getmtime(p), p)):
        with open(path, "rb") as fh:
            found.append(email.message_from_binary_file(fh, policy=email.policy.default))
    return found
