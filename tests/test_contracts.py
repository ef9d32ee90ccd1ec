"""The lint that `make test` runs first can fail: each import contract of .importlinter, and
ruff with ruff.toml, report what they are there to catch.

The contracts are checked on `fdprobe`, a small package laid out like webapp, with the
repository's .importlinter where `webapp` reads `fdprobe`. It keeps every contract as it
is; each case below adds one import and must break exactly the contracts it names.
acyclic_siblings does not see a cycle through a package's __init__ (the package and one of
its own modules), so two tests look for every cycle in grimp's graph of webapp."""
import configparser
import os
import re
import shutil
import subprocess
import sys
import textwrap

import grimp
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)

BLUEPRINTS = ("auth", "account", "users", "company", "customers", "factoring", "factors", "health", "loads", "mail_log", "main", "reports")

# The probe: path -> source. Imports the way webapp's modules make them.
PROBE = {
    "__init__.py": """
        def create_app():
            from fdprobe import cli, errors, filters, jobs, logs
            from fdprobe.auth import views
        """,
    "cli.py": "from fdprobe import database\nfrom fdprobe.ops import backup, demo\n",
    "jobs.py": "import huey\nfrom fdprobe import database\nfrom fdprobe.services.batches import job\n",
    "ops/__init__.py": "",
    "ops/demo.py": "from fdprobe.services import batches, users\nfrom fdprobe.models import User\n",
    "ops/backup.py": "import sqlite3\n",
    "services/__init__.py": "",
    "services/audit.py": "import json\nfrom fdprobe import models\n",
    "services/users.py": ("from werkzeug.security import generate_password_hash\n"
                          "from fdprobe.models import User\nfrom fdprobe.services import audit\n"),
    "services/money.py": "import decimal\n",
    "services/paging.py": "import math\n",
    "services/sql.py": "from fdprobe import database\nfrom fdprobe.models import db\n",
    "services/batches/__init__.py": "from fdprobe.services.batches.job import run\n",
    "services/batches/job.py": "from fdprobe.services import audit, money, sql\n\ndef run():\n    pass\n",
    "services/batches/submit.py": "from fdprobe.services.batches import job\n",
    "database.py": "import peewee\nfrom fdprobe import models\n",
    "models.py": "import peewee\ndb = peewee.DatabaseProxy()\nclass User:\n    pass\n",
    "permissions.py": "import flask\nimport flask_login\nfrom fdprobe import models\n",
    "filters.py": "from fdprobe import permissions\n",
    "extensions.py": "import flask_htmx\nimport flask_wtf\n",
    "errors.py": "import flask\nfrom fdprobe import extensions\n",
    "logs.py": "import logging\n",
    "web.py": "import flask\nfrom fdprobe.services import users\n",
    **{f"{name}/__init__.py": "" for name in BLUEPRINTS},
    **{f"{name}/views.py": ("import flask\nfrom fdprobe import extensions, permissions\n"
                            "from fdprobe.models import User\nfrom fdprobe.services import users\n")
       for name in BLUEPRINTS},
}
PROBE["factoring/views.py"] += "from fdprobe import jobs\nfrom fdprobe.services import batches\n"
PROBE["company/views.py"] += "from fdprobe import web\n"

# case -> (module, code added to it, contracts it must break)
CASES = {
    "services import flask": ("services/users.py", "from flask import request", {"services-know-no-web"}),
    "services import huey": ("services/batches/job.py", "import huey", {"services-know-no-web"}),
    "services import flask_login in a function": (
        "services/money.py", "def f():\n    from flask_login import current_user", {"services-know-no-web"}),
    "services import a web helper": ("services/paging.py", "from fdprobe import permissions",
                                     {"services-know-no-web"}),
    "services import the job queue in a function": (
        "services/users.py", "def later():\n    from fdprobe import jobs",
        {"services-know-no-web", "layers", "no-cycles"}),
    "services import a blueprint": ("services/money.py", "from fdprobe.reports import views",
                                    {"services-know-no-web", "layers", "no-cycles"}),
    "models import a module of the app": ("models.py", "from fdprobe import logs",
                                          {"models-import-nothing-of-ours"}),
    "models import the database set-up in a function": (
        "models.py", "def connect():\n    from fdprobe import database",
        {"models-import-nothing-of-ours", "layers", "no-cycles"}),
    "models import services": ("models.py", "from fdprobe.services import money",
                               {"models-import-nothing-of-ours", "layers", "no-cycles"}),
    "a blueprint imports another": ("loads/views.py", "from fdprobe.reports import views", {"layers"}),
    "ops import a blueprint": ("ops/demo.py", "from fdprobe.users import views", {"layers"}),
    "jobs import a blueprint": ("jobs.py", "from fdprobe.health import views", {"layers"}),
    "the database set-up imports services": ("database.py", "from fdprobe.services import paging",
                                             {"layers", "no-cycles"}),
    "a service module imports another, one way": ("services/paging.py", "from fdprobe.services import audit",
                                                  set()),
    "a cycle between service modules": ("services/money.py", "from fdprobe.services.batches import job",
                                        {"no-cycles"}),
    "a cycle between web helpers": ("extensions.py", "def f():\n    from fdprobe import errors", {"no-cycles"}),
}


def _write(root, files):
    for path, source in files.items():
        full = os.path.join(root, "fdprobe", path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w", encoding="utf-8") as fh:
            fh.write(textwrap.dedent(source))


def _contract_names():
    parser = configparser.ConfigParser()
    parser.read(os.path.join(ROOT, ".importlinter"))
    prefix = "importlinter:contract:"
    return {s[len(prefix):]: parser[s]["name"] for s in parser.sections() if s.startswith(prefix)}


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    """fdprobe, and the repository's contracts written for it."""
    root = tmp_path_factory.mktemp("probe")
    _write(root, PROBE)
    with open(os.path.join(ROOT, ".importlinter"), encoding="utf-8") as fh:
        config = re.sub(r"\bwebapp\b", "fdprobe", fh.read())
    (root / ".importlinter").write_text(config, encoding="utf-8")
    return root


def _lint_imports(root):
    """Run lint-imports on ROOT; return (exit code, {contract name: KEPT or BROKEN}, output)."""
    env = dict(os.environ, PYTHONPATH=str(root), COLUMNS="300", NO_COLOR="1", TERM="dumb")
    result = subprocess.run([os.path.join(BIN, "lint-imports"), "--no-cache", "--no-logo", ".importlinter"],
                            cwd=root, env=env, capture_output=True, text=True, timeout=120)
    output = result.stdout + result.stderr
    return result.returncode, dict(re.findall(r"^(.+?) (KEPT|BROKEN)$", output, re.M)), output


def test_the_probe_keeps_every_contract(probe):
    code, status, output = _lint_imports(probe)
    assert (code, status) == (0, {name: "KEPT" for name in _contract_names().values()}), output


@pytest.mark.parametrize("case", CASES)
def test_each_contract_reports_its_violation(probe, tmp_path, case):
    module, code, broken = CASES[case]
    root = tmp_path / "probe"
    shutil.copytree(probe, root)
    with open(root / "fdprobe" / module, "a", encoding="utf-8") as fh:
        fh.write("\n" + code + "\n")
    exit_code, status, output = _lint_imports(root)
    names = _contract_names()
    assert status == {name: "BROKEN" if cid in broken else "KEPT" for cid, name in names.items()}, output
    assert exit_code == (1 if broken else 0), output
    if "services-know-no-web" in broken and "flask" in code:
        assert "fdprobe." + module[:-3].replace("/", ".") in output  # the culprit is named


# --- cycles through a package's __init__ -----------------------------------------------------

def module_cycles(package):
    """Every import cycle among PACKAGE's modules (imports in functions too), each as the
    chain of modules from one back to itself."""
    graph = grimp.build_graph(package, cache_dir=None)
    cycles, seen = [], set()
    for module in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            back = graph.find_shortest_chain(importer=imported, imported=module)
            if back and frozenset(back) not in seen:
                seen.add(frozenset(back))
                cycles.append([module, *back])
    return cycles


def test_a_cycle_through_a_package_init_is_found(probe, tmp_path, monkeypatch):
    root = tmp_path / "probe"
    shutil.copytree(probe, root)
    # batches/__init__.py imports job; job importing a name from its package closes a cycle.
    with open(root / "fdprobe" / "services" / "batches" / "job.py", "a", encoding="utf-8") as fh:
        fh.write("\ndef again():\n    from fdprobe.services.batches import run\n")
    monkeypatch.syspath_prepend(str(root))
    assert module_cycles("fdprobe") == [
        ["fdprobe.services.batches", "fdprobe.services.batches.job", "fdprobe.services.batches"]]
    # Why this test exists: acyclic_siblings only compares a package's children.
    assert _lint_imports(root)[1][_contract_names()["no-cycles"]] == "KEPT"


def test_webapp_has_no_import_cycle_at_all(probe, monkeypatch):
    monkeypatch.syspath_prepend(str(probe))
    assert module_cycles("fdprobe") == []
    assert module_cycles("webapp") == []


# --- ruff ----------------------------------------------------------------------------------------

def test_ruff_reports_an_unused_import_and_imports_out_of_order(tmp_path):
    probe = tmp_path / "probe_module.py"
    probe.write_text("import os\nfrom webapp.models import User, db\nimport sys\n\nprint(sys.argv, User, db)\n")
    result = subprocess.run([os.path.join(BIN, "ruff"), "check", "--no-cache", "--output-format", "concise",
                             "--config", os.path.join(ROOT, "ruff.toml"), str(probe)],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    assert re.search(r"probe_module\.py:1:8: F401 .*`os` imported but unused", result.stdout), result.stdout
    assert re.search(r"probe_module\.py:1:1: I001 ", result.stdout), result.stdout  # one name a line


def test_ruff_passes_a_clean_module(tmp_path):
    probe = tmp_path / "probe_module.py"
    probe.write_text("import sys\n\nfrom webapp.models import User\nfrom webapp.models import db\n\n"
                     "print(sys.argv, User, db)\n")
    result = subprocess.run([os.path.join(BIN, "ruff"), "check", "--no-cache",
                             "--config", os.path.join(ROOT, "ruff.toml"), str(probe)],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
