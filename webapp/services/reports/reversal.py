"""Undo: an applied Purchase or Payment Report put back as it was.

apply() kept, for every load it changed, the load's fields before and after
(report_load_change). reverse() puts the "before" back, in one transaction with the
payments it recorded taken away, the batch's rejected loads returned to it, the ledger's
reversing rows (services/ledger) and one history row per load ("Reversed by NAME: reason",
pointing to the upload). It is refused, naming the loads and what changed them, when anything
has changed those loads since: a later upload, a chargeback, a person, a new batch. The later
change must be reversed first. The upload and its file stay on record, marked reversed; the
same file can then be applied again.
"""
import json

from peewee import JOIN

from webapp.models import REPORT_KINDS
from webapp.models import UPLOAD_APPLIED
from webapp.models import UPLOAD_REVERSED
from webapp.models import AuditLog
from webapp.models import BatchLoad
from webapp.models import Chargeback
from webapp.models import Load
from webapp.models import Payment
from webapp.models import ReportLoadChange
from webapp.models import ReportUpload
from webapp.models import User
from webapp.models import utcnow
from webapp.services import audit
from webapp.services import ledger
from webapp.services.reports.writing import SNAPSHOT_NAMES
from webapp.services.reports.writing import load_states
from webapp.services.reports.writing import named
from webapp.services.sql import V
from webapp.services.sql import bulk_insert
from webapp.services.sql import bulk_update
from webapp.services.sql import chunks
from webapp.services.sql import write_transaction
from webapp.services.validation import Invalid

MAX_REASON = 500
# Changes to a load that leave what a report wrote alone.
_HARMLESS = {audit.LOAD_DOCUMENT_ADD, audit.LOAD_DOCUMENT_REMOVE}
_NAMED = 10  # loads named in a refusal; the rest are counted


class ReversalRefused(Exception):
    """The upload cannot be reversed now; MESSAGE says why and what to do."""

    def __init__(self, message, status=409):
        super().__init__(message)
        self.message = message
        self.status = status


def reverse(upload, actor, reason):
    """Reverse the applied UPLOAD. REASON is required (Invalid otherwise); ReversalRefused
    when it is not applied, or its loads changed since. Returns the number of loads put back."""
    reason = (reason or "").strip()
    if not reason:
        raise Invalid({"reason": ["Say why the report is reversed (for the loads' history)."]})
    if len(reason) > MAX_REASON:
        raise Invalid({"reason": [f"The reason is {len(reason):,} characters long; at most {MAX_REASON}."]})
    if any(ord(ch) < 32 and ch not in "\n\t" for ch in reason):
        raise Invalid({"reason": ["The reason holds control characters; type it again."]})
    with write_transaction():
        fresh = ReportUpload.get_by_id(upload.id)
        if fresh.status != UPLOAD_APPLIED:
            raise ReversalRefused("This report was already reversed." if fresh.status == UPLOAD_REVERSED
                                  else "Only an applied report can be reversed.")
        changes = _changes(upload)
        _refuse_later_changes(fresh, changes)
        _put_back(fresh, changes, actor, reason)
        now = utcnow()
        claimed = (ReportUpload.update(status=UPLOAD_REVERSED, reversed_at=now, reversed_by=actor,
                                       reverse_reason=reason)
                   .where((ReportUpload.id == upload.id) & (ReportUpload.status == UPLOAD_APPLIED)).execute())
        if claimed != 1:
            raise ReversalRefused("Someone reversed this report at the same moment; it is reversed once.")
        audit.record(audit.REPORT_REVERSE, "report_upload", upload.id, actor=actor, company=fresh.company_id,
                     before=UPLOAD_APPLIED, after=UPLOAD_REVERSED,
                     details={"reason": reason, "loads": len(changes), "kind": fresh.kind},
                     batch=fresh.batch_id, upload=upload.id)
        ledger.reverse(cause_upload_id=upload.id, actor=actor, reason=reason)
    upload.status = UPLOAD_REVERSED
    return len(changes)


def details(upload):
    """What an upload's Details say of its undo: why it cannot be reversed now (or None), and
    who reversed it."""
    who = ""
    if upload.reversed_by_id:
        user = User.get_or_none(User.id == upload.reversed_by_id)
        who = user.display_name if user else "a user no longer here"
    return {"reversal": refusal(upload), "reversed_by_name": who}


def refusal(upload):
    """Why UPLOAD cannot be reversed now (a sentence), or None; for the Details page."""
    if upload.status != UPLOAD_APPLIED:
        return None
    changes = _changes(upload)
    try:
        _refuse_later_changes(upload, changes)
    except ReversalRefused as exc:
        return exc.message
    return None


def _changes(upload):
    """{load id: (before, after)} that UPLOAD's apply kept, each as lists in SNAPSHOT_NAMES order."""
    return {load_id: (json.loads(before), json.loads(after)) for load_id, before, after in
            ReportLoadChange.select(ReportLoadChange.load, ReportLoadChange.before, ReportLoadChange.after)
            .where(ReportLoadChange.upload == upload.id).tuples()}


def _refuse_later_changes(upload, changes):
    """Refuse when any load of CHANGES has a history row after the upload's (not its own, not a
    document), or no longer holds what the upload wrote."""
    load_ids = list(changes)
    later = {}
    for chunk in chunks(load_ids):
        rows = (AuditLog.select(AuditLog.object_id, AuditLog.action, AuditLog.upload, AuditLog.created_at,
                                User.name, User.email, ReportUpload.kind, ReportUpload.filename)
                .join(User, JOIN.LEFT_OUTER, on=(AuditLog.actor == User.id))
                .join_from(AuditLog, ReportUpload, JOIN.LEFT_OUTER, on=(AuditLog.upload == ReportUpload.id))
                .where((AuditLog.object_type == "load") & AuditLog.object_id.in_(chunk)
                       & (AuditLog.created_at >= upload.applied_at)
                       # its own rows, and those of a report reversed since (apply and reversal), do not count
                       & (AuditLog.upload.is_null()
                          | ((AuditLog.upload != upload.id) & (ReportUpload.status != UPLOAD_REVERSED)))
                       & AuditLog.action.not_in(_HARMLESS))
                .order_by(AuditLog.created_at, AuditLog.id).tuples())
        pending = {}
        for load_id, action, upload_id, when, name, email, kind, filename in rows:
            if action == audit.LOAD_CHARGEBACK_UNDO:   # the chargeback before it no longer stands
                stack = pending.get(load_id, [])
                if stack and stack[-1][0] == audit.LOAD_CHARGEBACK:
                    stack.pop()
                    continue
            pending.setdefault(load_id, []).append(
                (action, _cause(action, upload_id, when, name or email, kind, filename)))
        for load_id, stack in pending.items():
            if stack:
                later.setdefault(load_id, stack[0][1])
    current = load_states(load_ids)
    for load_id, (_, after) in changes.items():
        if load_id not in later and current.get(load_id) != after:
            later[load_id] = "a change made since (the load no longer holds what this report wrote)"
    if not later:
        return
    numbers = dict(Load.select(Load.id, Load.load_number).where(Load.id.in_(list(later)[:1000])).tuples())
    ordered = sorted(later, key=lambda i: numbers.get(i, ""))
    named = [f"{numbers.get(i, f'load {i}')} ({later[i]})" for i in ordered[:_NAMED]]
    more = f", and {len(ordered) - _NAMED:,} more" if len(ordered) > _NAMED else ""
    raise ReversalRefused(
        f"This {REPORT_KINDS[upload.kind]} cannot be reversed: {'a load it changed has' if len(ordered) == 1 else f'{len(ordered):,} loads it changed have'} "
        f"been changed since — {'; '.join(named)}{more}. Reverse the later change first.")


def _cause(action, upload_id, when, who, kind, filename):
    if upload_id:
        label = REPORT_KINDS.get(kind, "report")
        return f"{label} {filename or ''} (upload {upload_id})".replace("  ", " ")
    what = {audit.LOAD_UPDATE: "edited", audit.LOAD_STATUS: "status changed", audit.LOAD_HOLD: "held",
            audit.LOAD_CHARGEBACK: "charged back"}.get(
        action, action.split(".", 1)[-1].replace("_", " "))
    return f"{what} by {who or 'the system'} on {when:%m/%d/%Y}"


def _put_back(upload, changes, actor, reason):
    """Write every load's "before" (each still holding its "after"), the payments removed, the
    rejected loads returned to the batch, one history row per load."""
    now = utcnow()
    changes = {load_id: (named(before), named(after)) for load_id, (before, after) in changes.items()}
    rows = []
    for load_id, (before, after) in changes.items():
        rows.append((load_id, *[before[name] for name in SNAPSHOT_NAMES], after["billing_status"],
                     after["paid_cents"]))
    types = ["integer", "text", "integer", "date", "integer", "integer", "integer", "integer", "text", "text",
             "boolean", "text", "integer", "integer", "integer", "text", "text", "integer"]
    fields = [getattr(Load, name) for name in SNAPSHOT_NAMES]
    sets = [(field, V(i + 2)) for i, field in enumerate(fields)] + [(Load.updated_at, now)]
    n = len(SNAPSHOT_NAMES)
    count = bulk_update(Load, rows, types, sets,
                        [(Load.billing_status, V(n + 2)), (Load.paid_cents, V(n + 3))])
    if count != len(rows):
        raise ReversalRefused("Someone changed these loads at the same moment; nothing was reversed. "
                              "Open the report again to see why.")
    # The loads a purchase report rejected leave the batch; they come back to it.
    returned = [(load_id, before["batch"]) for load_id, (before, after) in changes.items()
                if before["batch"] and not after["batch"]]
    if returned:
        bulk_update(BatchLoad, returned, ["integer", "integer"],
                    [(BatchLoad.live, True), (BatchLoad.removed_reason, "")],
                    [(BatchLoad.batch, V(2)), (BatchLoad.live, False)], key=BatchLoad.load)
    Payment.delete().where(Payment.upload == upload.id).execute()
    # Its chargeback rows: the loads are back above; the records say they were undone.
    (Chargeback.update(undone_at=now, undone_by=actor.id if actor else None, undo_reason=reason)
     .where((Chargeback.upload == upload.id) & Chargeback.undone_at.is_null()).execute())
    who = actor.display_name if actor else "the system"
    history = []
    for load_id, (before, after) in changes.items():
        history.append((upload.company_id, actor.id if actor else None, audit.LOAD_REVERSE, "load", load_id,
                        after["billing_status"], before["billing_status"],
                        json.dumps({"reason": reason, "reversed_by": who, "upload": upload.id,
                                    "kind": upload.kind}, sort_keys=True),
                        before["batch"] or after["batch"], upload.id, None, now))
    bulk_insert(AuditLog, audit.BULK_FIELDS, history)
