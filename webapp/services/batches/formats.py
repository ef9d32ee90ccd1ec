"""Batch file formats: the one place where the file a factor takes is chosen; and which factor
a subsidiary's batch goes to (assignment_on, read by Submit Batch and services/factors.py).

Each factor names its format (Factor.batch_format); FORMATS maps that key to a label (for the
factor's form) and the function that builds the file from the batch's contents. A new format
is a build function and one line in FORMATS; the factor's form offers it at once.

A build function takes (contents, progress): CONTENTS is a BatchContents read once by the
job, PROGRESS(n) is called as invoices are drawn (it writes the heartbeat and stops a run
that lost its batch). It returns (file name, bytes, content type) and raises JobError with a
message for the person when the file cannot be built.
"""
import dataclasses
import datetime
import logging
import time

from webapp.models import BATCH_FORMAT_CAPITAL_DEPOT_ZIP
from webapp.models import Factor
from webapp.models import SubsidiaryFactor
from webapp.services import local_time
from webapp.services.batches import batch_file
from webapp.services.batches.errors import JobError

log = logging.getLogger(__name__)

ZIP_TYPE = "application/zip"

# Progress (and the heartbeat) is written after this many invoices, or sooner once this many
# seconds have passed since the last write, so the batch page counts and estimates the time left.
PROGRESS_EVERY = 10
PROGRESS_SECONDS = 0.5


@dataclasses.dataclass
class BatchContents:
    """Everything a batch file holds, read once: the batch, its factor, the subsidiary and its
    Document Configuration texts, the live loads (customer joined), their lines and documents."""

    batch: object
    factor: object
    subsidiary: object
    info: dict
    loads: list
    lines: dict
    documents: dict


@dataclasses.dataclass(frozen=True)
class BatchFormat:
    """A batch file format: its LABEL and BUILD(contents, progress) -> (name, bytes, content type)."""

    label: str
    build: object


def _invoice(load, contents):
    """One load's invoice PDF with its documents merged behind it."""
    try:
        pdf = batch_file.render_invoice(load, load.customer, contents.subsidiary,
                                        contents.lines.get(load.id, []), contents.info)
    except Exception as exc:
        log.exception("invoice of load %s", load.load_number)
        raise JobError(f"Could not render the invoice for load {load.load_number}: {exc}") from exc
    try:
        return batch_file.merge_pdfs(pdf, contents.documents.get(load.id, []))
    except batch_file.DocumentMergeError as exc:
        reason = exc.reason.rstrip(".")
        raise JobError(f"Could not attach {exc.document} of load {load.load_number}: {reason}. "
                       "Remove or replace documents on the load's page, then Retry.") from exc
    except Exception as exc:
        log.exception("documents of load %s", load.load_number)
        reason = " ".join(str(exc).split()).rstrip(".") or type(exc).__name__
        raise JobError(f"Could not attach the documents of load {load.load_number}: {reason}.") from exc


def capital_depot_zip(contents, progress):
    """Capital Depot's ZIP: schedule.csv, schedule.pdf and one invoice PDF per load (the
    factor's name on the schedule and in the file name)."""
    batch, subsidiary, factor_name = contents.batch, contents.subsidiary, contents.factor.name
    entries = []
    rows = []
    last_beat = time.monotonic()
    taken = {"schedule.csv", "schedule.pdf"}
    for n, load in enumerate(contents.loads, start=1):
        pdf = _invoice(load, contents)
        name = batch_file.invoice_filename(load.invoice_number, taken)
        taken.add(name)
        entries.append((name, pdf))
        rows.append(batch_file.ScheduleRow(
            invoice_number=load.invoice_number, load_number=load.load_number,
            invoice_date=load.invoice_date, customer_name=load.customer.name,
            customer_mc=load.customer.mc_number, amount_cents=load.total_cents,
            terms_days=load.customer.payment_terms_days,
            due_date=batch_file.due_date(load.invoice_date, load.customer.payment_terms_days)))
        if n % PROGRESS_EVERY == 0 or time.monotonic() - last_beat >= PROGRESS_SECONDS:
            progress(n)
            last_beat = time.monotonic()
    progress(len(contents.loads))
    try:
        # The day of the batch where the subsidiary bills, not in UTC (an evening batch in
        # Texas is already tomorrow in UTC).
        schedule_date = local_time.local_date(batch.created_at, local_time.subsidiary_zone(subsidiary))
        head = [("schedule.csv", batch_file.schedule_csv(rows)),
                ("schedule.pdf", batch_file.render_schedule(subsidiary, factor_name, batch.number,
                                                            schedule_date, rows))]
    except Exception as exc:
        log.exception("schedule of batch %s", batch.id)
        raise JobError(f"Could not build the schedule of accounts: {exc}") from exc
    name = batch_file.zip_filename(factor_name, subsidiary.name, batch.number)
    stamp = local_time.to_local(batch.created_at, local_time.subsidiary_zone(subsidiary)).replace(tzinfo=None)
    return name, batch_file.build_zip(head + entries, stamp), ZIP_TYPE


# key (Factor.batch_format) -> its format. Add a new one here.
FORMATS = {
    BATCH_FORMAT_CAPITAL_DEPOT_ZIP: BatchFormat("Capital Depot ZIP (schedule and one PDF per invoice)",
                                                capital_depot_zip),
}


def labels():
    """{key: label} of every format, for the factor's form."""
    return {key: fmt.label for key, fmt in FORMATS.items()}


def format_of(factor):
    """The BatchFormat FACTOR takes; JobError when it names none known."""
    fmt = FORMATS.get(factor.batch_format)
    if fmt is None:
        raise JobError(f"{factor.name}'s batch file format ({factor.batch_format}) is not known here. "
                       "Choose its format in Management > Factors, then Retry.")
    return fmt


def assignment_on(subsidiary, on=None):
    """The SubsidiaryFactor in force for SUBSIDIARY on the day ON (today): the latest from-date
    not after it, with its factor joined; None when the subsidiary has no factor yet."""
    on = on or datetime.date.today()
    return (SubsidiaryFactor.select(SubsidiaryFactor, Factor)
            .join(Factor, on=(SubsidiaryFactor.factor == Factor.id))
            .where((SubsidiaryFactor.subsidiary == subsidiary) & (SubsidiaryFactor.from_date <= on))
            .order_by(SubsidiaryFactor.from_date.desc()).first())
