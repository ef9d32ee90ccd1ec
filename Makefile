# Factor Desk: the two commands a newcomer needs are `make run` and `make test`.
# `make run` installs only what running needs (requirements.txt); `make test` adds the test
# stack (requirements-dev.txt); `make dev` serves with the reloader and the debugger on.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run dev test lint venv venv-dev check-python db demo worker prod bench clean

# Before anything is installed: Python 3.11+ with its venv module, said plainly if not.
check-python:
	@$(PY) scripts/check_python.py

$(BIN)/activate:
	@$(PY) scripts/check_python.py
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# What running needs, and no more.
$(VENV)/.installed-run: requirements.txt | $(BIN)/activate
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

# The test stack on top of it (pytest, Playwright, the linters...).
$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/activate
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.installed-run

venv: check-python $(VENV)/.installed-run

venv-dev: check-python $(VENV)/.installed-dev

instance/secret_key:
	mkdir -p instance
	$(PY) -c "import secrets; print(secrets.token_hex(32))" > $@
	chmod 600 $@

db: venv instance/secret_key
	$(FLASK) init-db

demo: db
	$(FLASK) seed-demo

# Set up, load the demo data, then serve the app and the job worker together.
run: demo
	$(BIN)/python scripts/run_dev.py --host $(HOST) --port $(PORT)

# The same, for editing the code: Flask's reloader and debugger on (127.0.0.1 only), the
# worker restarted with the web app when a file changes.
dev: demo
	$(BIN)/python scripts/run_dev.py --host $(HOST) --port $(PORT) --debug

# The import contracts (.importlinter: layers, no Flask in services, no cycles) and ruff
# (ruff.toml: pyflakes and the import order).
lint: venv-dev
	$(BIN)/lint-imports --no-logo && $(BIN)/ruff check .

# Lint first, then the tests. pytest exit code 5 means "no test collected": a failure
# here too, said plainly.
test: venv-dev
	$(BIN)/lint-imports --no-logo && $(BIN)/ruff check .
	@$(BIN)/python -m pytest -q -rfEs tests $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: no tests were collected" >&2; fi; exit $$rc

# Production-style serving on this machine: gunicorn (gunicorn.conf.py; SECRET_KEY,
# DATABASE_URL, QUEUE_URL from the environment). Run `make worker` beside it.
prod: venv
	$(FLASK) init-db
	$(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

# The job queue's consumer (batch files). Several can run, on several machines.
worker: venv
	$(FLASK) worker

# The benchmark (bench/run.py): SCALE=2000000 for the 2,000,000-load dataset,
# DATABASE_URL=postgresql://user@host:port/db to build and measure on that PostgreSQL server
# (a sqlite: URL, or none, measures on SQLite). wrk, the HTTP load generator, is installed
# when missing (apt-get, as root), else the exact command is said.
SCALE ?= 200000
bench: venv-dev
	@command -v wrk >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "make bench: installing wrk (apt-get install wrk)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; \
	  else \
	    echo "make bench needs wrk, the HTTP load generator: sudo apt-get install wrk" >&2; exit 1; \
	  fi; }
	$(BIN)/python -m bench --scale $(SCALE) $(if $(DATABASE_URL),--database-url '$(DATABASE_URL)')

clean:
	rm -rf $(VENV) instance .pytest_cache .hypothesis .import_linter_cache .ruff_cache
