"""Tables in and out: the CSV files Excel and factor portals produce read into rows, dates and
yes/no cells read from text, and formula-safe CSV written back. (Money: services.money.)

Pure functions, no database. Every error is a ValueError (or FileFormatError)
whose message is written for the person who uploaded the file.
"""
import csv
import dataclasses
import datetime
import io
import re


@dataclasses.dataclass
class CellError:
    """One problem in an uploaded file: the spreadsheet row (the header is row 1; None for the
    whole file), the column as the file names it, and what is wrong, for the person who sent it."""

    row: int | None
    column: str | None
    message: str
    sheet: str | None = None  # a workbook's sheet, and the cell (D7), when known
    cell: str | None = None

    @property
    def where(self):
        if self.row is None:
            return f"Sheet '{self.sheet}'" if self.sheet else "File"
        if self.cell:
            return f"Sheet '{self.sheet}', cell {self.cell} (row {self.row}, {self.column})"
        return f"Row {self.row}, {self.column}" if self.column else f"Row {self.row}"

    def __str__(self):
        return f"{self.where}: {self.message}"


class FileFormatError(ValueError):
    """The upload is not a CSV file we can read; the message says what it is."""


# Magic numbers of files people upload by mistake.
_SIGNATURES = [
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
]

DELIMITERS = (",", ";", "\t", "|")


def decode_text(data):
    """Bytes of an uploaded CSV to text: UTF-8 (with or without BOM), else Windows-1252."""
    if not data or not data.strip():
        raise FileFormatError("The file is empty.")
    for magic, what in _SIGNATURES:
        if data.startswith(magic):
            raise FileFormatError(f"This file is {what}, not a CSV file. "
                                  "Save it from Excel as \"CSV (Comma delimited)\" and upload that.")
    if data.startswith(b"\xff\xfe") or data.startswith(b"\xfe\xff"):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise FileFormatError("The file looks like UTF-16 text but could not be read.")
    if b"\x00" in data[:4096]:
        raise FileFormatError("This is not a text file. Upload the CSV file itself.")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return _decode_cp1252(data)


_CP1252_UNDEFINED = frozenset((0x81, 0x8D, 0x8F, 0x90, 0x9D))


def _decode_cp1252(data):
    """Windows-1252, keeping its five undefined bytes as their Latin-1 characters."""
    if not _CP1252_UNDEFINED.intersection(data):
        return data.decode("cp1252")
    return "".join(chr(b) if b in _CP1252_UNDEFINED else bytes([b]).decode("cp1252") for b in data)


def normalize_header(name):
    """Header matching ignores case, spaces, underscores, dashes, dots and a BOM."""
    return re.sub(r"[\s_\-.\ufeff]+", "", (name or "")).lower()


def sniff_delimiter(first_line):
    """The most frequent of , ; TAB | in the header line (comma on a tie)."""
    counts = {d: first_line.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


class Table:
    """A parsed file: headers as written, their normalized keys, and numbered rows.

    A workbook's table also says which sheet it is (and the sheets one could choose), the
    rows left out (title block, blank rows, totals, notes) and each column's letter."""

    def __init__(self, headers, rows):
        self.headers = headers
        self.keys = [normalize_header(h) for h in headers]
        self.rows = rows  # list of (row_number, {normalized_key: value})
        self.kind = "csv"
        self.sheet = None
        self.sheets = []
        self.ignored = []  # 'Rows 1–4: title', 'Row 58: totals'
        self.notes = []    # what the person should know about how the file was read
        self.letters = {}  # normalized key -> column letter (workbooks)
        self.column_headers = {}

    def locate(self, errors):
        """Give ERRORS (CellErrors naming a column as written) the sheet and cell they are in."""
        if not self.sheet:
            return errors
        letters = {header: self.letters.get(key) for header, key in zip(self.headers, self.keys)}
        for error in errors:
            error.sheet = self.sheet
            if error.row is not None and letters.get(error.column):
                error.cell = f"{letters[error.column]}{error.row}"
        return errors


# A file's header is checked against these before any work per column: past them a file is
# refused (the work stays linear in the file's size and bounded whatever the file).
MAX_COLUMNS = 500
MAX_HEADER_LENGTH = 200


def column_letter(index):
    """The spreadsheet letter of the 0-based column INDEX: 0 is A, 26 is AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def unprotect(text):
    """A cell as the person typed it: the quote csv_safe() put before a formula sign is taken off."""
    if text[:1] == "'" and text[1:2] in _FORMULA_SIGNS:
        return text[1:]
    return text


def header_columns(cells):
    """[(index, key)] of the named columns of a header row; refuses too many columns, a header
    cell too long, and two headers that are the same column once normalised."""
    if len(cells) > MAX_COLUMNS:
        raise FileFormatError(f"The header row has {len(cells):,} columns; a file may have at most "
                              f"{MAX_COLUMNS}. Remove the empty or extra columns and upload it again.")
    headers = [unprotect(c.strip()) for c in cells]
    for i, header in enumerate(headers):
        if len(header) > MAX_HEADER_LENGTH:
            raise FileFormatError(f"The header of column {column_letter(i)} is {len(header):,} characters long; "
                                  f"a header may have at most {MAX_HEADER_LENGTH}.")
    seen = {}
    columns = []
    for i, header in enumerate(headers):
        key = normalize_header(header)
        if not key:
            continue
        if key in seen:
            first = seen[key]
            raise FileFormatError(
                f"Columns {column_letter(first)} ('{headers[first]}') and {column_letter(i)} ('{header}') "
                "have the same header. Keep one of them, or rename the other, and upload the file again.")
        seen[key] = i
        columns.append((i, key))
    return headers, columns


def read_table(data, *, max_rows=50_000):
    """Parse CSV bytes into a Table. Row numbers count the header as row 1, as Excel does.

    Blank rows are skipped; surrounding spaces are trimmed; a quote protecting a formula
    sign is taken off; cells beyond the header and under a blank header are dropped; a
    short row lacks its missing keys. Linear in the file's size.
    """
    text = decode_text(data)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    first = next((line for line in lines if line.strip()), "")
    if not first:
        raise FileFormatError("The file is empty.")
    delimiter = sniff_delimiter(first)
    skip_first = False
    offset = 0
    # Excel writes "sep=;" as the first line, and hides it when it opens the file.
    sep = re.match(r"^\s*sep=(.)\s*$", first)
    if sep:
        delimiter, skip_first, offset = sep.group(1), True, 1
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    headers = None
    rows = []
    try:
        # Numbered by record, as a spreadsheet numbers its rows (a quoted cell may
        # span several lines of the file but is still one row).
        for number, cells in enumerate(reader, start=1):
            if not "".join(cells).strip():
                continue
            if skip_first:
                skip_first = False
                continue
            if headers is None:
                headers, columns = header_columns(cells)
                continue
            if len(rows) >= max_rows:
                raise FileFormatError(f"The file has more than {max_rows:,} rows. Split it and upload the parts.")
            width = len(cells)
            rows.append((number - offset, {key: unprotect(cells[i].strip()) for i, key in columns if i < width}))
    except csv.Error as exc:
        raise FileFormatError(f"The file is not valid CSV near line {reader.line_num}: {exc}.")
    if headers is None:
        raise FileFormatError("The file is empty.")
    return Table(headers, rows)


_DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%m/%d/%y", "%m-%d-%Y", "%m-%d-%y", "%Y/%m/%d")
# The two shapes nearly every file uses, read without strptime (which is slow per call).
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$", re.ASCII)
_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})$", re.ASCII)
_DATE_CHARS = re.compile(r"[0-9/-]+", re.ASCII)


# An Excel serial date (days since 1899-12-30): 45986 is 2025-11-25. Only 1990-2100 are read.
_SERIAL_DATE = re.compile(r"^(\d{5})(\.\d+)?$", re.ASCII)
_EXCEL_EPOCH = datetime.date(1899, 12, 30)


def parse_date(text):
    """'2026-11-25', '11/25/2026', '11/25/26' (and the same with dashes), or an Excel serial
    number such as 45986, to a date."""
    raw = (text or "").strip()
    if not raw:
        raise ValueError("is empty")
    serial = _SERIAL_DATE.match(raw)
    if serial and 32874 <= int(serial.group(1)) <= 73415:
        return _EXCEL_EPOCH + datetime.timedelta(days=int(serial.group(1)))
    # Excel sometimes appends a midnight time to dates.
    value = re.sub(r"([ T]0?0:00(:00)?|\s+12:00(:00)?\s*[AaPp][Mm])$", "", raw)
    quick = _ISO_DATE.match(value)
    if quick:
        year, month, day = quick.groups()
    else:
        quick = _US_DATE.match(value)
        if quick:
            month, day, year = quick.groups()
            if len(year) == 2:  # as strptime's %y: 69-99 are 1900s, 00-68 the 2000s
                year = ("19" if int(year) >= 69 else "20") + year
    if quick:
        try:
            parsed = datetime.date(int(year), int(month), int(day))
        except ValueError:
            raise ValueError(f"'{raw}' is not a date (use 2026-11-25 or 11/25/2026)")
        if not 1990 <= parsed.year <= 2100:
            raise ValueError(f"'{raw}' is out of range")
        return parsed
    # Every format is digits and separators: anything else is no date, told without strptime
    # (which, past its cache of five formats, compiles each of the six again on every call).
    if not _DATE_CHARS.fullmatch(value):
        raise ValueError(f"'{raw}' is not a date (use 2026-11-25 or 11/25/2026)")
    for fmt in _DATE_FORMATS:
        try:
            parsed = datetime.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
        if not 1990 <= parsed.year <= 2100:
            raise ValueError(f"'{raw}' is out of range")
        return parsed
    raise ValueError(f"'{raw}' is not a date (use 2026-11-25 or 11/25/2026)")


def parse_yes_no(text, default=True):
    """'yes'/'y'/'true'/'1'/'final' and 'no'/'n'/'false'/'0'/'partial'; blank gives DEFAULT."""
    value = (text or "").strip().lower()
    if not value:
        return default
    if value in ("yes", "y", "true", "t", "1", "final"):
        return True
    if value in ("no", "n", "false", "f", "0", "partial"):
        return False
    raise ValueError(f"'{text}' is not yes or no")


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
_FORMULA_SIGNS = frozenset(_FORMULA_START)


_PLAIN_NUMBER = re.compile(r"^-?\d+(\.\d+)?$", re.ASCII)


def csv_safe(value):
    """Protect a text cell against spreadsheet formula injection (prefix a quote).

    Plain numbers such as -12.50 are left alone: they cannot run as formulas.
    """
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_START) and not _PLAIN_NUMBER.match(text):
        return "'" + text
    return text


def write_csv(headers, rows):
    """CSV text with CRLF line ends (what Excel expects); the header and text cells formula-safe."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([csv_safe(header) for header in headers])
    for row in rows:
        writer.writerow([cell if isinstance(cell, (int, float)) else csv_safe(cell) for cell in row])
    return out.getvalue()
