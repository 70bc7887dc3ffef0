# ashiguard: one command for developers and CI alike.
VENV    ?= .venv
PYTHON  ?= python3
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
# pytest workers for `make test` (pytest-xdist; 0 runs the suite in one process)
WORKERS ?= 2

.PHONY: run test lint bench install system-deps clean demo

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

system-deps:
	bash scripts/install-system-deps.sh

## run: install into .venv and start the main job (see README)
run: $(STAMP)
	$(BIN)/ashiguard serve --demo --data-dir data

## test: everything the tests need (system packages included), lint, types, the whole suite
test: $(STAMP) system-deps lint
	$(BIN)/pytest -n $(WORKERS) --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy src/ashiguard/domain

bench: $(STAMP)
	$(BIN)/ashiguard bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage build src/*.egg-info
