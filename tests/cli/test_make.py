"""The Makefile's starts (issue 12): `make run` installs only what running needs, `make test`
adds the test stack, `make dev` runs with the reloader; the Python is checked first."""
import importlib.util
import os
import shutil
import subprocess

import pytest

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


def _dry_run(target):
    if not shutil.which("make"):
        pytest.skip("make is not installed")
    # Run as a person would from a shell, not as a sub-make of `make test` (which would print
    # "make[1]: Entering directory ..." and pass its own flags down).
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES")}
    return subprocess.run(["make", "--no-print-directory", "-n", "-B", target], cwd=ROOT, capture_output=True,
                          text=True, check=True, env=env).stdout


def test_make_run_installs_only_the_run_time_requirements():
    steps = _dry_run("run")
    assert "scripts/check_python.py" in steps.splitlines()[0]
    assert "pip install --quiet -r requirements.txt" in steps
    assert "requirements-dev.txt" not in steps
    assert "scripts/run_dev.py" in steps and "--debug" not in steps


def test_make_test_adds_the_test_stack_and_make_dev_the_reloader():
    assert "pip install --quiet -r requirements-dev.txt" in _dry_run("test")
    dev = _dry_run("dev")
    assert "requirements-dev.txt" not in dev and "scripts/run_dev.py" in dev and "--debug" in dev


def _checker():
    spec = importlib.util.spec_from_file_location("check_python", os.path.join(ROOT, "scripts", "check_python.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_an_old_python_is_refused_saying_what_is_needed(capsys):
    checker = _checker()
    assert checker.main() == 0
    checker.NEEDED = (99, 0)
    assert checker.main() == 1
    said = capsys.readouterr().err
    assert "Factor Desk needs Python 99.0 or newer" in said and "python3-venv" in said
