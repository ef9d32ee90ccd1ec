"""Exports: every list as CSV (formula-safe, streamed) or XLSX (typed cells, XlsxWriter in
constant_memory mode), with the filters on screen. sources names what each list holds;
writers writes it. export() is the one call a view makes."""
import dataclasses

from webapp.services.exports import sources
from webapp.services.exports.writers import csv_chunks
from webapp.services.exports.writers import write_xlsx
from webapp.services.exports.writers import xlsx_tempfile

FORMATS = {"csv": "text/csv",  # the response adds "; charset=utf-8"
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


@dataclasses.dataclass
class Export:
    filename: str
    mimetype: str
    csv: object = None  # an iterator of text chunks (CSV)
    file: object = None  # an open binary file (XLSX), to stream and close


def export(table, fmt):
    """TABLE (sources.Table) as FMT ("csv" or "xlsx"); ValueError for another format."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    if fmt == "csv":
        return Export(f"{table.name}.csv", FORMATS[fmt], csv=csv_chunks(table.columns, table.rows))
    return Export(f"{table.name}.xlsx", FORMATS[fmt], file=xlsx_tempfile(table.columns, table.rows))


def export_list(company, what, fmt, args):
    """The list WHAT (a key of sources.LISTS) of COMPANY with the filters in ARGS, as FMT.
    Returns None for a list that does not exist."""
    source = sources.LISTS.get(what)
    if source is None or fmt not in FORMATS:
        return None
    return export(source(company, args), fmt)


def export_batch_loads(batch, fmt, args):
    """A batch's loads as FMT (None for an unknown format)."""
    if fmt not in FORMATS:
        return None
    return export(sources.batch_loads(batch, args), fmt)


__all__ = ["FORMATS", "Export", "export", "export_list", "export_batch_loads", "csv_chunks", "write_xlsx"]
