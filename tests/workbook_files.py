"""Workbooks as factors' portals send them, built for the tests: XLSX and XLSM (openpyxl, or
the sheet XML written directly when a test needs what openpyxl cannot write), ODS (its XML
written directly), XLS (xlwt) and a password-protected XLSX (msoffcrypto-tool)."""
import datetime
import io
import zipfile
from xml.sax.saxutils import escape
from xml.sax.saxutils import quoteattr

import msoffcrypto.format.ooxml
import openpyxl
import xlwt

TITLE_BLOCK = [["Capital Depot"], ["Schedule of Accounts Purchased"], ["Client: Demo Freight LLC"],
               ["Run by: ops@capitaldepot.test"]]


def xlsx(sheets, *, macro=False, date_format="mm/dd/yyyy"):
    """SHEETS {name: rows} as an .xlsx (rows are lists of values; a date is a date cell,
    a str starting with = a formula without a saved value, as openpyxl writes it)."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(list(row))
        for cells in sheet.iter_rows():
            for cell in cells:
                if isinstance(cell.value, (datetime.date, datetime.datetime)):
                    cell.number_format = date_format
    out = io.BytesIO()
    book.save(out)
    data = out.getvalue()
    return _as_xlsm(data) if macro else data


def _as_xlsm(data):
    """The workbook as Excel saves a macro-enabled one: the content type and a VBA project."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            body = source.read(info.filename)
            if info.filename == "[Content_Types].xml":
                body = body.replace(b"spreadsheetml.sheet.main+xml", b"sheet.macroEnabled.main+xml")
            target.writestr(info.filename, body)
        target.writestr("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"Attribute VB_Name = \"Auto_Open\"")
    return out.getvalue()


def report_rows(header, body, *, totals=None, notes=("Notes: advance rate 90%, fee 3%.",)):
    """A factor's sheet: the title block, a blank row, HEADER, BODY, a blank row, TOTALS, NOTES."""
    rows = [list(r) for r in TITLE_BLOCK] + [[]] + [list(header)] + [list(r) for r in body] + [[]]
    if totals:
        rows.append(list(totals))
    rows += [[n] for n in notes]
    return rows


_TYPES = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
          'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
          'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/'
          'workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
          '</Types>')


def raw_xlsx(sheet_data, name="Sheet1", dimension=None, compression=zipfile.ZIP_DEFLATED):
    """An .xlsx whose one sheet's <sheetData> is SHEET_DATA, written as it stands."""
    out = io.BytesIO()
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    with zipfile.ZipFile(out, "w", compression) as z:
        z.writestr("[Content_Types].xml", _TYPES)
        z.writestr("_rels/.rels", f'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
                   f'package/2006/relationships"><Relationship Id="rId1" Type="{rel}/officeDocument" '
                   f'Target="xl/workbook.xml"/></Relationships>')
        z.writestr("xl/workbook.xml", f'<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/'
                   f'spreadsheetml/2006/main" xmlns:r="{rel}"><sheets><sheet name={quoteattr(name)} sheetId="1" '
                   f'r:id="rId1"/></sheets></workbook>')
        z.writestr("xl/_rels/workbook.xml.rels", f'<?xml version="1.0"?><Relationships xmlns="http://schemas.'
                   f'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="{rel}/worksheet" '
                   f'Target="worksheets/sheet1.xml"/></Relationships>')
        dim = f'<dimension ref="{dimension}"/>' if dimension else ""
        z.writestr("xl/worksheets/sheet1.xml", '<?xml version="1.0"?><worksheet xmlns="http://schemas.'
                   f'openxmlformats.org/spreadsheetml/2006/main">{dim}<sheetData>{sheet_data}</sheetData></worksheet>')
    return out.getvalue()


def ods(sheets):
    """SHEETS {name: rows} as an OpenDocument spreadsheet (numbers as float cells, dates as
    date cells, text as string cells, a str starting with = a formula with no saved value)."""
    tables = []
    for name, rows in sheets.items():
        body = []
        for row in rows:
            cells = []
            for value in row:
                if value is None or value == "":
                    cells.append("<table:table-cell/>")
                elif isinstance(value, (datetime.date, datetime.datetime)):
                    cells.append(f'<table:table-cell office:value-type="date" office:date-value="{value.isoformat()}">'
                                 f"<text:p>{value:%m/%d/%Y}</text:p></table:table-cell>")
                elif isinstance(value, str) and value.startswith("="):   # a formula never calculated
                    cells.append(f'<table:table-cell table:formula={quoteattr("of:" + value)}/>')
                elif isinstance(value, (int, float)):
                    cells.append(f'<table:table-cell office:value-type="float" office:value="{value}">'
                                 f"<text:p>{value}</text:p></table:table-cell>")
                else:
                    cells.append(f'<table:table-cell office:value-type="string"><text:p>{escape(str(value))}'
                                 "</text:p></table:table-cell>")
            body.append("<table:table-row>" + "".join(cells) + "</table:table-row>")
        # as LibreOffice ends every sheet: the rest of the rows, repeated and empty
        body.append('<table:table-row table:number-rows-repeated="1048000"><table:table-cell '
                    'table:number-columns-repeated="1024"/></table:table-row>')
        tables.append(f"<table:table table:name={quoteattr(name)}>" + "".join(body) + "</table:table>")
    content = ('<?xml version="1.0" encoding="UTF-8"?><office:document-content '
               'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
               'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
               'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
               "<office:body><office:spreadsheet>" + "".join(tables) +
               "</office:spreadsheet></office:body></office:document-content>")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
        z.writestr("META-INF/manifest.xml", '<?xml version="1.0"?><manifest:manifest xmlns:manifest='
                   '"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"><manifest:file-entry '
                   'manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
                   '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
                   "</manifest:manifest>", compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def xls(sheets):
    """SHEETS {name: rows} as an old Excel workbook (BIFF8), dates as date cells."""
    book = xlwt.Workbook()
    date_style = xlwt.easyxf(num_format_str="mm/dd/yyyy")
    for name, rows in sheets.items():
        sheet = book.add_sheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if isinstance(value, datetime.date):
                    sheet.write(r, c, value, date_style)
                elif value is not None:
                    sheet.write(r, c, value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def protected(data, password="secret"):
    """DATA (an .xlsx) encrypted with PASSWORD, as Excel's Encrypt with Password saves it."""
    out = io.BytesIO()
    msoffcrypto.format.ooxml.OOXMLFile(io.BytesIO(data)).encrypt(password, out)
    return out.getvalue()


def zip_bomb(size=200 * 1024 * 1024, lie=False):
    """An .xlsx whose sheet unpacks to SIZE bytes of zeros (deflated, about 1000:1); LIE
    declares 1,000 bytes in the ZIP's directory instead (the sizes lie)."""
    skeleton = zipfile.ZipFile(io.BytesIO(raw_xlsx("")))
    raw = io.BytesIO()
    chunk = b"\0" * (1024 * 1024)
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as z:
        for info in skeleton.infolist():
            if info.filename != "xl/worksheets/sheet1.xml":
                z.writestr(info.filename, skeleton.read(info.filename))
        with z.open("xl/worksheets/sheet1.xml", "w") as member:
            for _ in range(size // len(chunk)):
                member.write(chunk)
    data = raw.getvalue()
    return _declare_small(data, b"xl/worksheets/sheet1.xml") if lie else data


def _declare_small(data, name):
    """NAME's uncompressed size in the central directory rewritten to 1,000 bytes."""
    at = data.rfind(b"PK\x01\x02")
    while data[at + 46:at + 46 + len(name)] != name:
        at = data.rfind(b"PK\x01\x02", 0, at)
    return data[:at + 24] + (1000).to_bytes(4, "little") + data[at + 28:]
