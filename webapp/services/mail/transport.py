"""Turn a recorded message into MIME and hand it over: to the .eml outbox folder (MAIL_URL
empty, the default, so that `make run` needs nothing) or to an SMTP server (smtp:// with
STARTTLS, smtps:// with TLS from the first byte; user and password from the URL).

The envelope's one recipient is the row's to_address, never read back from the headers.
"""
import datetime
import email.policy
import email.utils
import os
import smtplib
import socket
import ssl
from email.message import EmailMessage
from urllib.parse import unquote
from urllib.parse import urlsplit

LOOPBACK = ("127.0.0.1", "::1", "localhost")


class DeliveryError(Exception):
    """The message did not go; TEMPORARY: the same try may work later (down, busy, 4xx)."""

    def __init__(self, reason, temporary=True):
        super().__init__(reason)
        self.temporary = temporary


def build(message, attachments):
    """The MIME message of a MailMessage row and its MailAttachment rows: the text part, the
    HTML part beside it when there is one, then the files."""
    mime = EmailMessage(policy=email.policy.SMTP)
    mime["From"] = message.from_address
    mime["To"] = message.to_address
    if message.reply_to:
        mime["Reply-To"] = message.reply_to
    mime["Subject"] = message.subject
    mime["Date"] = email.utils.format_datetime(message.created_at.replace(tzinfo=datetime.timezone.utc))
    mime["Message-ID"] = message.message_id
    mime["Auto-Submitted"] = "auto-generated" if message.kind.startswith("notice") else "no"
    mime.set_content(message.text_body)
    if message.html_body:
        mime.add_alternative(message.html_body, subtype="html")
    for item in attachments:
        maintype, _, subtype = item.content_type.partition("/")
        mime.add_attachment(bytes(item.data), maintype=maintype, subtype=subtype, filename=item.filename)
    return mime


def send(message, attachments, settings, *, outbox_dir):
    """Deliver one message (DeliveryError when it did not go)."""
    mime = build(message, attachments)
    if not settings.url or settings.url == "outbox":
        return write_outbox(mime, message, outbox_dir)
    return send_smtp(mime, message, settings)


def write_outbox(mime, message, outbox_dir):
    """Write MIME as instance/outbox/<timestamp>-<id>.eml (whole or not at all); its path."""
    try:
        os.makedirs(outbox_dir, exist_ok=True)
        stamp = message.created_at.strftime("%Y%m%dT%H%M%S")
        path = os.path.join(outbox_dir, f"{stamp}-{message.id}.eml")
        partial = path + ".part"
        with open(partial, "wb") as fh:
            fh.write(mime.as_bytes())
        os.replace(partial, path)
    except OSError as exc:
        raise DeliveryError(f"The outbox folder could not be written: {exc.strerror or exc}") from exc
    return path


def _smtp_reason(exc):
    code = getattr(exc, "smtp_code", None)
    text = getattr(exc, "smtp_error", b"")
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(exc.recipients.values()), (None, b""))
        text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return code, " ".join(str(text).split())


def tls_context():
    """TLS that checks the server's certificate and name against the system's trusted ones."""
    return ssl.create_default_context()


def send_smtp(mime, message, settings):
    """Send MIME over SMTP to the row's one recipient."""
    parts = urlsplit(settings.url)
    host = parts.hostname
    implicit_tls = parts.scheme == "smtps"
    port = parts.port or (465 if implicit_tls else 587)
    context = tls_context()
    try:
        if implicit_tls:
            server = smtplib.SMTP_SSL(host, port, timeout=settings.timeout, context=context)
        else:
            server = smtplib.SMTP(host, port, timeout=settings.timeout)
        with server:
            server.ehlo()
            if not implicit_tls:
                if server.has_extn("starttls"):
                    server.starttls(context=context)
                    server.ehlo()
                elif host not in LOOPBACK or parts.username:
                    # Credentials and tenants' files never cross a network in clear text; a
                    # relay on this machine without credentials is the one exception.
                    raise DeliveryError(f"The mail server {host}:{port} does not offer STARTTLS.", temporary=False)
            if parts.username:
                server.login(unquote(parts.username), unquote(parts.password or ""))
            server.send_message(mime, from_addr=email.utils.parseaddr(message.from_address)[1],
                                to_addrs=[message.to_address])
    except DeliveryError:
        raise
    except smtplib.SMTPNotSupportedError as exc:
        raise DeliveryError(f"The mail server {host}:{port} does not take a user and password here "
                            f"({exc}).", temporary=False) from exc
    except smtplib.SMTPAuthenticationError as exc:
        code, text = _smtp_reason(exc)
        raise DeliveryError(f"The mail server refused the sign-in ({code} {text}).", temporary=False) from exc
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError,
            smtplib.SMTPResponseException) as exc:
        code, text = _smtp_reason(exc)
        temporary = code is None or not (500 <= int(code) < 600)
        said = f"{code} {text}" if code else text
        raise DeliveryError(f"The mail server refused the message ({said}).", temporary=temporary) from exc
    except ssl.SSLError as exc:
        raise DeliveryError(f"The TLS connection to {host}:{port} failed: {exc.reason or exc}") from exc
    except (OSError, smtplib.SMTPException) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        if isinstance(exc, socket.timeout):
            reason = "no answer in time"
        raise DeliveryError(f"The mail server {host}:{port} could not be reached: {reason}.") from exc
