"""Purchase and Payment Reports: parsing the factor's file, checking it against the batch,
applying it once, and what the batch page shows of them.

The package's public face; each module's docstring says what it holds:
parsing (bytes to rows), mapping (the factor's own columns, mapped once), checking (what each row will do), uploads (preview, review,
apply), writing (the bulk writes of an apply), reversal (undo of an applied report), summary (the batch page's money,
exceptions and uploads), templates (the CSV templates and rows with errors).
"""
from webapp.services.reports.checking import evaluate
from webapp.services.reports.reversal import ReversalRefused
from webapp.services.reports.reversal import refusal as reversal_refusal
from webapp.services.reports.reversal import reverse
from webapp.services.reports.summary import batch_exceptions
from webapp.services.reports.summary import batch_money
from webapp.services.reports.summary import batch_reports
from webapp.services.reports.summary import batch_uploads
from webapp.services.reports.summary import counts_text
from webapp.services.reports.summary import summary_of
from webapp.services.reports.summary import upload_result
from webapp.services.reports.uploads import ReportRefused
from webapp.services.reports.uploads import already_applied_message
from webapp.services.reports.uploads import apply
from webapp.services.reports.uploads import batch_refusal
from webapp.services.reports.uploads import choose_sheet
from webapp.services.reports.uploads import map_columns
from webapp.services.reports.uploads import mapping_step
from webapp.services.reports.uploads import preview
from webapp.services.reports.uploads import review
from webapp.services.reports.uploads import stored_bytes

__all__ = [
    "ReversalRefused", "reverse", "reversal_refusal", "map_columns", "mapping_step",
    "ReportRefused", "already_applied_message", "apply", "batch_refusal", "choose_sheet", "preview", "review",
    "stored_bytes", "evaluate", "batch_exceptions", "batch_money", "batch_reports", "batch_uploads", "counts_text",
    "summary_of", "upload_result",
]
