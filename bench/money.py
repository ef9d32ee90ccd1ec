"""The money pages (issue 10) and the XLSX export at the dataset's size: the dashboard, Reports >
Aging and > Reserve timed like every page, and exporting the company's loads to XLSX beside the
time the library alone takes to write the same rows (the target: at most 3 times it)."""
import os
import tempfile

from bench.stats import Figure
from bench.stats import Timer

PAGES = (("Dashboard (home page), full dataset", "/", "Money by stage"),
         ("Reports > Aging, full dataset", "/reports/aging", "Open invoices"),
         ("Reports > Reserve, full dataset", "/reports/reserve", "Statement"))


def money_pages(bench):
    for name, url, check in PAGES:
        bench.guarded(name, lambda name=name, url=url, check=check: bench.page(name, url, check=check))


def xlsx_export(bench):
    """The Loads list of the benchmark company as XLSX through services/exports, against
    XlsxWriter alone writing the same rows (already fetched) in the same mode."""
    import xlsxwriter

    from webapp.models import User
    from webapp.services.exports import sources
    from webapp.services.exports import write_xlsx

    company = User.get(User.email == bench.facts["billing_email"]).company
    table = sources.loads(company, {})
    rows = list(table.rows)
    directory = tempfile.mkdtemp(prefix="bench-xlsx-")
    ours, alone = os.path.join(directory, "ours.xlsx"), os.path.join(directory, "alone.xlsx")
    try:
        with Timer() as product:
            write_xlsx(table.columns, sources.loads(company, {}).rows, ours)
        with Timer() as library:
            book = xlsxwriter.Workbook(alone, {"constant_memory": True, "tmpdir": directory})
            sheet = book.add_worksheet("Export")
            for r, row in enumerate(rows):
                sheet.write_row(r, 0, row)
            book.close()
    finally:
        for path in (ours, alone):
            if os.path.exists(path):
                os.unlink(path)
        os.rmdir(directory)
    ratio = product.seconds / library.seconds if library.seconds else None
    bench.add(Figure(f"XLSX export of {len(rows):,} loads", f"{product.seconds:.1f} s",
                     f"library alone {library.seconds:.1f} s", "≤ 3 × the library alone",
                     ratio is not None and ratio <= 3,
                     values={"seconds": product.seconds, "library_seconds": library.seconds, "ratio": ratio,
                             "rows": len(rows)}))
