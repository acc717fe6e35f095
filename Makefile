# Brigade: `make run` serves the demo, `make test` runs the whole suite. `make help` lists all.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export FLASK_APP := lms
HOST ?= 127.0.0.1
PORT ?= 5000
DB ?= sqlite
# employees of the benchmark's organisation (`make bench DB=postgresql SIZE=50000`)
SIZE ?= 5000
# a random key made once by `make run` (the published development key must not sign cookies)
SECRET_KEY_FILE ?= instance/secret_key
FUZZ_EXAMPLES ?= 25

.DEFAULT_GOAL := help
.PHONY: help install api-docs-assets system-deps browser-deps translations extract-messages db demo run worker check test test-sqlite test-postgresql suite-sqlite suite-postgresql cluster-test fuzz lint format bench backup clean

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	@touch $(STAMP)

install: $(STAMP) translations api-docs-assets ## Create .venv and install Brigade with its test tools

system-deps: ## Install the Debian packages Brigade needs (as root, only when missing)
	@bash scripts/system-deps.sh

AXE := .cache/npm/node_modules/axe-core/axe.min.js

browser-deps: ## Install axe-core (accessibility checks in browser tests) under .cache/npm
	@test -f $(AXE) || npm install --prefix .cache/npm --no-audit --no-fund axe-core@4

SWAGGER := static/vendor/swagger-ui/swagger-ui-bundle.js

api-docs-assets: ## Vendor Swagger UI (npm swagger-ui-dist@5) into static/vendor for the API docs page
	@test -f $(SWAGGER) || { npm install --prefix .cache/npm --no-audit --no-fund swagger-ui-dist@5 >/dev/null && \
	  mkdir -p static/vendor/swagger-ui && \
	  cp .cache/npm/node_modules/swagger-ui-dist/{swagger-ui-bundle.js,swagger-ui.css,LICENSE} static/vendor/swagger-ui/; }

translations: $(STAMP) ## Compile the message catalogues (lv, ru, en)
	@$(BIN)/pybabel compile -d lms/translations -f 2>&1 | grep -v "^compiling" || true

extract-messages: $(STAMP) ## Re-extract strings and update the .po catalogues
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k ngettext:1,2 -o lms/translations/messages.pot --no-location --sort-output .
	$(BIN)/pybabel update -i lms/translations/messages.pot -d lms/translations --no-fuzzy-matching --ignore-obsolete

db: install ## Create or upgrade the SQLite database under instance/
	@mkdir -p instance
	$(BIN)/flask lms init

demo: db ## Load the demo organisation and the course packs
	$(BIN)/flask lms demo

$(SECRET_KEY_FILE):
	@mkdir -p $(dir $@)
	@umask 077; $(PYTHON) -c 'import secrets; print(secrets.token_hex(32))' > $@
	@echo "Made a random secret key in $@ (kept for the next runs)."

DEMO_SEAL := instance/demo-seal.p12
DEMO_SEAL_PASSPHRASE := brigade-demo-seal

$(DEMO_SEAL): | $(STAMP)
	@mkdir -p instance
	$(BIN)/python -m lms.core.seal $(DEMO_SEAL) $(DEMO_SEAL_PASSPHRASE)

run: export LMS_SEAL_FILE ?= $(DEMO_SEAL)
run: export LMS_SEAL_PASSPHRASE ?= $(DEMO_SEAL_PASSPHRASE)
run: system-deps $(DEMO_SEAL) demo $(SECRET_KEY_FILE) ## Install, migrate, load the demo, create a demo seal under instance/ and serve with gunicorn on http://127.0.0.1:5000 (with one job worker)
	@echo "Serving Brigade on http://$(HOST):$(PORT) (Ctrl+C stops); demo log-ins are listed above."
	@export LMS_SECRET_KEY="$${LMS_SECRET_KEY:-$$(cat $(SECRET_KEY_FILE))}"; \
	  $(BIN)/huey_consumer lms.worker.huey -w 1 -q & worker=$$!; \
	  trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	  $(BIN)/gunicorn --workers 2 --bind $(HOST):$(PORT) --access-logfile - wsgi:app

worker: install ## Run a background-job worker (Huey) on its own
	$(BIN)/huey_consumer lms.worker.huey -w 2

check: install ## Fast checks before the tests: ruff lint and format, mypy, import layers
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: system-deps install browser-deps check ## Check, then run the whole suite on SQLite and on PostgreSQL side by side
	@# one suite per core; each suite's output is printed whole when it ends (--output-sync)
	$(MAKE) --no-print-directory -j2 --output-sync=target suite-sqlite suite-postgresql

suite-sqlite suite-postgresql: suite-%:
	LMS_TEST_DB=$* $(BIN)/pytest -p no:cacheprovider --durations=15

test-sqlite: install browser-deps ## Run the suite on SQLite only
	LMS_TEST_DB=sqlite $(BIN)/pytest

test-postgresql: install browser-deps ## Run the suite on a throwaway PostgreSQL only
	LMS_TEST_DB=postgresql $(BIN)/pytest

cluster-test: system-deps install ## Two gunicorn servers and two job workers on PostgreSQL + Redis (also part of make test)
	LMS_TEST_DB=postgresql $(BIN)/pytest tests/cluster

fuzz: install ## Fuzz every route for every role with fresh random input, on SQLite and PostgreSQL (FUZZ_EXAMPLES rounds)
	LMS_TEST_DB=sqlite LMS_FUZZ_RANDOM=1 LMS_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest tests/core/test_fuzz.py
	LMS_TEST_DB=postgresql LMS_FUZZ_RANDOM=1 LMS_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest tests/core/test_fuzz.py

lint: check ## Same as check (kept for habit)

format: install ## ruff format and autofix
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: system-deps install ## Benchmark pages, statements, memory, rebuild-status, certificates, verify, concurrent employees on generated data (DB=sqlite|postgresql, SIZE=5000 employees, e.g. DB=postgresql SIZE=50000 on a throwaway server); writes bench/RESULTS.md
	$(BIN)/python bench/run.py --db $(DB) --size $(SIZE) $(BENCH_ARGS)

backup: install ## Back up the database to backups/brigade-<time> and verify the copy (BACKUP=path to choose)
	@mkdir -p backups
	$(BIN)/flask lms backup $${BACKUP:-backups/brigade-$$(date -u +%Y%m%dT%H%M%SZ).backup}

clean: ## Remove the virtualenv, caches and the development database
	rm -rf $(VENV) .pytest_cache .ruff_cache instance/lms.db* instance/huey.db*
