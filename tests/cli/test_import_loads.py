"""flask import-loads (webapp/cli.py): a good file imported, a bad one listed row by row and nothing saved."""
import os

from tests.helpers import DATA
from tests.helpers import snapshot
from webapp.models import Load


def test_cli_imports_a_file(runner, dbconn):
    result = runner.invoke(args=["import-loads", os.path.join(DATA, "loads_good.csv"),
                                 "--company", "Demo Trucking"])
    assert result.exit_code == 0, result.output
    assert "Imported 3 load(s) into Demo Trucking." in result.output
    assert Load.select().where(Load.load_number.startswith("IMP-")).count() == 3


def test_cli_lists_errors_and_imports_nothing(runner, dbconn):
    before = snapshot()
    result = runner.invoke(args=["import-loads", os.path.join(DATA, "loads_errors.csv"),
                                 "--company", "Demo Trucking"])
    assert result.exit_code != 0
    assert "row 3, Load Number: load DT-1001 already exists." in result.output
    assert "row 4, Subsidiary: no subsidiary named 'Demo Frieght LLC' in this company." in result.output
    assert "row 5, Invoice Date: '13/45/2026' is not a date" in result.output
    assert "row 5, Customer: no customer named 'Acme Brokers'" in result.output
    assert "row 5, Fuel Surcharge: '(12.50)' is negative" in result.output
    assert "row 6, Load Number: load IMP-3001 is also on row 2" in result.output
    assert "nothing was imported" in result.output
    assert snapshot() == before
