# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: venv demo test lint unit fuzz clean translations-extract translations-update translations-init translations-check

$(BIN)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed: run make PYTHON=python3.11 ...")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $@

venv: $(BIN)/.installed

demo: venv ## serve the example news site on http://$(HOST):$(PORT)
	$(BIN)/flask --app examples.news run --host $(HOST) --port $(PORT)

lint: venv ## ruff (lint + format) and mypy --strict
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

unit: venv ## the test suite alone
	$(BIN)/pytest

test: lint unit ## everything CI runs

translations-extract: venv ## rewrite translations/consent.pot from the code
	$(BIN)/python -m consent translations extract

translations-update: venv ## merge consent.pot into every catalog
	$(BIN)/python -m consent translations update

translations-init: venv ## start a new language: make translations-init LOCALE=eo
	@test -n "$(LOCALE)" || { echo "usage: make translations-init LOCALE=xx"; exit 2; }
	$(BIN)/python -m consent translations init $(LOCALE)

translations-check: venv ## fail on missing, fuzzy or broken translations
	$(BIN)/python -m consent translations check

fuzz: venv ## the long property-test profile: 3 x 34,000 hostile inputs (about 20 min)
	HYPOTHESIS_PROFILE=fuzz $(BIN)/pytest -q tests/test_fuzz.py --hypothesis-show-statistics

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
