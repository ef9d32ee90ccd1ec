"""The README's Architecture table names functions and templates that exist."""
import importlib
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _table_rows():
    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    section = text.split("Each step of the workflow, and what carries it:", 1)[1].split("\n\n", 2)[1]
    return [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| Step")]


def _resolve(dotted):
    """Import the longest module prefix of DOTTED, then follow the attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            obj = getattr(obj, name)
        return obj
    raise ImportError(dotted)


def test_the_architecture_table_names_functions_and_templates_that_exist():
    rows = _table_rows()
    assert len(rows) == 7, rows  # the six steps and the Payment Report across batches
    named = 0
    for row in rows:
        for dotted in re.findall(r"`(webapp\.[\w.]+)`", row):
            assert callable(_resolve(dotted)), dotted
            named += 1
        for template in re.findall(r"`([\w/]+\.html)`", row):
            assert os.path.exists(os.path.join(ROOT, "templates", template)), template
    assert named >= 12


def test_the_table_check_fails_on_a_name_that_does_not_exist():
    try:
        _resolve("webapp.services.batches.submission.no_such_function")
    except AttributeError:
        return
    raise AssertionError("a missing function was not noticed")
