"""Loads: the list, create and edit with line items, a load's page and history, its documents,
and the CSV import.

The package's public face; each module's docstring says what it holds:
fields (labels, limits, the checks shared with the import), listing, editing,
detail (a load's page and history), documents, importing.
"""
from webapp.services.loads.detail import HistoryEntry
from webapp.services.loads.detail import documents_of
from webapp.services.loads.detail import history
from webapp.services.loads.detail import lines_of
from webapp.services.loads.detail import load_page
from webapp.services.loads.detail import payments_of
from webapp.services.loads.documents import DOCUMENT_KINDS
from webapp.services.loads.documents import DocumentError
from webapp.services.loads.documents import add_document
from webapp.services.loads.documents import check_pdf
from webapp.services.loads.documents import document_of
from webapp.services.loads.documents import documents_for_merge
from webapp.services.loads.documents import remove_document
from webapp.services.loads.editing import LoadLocked
from webapp.services.loads.editing import blank_form
from webapp.services.loads.editing import create_load
from webapp.services.loads.editing import ensure_editable
from webapp.services.loads.editing import form_lines
from webapp.services.loads.editing import update_load
from webapp.services.loads.fields import FIELD_LABELS
from webapp.services.loads.fields import MAX_LENGTHS
from webapp.services.loads.listing import SORT_COLUMNS
from webapp.services.loads.listing import Filters
from webapp.services.loads.listing import LoadList
from webapp.services.loads.listing import choices
from webapp.services.loads.listing import list_from_args
from webapp.services.loads.listing import list_page

__all__ = [
    "DOCUMENT_KINDS", "DocumentError", "add_document", "check_pdf", "document_of", "documents_for_merge",
    "remove_document", "LoadLocked", "blank_form", "create_load", "ensure_editable", "form_lines",
    "update_load", "FIELD_LABELS", "MAX_LENGTHS", "HistoryEntry", "documents_of", "history", "lines_of", "load_page",
    "payments_of", "SORT_COLUMNS", "Filters", "LoadList", "choices", "list_from_args", "list_page",
]
