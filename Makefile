# Factor Desk: the two commands a newcomer needs are `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test venv db demo worker serve bench clean

$(BIN)/activate:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt requirements-dev.txt | $(BIN)/activate
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

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

test: venv
	$(BIN)/python -m pytest -q tests

bench: venv
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) instance .pytest_cache .hypothesis
