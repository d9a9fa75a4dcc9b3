# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: venv demo test lint unit fuzz assets clean translations-extract translations-update translations-init translations-check

PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check

# What the demo needs: the package and SQLAlchemy for its receipts in SQLite.
$(BIN)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed: run make PYTHON=python3.11 ...")'
	$(PYTHON) -m venv $(VENV)
	$(PIP) -e '.[receipts]'
	@touch $@

# What the tests need on top: the test extras (pytest, linters, Playwright, host extensions).
$(BIN)/.installed-test: $(BIN)/.installed
	$(PIP) -e '.[test]'
	@touch $@

venv: $(BIN)/.installed-test

demo: $(BIN)/.installed ## serve the example news site on http://$(HOST):$(PORT) (e.g. make demo PORT=8000)
	$(BIN)/flask --app examples.news run --host $(HOST) --port $(PORT)

lint: venv ## ruff (lint + format) and mypy --strict
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

unit: venv ## the test suite alone
	$(BIN)/pytest

test: lint unit ## everything CI runs

translations-extract: $(BIN)/.installed ## rewrite translations/consent.pot from the code
	$(BIN)/python -m consent translations extract

translations-update: $(BIN)/.installed ## merge consent.pot into every catalog
	$(BIN)/python -m consent translations update

translations-init: $(BIN)/.installed ## start a new language: make translations-init LOCALE=eo
	@test -n "$(LOCALE)" || { echo "usage: make translations-init LOCALE=xx"; exit 2; }
	$(BIN)/python -m consent translations init $(LOCALE)

translations-check: $(BIN)/.installed ## fail on missing, fuzzy or broken translations
	$(BIN)/python -m consent translations check

fuzz: venv ## the long property-test profile: 3 x 34,000 hostile inputs (about 20 min)
	HYPOTHESIS_PROFILE=fuzz $(BIN)/pytest -q tests/test_fuzz.py
	$(BIN)/python -m bench.fuzz_record

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache

# -- benchmark -------------------------------------------------------------------
.PHONY: bench bench-deps

# $(call apt-optional,command,package,what the bench does without it): apt-get
# install package when command is missing and we are root; else say so and go on.
define apt-optional
@command -v $(1) >/dev/null 2>&1 || { \
  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
    echo "installing $(2) (apt-get)"; \
    export DEBIAN_FRONTEND=noninteractive; \
    apt-get install -y -qq --no-install-recommends $(2) >/dev/null 2>&1 \
      || { apt-get update -qq && apt-get install -y -qq --no-install-recommends $(2) >/dev/null; } \
      || echo "$(2) could not be installed: $(3)"; \
  else \
    echo "$(1) not found (and not root): $(3)"; \
  fi; }
endef

bench-deps: venv ## what make bench needs beyond the venv: gunicorn, wrk and valgrind (apt, as root), npm
	@$(BIN)/python -c 'import gunicorn' 2>/dev/null || $(BIN)/python -m pip install --quiet --disable-pip-version-check gunicorn
	$(call apt-optional,wrk,wrk,the bench uses its bounded Python load generator)
	$(call apt-optional,valgrind,valgrind,no instruction counts)
	@command -v npm >/dev/null 2>&1 || { echo "npm is needed to fetch the libraries we compare with: apt-get install nodejs npm"; exit 2; }

.PHONY: faults
faults: venv ## receipts under faults with load (gunicorn, PostgreSQL killed mid-load, ...): writes its section of BENCHMARKS.md
	CONSENT_FAULTS=1 $(BIN)/pytest -q tests/test_receipt_faults_load.py
	$(BIN)/python -m bench.faults

bench: bench-deps ## one run on this machine: prints one table and rewrites BENCHMARKS.md
	$(BIN)/python -m bench.run

assets: venv ## rebuild the minified JS/CSS (terser from npm, rcssmin from PyPI)
	$(BIN)/python -m pip install --quiet rcssmin
	$(BIN)/python tools/build_assets.py
