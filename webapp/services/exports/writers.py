"""Writing a table out as CSV (formula-safe, streamed in chunks) or XLSX (XlsxWriter in
constant_memory mode to a temporary file: rows leave memory as they are written).

A table is COLUMNS, (heading, type) pairs with type one of text, money (integer cents), date,
int, and ROWS, an iterable of tuples of values in that order. XLSX cells are typed: money a
number in a currency format, a date a date, an int an integer.
"""
import csv
import datetime
import io
import os
import tempfile

import xlsxwriter

from webapp.services.money import format_cents
from webapp.services.tables import csv_safe

TEXT, MONEY, DATE, INT = "text", "money", "date", "int"
CHUNK_ROWS = 2000


def _csv_cell(kind, value):
    if value is None:
        return ""
    if kind == MONEY:
        return format_cents(value)
    if kind == DATE:
        return value.isoformat()[:10] if hasattr(value, "isoformat") else csv_safe(value)
    if kind == INT:
        return str(int(value))
    return csv_safe(value)


def csv_chunks(columns, rows, chunk_rows=CHUNK_ROWS):
    """The CSV text in chunks of CHUNK_ROWS rows (CRLF line ends, a UTF-8 byte-order mark first so
    that Excel reads the accents); text cells and headings formula-safe."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([csv_safe(heading) for heading, _kind in columns])
    kinds = [kind for _heading, kind in columns]
    yield "\ufeff" + out.getvalue()
    out.seek(0)
    out.truncate()
    n = 0
    for row in rows:
        writer.writerow([_csv_cell(kind, value) for kind, value in zip(kinds, row)])
        n += 1
        if n % chunk_rows == 0:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    if out.tell():
        yield out.getvalue()


def _as_date(value):
    if isinstance(value, datetime.datetime):
        return value
    if isinstance(value, datetime.date):
        return datetime.datetime.combine(value, datetime.time())
    if isinstance(value, str) and value:
        return datetime.datetime.fromisoformat(value[:10])
    return None


def write_xlsx(columns, rows, path, sheet="Export"):
    """Write the table to an XLSX file at PATH; returns the number of rows written."""
    workbook = xlsxwriter.Workbook(path, {"constant_memory": True, "tmpdir": os.path.dirname(path) or None,
                                          "strings_to_formulas": False, "strings_to_urls": False})
    money = workbook.add_format({"num_format": "$#,##0.00;-$#,##0.00"})
    date = workbook.add_format({"num_format": "yyyy-mm-dd"})
    bold = workbook.add_format({"bold": True})
    ws = workbook.add_worksheet(sheet[:31])
    for c, (heading, kind) in enumerate(columns):
        ws.write_string(0, c, heading, bold)
        ws.set_column(c, c, 14 if kind in (MONEY, DATE, INT) else 22)
    kinds = [kind for _heading, kind in columns]
    r = 0
    for r, row in enumerate(rows, start=1):
        for c, (kind, value) in enumerate(zip(kinds, row)):
            if value is None or value == "":
                continue
            if kind == MONEY:
                ws.write_number(r, c, int(value) / 100, money)
            elif kind == INT:
                ws.write_number(r, c, int(value))
            elif kind == DATE:
                when = _as_date(value)
                if when is not None:
                    ws.write_datetime(r, c, when, date)
            else:
                ws.write_string(r, c, str(value))
    ws.freeze_panes(1, 0)
    workbook.close()
    return r


def xlsx_tempfile(columns, rows, sheet="Export"):
    """The table as an XLSX in a temporary file, opened for reading and already unlinked (the
    caller streams it and closes it; nothing is left on disk)."""
    handle, path = tempfile.mkstemp(suffix=".xlsx", prefix="export-")
    os.close(handle)
    try:
        write_xlsx(columns, rows, path, sheet)
        stream = open(path, "rb")
    finally:
        os.unlink(path)
    return stream
