"""The CSV, money and date parsers that every upload goes through: properties and cases."""
import csv
import datetime
import io

import pytest
from hypothesis import assume
from hypothesis import example
from hypothesis import given
from hypothesis import strategies as st

from webapp.services.money import format_cents
from webapp.services.money import format_money as money
from webapp.services.money import parse_money
from webapp.services.tables import FileFormatError
from webapp.services.tables import csv_safe
from webapp.services.tables import normalize_header
from webapp.services.tables import parse_date
from webapp.services.tables import parse_yes_no
from webapp.services.tables import read_table
from webapp.services.tables import unprotect
from webapp.services.tables import write_csv

cents = st.integers(min_value=-10 ** 12, max_value=10 ** 12)
dates = st.dates(min_value=datetime.date(1990, 1, 1), max_value=datetime.date(2100, 12, 31))


# --- money -----------------------------------------------------------------------

@given(cents)
def test_parse_money_reads_back_format_cents(value):
    assert parse_money(format_cents(value)) == value


@given(cents)
def test_parse_money_reads_back_the_dollar_display(value):
    assert parse_money(money(value)) == value  # $1,234.56 and -$12.50


@given(st.integers(min_value=1, max_value=10 ** 12))
@example(1250)
def test_parentheses_mean_a_negative_amount(value):
    assert parse_money("(" + money(value) + ")") == -value
    assert parse_money("(" + format_cents(value) + ")") == -value


@given(st.integers(min_value=0, max_value=10 ** 12))
def test_trailing_minus_and_spaces_and_usd(value):
    text = format_cents(value)
    assert parse_money(f"  {text}-  ") == -value
    assert parse_money(f"USD {text}") == value
    assert parse_money(f"$ {text}") == value


@given(st.integers(min_value=0, max_value=10 ** 9), st.integers(min_value=0, max_value=9))
def test_one_decimal_and_no_decimal_forms(dollars, tenth):
    assert parse_money(f"{dollars}") == dollars * 100
    assert parse_money(f"{dollars}.{tenth}") == dollars * 100 + tenth * 10


@pytest.mark.parametrize("text, cents", [
    ("$1,234.56", 123456), ("1234.5", 123450), ("(12.50)", -1250), ("-12.50", -1250),
    ("-$12.50", -1250), ("$-12.50", -1250), ("($1,234.56)", -123456), (".5", 50), ("12.", 1200),
    ("+12", 1200), ("1\u00a0234.56", 123456), ("0", 0),
])
def test_parse_money_accepts_what_spreadsheets_write(text, cents):
    assert parse_money(text) == cents


@pytest.mark.parametrize("text, fragment", [
    ("", "empty"), ("abc", "not an amount"), ("12.345", "more than two decimals"),
    ("1,23", "not an amount"), ("--12", "not an amount"), ("(-12)", "not an amount"),
    ("12O0.00", "not an amount"), ("1.234,56", "not an amount"), ("1e5", "not an amount"),
    ("99999999999999", "too large"),
])
def test_parse_money_refuses_with_a_message(text, fragment):
    with pytest.raises(ValueError, match=fragment):
        parse_money(text)


# --- dates -------------------------------------------------------------------------

@given(dates)
def test_parse_date_reads_iso(value):
    assert parse_date(value.isoformat()) == value


@given(dates)
def test_parse_date_reads_us_four_digit_years(value):
    assert parse_date(f"{value.month}/{value.day}/{value.year}") == value
    assert parse_date(value.strftime("%m/%d/%Y")) == value


@given(st.dates(min_value=datetime.date(1990, 1, 1), max_value=datetime.date(2068, 12, 31)))
def test_parse_date_reads_us_two_digit_years(value):
    assert parse_date(value.strftime("%m/%d/%y")) == value


@given(dates)
def test_parse_date_ignores_the_midnight_excel_adds(value):
    assert parse_date(value.isoformat() + " 00:00:00") == value
    assert parse_date(value.strftime("%m/%d/%Y") + " 12:00:00 AM") == value


@pytest.mark.parametrize("text, fragment", [
    ("", "empty"), ("25/11/2026", "not a date"), ("2026-13-01", "not a date"),
    ("11/25/1889", "out of range"), ("tomorrow", "not a date"),
])
def test_parse_date_refuses_with_a_message(text, fragment):
    with pytest.raises(ValueError, match=fragment):
        parse_date(text)


@pytest.mark.parametrize("text, expected", [
    ("yes", True), ("Y", True), ("TRUE", True), ("final", True), ("", True),
    ("no", False), ("N", False), ("false", False), ("partial", False), ("0", False),
])
def test_parse_yes_no(text, expected):
    assert parse_yes_no(text) is expected


def test_parse_yes_no_refuses_other_words():
    with pytest.raises(ValueError, match="not yes or no"):
        parse_yes_no("maybe")


# --- tables ------------------------------------------------------------------------

# Printable ASCII plus accented letters whose cp1252 bytes can never form a UTF-8 sequence
# (no byte in 0x80-0xBF), so the UTF-8-else-cp1252 guess is never ambiguous for them.
cell_text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126) | st.sampled_from("éñüÉçà"),
                    max_size=12)
header_text = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz ", min_size=1, max_size=10)


@given(headers=st.lists(header_text, min_size=2, max_size=5, unique_by=normalize_header),
       body=st.lists(st.lists(cell_text, min_size=5, max_size=5), max_size=6),
       delimiter=st.sampled_from([",", ";", "\t"]),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]),
       newline=st.sampled_from(["\r\n", "\n"]))
def test_read_table_reads_back_what_csv_writes(headers, body, delimiter, encoding, newline):
    """Any delimiter, encoding and line end; two columns at least (one column has no delimiter to find)."""
    headers = [h.strip() for h in headers]
    assume(all(headers) and len({normalize_header(h) for h in headers}) == len(headers))
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator=newline)
    writer.writerow(headers)
    rows = [r[:len(headers)] for r in body]
    for r in rows:
        writer.writerow(r)
    table = read_table(out.getvalue().encode(encoding))
    assert table.headers == headers
    # A quote before a formula sign is the mark csv_safe() puts on the way out: it comes off on the way in.
    expected = [[unprotect(c.strip()) for c in r] for r in rows if any(c.strip() for c in r)]
    got = [[cells.get(normalize_header(h), "") for h in headers] for _, cells in table.rows]
    assert got == expected


def test_read_table_numbers_rows_as_a_spreadsheet_does():
    data = b'a,b\r\n"two\nlines",2\r\n\r\n3,4\r\n'
    assert [n for n, _ in read_table(data).rows] == [2, 4]


def test_read_table_follows_an_excel_sep_line():
    table = read_table(b"sep=;\r\nAmount;Name\r\n1,50;x\r\n")
    assert table.rows == [(2, {"amount": "1,50", "name": "x"})]


def test_read_table_reads_utf16_from_excel_unicode_text():
    data = "Invoice Number\tAmount\r\nINV-1\t12.50\r\n".encode("utf-16")
    assert read_table(data).rows == [(2, {"invoicenumber": "INV-1", "amount": "12.50"})]


def test_read_table_refuses_more_rows_than_the_limit():
    data = b"a\r\n" + b"1\r\n" * 11
    with pytest.raises(FileFormatError, match="more than 10 rows"):
        read_table(data, max_rows=10)


@pytest.mark.parametrize("data, fragment", [
    (b"", "empty"), (b"   \r\n\r\n", "empty"), (b"%PDF-1.7\n...", "PDF"),
    (b"abc\x00def", "not a text file"),
])
def test_read_table_names_a_wrong_file(data, fragment):
    with pytest.raises(FileFormatError, match=fragment):
        read_table(data)


@given(st.text(max_size=20))
def test_csv_safe_never_leaves_a_formula(text):
    safe = csv_safe(text)
    assert not safe.startswith(("=", "+", "@")) or safe.startswith("'")
    assert safe in (text, "'" + text)


def test_write_csv_protects_text_cells_but_not_numbers():
    text = write_csv(["a", "b"], [["=HYPERLINK(\"x\")", "-12.50"], ["@SUM(A1)", 5]])
    assert "'=HYPERLINK" in text and "'@SUM" in text and ",-12.50" in text
    assert text.endswith("\r\n")
