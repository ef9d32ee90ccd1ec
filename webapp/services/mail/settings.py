"""Mail settings of the running app (MAIL_URL, MAIL_FROM and the rest in config.py), set once
by create_app through configure(); services read them from here, never from Flask."""
import email.utils
from dataclasses import dataclass
from urllib.parse import urlsplit

from webapp.services.mail.addresses import address_problem
from webapp.services.mail.addresses import has_line_break

DEFAULT_FROM = "Factor Desk <no-reply@factor-desk.localhost>"


@dataclass
class Settings:
    url: str = ""  # "" (the .eml outbox), smtp://user:password@host:587 or smtps://...:465
    sender: str = DEFAULT_FROM
    timeout: float = 30.0
    max_attempts: int = 6

    @property
    def sender_address(self):
        return email.utils.parseaddr(self.sender)[1]

    @property
    def domain(self):
        return self.sender_address.rpartition("@")[2] or "localhost"


current = Settings()


def check_url(url):
    """MAIL_URL understood, or ValueError saying what is wrong (at start-up, not at the first send)."""
    if not url or url == "outbox":
        return
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("MAIL_URL must be smtp://user:password@host:587 (STARTTLS), "
                         "smtps://user:password@host:465 (TLS) or empty (the outbox folder).")
    parts.port  # a port that is not a number raises ValueError here


def configure(*, url="", sender="", timeout=30, max_attempts=6):
    """Set the app's mail settings; ValueError when MAIL_URL or MAIL_FROM cannot work."""
    check_url(url)
    sender = sender or DEFAULT_FROM
    if has_line_break(sender):
        raise ValueError("MAIL_FROM cannot contain a line break.")
    problem = address_problem(email.utils.parseaddr(sender)[1])
    if problem:
        raise ValueError(f"MAIL_FROM {sender!r} is not usable: {problem}")
    current.url = url
    current.sender = sender
    current.timeout = float(timeout)
    current.max_attempts = max(1, int(max_attempts))
    return current
