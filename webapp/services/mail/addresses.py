"""One email address, checked so that it can go into a header and an SMTP envelope as it is.

A form field that should hold one address is where a header injection (CR/LF) or a smuggled
list of recipients ("a@x.com, b@y.com", "a@x.com\\nBcc: b@y.com") would come in: both are
refused here, with a message for the person, rather than cleaned up.
"""
import re

from webapp.services.validation import Invalid

# local@domain: no spaces, no list separators, no display-name or comment characters.
_ADDRESS_RE = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?\.[A-Za-z]{2,}$")
MAX_ADDRESS = 254
MAX_SUBJECT = 250


def has_line_break(value):
    """True when VALUE holds a CR, an LF or another line separator (a header would split)."""
    return any(ch in str(value) for ch in ("\r", "\n", "\x0b", "\x0c", "\x85", "\u2028", "\u2029"))


def address_problem(value):
    """Why VALUE is not one email address, in words; None when it is."""
    text = str(value or "").strip()
    if not text:
        return "Enter an email address."
    if has_line_break(text):
        return "An email address cannot contain a line break."
    if any(sep in text for sep in (",", ";")) or text.count("@") > 1 or any(ch.isspace() for ch in text):
        return "Enter one email address only, not a list."
    if len(text) > MAX_ADDRESS or not _ADDRESS_RE.match(text) or ".." in text:
        return "Enter an email address such as name@example.com."
    return None


def single_address(value, field="to"):
    """VALUE as one email address (trimmed), or Invalid naming FIELD."""
    problem = address_problem(value)
    if problem:
        raise Invalid({field: problem})
    return str(value).strip()


def subject_problem(value):
    """Why VALUE cannot be a subject line; None when it can."""
    text = str(value or "")
    if not text.strip():
        return "Enter a subject."
    if has_line_break(text):
        return "A subject cannot contain a line break."
    if any(not ch.isprintable() for ch in text):
        return "A subject cannot contain control characters."
    if len(text) > MAX_SUBJECT:
        return f"A subject can be at most {MAX_SUBJECT} characters."
    return None
