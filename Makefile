# mel_app — one command to run the demo, one to run the tests.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 5000
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/postgres
export FLASK_APP := mel_app
# Where a failing browser test leaves a screenshot and the HTML of its pages (tests/e2e/conftest.py).
export E2E_ARTIFACTS ?= test-artifacts/e2e
# After a failed run: say where that evidence is, then fail with pytest's exit status.
E2E_EVIDENCE = { status=$$?; echo; echo "!!! Tests failed (pytest exit status $$status)."; \
  if [ -n "$$(ls -A "$(E2E_ARTIFACTS)" 2>/dev/null)" ]; then \
    echo "!!! Browser-test failure evidence (screenshots and HTML) is in $(abspath $(E2E_ARTIFACTS)):"; \
    ls -1 "$(E2E_ARTIFACTS)" | sed 's/^/    /'; \
  else echo "    No browser-test evidence was kept: no browser test failed."; fi; exit $$status; }

.PHONY: demo test test-sqlite test-postgres install chromium validators validate translations lint bench bench-notify clean

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $@

install: $(VENV)/.installed translations

## make validators: the HTML validators the browser tests run (tests/validation.py), pa11y and the
## Nu HTML checker's vnu.jar, as pinned in tests/validators/package-lock.json. No install scripts:
## they would download a browser (puppeteer; pa11y drives Debian's Chromium) and a Java runtime
## (vnu-jar; the system's Java runs it).
VALIDATORS := tests/validators
$(VALIDATORS)/node_modules/.installed: $(VALIDATORS)/package.json $(VALIDATORS)/package-lock.json
	@if command -v npm >/dev/null; then \
	  cd $(VALIDATORS) && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --ignore-scripts --no-audit --no-fund --loglevel=error \
	    && touch node_modules/.installed; \
	else \
	  echo "!!! npm is missing: the HTML validators (vnu, pa11y) will be skipped (they fail when CI=true)."; \
	fi

validators: $(VALIDATORS)/node_modules/.installed

translations: $(VENV)/.installed
	@$(VENV)/bin/pybabel compile --use-fuzzy -d mel_app/translations >/dev/null

## make demo: install, migrate the SQLite database, load the demo data, serve on http://127.0.0.1:$(PORT)
## with the notification worker beside the web server (outgoing mail: the log and Outgoing mail page)
demo: install
	$(VENV)/bin/flask db upgrade
	PUBLIC_BASE_URL=http://127.0.0.1:$(PORT) $(VENV)/bin/flask seed-demo
	@echo "Serving on http://127.0.0.1:$(PORT) with the notification worker (Ctrl+C to stop both)"
	MEL_CONFIG=development PUBLIC_BASE_URL=http://127.0.0.1:$(PORT) $(VENV)/bin/flask notifications-worker & \
	  worker=$$!; trap 'kill $$worker 2>/dev/null; wait $$worker' EXIT; \
	  MEL_CONFIG=development PUBLIC_BASE_URL=http://127.0.0.1:$(PORT) $(VENV)/bin/gunicorn --workers 2 --bind 127.0.0.1:$(PORT) \
	  --access-logfile - 'mel_app:create_app()'

## make chromium: Debian's Chromium for the browser tests (installed when missing and we are root)
chromium:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "Installing Chromium for the browser tests (apt-get)..."; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	    || echo "!!! Could not install Chromium: the browser tests will be skipped (they fail when CI=true)."; \
	else \
	  echo "!!! Chromium is missing and cannot be installed (not root): the browser tests will be skipped."; \
	fi

# The suite runs in parallel workers (pytest-xdist), one per core; each has its own database.
# Serially: PYTEST_ARGS="-n 0" (or PYTEST_ARGS="-p no:xdist", which leaves the options below out).
XDIST ?= -n auto --dist load
PYTEST = $(PY) -m pytest $(if $(findstring no:xdist,$(PYTEST_ARGS)),,$(XDIST))
# Keep compiled modules, and the test modules pytest rewrites, in __pycache__ even where the
# environment says not to (PYTHONDONTWRITEBYTECODE): without them every worker of every pass
# compiles the whole app and rewrites every test module again, which costs more than a test file.
PYTEST_ENV = PYTHONDONTWRITEBYTECODE=

# The PostgreSQL pass: every test whose outcome the database can change. The browser journeys and
# the tests marked same_on_every_database (the HTML, headers, words and CSRF sweeps) ran on SQLite.
PG_TESTS = not e2e and not same_on_every_database

## make test: the whole suite on SQLite (with the browser journeys), then on PostgreSQL
test: install chromium validators
	@echo "=== mel_app test suite on SQLite (unit, integration and browser tests) ==="
	$(PYTEST_ENV) TEST_DATABASE_URL=sqlite $(PYTEST) $(PYTEST_ARGS) || $(E2E_EVIDENCE)
	@echo "=== mel_app test suite on PostgreSQL ($(PG_URL)) ==="
	$(PYTEST_ENV) TEST_DATABASE_URL=$(PG_URL) $(PYTEST) -m "$(PG_TESTS)" $(PYTEST_ARGS)

test-sqlite: install chromium validators
	$(PYTEST_ENV) TEST_DATABASE_URL=sqlite $(PYTEST) $(PYTEST_ARGS) || $(E2E_EVIDENCE)

test-postgres: install
	$(PYTEST_ENV) TEST_DATABASE_URL=$(PG_URL) $(PYTEST) -m "$(PG_TESTS)" $(PYTEST_ARGS)

## make validate: the browser tests alone, with the validators: vnu on every page they open, and
## vnu and pa11y on every page of every demo account (tests/e2e/test_validators.py)
validate: install chromium validators
	$(PYTEST_ENV) TEST_DATABASE_URL=sqlite $(PYTEST) -m e2e tests/e2e $(PYTEST_ARGS) \
	  || $(E2E_EVIDENCE)

$(VENV)/.bench-installed: $(VENV)/.installed pyproject.toml constraints.txt
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test,bench]'
	touch $@

## make bench: build the scale-10 portfolio on PostgreSQL once (kept as mel_bench_s10_seed1), serve it
## with gunicorn, drive it with 50 signed-in users, print the table and write docs/PERFORMANCE.md
bench: install $(VENV)/.bench-installed
	$(PY) bench/run.py --pg-url $(PG_URL) $(BENCH_ARGS)

## make bench-notify: the reminders of the scale-10 portfolio delivered to a local SMTP sink (messages/s,
## the worker's peak memory); writes its table into docs/PERFORMANCE.md
bench-notify: install
	$(PY) bench/notify_bench.py --pg-url $(PG_URL) $(BENCH_ARGS)

## make lint: ruff, bandit, and mypy (configured in pyproject.toml; its cache is .mypy_cache/)
lint: install
	$(VENV)/bin/ruff check mel_app tests bench config.py
	$(VENV)/bin/bandit -q -ll -r mel_app -c pyproject.toml
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) instance/*.sqlite .pytest_cache $(VALIDATORS)/node_modules
