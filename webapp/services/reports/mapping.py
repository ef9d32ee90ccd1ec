"""The factor's own columns, mapped once.

A factor's portal export names its columns its own way (`Inv #`, `Funded`, `Discount`).
When a file's header does not name our required fields, the clerk is shown a mapping step:
each of our fields with the file column proposed for it (from the header's words and the
values below it), to confirm or change. The mapping is saved for that factor and report
kind, keyed by the file's header (its normalized names, in any order), and used by itself
the next time a file with that header comes.

A mapping is {our column: the file's normalized header}; our columns not in the file are
left out. propose() and problems() are pure; the rest reads and writes report_mapping.
"""
import dataclasses
import difflib
import functools
import hashlib
import json
import math
import re
from decimal import Decimal

from peewee import JOIN

from webapp.models import Company
from webapp.models import ReportMapping
from webapp.models import User
from webapp.models import utcnow
from webapp.services import audit
from webapp.services import local_time
from webapp.services.money import parse_money
from webapp.services.reports.parsing import COLUMNS
from webapp.services.reports.parsing import IDENTITIES
from webapp.services.reports.parsing import IGNORED_KEYS
from webapp.services.reports.parsing import REQUIRED
from webapp.services.reports.parsing import known_key
from webapp.services.reports.parsing import parse_report
from webapp.services.reports.parsing import parse_table
from webapp.services.reports.parsing import read_report_table
from webapp.services.tables import parse_date
from webapp.services.tables import parse_yes_no
from webapp.services.validation import Invalid

NOT_IN_FILE = ""
SAMPLE_ROWS = 50

# What each of our fields is, to tell a column's values apart.
DATE, MONEY, TEXT, STATUS, METHOD, YES_NO = "date", "money", "text", "status", "method", "yes/no"
FIELD_TYPES = {
    "Invoice Number": TEXT, "Load Number": TEXT, "Purchase Date": DATE, "Invoice Amount": MONEY,
    "Advance Amount": MONEY, "Fee Amount": MONEY, "Reserve Amount": MONEY, "Status": STATUS,
    "Reason": TEXT, "Factor Reference": TEXT, "Payment Date": DATE, "Amount Paid": MONEY,
    "Reference": TEXT, "Payment Method": METHOD, "Reserve Released": MONEY, "Fee Adjustment": MONEY,
    "Final": YES_NO, "Notes": TEXT, "Kind": STATUS,
}
# Words factor exports use for each field (normalized: lower case, no spaces or underscores).
_WORDS = {
    "Invoice Number": ("inv", "inv#", "invno", "invoice", "invoiceno", "invoicenumber", "bill", "billno",
                       "invnumber", "invoiceref"),
    "Load Number": ("load", "load#", "loadno", "pro", "pro#", "pronumber", "shipment", "trip", "order",
                    "loadref"),
    "Purchase Date": ("purchasedate", "purchased", "funded", "fundeddate", "funddate", "fundingdate",
                      "advancedate", "buydate", "date", "purchasedon"),
    "Invoice Amount": ("face", "faceamount", "facevalue", "invoiceamount", "invoicetotal", "gross",
                       "amount", "total"),
    "Advance Amount": ("advance", "advanced", "advanceamount", "fundedamount", "net", "netfunded",
                       "netadvance", "funded", "amountfunded"),
    "Fee Amount": ("fee", "fees", "discount", "discountfee", "factoringfee", "charge", "feeamount"),
    "Reserve Amount": ("reserve", "reserveamount", "rebate", "holdback", "escrow", "reserveheld"),
    "Status": ("status", "result", "decision", "state"),
    "Reason": ("reason", "comment", "comments", "remarks", "note", "notes", "why"),
    "Factor Reference": ("ref", "ref#", "reference", "schedule", "schedule#", "scheduleno", "factorref",
                         "verification", "batch", "purchaseid"),
    "Payment Date": ("paymentdate", "paid", "paiddate", "datepaid", "received", "receiveddate",
                     "depositdate", "collected", "date", "postdate", "posted"),
    "Amount Paid": ("amountpaid", "paid", "paidamount", "paymentamount", "payment", "collected",
                    "received", "amountreceived", "amount", "remitted"),
    "Reference": ("reference", "ref", "ref#", "check", "check#", "checkno", "checknumber", "trace",
                  "transaction", "transactionid", "confirmation"),
    "Payment Method": ("method", "paymentmethod", "type", "paymenttype", "paidby", "tender"),
    "Reserve Released": ("reservereleased", "released", "rebate", "reserverelease", "rebatepaid"),
    "Fee Adjustment": ("feeadjustment", "adjustment", "feeadj", "adj", "additionalfee"),
    "Final": ("final", "closed", "paidinfull", "complete", "finalpayment"),
    "Notes": ("notes", "note", "memo", "comment", "comments", "remarks"),
    "Kind": ("kind", "transactiontype", "entrytype", "rowkind", "status"),
}
assert set(_WORDS) == set(FIELD_TYPES)


@dataclasses.dataclass
class FileColumn:
    """A column of the uploaded file, as the mapping step shows it."""

    key: str
    header: str
    letter: str = ""
    samples: list = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Step:
    """The mapping step of a preview: our fields, the file's columns, the choice proposed."""

    kind: str
    fields: list          # our columns, in the template's order
    required: set         # of them, those that may not be "not in this file"
    columns: list         # FileColumn of the file, in the file's order
    choice: dict          # our column -> file key ('' for not in the file)
    identities: tuple = ()  # of them, those of which one must name the invoice or load
    notice: str = ""      # e.g. the header matches two saved mappings
    errors: list = dataclasses.field(default_factory=list)

    def header_of(self, key):
        return next((c.header for c in self.columns if c.key == key), key)


# --- pure --------------------------------------------------------------------------

def header_key(keys):
    """The key a header is saved under: its normalized names, sorted (order does not matter)."""
    names = sorted({k for k in keys if k and k not in IGNORED_KEYS})
    return hashlib.sha256("\n".join(names).encode("utf-8")).hexdigest()


def step_for(kind, table, *, choice=None, notice=""):
    """The mapping step for TABLE (headers, keys, rows); CHOICE given, or proposed."""
    columns = [FileColumn(key, header, table.letters.get(key, ""), [_shown(v) for v in _samples(table, key, 3)])
               for header, key in zip(table.headers, table.keys) if key and key not in IGNORED_KEYS]
    if choice is None:
        choice = propose(kind, table)
    return Step(kind=kind, fields=list(COLUMNS[kind]), required=set(REQUIRED[kind]), columns=columns,
                identities=IDENTITIES[kind],
                choice={f: choice.get(f) or NOT_IN_FILE for f in COLUMNS[kind]}, notice=notice)


def propose(kind, table):
    """{our column: file key} proposed from the header's words and the values below them.

    Each file column goes to at most one field: the best-scoring pairs are taken first.
    A column whose values cannot be the field's type (text under a date) is never proposed.
    """
    keys = [k for k in table.keys if k and k not in IGNORED_KEYS]
    kinds = {key: _value_kind(_samples(table, key, SAMPLE_ROWS)) for key in keys}
    scored = []
    for field in COLUMNS[kind]:
        for key in keys:
            fit = _type_fit(FIELD_TYPES[field], kinds[key])
            if fit is None:
                continue
            words = _word_score(field, key)
            if words <= 0:
                continue
            scored.append((words + fit, field, key))
    scored.sort(key=lambda t: (-t[0], COLUMNS[kind].index(t[1]), keys.index(t[2])))
    chosen, used = {}, set()
    for _, field, key in scored:
        if field in chosen or key in used:
            continue
        chosen[field] = key
        used.add(key)
    return chosen


def problems(kind, choice, keys):
    """What stops CHOICE ({our column: file key or ''}) from being saved, as sentences."""
    out = []
    known = set(keys)
    for field, key in choice.items():
        if key and key not in known:
            out.append(f"{field}: the file has no column '{key}'.")
    names = IDENTITIES[kind]
    if not any(choice.get(f) for f in names):
        out.append(f"{', '.join(names[:-1])} or {names[-1]}: choose the column that names the invoice or the load.")
    for field in REQUIRED[kind]:
        if not choice.get(field):
            out.append(f"{field} is required: choose the column that holds it.")
    by_key = {}
    for field in COLUMNS[kind]:
        key = choice.get(field)
        if key:
            by_key.setdefault(key, []).append(field)
    for key, fields in by_key.items():
        if len(fields) > 1:
            out.append(f"Column '{key}' is chosen for {' and '.join(fields)}: a column can hold one field; "
                       "choose another column for one of them, or Not in this file.")
    return out


def _samples(table, key, limit):
    out = []
    for _, cells in table.rows:
        value = cells.get(key, "")
        if value:
            out.append(value)
            if len(out) >= limit:
                break
    return out


_ISO_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$", re.ASCII)
_PLAIN_NUMBER = re.compile(r"^-?\d{1,12}(\.\d+)?$", re.ASCII)


def _shown(value):
    """A sample cell as the clerk reads it: a date cell 11/25/2026, a number cell 2,675.40."""
    day = _ISO_DAY.match(value)
    if day:
        return f"{day.group(2)}/{day.group(3)}/{day.group(1)}"
    if _PLAIN_NUMBER.match(value) and "." in value:
        return f"{Decimal(value):,.2f}" if len(value.split(".")[1]) <= 2 else value
    return value


def _value_kind(values):
    """What VALUES are: DATE, MONEY, YES_NO, TEXT, or None when there are none."""
    if not values:
        return None
    allowed = len(values) - math.ceil(0.8 * len(values))   # misses a kind may have (4 in 5 must read)

    def mostly(test):
        misses = 0
        for v in values:
            try:
                test(v)
            except ValueError:
                misses += 1
                if misses > allowed:   # it cannot reach four in five any more
                    return False
        return True
    if mostly(_date_only):
        return DATE
    if mostly(parse_money):
        return MONEY
    if mostly(lambda v: parse_yes_no(v) if v.strip() else (_ for _ in ()).throw(ValueError())):
        return YES_NO
    return TEXT


_SERIAL = re.compile(r"^\d{5}(\.\d+)?$", re.ASCII)


def _date_only(text):
    """parse_date, except that a bare five-digit number is an amount unless it has a date's shape."""
    if not _SERIAL.match(text.strip()) and re.match(r"^\d+(\.\d+)?$", text.strip(), re.ASCII):
        raise ValueError("a number")
    return parse_date(text)


def _type_fit(field_type, value_kind):
    """How well a column of VALUE_KIND fits a field of FIELD_TYPE: None when it cannot."""
    if value_kind is None:
        return 0.0          # an empty column: the words alone decide
    if field_type == DATE:
        return 1.0 if value_kind == DATE else None
    if field_type == MONEY:
        return 1.0 if value_kind == MONEY else None
    if field_type == YES_NO:
        return 1.0 if value_kind == YES_NO else None
    if field_type in (STATUS, METHOD):
        return 0.5 if value_kind == TEXT else None
    # text fields: identifiers are often numbers, never dates
    return {TEXT: 0.5, MONEY: 0.2, YES_NO: 0.0}.get(value_kind)


@functools.lru_cache(maxsize=4096)
def _word_score(field, key):
    """How much header KEY sounds like FIELD: 2 for a known word, less for a near one.

    Pure, so kept per (field, key): a factor's files repeat the same few headers, and the
    mapping step asks for every field against every column on each showing."""
    if known_key(key) == field:
        return 3.0
    words = _WORDS[field]
    if key in words:
        return 2.0 - words.index(key) * 0.01
    stripped = key.rstrip("#").removesuffix("no").removesuffix("number").removesuffix("amount")
    if stripped and stripped in words:
        return 1.5
    return max((_near(key, w) for w in words), default=0.0)


def _near(key, word):
    """difflib's ratio of KEY to WORD when it reaches 0.75, else 0.0; the cheap upper bounds
    (real_quick_ratio, quick_ratio) rule most words out before the full comparison."""
    matcher = difflib.SequenceMatcher(None, key, word)
    if matcher.real_quick_ratio() < 0.75 or matcher.quick_ratio() < 0.75:
        return 0.0
    ratio = matcher.ratio()
    return ratio if ratio >= 0.75 else 0.0


# --- reading with the saved mappings ---------------------------------------------

def read(kind, data, factor_id, *, sheet=None, filename="", columns=None, mapping_id=None):
    """Parse a report the way the factor's files are read.

    COLUMNS given (the mapping a preview was read with, kept on the upload), the file is read
    with them. Otherwise the file is read by our names; then, when the factor has a mapping
    saved for this header (or, for a file lacking our names, one whose columns are all in
    it), the same table is read again with that mapping. The ParsedReport says which
    (saved_mapping), or why none could be chosen (mapping_notice), or that the clerk must map
    the columns first (needs_mapping)."""
    if columns is not None:
        parsed = parse_report(kind, data, sheet=sheet, filename=filename, mapping=columns)
        if mapping_id:
            mapping = _with_saver().where(ReportMapping.id == mapping_id).first()
            parsed.saved_mapping = describe(mapping) if mapping else None
        return parsed
    # The header decides the mapping first, so that the rows are read once.
    read = read_report_table(kind, data, sheet=sheet, filename=filename, expected=expected_keys_of(factor_id, kind))
    table = read.table
    if table is None:
        return read
    keys = [k for k in table.keys if k and k not in IGNORED_KEYS]
    found = saved_for(factor_id, kind, keys)
    if found.mapping is not None and found.mapping.header_key == header_key(keys):
        return _mapped(kind, table, read.sha256, found.mapping)
    parsed = parse_table(kind, table, read.sha256)
    if found.mapping is not None and parsed.needs_mapping:
        return _mapped(kind, table, read.sha256, found.mapping)
    if found.ambiguous and parsed.needs_mapping:
        zone = local_time.zone_name(company=Company.get_or_none(Company.id == found.ambiguous[0].company_id))
        parsed.mapping_notice = (
            f"This header matches {len(found.ambiguous)} saved mappings ("
            + "; ".join(f"saved on {local_time.format_datetime(m.saved_at, zone)} by {describe(m)['saved_by']}"
                        for m in found.ambiguous)
            + "), so none was used. Check the columns below: the mapping you confirm is saved for "
              "exactly this header.")
    return parsed


def _mapped(kind, table, sha256, saved):
    """TABLE read with the SAVED mapping, which the report names."""
    parsed = parse_table(kind, table, sha256, columns_of(saved))
    parsed.saved_mapping = describe(saved)
    return parsed


# --- saved mappings ------------------------------------------------------------

def _with_saver():
    return (ReportMapping.select(ReportMapping, User)
            .join(User, JOIN.LEFT_OUTER, on=(ReportMapping.saved_by == User.id)))


@dataclasses.dataclass
class Found:
    """The saved mapping a file's header matches (or the several it matches)."""

    mapping: object = None
    ambiguous: list = dataclasses.field(default_factory=list)


def saved_for(factor_id, kind, keys):
    """The saved mapping of FACTOR_ID and KIND for a header of KEYS: the one saved for exactly
    this header, else the one whose columns are all in the file (a factor added a column).
    Two of the latter is ambiguous: Found.ambiguous lists them and nothing is chosen."""
    if not factor_id:
        return Found()
    candidates = list(_with_saver()
                      .where((ReportMapping.factor == factor_id) & (ReportMapping.kind == kind))
                      .order_by(ReportMapping.saved_at.desc()))
    wanted = header_key(keys)
    exact = next((m for m in candidates if m.header_key == wanted), None)
    if exact is not None:
        return Found(exact)
    present = set(keys)
    within = [m for m in candidates if set(json.loads(m.headers or "[]")) <= present]
    if len(within) == 1:
        return Found(within[0])
    return Found(ambiguous=within)


def expected_keys_of(factor_id, kind):
    """The file headers the factor's saved mappings name (to find the header row of a sheet)."""
    if not factor_id:
        return set()
    keys = set()
    for (columns,) in (ReportMapping.select(ReportMapping.columns)
                       .where((ReportMapping.factor == factor_id) & (ReportMapping.kind == kind)).tuples()):
        keys |= set(json.loads(columns or "{}").values())
    return keys


def columns_of(mapping):
    return json.loads(mapping.columns or "{}")


def save(*, company_id, factor_id, kind, table, choice, actor):
    """Save CHOICE as the factor's mapping for TABLE's header (replacing the one saved for the
    same header). Refused with Invalid naming each problem."""
    keys = [k for k in table.keys if k and k not in IGNORED_KEYS]
    choice = {f: (choice.get(f) or "") for f in COLUMNS[kind]}
    found = problems(kind, choice, keys)
    if found:
        raise Invalid({"mapping": found})
    if not factor_id:
        raise Invalid({"mapping": ["This batch has no factor; assign the subsidiary to a factor first."]})
    columns = {f: k for f, k in choice.items() if k}
    key = header_key(keys)
    now = utcnow()
    mapping = ReportMapping.get_or_none((ReportMapping.factor == factor_id) & (ReportMapping.kind == kind)
                                        & (ReportMapping.header_key == key))
    before = columns_of(mapping) if mapping else None
    if mapping is None:
        mapping = ReportMapping.create(company=company_id, factor=factor_id, kind=kind, header_key=key,
                                       headers=json.dumps(sorted(keys)), columns=json.dumps(columns),
                                       saved_by=actor, saved_at=now)
    else:
        mapping.columns, mapping.saved_by, mapping.saved_at = json.dumps(columns), actor, now
        mapping.save()
    audit.record(audit.REPORT_MAPPING_SAVE, "report_mapping", mapping.id, actor=actor, company=company_id,
                 before=before, after=columns,
                 details={"factor": factor_id, "kind": kind, "headers": list(table.headers)})
    return mapping


def describe(mapping):
    """{'id', 'saved_at', 'saved_by'} of a saved mapping, for the preview's line."""
    who = mapping.saved_by.display_name if mapping.saved_by_id and mapping.saved_by else "a user no longer here"
    return {"id": mapping.id, "saved_at": mapping.saved_at, "saved_by": who, "columns": columns_of(mapping)}
