"""Importing loads from CSV (services/loads/importing.py): messy input read right, all or nothing."""
import pytest

from tests.helpers import LOADS_HEADER
from tests.helpers import load_row
from tests.helpers import loads_csv
from tests.helpers import snapshot
from webapp.models import DIRECT
from webapp.models import FACTORING
from webapp.models import QUEUED
from webapp.models import Load
from webapp.services.loads import importing as load_import

ACCEPTED = [
    ("utf8-bom", loads_csv(load_row(), bom=True), [("IMP-1", 1150_00)]),
    ("windows-1252", loads_csv(load_row(customer="Hernández & Söhne Imports"), encoding="cp1252"),
     [("IMP-1", 1150_00)]),
    ("crlf", loads_csv(load_row(), load_row(load="IMP-2", invoice="INV-IMP-2"), eol="\r\n"),
     [("IMP-1", 1150_00), ("IMP-2", 1150_00)]),
    ("semicolons", loads_csv(load_row(linehaul="$1,234.56", fuel="$0.44"), sep=";"), [("IMP-1", 1235_00)]),
    ("tabs", loads_csv(load_row(), sep="\t"), [("IMP-1", 1150_00)]),
    ("money-formats", loads_csv(load_row(linehaul="$1,234.56", fuel=" 12.5 "),
                                load_row(load="IMP-2", invoice="INV-IMP-2", linehaul="2,000", fuel="")),
     [("IMP-1", 1247_06), ("IMP-2", 2000_00)]),
    ("iso-and-us-dates", loads_csv(load_row(pickup="2026-11-22", delivery="11/24/2026"),
                                   load_row(load="IMP-2", invoice="INV-IMP-2", pickup="11/22/26",
                                       delivery="2026-11-24 00:00:00")),
     [("IMP-1", 1150_00), ("IMP-2", 1150_00)]),
    ("blank-trailing-rows", loads_csv(load_row()) + b",,,,,,,\n\n  \n", [("IMP-1", 1150_00)]),
    ("header-spellings", loads_csv(load_row(), header=["load_number", "INVOICE NUMBER", "subsidiary",
                                                  "Customer_Name", "LINEHAUL", "fuel", "pickup-date",
                                                  "Delivery  Date"]), [("IMP-1", 1150_00)]),
    ("customer-by-mc", loads_csv(["IMP-1", "Demo Freight LLC", "mc 482913", "900"],
                                 header=["Load Number", "Subsidiary", "Customer MC", "Linehaul"]),
     [("IMP-1", 900_00)]),
    ("no-invoice-number", loads_csv(load_row(invoice=""), load_row(load="IMP-2", invoice="")),
     [("IMP-1", 1150_00), ("IMP-2", 1150_00)]),
]


@pytest.mark.parametrize("data, expected", [pytest.param(d, e, id=i) for i, d, e in ACCEPTED])
def test_messy_but_valid_files_import(world, dbconn, data, expected):
    demo = world.company
    preview = load_import.parse(data, demo, filename="loads.csv")
    assert preview.errors == []
    assert [(r.values["load_number"], r.total_cents) for r in preview.rows] == expected
    assert load_import.commit(preview, demo, None) == len(expected)
    for number, total in expected:
        load = Load.get((Load.company == demo) & (Load.load_number == number))
        assert load.total_cents == total and load.billing_status == QUEUED
        assert sum(x.amount_cents for x in load.lines) == total


def test_extra_columns_are_ignored_and_named_in_a_warning(world, dbconn):
    data = loads_csv(load_row() + ["Sam", "T-12"], header=LOADS_HEADER + ["Driver", "Truck"])
    preview = load_import.parse(data, world.company)
    assert preview.ok
    assert preview.warnings == ["Ignored column(s) that the import does not use: Driver, Truck."]


def test_invoicing_method_blank_takes_the_customers_default(world, dbconn):
    header = LOADS_HEADER + ["Invoicing Method"]
    data = loads_csv(load_row(customer="Midwest Grain Cooperative") + [""],
                     load_row(load="IMP-2", invoice="INV-IMP-2", customer="Midwest Grain Cooperative") + ["Factoring"],
                     load_row(load="IMP-3", invoice="INV-IMP-3") + ["DIRECT"], header=header)
    preview = load_import.parse(data, world.company)
    assert [r.values["invoicing_method"] for r in preview.rows] == [DIRECT, FACTORING, DIRECT]


def test_one_bad_row_refuses_the_whole_file(world, dbconn):
    data = loads_csv(load_row(), load_row(load="IMP-2", invoice="INV-IMP-2", linehaul="oops"),
                     load_row(load="IMP-3", invoice="INV-IMP-3"))
    preview = load_import.parse(data, world.company)
    assert [str(e) for e in preview.errors] == ["Row 3, Linehaul: 'oops' is not an amount"]
    with pytest.raises(load_import.ImportRefused):
        load_import.commit(preview, world.company, None)
    assert not Load.select().where(Load.load_number.startswith("IMP-")).exists()


def test_too_many_rows_or_bytes_are_refused(world, dbconn):
    data = loads_csv(*[load_row(load=f"IMP-{n}", invoice=f"INV-{n}") for n in range(6)])
    assert "more than 5 rows" in load_import.parse(data, world.company, max_rows=5).errors[0].message
    refused = load_import.parse(data, world.company, max_bytes=100).errors[0]
    assert (refused.row, refused.column) == (1, "File") and "the limit is" in refused.message


def test_conflict_found_at_commit_rolls_back_every_row(world, dbconn, monkeypatch):
    demo = world.company
    data = loads_csv(load_row(), load_row(load="IMP-2", invoice="INV-IMP-2"),
                     load_row(load="IMP-3", invoice="INV-IMP-3"))
    preview = load_import.parse(data, demo)
    assert preview.ok
    # Someone creates IMP-3 between the preview and the commit; chunks of one row make
    # the first two rows written before the clash.
    Load.create(company=demo, subsidiary=world.freight,
                customer=world.customer("Summit Freight Brokerage"),
                load_number="IMP-3", total_cents=100)
    monkeypatch.setattr(load_import, "CHUNK", 1)
    before = snapshot()
    with pytest.raises(load_import.ImportRefused, match="created by someone else"):
        load_import.commit(preview, demo, None)
    assert snapshot() == before
    assert not Load.select().where(Load.load_number.in_(["IMP-1", "IMP-2"])).exists()


def test_commit_refuses_a_preview_of_another_company(world, dbconn):
    preview = load_import.parse(loads_csv(load_row()), world.company)
    other = world.other_company
    with pytest.raises(load_import.ImportRefused, match="another company"):
        load_import.commit(preview, other, None)
