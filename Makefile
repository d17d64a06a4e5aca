# Cherish: the two commands a newcomer needs are `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo serve test lint bench faults faults-short faults-ci constraints messages clean

# constraints.txt holds the versions CI passed with: install exactly those.
$(BIN)/cherish: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(BIN)/cherish

## Create the virtual environment, load demo data and serve at http://127.0.0.1:8000
demo: $(BIN)/cherish
	$(BIN)/cherish demo
	$(BIN)/cherish serve

serve: $(BIN)/cherish
	$(BIN)/cherish serve

## Run the whole test suite (SQLite, then PostgreSQL when it answers), lint included
test: $(BIN)/cherish
	bash scripts/test.sh

lint: $(BIN)/cherish
	$(BIN)/ruff check src tests bench faults
	bash scripts/mypy.sh

## Quick benchmarks (see bench/README.md for the large ones: 1M cases, 50k-customer radar)
bench: $(BIN)/cherish
	taskset -c 0 $(BIN)/python bench/bench_triage.py
	$(BIN)/python bench/bench_intake.py --paths direct,concurrent --n 300 --runs 3

## The fault suite against real `cherish serve` processes; figures into docs/reliability.md
faults: $(BIN)/cherish
	$(BIN)/python -m faults --write docs/reliability.md

## The short fault suite: R1, R2, R3 at 1,000 complaints
faults-short: $(BIN)/cherish
	$(BIN)/python -m faults --short

## The smallest fault runs that still kill real processes: R1, R2, R3 at 150, side by side
faults-ci: $(BIN)/cherish
	$(BIN)/python -m faults --ci

## Compile the translation catalogues (pure Python, no GNU gettext) and list missing texts
messages: $(BIN)/cherish
	$(BIN)/cherish messages compile
	$(BIN)/cherish messages check

## Rewrite constraints.txt from the working virtual environment (after adding a dependency)
constraints: $(BIN)/cherish
	{ sed -n '/^# /p' constraints.txt; $(BIN)/pip freeze --exclude-editable | grep -v '^cherish=='; } \
		> constraints.txt.new && mv constraints.txt.new constraints.txt

clean:
	rm -rf $(VENV) var
