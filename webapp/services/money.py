"""Money, the one way: integer cents in, text out, and text from files back to cents.

Templates (the `money` filter), PDFs, CSV cells and messages all format through
here; every amount read from a form or a file is parsed here. Never a float.
"""
import re
from decimal import Decimal
from decimal import InvalidOperation

# Unsigned, after the sign and any grouping commas are taken off: 12, 12.5, 12., .5
_MONEY_RE = re.compile(r"^(\d+(\.\d*)?|\.\d+)$", re.ASCII)
_PLAIN_CENTS = re.compile(r"^\d{1,15}(\.\d{1,2})?$", re.ASCII)


def format_money(cents):
    """Integer cents as $1,234.56 (negative as -$12.50); blank for None."""
    if cents is None:
        return ""
    sign = "-" if cents < 0 else ""
    cents = abs(int(cents))
    return f"{sign}${cents // 100:,}.{cents % 100:02d}"


def format_cents(cents):
    """Integer cents as 1234.56 for CSV cells and form fields (no currency sign, no grouping)."""
    sign = "-" if cents < 0 else ""
    cents = abs(int(cents))
    return f"{sign}{cents // 100}.{cents % 100:02d}"


def parse_money(text):
    """'$1,234.56', '1234.5', '(12.50)', '-12.50', 'USD 10' to integer cents."""
    raw = (text or "").strip()
    if not raw:
        raise ValueError("is empty")
    if _PLAIN_CENTS.match(raw):  # 1234.56, the common case, without the general path below
        whole, _, part = raw.partition(".")
        cents = int(whole) * 100 + int((part + "00")[:2])
        if abs(cents) < 10 ** 13:
            return cents
    value = raw.replace("$", "").replace("USD", "").replace("usd", "").replace(" ", "").replace("\u00a0", "")
    negative = False
    if value.startswith("(") and value.endswith(")"):
        negative, value = True, value[1:-1]
    elif value.endswith("-") and not value.startswith(("-", "+")):
        negative, value = True, value[:-1]
    elif value.startswith("-"):
        negative, value = True, value[1:]
    elif value.startswith("+"):
        value = value[1:]
    if "," in value:
        if not re.match(r"^\d{1,3}(,\d{3})+(\.\d*)?$", value):
            raise ValueError(f"'{raw}' is not an amount (use 1,234.56)")
        value = value.replace(",", "")
    if not _MONEY_RE.match(value):
        raise ValueError(f"'{raw}' is not an amount")
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"'{raw}' is not an amount")
    cents = amount * 100
    if cents != cents.to_integral_value():
        raise ValueError(f"'{raw}' has more than two decimals")
    if abs(cents) >= 10 ** 13:
        raise ValueError(f"'{raw}' is too large")
    cents = int(cents)
    return -cents if negative else cents
