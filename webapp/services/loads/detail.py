"""A load's page: its lines, payments, documents and history (status changes, edits, documents)."""
import dataclasses
import datetime
import json

from peewee import JOIN

from webapp.models import BILLING_STATUSES
from webapp.models import AuditLog
from webapp.models import Batch
from webapp.models import Customer
from webapp.models import Load
from webapp.models import LoadDocument
from webapp.models import LoadLine
from webapp.models import Payment
from webapp.models import ReportUpload
from webapp.models import StoredFile
from webapp.models import Subsidiary
from webapp.models import User
from webapp.services import audit
from webapp.services import ledger
from webapp.services.loads.documents import DOCUMENT_KINDS
from webapp.services.loads.fields import FIELD_LABELS

# Kinds of document kept with a load, in the order they are merged behind the invoice.
from webapp.services.money import format_money

# --- the load page ------------------------------------------------------------------

def lines_of(load):
    """The load's line items in order."""
    return list(load.lines.order_by(LoadLine.position, LoadLine.id))


def payments_of(load):
    """Payments applied to the load, oldest first."""
    return list(Payment.select().where(Payment.load == load.id)
                .order_by(Payment.payment_date, Payment.id))


def documents_of(load):
    """The load's documents with their file names and sizes (not their bytes)."""
    return list(LoadDocument
                .select(LoadDocument, StoredFile.id, StoredFile.filename, StoredFile.size,
                        User.id, User.name, User.email)
                .join_from(LoadDocument, StoredFile)
                .join_from(LoadDocument, User, JOIN.LEFT_OUTER)
                .where(LoadDocument.load == load.id)
                .order_by(LoadDocument.created_at, LoadDocument.id))


@dataclasses.dataclass
class HistoryEntry:
    """One line of a load's history, ready to show."""

    when: datetime.datetime
    who: str
    what: str
    from_status: str = ""
    to_status: str = ""
    cause: str = ""
    batch_id: int = None
    upload_id: int = None  # the report upload the cause names (its Details are linked)
    changes: list = dataclasses.field(default_factory=list)


def _loads_json(text):
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _show(value):
    if isinstance(value, list):
        return "; ".join(str(v) for v in value) or "none"
    return str(value) if value not in ("", None) else "blank"


def history(load):
    """The load's status history and edits, newest first (one query, actors joined)."""
    rows = (audit.history("load", load.id)
            .select_extend(User.id, User.name, User.email, Batch.id, Batch.number,
                           ReportUpload.id, ReportUpload.kind, ReportUpload.filename)
            .join_from(AuditLog, User, JOIN.LEFT_OUTER)
            .join_from(AuditLog, Batch, JOIN.LEFT_OUTER)
            .join_from(AuditLog, ReportUpload, JOIN.LEFT_OUTER))
    entries = []
    for row in rows:
        actor = row.actor.display_name if row.actor_id and row.actor else ""
        details = _loads_json(row.details)
        entry = HistoryEntry(when=row.created_at, who=actor or "System", what=row.action)
        if row.batch_id and row.batch:
            entry.batch_id = row.batch.id
        if row.upload_id and row.upload:
            entry.upload_id = row.upload.id
        if row.before in BILLING_STATUSES or row.after in BILLING_STATUSES:
            entry.from_status = row.before if row.before in BILLING_STATUSES else ""
            entry.to_status = row.after if row.after in BILLING_STATUSES else ""
        if row.action == audit.LOAD_CREATE:
            entry.what = "Created"
            if isinstance(details, dict) and details.get("source") == "import":
                entry.cause = f"Import of {details.get('file') or 'a CSV file'}"
                if row.row_number:
                    entry.cause += f", row {row.row_number}"
            else:
                entry.cause = "Entered by hand"
        elif row.action == audit.LOAD_UPDATE:
            entry.what = "Edited"
            before, after = _loads_json(row.before) or {}, _loads_json(row.after) or {}
            if isinstance(before, dict) and isinstance(after, dict):
                entry.changes = [(FIELD_LABELS.get(k, k.replace("_", " ").capitalize()),
                                  _money_or(k, before.get(k)), _money_or(k, after.get(k)))
                                 for k in sorted(set(before) | set(after))]
        elif row.action == audit.LOAD_REVERSE:
            entry.what = "Report reversed"
            label = "Purchase Report" if row.upload_id and row.upload and row.upload.kind == "purchase" else "Payment Report"
            reason = details.get("reason", "") if isinstance(details, dict) else ""
            entry.cause = f"Reversed by {actor or 'the system'}: {reason} ({label} {row.upload.filename if row.upload else ''})".replace(" )", ")")
        elif row.action in (audit.LOAD_CHARGEBACK, audit.LOAD_CHARGEBACK_UNDO):
            entry.what = "Charged back" if row.action == audit.LOAD_CHARGEBACK else "Chargeback undone"
            facts = details if isinstance(details, dict) else {}
            amount = f"{format_money(facts['amount_cents'])} " if facts.get("amount_cents") else ""
            entry.cause = f"{'Recorded' if row.action == audit.LOAD_CHARGEBACK else 'Undone'} by {actor or 'the system'}" \
                f"{': ' + amount if amount else ''}{' · ' + facts['reason'] if facts.get('reason') else ''}"
        elif row.action in (audit.LOAD_DOCUMENT_ADD, audit.LOAD_DOCUMENT_REMOVE):
            entry.what = "Document added" if row.action == audit.LOAD_DOCUMENT_ADD else "Document removed"
            if isinstance(details, dict):
                entry.cause = (f"{DOCUMENT_KINDS.get(details.get('kind'), 'Document')}: "
                               f"{details.get('file', '')}")
        else:
            if row.action == audit.LOAD_HOLD:
                entry.what = "Held by the factor"
            else:
                entry.what = "Status changed" if entry.to_status else row.action.replace("_", " ").capitalize()
            entry.cause = _status_cause(row, details)
        entries.append(entry)
    return entries


def _money_or(key, value):
    if key == "total_cents" and isinstance(value, int):
        return format_money(value)
    return _show(value)


def _status_cause(row, details):
    """What moved the status: the report and its row, the batch, else a person by hand."""
    parts = []
    if row.upload_id and row.upload:
        label = "Purchase Report" if row.upload.kind == "purchase" else "Payment Report"
        text = f"{label} {row.upload.filename}".strip()
        if row.row_number:
            text += f", row {row.row_number}"
        parts.append(text)
    elif row.batch_id and row.batch:
        parts.append(f"Batch {row.batch.number}")
    if isinstance(details, dict):
        reason = details.get("reason") or details.get("message")
        if reason:
            parts.append(str(reason))
    elif isinstance(details, str) and details:
        parts.append(details)
    if not (row.upload_id or row.batch_id):
        parts.insert(0, "Set by hand" if row.actor_id else "Set by the system")
    return " · ".join(parts)


def with_relations(load):
    """LOAD read again with its subsidiary, customer and batch joined (what its pages print)."""
    return (Load.select(Load, Subsidiary, Customer, Batch)
            .join_from(Load, Subsidiary).join_from(Load, Customer).join_from(Load, Batch, JOIN.LEFT_OUTER)
            .where(Load.id == load.id).get())


def load_page(load):
    """Everything a load's page shows: the load with its relations, lines, payments, documents, history."""
    return {"load": with_relations(load), "lines": lines_of(load), "payments": payments_of(load),
            # The money with the factor, from the ledger (services/ledger), and the chargeback if any.
            "money": ledger.load_sums(load.id), "ledger_rows": ledger.load_entries(load.id),
            "chargeback": ledger.open_chargeback(load),
            "documents": documents_of(load), "history": history(load), "document_kinds": DOCUMENT_KINDS}
