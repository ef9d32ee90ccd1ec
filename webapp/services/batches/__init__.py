"""Batches: which loads can go to the factor, Submit Batch, the job that builds the batch
file, and reading batches back.

The package's public face; each module's docstring says what it holds:
eligibility (the Factoring Upload list and its reasons), submission (create, retry,
cancel), job (build the file, recovery), reading (the batch's state in the clerk's words, lists, the stored file),
batch_file (the PDFs, schedule and ZIP).
"""
from webapp.services.batches.eligibility import LoadFilter
from webapp.services.batches.eligibility import eligible_loads
from webapp.services.batches.eligibility import incomplete_loads
from webapp.services.batches.eligibility import load_filter_from_args
from webapp.services.batches.eligibility import load_problems
from webapp.services.batches.eligibility import unindexed
from webapp.services.batches.eligibility import workspace
from webapp.services.batches.errors import BatchConflict
from webapp.services.batches.errors import BatchError
from webapp.services.batches.job import MAX_ATTEMPTS
from webapp.services.batches.job import ZIP_TYPE
from webapp.services.batches.job import recover_batches
from webapp.services.batches.job import run_batch
from webapp.services.batches.reading import STATES
from webapp.services.batches.reading import BatchState
from webapp.services.batches.reading import active_batches
from webapp.services.batches.reading import batch_file_bytes
from webapp.services.batches.reading import batch_index
from webapp.services.batches.reading import batch_list
from webapp.services.batches.reading import batch_loads
from webapp.services.batches.reading import batch_page
from webapp.services.batches.reading import batch_row
from webapp.services.batches.reading import batch_state
from webapp.services.batches.reading import batch_states
from webapp.services.batches.reading import file_size
from webapp.services.batches.reading import status_label
from webapp.services.batches.submission import cancel_batch
from webapp.services.batches.submission import create_batch
from webapp.services.batches.submission import mark_sent
from webapp.services.batches.submission import retry_batch
from webapp.services.batches.submission import submit

__all__ = [
    "LoadFilter", "eligible_loads", "incomplete_loads", "load_filter_from_args", "load_problems", "unindexed", "workspace",
    "BatchConflict", "BatchError", "MAX_ATTEMPTS", "ZIP_TYPE", "recover_batches", "run_batch",
    "STATES", "BatchState", "active_batches", "batch_file_bytes", "batch_index", "batch_page", "batch_row", "batch_list", "batch_loads",
    "batch_state", "batch_states", "file_size", "status_label",
    "cancel_batch", "create_batch", "mark_sent", "retry_batch", "submit",
]
