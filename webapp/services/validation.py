"""Checking what people type into forms: names, MC/USDOT numbers, addresses, contacts, and
the one error type a refused form raises.

Pure functions, no database. A form's problems are collected field by field and
raised together as Invalid, so a person sees every mistake at once.
"""
import re

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MC_RE = re.compile(r"^(?:MC)?[\s#-]*(\d{1,8})$", re.IGNORECASE | re.ASCII)
USDOT_RE = re.compile(r"^(?:US\s*DOT|DOT)?[\s#-]*(\d{1,8})$", re.IGNORECASE | re.ASCII)
STATE_RE = re.compile(r"^[A-Za-z]{2}$")
ZIP_RE = re.compile(r"^(\d{5}(?:-\d{4})?|[A-Za-z]\d[A-Za-z] ?\d[A-Za-z]\d)$", re.ASCII)
PHONE_CHARS_RE = re.compile(r"^[0-9+().\-\s/xext]+$", re.IGNORECASE)


# The key of a problem with the form as a whole rather than one field.
FORM = "_form"


class Invalid(ValueError):
    """A form or a record refused; ERRORS maps each field name to a message for the person.

    The one error type of every form (loads, users, customers, subsidiaries, Document
    Configuration). LABELS, when given, names the fields in the message.
    """

    def __init__(self, errors, labels=None):
        labels = labels or {}
        super().__init__("; ".join(v if k == FORM else f"{labels.get(k, k)}: {v}" for k, v in errors.items()))
        self.errors = dict(errors)

    @property
    def message(self):
        """The problems in words alone, for a flash message or the command line."""
        return " ".join(self.errors.values())


# The database's integers (SQLite and PostgreSQL bigint) end here: an id past it matches no row.
MAX_ID = 2 ** 63 - 1


def db_id(value):
    """A row id typed or sent by a person (a URL, a query string, a form), or None when it is not
    a whole number from 1 to MAX_ID (ASCII digits only)."""
    text = str(value if value is not None else "").strip()
    if not text.isascii() or not text.isdigit() or len(text) > 19:
        return None
    number = int(text)
    return number if 1 <= number <= MAX_ID else None


def search_text(value, max_length=64):
    """What a search box may look for: control characters (a NUL matches every row in SQL) and
    runs of spaces taken out, at most MAX_LENGTH characters."""
    text = "".join(ch for ch in str(value or "") if ch.isprintable() or ch == " ")
    return " ".join(text.split())[:max_length]


class Checker:
    """Collects cleaned values and per-field errors for one form."""

    def __init__(self, data):
        self.data = data or {}
        self.values = {}
        self.errors = {}

    def raw(self, name):
        value = self.data.get(name)
        return "" if value is None else str(value).strip()

    def text(self, name, label, *, required=False, max_length=200):
        """A single-line text field, stripped."""
        value = " ".join(self.raw(name).split())
        if required and not value:
            self.errors[name] = f"Enter the {label}."
        elif len(value) > max_length:
            self.errors[name] = f"The {label} is too long: at most {max_length} characters."
        self.values[name] = value
        return value

    def mc_number(self, name="mc_number", label="MC number"):
        """MC-1234567 (digits alone are accepted and written the same way)."""
        value = self.raw(name)
        if value:
            match = MC_RE.match(value)
            if not match:
                self.errors[name] = (f"The {label} should look like MC-1234567 "
                                     "(MC- followed by up to 8 digits).")
            else:
                value = f"MC-{match.group(1)}"
        self.values[name] = value
        return value

    def usdot_number(self, name="usdot_number", label="USDOT number"):
        """Digits only, up to 8."""
        value = self.raw(name)
        if value:
            match = USDOT_RE.match(value)
            if not match:
                self.errors[name] = f"The {label} should be digits only (up to 8), like 3456789."
            else:
                value = match.group(1)
        self.values[name] = value
        return value

    def state(self, name="state"):
        """A two-letter state or province code, upper case."""
        value = self.raw(name).upper()
        if value and not STATE_RE.match(value):
            self.errors[name] = "Use the two-letter state code, like TX."
        self.values[name] = value
        return value

    def postal_code(self, name="postal_code"):
        """A US ZIP (12345 or 12345-6789) or a Canadian postal code."""
        value = self.raw(name).upper()
        if value and not ZIP_RE.match(value):
            self.errors[name] = "The ZIP should look like 75202 or 75202-1234."
        self.values[name] = value
        return value

    def phone(self, name="phone"):
        """A phone number with 7 to 15 digits; punctuation kept as typed."""
        value = " ".join(self.raw(name).split())
        if value:
            digits = sum(ch.isdigit() for ch in value)
            if len(value) > 40 or not PHONE_CHARS_RE.match(value) or not 7 <= digits <= 15:
                self.errors[name] = "Enter a phone number like (817) 555-0100."
        self.values[name] = value
        return value

    def email(self, name="email", *, required=False):
        """An email address, lower-cased."""
        value = self.raw(name).lower()
        if required and not value:
            self.errors[name] = "Enter an email address."
        elif value and (len(value) > 254 or not EMAIL_RE.match(value)):
            self.errors[name] = "Enter a valid email address, like name@example.com."
        self.values[name] = value
        return value

    def integer(self, name, label, *, minimum, maximum, default=None):
        """A whole number within [minimum, maximum]."""
        raw = self.raw(name)
        if not raw and default is not None:
            self.values[name] = default
            return default
        try:
            value = int(raw)
        except ValueError:
            self.errors[name] = f"The {label} should be a whole number from {minimum} to {maximum}."
            self.values[name] = raw
            return raw
        if not minimum <= value <= maximum:
            self.errors[name] = f"The {label} should be from {minimum} to {maximum}."
        self.values[name] = value
        return value

    def choice(self, name, label, choices, *, default=None):
        """One of CHOICES (a dict or sequence of allowed values)."""
        value = self.raw(name) or (default or "")
        if value not in choices:
            self.errors[name] = f"Choose the {label}."
        self.values[name] = value
        return value

    def field(self, name, clean, *args):
        """A field checked by CLEAN(raw value, *ARGS), whose ValueError message is the field's error
        (the checks shared by a form and the CSV import)."""
        try:
            value = clean(self.data.get(name), *args)
        except ValueError as exc:
            self.errors[name] = str(exc)
            return None
        self.values[name] = value
        return value

    def error(self, name, message):
        """Record a problem found by a rule outside the field checks (e.g. a duplicate)."""
        self.errors.setdefault(name, message)

    def done(self, labels=None):
        """The cleaned values, or raise Invalid with every problem found (LABELS name the fields)."""
        if self.errors:
            raise Invalid(self.errors, labels)
        return self.values
