"""Subsidiaries and their Document Configuration (the Notice of Assignment and other entries).

A subsidiary has at most one entry of each kind: saving a kind again replaces its
text, and the previous text is kept in the audit trail (before/after).
"""
import json
from dataclasses import dataclass

from peewee import JOIN
from peewee import IntegrityError
from peewee import fn
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase.pdfmetrics import stringWidth

from webapp.models import INFO_KINDS
from webapp.models import INFO_NOA
from webapp.models import AuditLog
from webapp.models import ImportantInfo
from webapp.models import Subsidiary
from webapp.models import User
from webapp.models import db
from webapp.models import utcnow
from webapp.services import audit
from webapp.services.local_time import ZONES
from webapp.services.records import create_record
from webapp.services.records import update_record
from webapp.services.validation import Checker
from webapp.services.validation import Invalid


@dataclass(frozen=True)
class InfoLimit:
    """How much text one kind of Document Configuration may hold, and how the invoice prints it."""

    chars: int
    lines: int  # as printed: a line longer than WIDTH wraps and counts as the lines it takes
    size: float  # the font size it prints at (points); Helvetica, the invoice's font
    width: float  # the width its lines wrap to (points)
    bold: bool = False
    titled: bool = False  # printed under a title line of its own (the NOA's box)


# Every invoice prints these texts, and an invoice is one page (the NOA is never split across
# two): each limit is what fits there beside a normal invoice (ten one-line items, a four-line
# Bill To, the other kinds at their limits), as services/batches/batch_file.py draws it; the
# NOA's box shrinks its type to 8 pt before it leaves the page (tests/hardening checks both).
INFO_LIMITS = {
    INFO_NOA: InfoLimit(1_100, 13, 10, 501.6, bold=True, titled=True),  # the boxed notice, full width
    "remit_to": InfoLimit(160, 4, 9.5, 161.2),  # the third column beside Bill To and Load Details
    "invoice_terms": InfoLimit(300, 2, 8, 513.6),  # small print under the total
    "invoice_footer": InfoLimit(150, 1, 8, 525.6),  # one centred line under the notice
}
INFO_TEXT_MAX = max(limit.chars for limit in INFO_LIMITS.values())  # the longest any kind may be


def limits_text():
    """The Document Configuration limits in words, for the form's hint."""
    return "; ".join(f"{INFO_KINDS[kind]} up to {limit.chars:,} characters and {limit.lines} "
                     f"line{'s' if limit.lines != 1 else ''}" for kind, limit in INFO_LIMITS.items()) + \
        " as printed on the invoice."
NOA_TITLE_SIZE = 12

# Editable fields in form order: (name, label).
SUBSIDIARY_FIELDS = (
    ("name", "Display name"),
    ("legal_name", "Legal name"),
    ("mc_number", "MC number"),
    ("usdot_number", "USDOT number"),
    ("address_line1", "Address line 1"),
    ("address_line2", "Address line 2"),
    ("city", "City"),
    ("state", "State"),
    ("postal_code", "ZIP"),
    ("phone", "Phone"),
    ("email", "Email"),
    ("time_zone", "Time zone of its invoices"),
)

INFO_ACTIONS = (audit.DOCUMENT_CONFIG_SAVE, audit.DOCUMENT_CONFIG_REMOVE)


class EntryNotFound(LookupError):
    """The Document Configuration entry does not exist (or was removed a moment ago)."""


# --- subsidiaries ------------------------------------------------------------

def clean_subsidiary(data, company, exclude_id=None):
    """Checked and normalised subsidiary fields, or raise Invalid naming every problem."""
    check = Checker(data)
    check.text("name", "display name", required=True, max_length=120)
    check.text("legal_name", "legal name", required=True, max_length=200)
    check.mc_number()
    check.usdot_number()
    check.text("address_line1", "address line 1", max_length=200)
    check.text("address_line2", "address line 2", max_length=200)
    check.text("city", "city", max_length=100)
    check.state()
    check.postal_code()
    check.phone()
    check.email()
    check.choice("time_zone", "time zone", ("",) + tuple(ZONES), default="")
    if "name" not in check.errors and _name_taken(company, check.values["name"], exclude_id):
        check.error("name", _taken_message(check.values["name"]))
    return check.done()


def _name_taken(company, name, exclude_id=None):
    query = Subsidiary.select().where(
        (Subsidiary.company == company) & (fn.LOWER(Subsidiary.name) == name.lower()))
    if exclude_id is not None:
        query = query.where(Subsidiary.id != exclude_id)
    return query.exists()


def _taken_message(name):
    return f"A subsidiary named {name} already exists in this company."


def _taken_error(name):
    return Invalid({"name": _taken_message(name)})


def create_subsidiary(company, data, *, actor):
    """Add a subsidiary to COMPANY; audited."""
    values = clean_subsidiary(data, company)
    return create_record(Subsidiary, "subsidiary", company, values, actor=actor, taken=_taken_error)


def update_subsidiary(subsidiary, data, *, actor):
    """Change a subsidiary's name, numbers, address and contacts; audited with before/after."""
    values = clean_subsidiary(data, subsidiary.company_id, exclude_id=subsidiary.id)
    return update_record(subsidiary, "subsidiary", values, actor=actor, taken=_taken_error)


# --- Document Configuration ---------------------------------------------------

def normalise_text(text):
    """Line ends as \\n, no NUL bytes, no blank lines around the text; inner spacing kept."""
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    return text.strip("\n").rstrip()


def clean_info(kind, text):
    """(kind, text) checked, or raise Invalid naming what is wrong.

    The text must fit where the invoice prints it: at most INFO_LIMITS[kind] characters and
    lines as printed (a long line wraps into several)."""
    check = Checker({"kind": kind})
    kind = check.choice("kind", "type", INFO_KINDS)
    if "kind" in check.errors:
        check.errors["kind"] = "Choose a type: " + ", ".join(INFO_KINDS.values()) + "."
    text = normalise_text(text)
    if not text.strip():
        check.error("text", "Enter the text.")
    elif "kind" not in check.errors:
        limit = INFO_LIMITS[kind]  # every kind prints on the invoice: a new one needs its limit
        allowed = (f"The {INFO_KINDS[kind]} must fit on the invoice page: at most {limit.chars:,} characters "
                   f"and {limit.lines} line{'s' if limit.lines > 1 else ''} as printed.")
        if len(text) > limit.chars:
            check.error("text", f"The text is too long: {len(text):,} characters; at most {limit.chars:,} "
                                f"are allowed. {allowed}")
        else:
            lines = printed_lines(kind, text)
            if lines > limit.lines:
                check.error("text", f"The text is too long to print: it takes {lines} lines on the invoice "
                                    f"(long lines wrap). {allowed}")
    check.done()
    return kind, text


def _printable(text):
    """TEXT with each character Helvetica cannot draw as a 'W': such text prints in a wider font."""
    try:
        text.encode("cp1252")
        return text
    except UnicodeEncodeError:
        return "".join(ch if ch.encode("cp1252", "ignore") else "W" for ch in text)


def printed_lines(kind, text):
    """How many lines TEXT takes where the invoice prints KIND: wrapped as the invoice wraps it
    (at word breaks; a word wider than the line is cut), the NOA with its title line."""
    limit = INFO_LIMITS[kind]
    font = "Helvetica-Bold" if limit.bold else "Helvetica"
    text = normalise_text(text) if limit.titled else normalise_text(text).strip()  # as the invoice takes them
    lines = _printable(text.replace("\t", "    ")).split("\n")
    count = 0
    if limit.titled:  # its first line when it names the notice and fits two title lines, else one given
        first = lines[0].strip()
        title = _wrapped_lines(first, font, NOA_TITLE_SIZE, limit.width)
        if first.lower().startswith("notice of assignment") and title <= 2:
            count, lines = title, lines[1:]
            while lines and not lines[0]:
                lines.pop(0)
        else:
            count = 1
    return count + sum(_wrapped_lines(line, font, limit.size, limit.width) for line in lines)


def _wrapped_lines(line, font, size, width):
    body = line.lstrip(" ")
    if not body:
        return 1
    indent = stringWidth(line[:len(line) - len(body)], font, size)
    if indent > width / 2:
        indent = int(width / 2 / stringWidth(" ", font, size)) * stringWidth(" ", font, size)
    room = width - indent
    count = 0
    for piece in simpleSplit(body, font, size, room) or [""]:
        while len(piece) > 1 and stringWidth(piece, font, size) > room:  # a word wider than the line is cut
            cut = 1
            while cut < len(piece) - 1 and stringWidth(piece[:cut + 1], font, size) <= room:
                cut += 1
            count += 1
            piece = piece[cut:]
        count += 1
    return count


def entries(subsidiary):
    """The subsidiary's Document Configuration entries, in the order of INFO_KINDS."""
    order = list(INFO_KINDS)
    rows = list(ImportantInfo.select(ImportantInfo, User)
                .join(User, JOIN.LEFT_OUTER, on=(ImportantInfo.updated_by == User.id))
                .where(ImportantInfo.subsidiary == subsidiary))
    return sorted(rows, key=lambda r: (order.index(r.kind) if r.kind in order else len(order), r.id))


def get_entry(subsidiary, info_id):
    """One entry of SUBSIDIARY, or None."""
    return ImportantInfo.get_or_none(
        (ImportantInfo.id == info_id) & (ImportantInfo.subsidiary == subsidiary))


def for_company(company):
    """The company's subsidiaries by name."""
    return list(Subsidiary.select().where(Subsidiary.company == company).order_by(Subsidiary.name, Subsidiary.id))


def document_configuration(subsidiary):
    """What the Document Configuration section shows: the entries, their history, the kinds."""
    return {"subsidiary": subsidiary, "entries": entries(subsidiary), "history": info_history(subsidiary),
            "kinds": INFO_KINDS}


def profile(company, subsidiary=None):
    """Management > Company Profile: the subsidiaries, and the one chosen (else the first) with its
    Document Configuration."""
    subs = for_company(company)
    subsidiary = subsidiary or (subs[0] if subs else None)
    context = document_configuration(subsidiary) if subsidiary else {}
    context["subsidiaries"] = subs
    return context


def document_texts(subsidiary):
    """{kind: text} of the subsidiary's Document Configuration: what its invoices print."""
    return dict(ImportantInfo.select(ImportantInfo.kind, ImportantInfo.text)
                .where(ImportantInfo.subsidiary == subsidiary).tuples())


def notice_of_assignment(subsidiary=None, texts=None):
    """The Notice of Assignment, stripped ('' when there is none): of SUBSIDIARY, or within the
    TEXTS that document_texts() already read. The one reader of the NOA."""
    if texts is None:
        texts = document_texts(subsidiary)
    return (texts.get(INFO_NOA) or "").strip()


def _audit_info(action, subsidiary, kind, *, actor, before="", after=""):
    audit.record(action, "subsidiary", subsidiary.id, actor=actor, company=subsidiary.company_id,
                 before=before, after=after, details={"kind": kind})


def save_info(subsidiary, kind, text, *, actor):
    """Add or replace the SUBSIDIARY's entry of KIND; returns (entry, "added"|"replaced"|"unchanged").

    The write is conditional on the text read, so two people saving at once both end
    up in the history with the right before/after, and the later save wins.
    """
    kind, text = clean_info(kind, text)
    for _ in range(5):
        with db.atomic():
            current = ImportantInfo.get_or_none(
                (ImportantInfo.subsidiary == subsidiary) & (ImportantInfo.kind == kind))
            if current is None:
                try:
                    with db.atomic():
                        entry = ImportantInfo.create(subsidiary=subsidiary, kind=kind, text=text,
                                                     updated_by=actor, updated_at=utcnow())
                except IntegrityError:
                    continue  # someone added this kind a moment ago: replace theirs
                _audit_info(audit.DOCUMENT_CONFIG_SAVE, subsidiary, kind, actor=actor, after=text)
                return entry, "added"
            if current.text == text:
                return current, "unchanged"
            changed = (ImportantInfo
                       .update(text=text, updated_by=actor, updated_at=utcnow())
                       .where((ImportantInfo.id == current.id) & (ImportantInfo.text == current.text))
                       .execute())
            if not changed:
                continue  # changed or removed under us: read again
            _audit_info(audit.DOCUMENT_CONFIG_SAVE, subsidiary, kind, actor=actor,
                        before=current.text, after=text)
            current.text = text
            return current, "replaced"
    raise Invalid({"text": "Someone else is changing this entry right now. Try again."})


def remove_info(subsidiary, info_id, *, actor):
    """Remove one entry of SUBSIDIARY; its text stays in the audit history. Returns its kind label."""
    with db.atomic():
        entry = get_entry(subsidiary, info_id)
        if entry is None:
            raise EntryNotFound(info_id)
        removed = ImportantInfo.delete().where(
            (ImportantInfo.id == entry.id) & (ImportantInfo.subsidiary == subsidiary)).execute()
        if not removed:
            raise EntryNotFound(info_id)
        _audit_info(audit.DOCUMENT_CONFIG_REMOVE, subsidiary, entry.kind, actor=actor, before=entry.text)
    return entry.kind_label


class HistoryRow:
    """One Document Configuration change for display."""

    def __init__(self, log):
        self.when = log.created_at
        self.who = log.actor.display_name if log.actor_id and log.actor else "System"
        if log.action == audit.DOCUMENT_CONFIG_REMOVE:
            self.action = "Removed"
        else:  # a save with no text before it added the entry
            self.action = "Replaced" if log.before else "Added"
        try:
            kind = json.loads(log.details or "{}").get("kind", "")
        except ValueError:
            kind = ""
        self.kind = INFO_KINDS.get(kind, kind)
        self.before = log.before
        self.after = log.after


def info_history(subsidiary, limit=10):
    """The latest Document Configuration changes of SUBSIDIARY, newest first (one query)."""
    # By object alone (a subsidiary's id names one company's): with the company's id beside
    # it, SQLite read the index of the company's whole audit trail instead (every load's
    # history, 250,000 rows in the bench) and sorted what it found.
    rows = (AuditLog.select(AuditLog, User)
            .join(User, JOIN.LEFT_OUTER, on=(AuditLog.actor == User.id))
            .where((AuditLog.object_type == "subsidiary")
                   & (AuditLog.object_id == subsidiary.id)
                   & (AuditLog.action.in_(INFO_ACTIONS)))
            .order_by(AuditLog.created_at.desc(), AuditLog.id.desc())
            .limit(limit))
    return [HistoryRow(r) for r in rows]
