"""The audit trail: one row per change, with who, what, before and after.

Actions are named OBJECT.VERB, one scheme for every row (migration 0008 renamed the
rows written before it): the names below, plus `customer.create|update`,
`subsidiary.create|update` and `user.create|update|activate|deactivate`. Factors write
`factor.create|update` and `subsidiary.factor` (a subsidiary assigned to a factor from a date).
"""
import json

LOAD_CREATE = "load.create"
LOAD_UPDATE = "load.update"
LOAD_STATUS = "load.status"
LOAD_HOLD = "load.hold"  # the factor holds the invoice: the status stays Invoiced
LOAD_CHARGEBACK = "load.chargeback"  # the factor charged the invoice back: Financed -> Charged back
LOAD_CHARGEBACK_UNDO = "load.chargeback_undo"  # that chargeback undone: Charged back -> Financed
LOAD_DOCUMENT_ADD = "load.document_add"
LOAD_DOCUMENT_REMOVE = "load.document_remove"
BATCH_SUBMIT = "batch.submit"
BATCH_RETRY = "batch.retry"
BATCH_CANCEL = "batch.cancel"
BATCH_FAILED = "batch.failed"
BATCH_SENT = "batch.sent"  # the batch file went to the factor (Mark as sent, or emailed)
DOCUMENT_CONFIG_SAVE = "document_config.save"
DOCUMENT_CONFIG_REMOVE = "document_config.remove"
FACTOR_CREATE = "factor.create"
FACTOR_UPDATE = "factor.update"
SUBSIDIARY_FACTOR = "subsidiary.factor"  # a subsidiary assigned to a factor from a date
# Mail (services/mail): the batch file emailed to its factor (details: to, message id), a failed
# message put back in the queue (mail log's Retry), a user's notices turned on or off.
BATCH_EMAIL = "batch.email"
MAIL_RETRY = "mail.retry"
USER_NOTICES = "user.notices"
REPORT_MAPPING_SAVE = "report_mapping.save"  # a factor's columns mapped to ours, for one header
REPORT_REVERSE = "report.reverse"  # an applied Purchase or Payment Report put back as it was
LOAD_REVERSE = "load.reverse"  # what an applied report did to a load, put back
COMPANY_UPDATE = "company.update"  # the company's settings (its time zone)
USER_UPDATE = "user.update"
# Accounts (services/passwords.py, account_links.py, two_factor.py): a password chosen
# (details say how: change, invitation, reset, command line), an invitation or a reset link
# sent, two-factor sign-in turned on, off, or reset by an admin, the other sessions ended.
USER_PASSWORD = "user.password"
USER_INVITE = "user.invite"
USER_RESET_LINK = "user.reset_link"
USER_TWO_FACTOR_ENROL = "user.two_factor_enrol"
USER_TWO_FACTOR_DISABLE = "user.two_factor_disable"
USER_TWO_FACTOR_RESET = "user.two_factor_reset"
USER_SESSIONS_END = "user.sessions_end"

from webapp.models import AuditLog

# The columns of an audit row written in bulk (sql.bulk_insert), created_at last: the status
# changes of an apply, an undo, a batch file's loads.
BULK_FIELDS = (AuditLog.company, AuditLog.actor, AuditLog.action, AuditLog.object_type, AuditLog.object_id,
               AuditLog.before, AuditLog.after, AuditLog.details, AuditLog.batch, AuditLog.upload,
               AuditLog.row_number, AuditLog.created_at)


def _dump(value):
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str, sort_keys=True)


def record(action, obj_type, obj_id, *, actor=None, company=None, before=None, after=None,
           details=None, batch=None, upload=None, row_number=None):
    """Write one audit row. Call it inside the transaction of the change it records."""
    return AuditLog.create(
        company=company, actor=actor, action=action, object_type=obj_type, object_id=obj_id,
        before=_dump(before), after=_dump(after), details=_dump(details),
        batch=batch, upload=upload, row_number=row_number)


def status_change_rows(loads, from_status, to_status, *, actor=None, action=LOAD_STATUS,
                       batch=None, upload=None, rows=None, details=None):
    """Audit dicts for a bulk status change (insert them with AuditLog.insert_many).

    LOADS is a list of (company_id, load_id); ROWS, when given, maps load_id to the
    report row number that caused the change.
    """
    out = []
    for company_id, load_id in loads:
        out.append({
            "company": company_id, "actor": actor, "action": action,
            "object_type": "load", "object_id": load_id,
            "before": from_status, "after": to_status, "details": _dump(details),
            "batch": batch, "upload": upload,
            "row_number": rows.get(load_id) if rows else None,
        })
    return out


def history(obj_type, obj_id):
    """Audit rows of one object, newest first, with their actors."""
    return (AuditLog.select()
            .where((AuditLog.object_type == obj_type) & (AuditLog.object_id == obj_id))
            .order_by(AuditLog.created_at.desc(), AuditLog.id.desc()))
