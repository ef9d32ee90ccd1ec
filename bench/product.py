"""The product's own functions that the benchmark drives (batches, reports).

Kept in one place so that the measurements read the same whatever the
services' signatures become.
"""
from bench.pages import NotAvailable


def _require(module):
    import importlib
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise NotAvailable(f"{module} is not in the product yet ({exc})")


def submit_batch(company, subsidiary, load_ids, actor):
    """Submit Batch for LOAD_IDS; returns the batch id (the job runs as the queue decides)."""
    batches = _require("webapp.services.batches")
    jobs = _require("webapp.jobs")
    batch_id = batches.create_batch(company, subsidiary, load_ids, actor).id
    jobs.start_batch(batch_id)
    return batch_id


def preview_report(kind, batch_id, data, filename, actor):
    """Upload a report file (parse, validate, store; no load changes); returns the upload."""
    reports = _require("webapp.services.reports")
    from webapp.models import Batch
    result = reports.preview(Batch.get_by_id(batch_id), kind, data, actor, filename=filename)
    if not result.ok:
        first = result.errors[0]
        raise RuntimeError(f"the preview found {len(result.errors)} error(s), first: row {first.row}, "
                           f"{first.column}: {first.message}")
    return result.upload


def apply_report(upload, actor):
    """Confirm a previewed upload (one transaction)."""
    reports = _require("webapp.services.reports")
    return reports.apply(upload, actor)


def preview_remittance(company_id, factor_id, data, filename, actor):
    """Upload a Payment Report for the whole company from one factor, across batches (parse,
    match every row to a Financed invoice in any batch, store; no load changes); returns the upload."""
    remittance = _require("webapp.services.reports.remittance")
    from webapp.models import Company
    from webapp.models import Factor
    result = remittance.preview(Company.get_by_id(company_id), None, Factor.get_by_id(factor_id), data, actor,
                                filename=filename)
    if not result.ok:
        first = result.errors[0]
        raise RuntimeError(f"the preview found {len(result.errors)} error(s), first: row {first.row}, "
                           f"{first.column}: {first.message}")
    return result.upload
