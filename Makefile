# Two commands on a fresh clone: `make run` and `make test`. Both build .venv first when needed.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint venv clean bench

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

venv: $(BIN)/.installed

run: venv
	$(BIN)/ocop-bot run

test: venv
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest -q

# Every benchmark in bench/, each in its own process; rewrites docs/benchmarks.md (about 15 minutes).
bench: venv
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m bench.run

lint: venv
	$(BIN)/ruff check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache
