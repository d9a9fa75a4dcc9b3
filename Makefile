# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: venv demo test lint unit clean

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

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
