"""Workbooks in: XLSX, XLSM, XLS and ODS files read into the same Table a CSV file gives.

The content decides what a file is, never its name. A workbook is bounded before anything
reads it whole: the ZIP's members are inflated here, in chunks, against their declared sizes
and MAX_EXPANDED_BYTES (a ZIP bomb is refused before it grows), and every sheet's XML is
scanned for the extent of the cells that hold a value, its formulas without a saved value
and its error cells, so that python-calamine (which builds a dense grid of the sheet's
extent) only ever sees a sheet of at most MAX_CELLS cells, MAX_COLUMNS columns and the
parser's rows plus ROW_MARGIN. Macros are never run (an .xlsm is read as data);
password-protected workbooks are refused.

In a sheet the header row is found among the first HEADER_SEARCH_ROWS rows (the row that
names the most expected columns); the title block above it, blank rows, totals rows and the
notes below the data are left out and listed (Table.ignored). Cells reach the parsers as the
text they already read: a date cell as 2025-11-25, a number as its exact decimal (1327.5,
never 1327.4999999), a formula as its saved value. Pure functions, no database, no Flask.
"""
import dataclasses
import datetime
import io
import itertools
import re
import struct
import xml.etree.ElementTree as ElementTree
import zipfile
import zlib
from decimal import Decimal
from decimal import InvalidOperation

import python_calamine

from webapp.services import tables
from webapp.services.tables import MAX_COLUMNS
from webapp.services.tables import FileFormatError
from webapp.services.tables import Table
from webapp.services.tables import column_letter
from webapp.services.tables import header_columns
from webapp.services.tables import normalize_header

CSV, XLSX, XLSM, XLS, ODS = "csv", "xlsx", "xlsm", "xls", "ods"
LABELS = {CSV: "a CSV file", XLSX: "an Excel workbook (.xlsx)", XLSM: "a macro-enabled Excel workbook (.xlsm)",
          XLS: "an old Excel workbook (.xls)", ODS: "an OpenDocument spreadsheet (.ods)"}
EXTENSIONS = (".csv", ".xlsx", ".xlsm", ".xls", ".ods")

MAX_EXPANDED_BYTES = 100 * 1024 * 1024   # the members of one workbook, inflated, in all
MAX_MEMBERS = 10_000
MAX_RATIO = 250                          # inflated / compressed, for a member over RATIO_FLOOR
RATIO_FLOOR = 1024 * 1024
MAX_CELLS = 3_000_000                    # rows x columns of the sheet's extent
ROW_MARGIN = 100                         # title block and trailing rows beyond the parser's max_rows
HEADER_SEARCH_ROWS = 30
_CHUNK = 1024 * 1024

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ODS_MIME = b"application/vnd.oasis.opendocument.spreadsheet"


def _utf16(name):
    return name.encode("utf-16-le")


# --- what the file is -------------------------------------------------------------

def kind_of(data):
    """CSV, XLSX, XLSM, XLS or ODS, from the bytes; refuses other containers with what they are."""
    if data.startswith(b"PK\x03\x04") or data.startswith(b"PK\x05\x06"):
        return _zip_kind(_BoundedZip(data))
    if data.startswith(_OLE):
        if _utf16("EncryptedPackage") in data or _utf16("EncryptionInfo") in data:
            raise FileFormatError(_protected())
        if _utf16("Workbook") in data or _utf16("Book") in data:
            return XLS
        if _utf16("WordDocument") in data:
            raise FileFormatError("This file is a Word document (.doc), not a spreadsheet.")
        raise FileFormatError("This file is an Office document that is not a workbook. "
                              "Upload the report as CSV, XLSX, XLS or ODS.")
    return CSV


def _protected():
    return ("This workbook is password-protected, so it cannot be read. Open it in Excel, remove "
            "the password (File > Info > Protect Workbook > Encrypt with Password, clear it), save, "
            "and upload it again.")


def _zip_kind(archive):
    names = archive.names
    if "xl/workbook.xml" in names:
        macro = "xl/vbaProject.bin" in names or b"macroEnabled" in archive.read("[Content_Types].xml", missing=b"")
        return XLSM if macro else XLSX
    if "xl/workbook.bin" in names:
        raise FileFormatError("This file is an Excel binary workbook (.xlsb). Save it from Excel as "
                              "\"Excel Workbook (.xlsx)\" and upload that.")
    if "content.xml" in names and archive.read("mimetype", missing=b"").strip() == _ODS_MIME:
        return ODS
    if "word/document.xml" in names:
        raise FileFormatError("This file is a Word document (.docx), not a spreadsheet.")
    if "content.xml" in names:
        raise FileFormatError("This file is an OpenDocument file that is not a spreadsheet.")
    raise FileFormatError("This file is a ZIP archive, not a spreadsheet. Upload the report itself "
                          "(CSV, XLSX, XLS or ODS).")


class _BoundedZip:
    """A ZIP read member by member, each inflated in chunks and held to its declared size; the
    declared sizes together to MAX_EXPANDED_BYTES. Encrypted members mean a protected file."""

    def __init__(self, data):
        self.data = data
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                infos = archive.infolist()
        except (zipfile.BadZipFile, ValueError, EOFError):
            raise FileFormatError("This file looks like a workbook (a ZIP) but is damaged; it cannot "
                                  "be read. Open it in Excel, save it again, and upload that.")
        if len(infos) > MAX_MEMBERS:
            raise FileFormatError(f"This ZIP holds {len(infos):,} files; a workbook has far fewer. "
                                  "It was not read.")
        if any(info.flag_bits & 0x1 for info in infos):
            raise FileFormatError(_protected())
        expanded = sum(info.file_size for info in infos)
        if expanded > MAX_EXPANDED_BYTES:
            raise FileFormatError(_bomb(expanded))
        for info in infos:
            if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
                raise FileFormatError(_bomb(expanded))
        self.infos = {info.filename: info for info in infos}
        self.names = set(self.infos)

    def chunks(self, name):
        """The inflated bytes of member NAME, chunk by chunk; more than declared is refused."""
        info = self.infos[name]
        offset = info.header_offset
        header = self.data[offset:offset + 30]
        if len(header) < 30 or header[:4] != b"PK\x03\x04":
            raise FileFormatError("This workbook is damaged; it cannot be read.")
        name_length, extra_length = struct.unpack("<HH", header[26:30])
        start = offset + 30 + name_length + extra_length
        raw = self.data[start:start + info.compress_size]
        if info.compress_type == zipfile.ZIP_STORED:
            if len(raw) != info.file_size:
                raise FileFormatError("This workbook is damaged; it cannot be read.")
            for at in range(0, len(raw), _CHUNK):
                yield raw[at:at + _CHUNK]
            return
        if info.compress_type != zipfile.ZIP_DEFLATED:
            raise FileFormatError("This workbook uses a compression that cannot be read. Save it again "
                                  "from Excel or LibreOffice and upload that.")
        inflater = zlib.decompressobj(-15)
        produced = 0
        pending = raw
        try:
            while pending or not inflater.eof:
                out = inflater.decompress(pending, _CHUNK)
                pending = inflater.unconsumed_tail
                produced += len(out)
                if produced > info.file_size:
                    raise FileFormatError(_bomb(produced, lying=True))
                if out:
                    yield out
                elif not pending:
                    break
        except zlib.error:
            raise FileFormatError("This workbook is damaged; it cannot be read.")

    def read(self, name, missing=None):
        if name not in self.infos:
            if missing is not None:
                return missing
            raise FileFormatError(f"This workbook is damaged: it has no {name}.")
        return b"".join(self.chunks(name))


def _bomb(size, lying=False):
    what = "claims a size it exceeds when unpacked" if lying else f"unpacks to {size / 1048576:,.0f} MB"
    return (f"This file {what}; a workbook may unpack to at most {MAX_EXPANDED_BYTES // 1048576} MB. "
            "It was not read (it may be a ZIP bomb). Save the report again from Excel and upload that.")


# --- the sheets and their extent ---------------------------------------------------

@dataclasses.dataclass
class SheetScan:
    """What the scan of one sheet found, before the sheet is read."""

    name: str
    rows: int = 0          # the last row holding a value (1-based), 0 when empty
    columns: int = 0       # the last column holding a value (1-based)
    first_row: int = 0
    first_column: int = 0
    no_value: list = dataclasses.field(default_factory=list)   # [(row, column index)] formulas with no saved value
    errors: list = dataclasses.field(default_factory=list)     # [(row, column index, '#DIV/0!')]
    hidden: bool = False

    def add(self, row, column):
        if not self.rows:
            self.first_row, self.first_column = row, column
        self.rows = max(self.rows, row)
        self.columns = max(self.columns, column + 1)
        self.first_row = min(self.first_row, row)
        self.first_column = min(self.first_column, column)

    @property
    def empty(self):
        return not self.rows


_REF = re.compile(rb'\br="([A-Z]{1,4})?(\d{1,8})"')
_TYPE = re.compile(rb'\bt="(\w+)"')
_XLSX_TOKEN = re.compile(rb'<row\b([^>]*)>|<c\b([^>]*?)(?:/>|>(.*?)</c>)', re.S)
_VALUE = re.compile(rb"<v>([^<]*)</v>")


def _letters_index(letters):
    index = 0
    for ch in letters:
        index = index * 26 + ch - 64
    return index - 1


def _scan_tokens(chunks, token, handle, fast=None):
    """Run TOKEN over the text of CHUNKS, complete elements only (the tail waits for the next).
    FAST(buffer, end), when given, may take a whole piece at once (returning True) instead."""
    carry = b""
    for chunk in chunks:
        buffer = carry + chunk
        cut = max(buffer.rfind(b"<c "), buffer.rfind(b"<row"), buffer.rfind(b"<table:table-"))
        if cut <= 0:
            carry = buffer
            continue
        if fast is None or not fast(buffer, cut):
            for match in token.finditer(buffer, 0, cut):
                handle(match)
        carry = buffer[cut:]
    if fast is None or not fast(carry, len(carry)):
        for match in token.finditer(carry):
            handle(match)


# The shape of nearly every sheet: each cell names its place (r="B7") and holds a plain value
# or inline text. A piece with no formula, no error value and no unnamed cell is measured by
# one regular-expression pass (C speed) instead of a Python call per cell.
_VALUED_CELL = re.compile(rb'<c r="([A-Z]{1,4})(\d{1,8})"[^>]*>(?:<v>[^<]|<is>)')


def _scan_xlsx_sheet(archive, path, scan):
    state = {"row": 0, "column": -1}

    def handle(match):
        row_attrs, cell_attrs, content = match.groups()
        if row_attrs is not None:
            ref = _REF.search(row_attrs)
            state["row"] = int(ref.group(2)) if ref else state["row"] + 1
            state["column"] = -1
            return
        ref = _REF.search(cell_attrs)
        if ref and ref.group(1):
            state["column"] = _letters_index(ref.group(1))
            if ref.group(2):
                state["row"] = int(ref.group(2))
        else:
            state["column"] += 1
        if not content:
            return
        row, column = state["row"], state["column"]
        value = _VALUE.search(content)
        kind = _TYPE.search(cell_attrs)
        if b"<f" in content and (value is None or not (value.group(1) or (kind and kind.group(1) == b"str"))):
            scan.no_value.append((row, column))
            return
        if kind and kind.group(1) == b"e":
            scan.errors.append((row, column, value.group(1).decode("utf-8", "replace") if value else "#ERROR"))
        if (value is not None and value.group(1)) or b"<is>" in content:
            scan.add(row, column)

    def fast(buffer, end):
        piece = buffer[:end]
        if b"<f" in piece or b't="e"' in piece or b"<c>" in piece:
            return False
        if piece.count(b"<c ") != piece.count(b'<c r="'):
            return False
        cells = _VALUED_CELL.findall(piece)
        if cells:
            letters, numbers = zip(*cells)   # each distinct one converted once
            numbers = list(map(int, set(numbers)))
            columns = list(map(_letters_index, set(letters)))
            scan.add(min(numbers), min(columns))
            scan.add(max(numbers), max(columns))
            state["row"], state["column"] = int(cells[-1][1]), _letters_index(cells[-1][0])
        return True

    _scan_tokens(archive.chunks(path), _XLSX_TOKEN, handle, fast)


_NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
       "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
       "p": "http://schemas.openxmlformats.org/package/2006/relationships"}


def _xlsx_scans(archive):
    try:
        book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
        rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    except ElementTree.ParseError:
        raise FileFormatError("This workbook is damaged (its list of sheets cannot be read).")
    targets = {rel.get("Id"): rel.get("Target", "") for rel in rels.findall("p:Relationship", _NS)}
    scans = []
    for sheet in book.iterfind("m:sheets/m:sheet", _NS):
        scan = SheetScan(sheet.get("name", ""), hidden=sheet.get("state", "visible") != "visible")
        target = targets.get(sheet.get(f"{{{_NS['r']}}}id"), "")
        path = target.lstrip("/") if target.startswith("/") else "xl/" + target
        path = re.sub(r"[^/]+/\.\./", "", path)
        if path in archive.names and "worksheet" in path:
            _scan_xlsx_sheet(archive, path, scan)
            scans.append(scan)
    return scans


_ODS_TOKEN = re.compile(
    rb'<table:table((?:\s[^>]*)?)>|<table:table-row\b([^>]*?)(/?)>|'
    rb'<table:(?:covered-)?table-cell\b([^>]*?)(?:/>|>(.*?)</table:(?:covered-)?table-cell>)', re.S)
_ODS_NAME = re.compile(rb'table:name="([^"]*)"')
_ROWS_REPEATED = re.compile(rb'number-rows-repeated="(\d+)"')
_COLUMNS_REPEATED = re.compile(rb'number-columns-repeated="(\d+)"')


def _ods_scans(archive):
    scans = []
    state = {"row": 0, "repeat": 1, "next": 0, "column": 0}  # the row's first index, its repeats

    def handle(match):
        table_attrs, row_attrs, _, cell_attrs, content = match.groups()
        if table_attrs is not None:
            name = _ODS_NAME.search(table_attrs)
            scans.append(SheetScan(_unescape(name.group(1)) if name else f"Sheet{len(scans) + 1}"))
            state.update(row=0, repeat=1, next=0, column=0)
            return
        if not scans:
            return
        if row_attrs is not None:
            repeated = _ROWS_REPEATED.search(row_attrs)
            repeat = int(repeated.group(1)) if repeated else 1
            state.update(row=state["next"], repeat=repeat, next=state["next"] + repeat, column=0)
            return
        repeated = _COLUMNS_REPEATED.search(cell_attrs)
        count = int(repeated.group(1)) if repeated else 1
        column = state["column"]
        state["column"] += count
        valued = b"office:value-type" in cell_attrs or (content and b"<text:p" in content)
        scan = scans[-1]
        if b"table:formula" in cell_attrs and not valued:
            scan.no_value.append((state["row"] + 1, column))
        elif valued:
            scan.add(state["row"] + 1, column)
            scan.add(state["row"] + state["repeat"], column + count - 1)

    _scan_tokens(archive.chunks("content.xml"), _ODS_TOKEN, handle)
    return scans


# --- XLS (BIFF8 inside a Compound File): each sheet's extent from its cell records ----------

_CELL_RECORDS = {0x0006, 0x00BD, 0x00BE, 0x00FD, 0x0201, 0x0203, 0x0204, 0x0205, 0x027E, 0x00D6}
_FREE, _END_OF_CHAIN = 0xFFFFFFFF, 0xFFFFFFFE


def _cfb_stream(data, wanted=("Workbook", "Book")):
    """The bytes of the WANTED stream of an OLE Compound File (the XLS container), following the
    sector chains with every index checked: a damaged or crafted file is refused, never looped."""
    if len(data) < 512 or data[:8] != b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise FileFormatError("This Excel 97–2003 file is damaged (not a compound file).")
    shift = struct.unpack_from("<H", data, 30)[0]
    if shift not in (9, 12):
        raise FileFormatError("This Excel 97–2003 file is damaged (its sector size is wrong).")
    size = 1 << shift
    sectors = (len(data) - 512) // size + 1
    first_dir, = struct.unpack_from("<I", data, 48)
    difat_first, difat_count = struct.unpack_from("<II", data, 68)

    def sector(n):
        if n >= sectors:
            raise FileFormatError("This Excel 97–2003 file is damaged (a sector is outside the file).")
        start = 512 + n * size
        return data[start:start + size]

    fat_sectors = [n for n in struct.unpack_from("<109I", data, 76) if n != _FREE]
    next_difat, seen = difat_first, 0
    while next_difat not in (_FREE, _END_OF_CHAIN) and seen <= difat_count:
        entries = struct.unpack(f"<{size // 4}I", sector(next_difat))
        fat_sectors += [n for n in entries[:-1] if n != _FREE]
        next_difat, seen = entries[-1], seen + 1
    fat = []
    for n in fat_sectors[:sectors]:
        fat.extend(struct.unpack(f"<{size // 4}I", sector(n)))

    def chain(start):
        out, n = [], start
        while n not in (_END_OF_CHAIN, _FREE):
            if len(out) > sectors or n >= len(fat):
                raise FileFormatError("This Excel 97–2003 file is damaged (a broken sector chain).")
            out.append(sector(n))
            n = fat[n]
        return b"".join(out)

    directory = chain(first_dir)
    for offset in range(0, len(directory) - 127, 128):
        length, = struct.unpack_from("<H", directory, offset + 64)
        name = directory[offset:offset + max(0, min(length, 64) - 2)].decode("utf-16-le", "replace")
        if name in wanted and directory[offset + 66] == 2:
            start, stream_size = struct.unpack_from("<II", directory, offset + 116)
            if stream_size < 4096:
                return None   # kept in the mini stream: a few cells, nothing to bound
            return chain(start)[:stream_size]
    raise FileFormatError("This Excel 97–2003 file has no workbook inside it.")


def _xls_scans(data):
    """A SheetScan per worksheet of an XLS: the sheets (BOUNDSHEET records) and, in each sheet's
    records, the rows and columns that hold a cell. None when the workbook is too small to matter."""
    stream = _cfb_stream(data)
    if stream is None:
        return None
    sheets, offset, end = [], 0, len(stream)
    while offset + 4 <= end:
        kind, length = struct.unpack_from("<HH", stream, offset)
        body = offset + 4
        if kind == 0x0085 and length >= 8:   # BOUNDSHEET: where the sheet's records start, its name
            position, state, sheet_type, chars, flags = struct.unpack_from("<IBBBB", stream, body)
            raw = stream[body + 8:body + length]
            name = raw.decode("utf-16-le", "replace")[:chars] if flags & 1 else raw.decode("latin-1")[:chars]
            if sheet_type == 0:
                sheets.append((position, SheetScan(name, hidden=state != 0)))
        elif kind == 0x000A:   # the workbook globals end
            break
        offset = body + length
    for position, scan in sheets:
        offset = position
        while offset + 4 <= end:
            kind, length = struct.unpack_from("<HH", stream, offset)
            body = offset + 4
            if kind in _CELL_RECORDS and length >= 4:
                row, column = struct.unpack_from("<HH", stream, body)
                last = column
                if kind in (0x00BD, 0x00BE) and length >= 6:   # MULRK / MULBLANK: a run of cells
                    last, = struct.unpack_from("<H", stream, body + length - 2)
                if kind not in (0x0201, 0x00BE):   # blank cells hold nothing
                    scan.add(row + 1, column)
                    scan.add(row + 1, max(column, last))
            elif kind == 0x000A:
                break
            offset = body + length
    return [scan for _, scan in sheets]


def _unescape(raw):
    text = raw.decode("utf-8", "replace")
    return text.replace("&apos;", "'").replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">").replace(
        "&amp;", "&")


# --- reading ------------------------------------------------------------------------

def read_upload(data, *, expected=(), max_rows=50_000, sheet=None, filename=""):
    """Any accepted file (CSV or workbook) to a Table; a workbook's sheet is SHEET or the one
    proposed (the first non-empty sheet that names EXPECTED columns, else the first non-empty)."""
    kind = kind_of(data or b"")
    if kind == CSV:
        table = tables.read_table(data or b"", max_rows=max_rows)
    else:
        table = read_workbook(data, kind, expected=expected, max_rows=max_rows, sheet=sheet)
    table.kind = kind
    _name_note(table, kind, filename)
    return table


def _name_note(table, kind, filename):
    extension = "." + filename.rsplit(".", 1)[-1].lower() if "." in (filename or "") else ""
    if not extension or extension == "." + kind or (kind == CSV and extension == ".txt"):
        return
    if kind in (XLSX, XLSM) and extension in (".xlsx", ".xlsm"):
        return
    table.notes.append(f"The file is named {extension} but is {LABELS[kind]}; it was read as such.")


def read_workbook(data, kind, *, expected=(), max_rows=50_000, sheet=None):
    """A workbook's sheet to a Table (see read_upload)."""
    scans = None
    if kind in (XLSX, XLSM):
        scans = _xlsx_scans(_BoundedZip(data))
    elif kind == ODS:
        scans = _ods_scans(_BoundedZip(data))
    try:
        book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception as exc:  # calamine raises its own error types for damaged or protected files
        raise FileFormatError(_unreadable(kind, exc))
    worksheets = [m.name for m in book.sheets_metadata if "WorkSheet" in str(m.typ)]
    if kind == XLS:
        try:
            scans = _xls_scans(data)
        except struct.error:
            raise FileFormatError("This Excel 97–2003 file is damaged (a record is cut short).")
    if scans is None:   # a small XLS: its cells are few; the sheets are measured once loaded
        scans = [SheetScan(name) for name in worksheets]
        for scan in scans:
            _bound_loaded(scan, _load(book, scan.name, kind))
    scans = [s for s in scans if s.name in worksheets] or scans
    names = [s.name for s in scans]
    if sheet is not None and sheet not in names:
        raise FileFormatError(f"The workbook has no sheet named '{sheet}'. Its sheets: {_quoted(names)}.")
    full = [s for s in scans if not s.empty]
    if not full:
        raise FileFormatError("Every sheet of this workbook is empty.")
    sheets = [s.name for s in full]
    if sheet is None:
        chosen, grid = _propose(book, kind, full, expected, max_rows)
    else:
        chosen, grid = next(s for s in scans if s.name == sheet), None
    try:
        if chosen.empty:
            raise FileFormatError(f"Sheet '{sheet}' is empty. Choose another sheet.")
        _check_bounds(chosen, max_rows)
        table = _table(grid or _grid(book, chosen, kind), chosen, expected, max_rows)
        _check_formulas(chosen, table)
    except FileFormatError as exc:
        exc.sheet, exc.sheets = chosen.name, sheets   # the sheet question can still be asked
        raise
    table.sheet, table.sheets = chosen.name, sheets
    return table


def _propose(book, kind, full, expected, max_rows):
    """(scan, grid) of the first non-empty sheet (visible ones first) whose header row names
    expected columns; else of the first non-empty sheet."""
    ordered = sorted(full, key=lambda s: s.hidden)
    first = None   # the first sheet's grid, once read (no sheet names a column: it is the one)
    for scan in ordered:
        try:
            _check_bounds(scan, max_rows)
        except FileFormatError:
            continue
        grid = _grid(book, scan, kind)
        if scan is ordered[0]:
            first = grid
        if _header_at(grid, expected)[1]:
            return scan, grid
    return ordered[0], first


def _unreadable(kind, exc):
    text = str(exc).lower()
    if "password" in text or "encrypt" in text or "protect" in text:
        return _protected()
    return (f"This file is {LABELS[kind]} but it cannot be read ({type(exc).__name__}). Open it in "
            "Excel or LibreOffice, save it again, and upload that.")


def _quoted(names):
    return ", ".join(f"'{n}'" for n in names)


def _load(book, name, kind):
    try:
        return book.get_sheet_by_name(name)
    except Exception as exc:
        raise FileFormatError(_unreadable(kind, exc))


def _bound_loaded(scan, loaded):
    if loaded.height and loaded.width:
        (top, left), (bottom, right) = loaded.start, loaded.end
        scan.first_row, scan.first_column = top + 1, left
        scan.rows, scan.columns = bottom + 1, right + 1


def _check_bounds(scan, max_rows):
    """Refuse a sheet whose extent is past the limits, before it is read."""
    where = f"Sheet '{scan.name}'"
    if scan.columns > MAX_COLUMNS:
        raise FileFormatError(
            f"{where} has cells out to column {column_letter(scan.columns - 1)} ({scan.columns:,} columns); a sheet "
            f"may have at most {MAX_COLUMNS}. Delete the empty or extra columns and upload it again.")
    limit = max_rows + ROW_MARGIN
    if scan.rows > limit:
        raise FileFormatError(
            f"{where} has cells down to row {scan.rows:,}; a sheet may have at most {limit:,} rows. Delete "
            "the rows below the data (select them, Delete Sheet Rows), save, and upload it again.")
    height = scan.rows - scan.first_row + 1
    width = scan.columns - scan.first_column
    if height * width > MAX_CELLS:
        raise FileFormatError(
            f"{where} spans {height:,} rows by {width:,} columns; a sheet may span at most {MAX_CELLS:,} "
            "cells. Delete the empty rows and columns around the data and upload it again.")


def _check_formulas(scan, table):
    """Refuse the formulas without a saved value, and the error values, of the data's cells."""
    rows = {number for number, _ in table.rows}
    named = table.column_headers

    def inside(row, column):
        return row in rows and column in named

    problems = [(row, column, "formula has no saved value — open the file in Excel, save it, and upload "
                              "it again") for row, column in scan.no_value if inside(row, column)]
    problems += [(row, column, f"the formula gives the error {value} — correct it in the workbook")
                 for row, column, value in scan.errors if inside(row, column)]
    if problems:
        problems.sort()
        raise CellProblems(scan.name, problems, named)


class CellProblems(FileFormatError):
    """Cells of a sheet that cannot be read (formulas without a saved value, error values).
    The column's header is put in by the reader once the header row is known."""

    def __init__(self, sheet, problems, headers=None):
        self.sheet, self.problems, self.headers = sheet, problems, headers or {}
        super().__init__(self.text())

    def text(self):
        lines = []
        for row, column, message in self.problems[:5]:
            header = self.headers.get(column)
            lines.append(f"Sheet '{self.sheet}', cell {column_letter(column)}{row} "
                         f"(row {row}{', ' + header if header else ''}): {message}.")
        if len(self.problems) > 5:
            lines.append(f"… and {len(self.problems) - 5:,} more such cells.")
        return " ".join(lines)


def _grid(book, scan, kind):
    """[(row number, [cell text by column index from A])] of the sheet's rows holding a value."""
    loaded = _load(book, scan.name, kind)
    if not loaded.height:
        return []
    top, left = loaded.start
    values = loaded.iter_rows()
    texts = [_row_texts(cells) for cells in itertools.islice(values, _EDGE_ROWS)]
    middle = list(values)
    bottom = [_row_texts(cells) for cells in middle[-_EDGE_ROWS:]]
    del middle[-_EDGE_ROWS:]
    texts += _column_texts(middle) + bottom
    pad = [""] * left
    return [(top + index + 1, pad + row if left else row) for index, row in enumerate(texts) if any(row)]


# The rows above and below a sheet's data (title block, header, totals, notes) mix text with
# numbers in a column: they are converted cell by cell; the data between them column by column.
_EDGE_ROWS = HEADER_SEARCH_ROWS + 2


def _row_texts(cells):
    convert = _TEXT_OF.get
    return [convert(v.__class__, _other_text)(v) for v in cells]


def _column_texts(rows):
    """ROWS of calamine values (all as wide) to rows of text: a column of one type of value is
    converted by one call into C (str.strip, str, date.isoformat over the column); others cell
    by cell, as _row_texts does."""
    if not rows:
        return []
    columns = []
    for column in zip(*rows):
        kinds = set(map(type, column))
        kind = kinds.pop() if len(kinds) == 1 else None
        if kind is str:
            columns.append(map(str.strip, column))
        elif kind is float:
            columns.append(_float_column(column))
        elif kind is datetime.date:
            columns.append(map(datetime.date.isoformat, column))
        else:
            convert = _TEXT_OF.get
            columns.append([convert(v.__class__, _other_text)(v) for v in column])
    return [list(row) for row in zip(*columns)]


def _float_column(column):
    """A column of floats as _float_text writes each, in C where the column allows."""
    if all(map(float.is_integer, column)) and max(map(abs, column)) < 1e15:
        return map(str, map(int, column))
    shorts = list(map(repr, column))
    joined = "\x00".join(shorts) + "\x00"
    # each at most 15 significant digits (as Excel keeps them), no exponent, inf, nan or -0.0
    if max(map(len, shorts)) <= 16 and "e" not in joined and "n" not in joined and "-0.0\x00" not in joined:
        return joined.replace(".0\x00", "\x00").split("\x00")[:-1]   # whole numbers lose their '.0'
    return map(_float_text, column)


def cell_text(value):
    """A calamine cell value as the text the parsers read."""
    return _TEXT_OF.get(value.__class__, _other_text)(value)


def _float_text(value):
    short = repr(value)
    if short[-2:] == ".0" and abs(value) < 1e15:   # a whole number: no decimals, and no '-0'
        return short[:-2] if value else "0"
    return exact_decimal(value)


def _other_text(value):
    if isinstance(value, datetime.datetime):
        return value.date().isoformat()
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, str):
        return value.strip()
    return "" if value is None else str(value).strip()


# The text of each type of value calamine gives (a subclass goes through _other_text).
_TEXT_OF = {str: str.strip, float: _float_text, int: str, bool: lambda value: "yes" if value else "no",
            datetime.date: datetime.date.isoformat, datetime.datetime: lambda value: value.date().isoformat(),
            datetime.time: datetime.time.isoformat, datetime.timedelta: str, type(None): lambda value: ""}


def exact_decimal(value):
    """A float cell as the decimal the spreadsheet shows (15 significant digits, as Excel keeps
    them): 1327.5 -> '1327.5', 0.1 + 0.2 -> '0.3', never '0.30000000000000004'."""
    short = repr(value)   # the shortest text that reads back as this float
    if "e" not in short and "n" not in short and len(short) - short.startswith("-") - 1 <= 15:
        return short   # 15 significant digits or fewer: the same as Excel's 15 (DBL_DIG round trip)
    try:
        number = Decimal(f"{value:.15g}")
    except InvalidOperation:
        return str(value)
    text = format(number, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


# --- the table: header, title block, data, totals and notes -------------------------

_TOTAL_LABEL = re.compile(r"^(grand\s*|sub\s*)?totals?\s*(:|\(.*\)|for\b.*|\d+\s*\w*)?\s*$", re.I)
_TOTAL_FIRST = set("tTgGsS")   # the letters a totals label can start with (a cheap test first)
_TOTAL_WORD = re.compile("total", re.I)   # a row without it anywhere holds no totals label (C speed)
_NOTE_START = re.compile(r"^(\*|notes?\b|note:|page \d|generated|printed|run by|report (run|generated)|"
                         r"prepared|confidential)", re.I)
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$", re.ASCII)


def _header_at(rows, expected):
    """(index in ROWS, score) of the row naming most EXPECTED keys among the first rows; when no
    row names any (a factor's own column names), the first row that looks like a header."""
    wanted = set(expected)
    best, score = 0, 0
    for index, (_, cells) in enumerate(rows[:HEADER_SEARCH_ROWS]):
        hits = len({normalize_header(c) for c in cells if c} & wanted)
        if hits > score:
            best, score = index, hits
    if not score:
        best = _header_by_shape(rows[:HEADER_SEARCH_ROWS + 1])
    return best, score


def _header_by_shape(rows):
    """The first row of at least two labels (text, no number or date), with a row below it that
    fills at least half of those columns: a title block's lines hold one or two cells each."""
    widest = max((sum(1 for c in cells if c) for _, cells in rows), default=0)
    need = min(3, widest)
    for index, (_, cells) in enumerate(rows[:-1]):
        labels = [i for i, c in enumerate(cells) if c and not _NUMBER.match(c) and not _ISO_LIKE.match(c)]
        if len(labels) < max(2, need) or len(labels) < sum(1 for c in cells if c):
            continue
        below = rows[index + 1][1]
        if sum(1 for i in labels if i < len(below) and below[i]) * 2 >= len(labels):
            return index
    return 0


_ISO_LIKE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _table(rows, scan, expected, max_rows):
    if not rows:
        raise FileFormatError(f"Sheet '{scan.name}' is empty.")
    start, _ = _header_at(rows, expected)
    header_number, header_cells = rows[start]
    headers, columns = header_columns(header_cells)
    ignored = []
    first_title = rows[0][0]
    if start:
        ignored.append((first_title, header_number - 1, "title"))
    candidates = []
    previous = header_number
    for number, cells in rows[start + 1:]:
        if number > previous + 1:
            ignored.append((previous + 1, number - 1, "blank"))
        previous = number
        width = len(cells)
        values = {key: cells[i] for i, key in columns if i < width and cells[i]}
        if not values:
            ignored.append((number, number, "notes (no value under a header)"))
            continue
        if _TOTAL_WORD.search("\x00".join(cells)) and any(
                c[:1] in _TOTAL_FIRST and _TOTAL_LABEL.match(c) for c in cells if c):
            ignored.append((number, number, "totals"))
            continue
        candidates.append((number, values))
    end = len(candidates)
    trailing = []
    sums = None   # the column sums of candidates[:end], added up when a row of numbers asks

    def sums_above():
        nonlocal sums
        if sums is None:
            sums = _column_sums(candidates[:end])
        return sums

    while end:
        number, values = candidates[end - 1]
        reason = _trailing_reason(values, sums_above)
        if reason is None:
            break
        trailing.append((number, number, reason))
        if sums is not None:
            for key, text in values.items():
                if _NUMBER.match(text):
                    sums[key] -= Decimal(text)
        end -= 1
    data = candidates[:end]
    if len(data) > max_rows:
        raise FileFormatError(f"The sheet has more than {max_rows:,} rows. Split it and upload the parts.")
    ignored += reversed(trailing)
    table = Table(headers, data)
    table.header_row = header_number
    table.letters = {key: column_letter(i) for i, key in columns}
    table.column_headers = {i: headers[i] for i, _ in columns}
    table.ignored = _ranges(sorted(ignored))
    return table


def _column_sums(candidates):
    sums = {}
    for _, values in candidates:
        for key, text in values.items():
            if _NUMBER.match(text):
                sums[key] = sums.get(key, Decimal(0)) + Decimal(text)
    return sums


def _trailing_reason(values, sums_above):
    """Why a row below the data is not data ('totals', 'notes'), or None when it is data.
    SUMS_ABOVE() gives the column sums down to this row (added up only when asked)."""
    texts = list(values.values())
    if len(texts) == 1 and (" " in texts[0] or _NOTE_START.match(texts[0])) and not _NUMBER.match(texts[0]):
        return "notes"
    if texts and all(_NUMBER.match(t) for t in texts):
        # the only filled cells are the sums of their columns above
        sums = sums_above()
        if all(sums.get(key, 0) - Decimal(text) == Decimal(text) for key, text in values.items()):
            return "totals"
    return None


def _ranges(ignored):
    """[(first, last, reason)] to 'Rows 1–4: title', 'Row 58: totals' (neighbours merged)."""
    merged = []
    for first, last, reason in ignored:
        if merged and merged[-1][2] == reason and merged[-1][1] + 1 >= first:
            merged[-1][1] = max(merged[-1][1], last)
        else:
            merged.append([first, last, reason])
    return [f"Row {a}: {why}" if a == b else f"Rows {a}–{b}: {why}" for a, b, why in merged]
