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


def tls_certificate(directory):
    """A self-signed certificate for 127.0.0.1 and localhost: (cert file, key file) in DIRECTORY."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                        x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = os.path.join(directory, "smtp-cert.pem"), os.path.join(directory, "smtp-key.pem")
    with open(cert_file, "wb") as fh:
        fh.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_file, "wb") as fh:
        fh.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption()))
    return cert_file, key_file


class _Authenticator:
    """Accepts USER / PASSWORD only, and remembers who signed in."""

    def __init__(self, user, password):
        self.user, self.password = user.encode(), password.encode()
        self.logins = []

    def __call__(self, server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult
        ok = (auth_data.login, auth_data.password) == (self.user, self.password)
        if ok:
            self.logins.append((mechanism, auth_data.login.decode()))
        return AuthResult(success=ok, handled=False)


class SmtpServer:
    """One aiosmtpd server on 127.0.0.1 and what it received.

    TLS: None (plain), "starttls" (offers STARTTLS and requires it) or "implicit" (TLS from the
    first byte, as on port 465), with a self-signed certificate written to CERT_DIR (its
    .cert_file is what a client must trust). LOGIN: (user, password) to require AUTH."""

    def __init__(self, tls=None, cert_dir=None, login=None):
        self.handler = _Handler()
        self.port = closed_port()
        self.tls = tls
        self.cert_file = None
        self.authenticator = None
        kwargs = {}
        if tls:
            import ssl
            self.cert_file, key_file = tls_certificate(cert_dir)
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(self.cert_file, key_file)
            if tls == "starttls":
                kwargs.update(tls_context=context, require_starttls=True)
            else:
                kwargs.update(ssl_context=context)
        if login:
            self.authenticator = _Authenticator(*login)
            # Implicit TLS is TLS too, but aiosmtpd only counts STARTTLS as such for AUTH.
            kwargs.update(authenticator=self.authenticator, auth_required=True,
                          auth_require_tls=(tls != "implicit"))
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **kwargs)

    @property
    def logins(self):
        return list(self.authenticator.logins) if self.authenticator else []

    @property
    def url(self):
        return f"{'smtps' if self.tls == 'implicit' else 'smtp'}://127.0.0.1:{self.port}"

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
