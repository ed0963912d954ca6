# Two commands on a fresh clone: `make run` and `make test`. Both build .venv first when needed, from uv.lock.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# uv installs exactly what uv.lock holds, every file's hash checked. It lives beside the project (.uv/), not in the
# venv it manages, and never downloads a Python: the machine's 3.11 makes the venv.
UV_VERSION := 0.13.9
UV_BIN := .uv/bin/uv
UV := UV_PROJECT_ENVIRONMENT=$(VENV) UV_PYTHON_DOWNLOADS=never $(UV_BIN)
EXTRAS := --extra dev --extra browser

.PHONY: run test lint venv clean bench lock

$(UV_BIN):
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --target .uv 'uv==$(UV_VERSION)'

$(BIN)/.installed: pyproject.toml uv.lock $(UV_BIN)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(UV) sync --locked --quiet --python $(BIN)/python $(EXTRAS)
	touch $@

venv: $(BIN)/.installed

run: venv
	$(BIN)/ocop-bot run

test: venv
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest -q

# Every benchmark in bench/, each in its own process; rewrites docs/benchmarks.md (about 40 minutes).
bench: venv
	$(UV) sync --locked --quiet --python $(BIN)/python $(EXTRAS) --extra bench
	$(BIN)/python -m bench.run
	rm -f $(BIN)/.installed  # the next make test or run puts the venv back to exactly its extras

# New releases within pyproject.toml's ranges: rewrite uv.lock, then run make test before committing it.
lock: $(UV_BIN)
	$(UV) lock --upgrade

lint: venv
	$(BIN)/ruff check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .uv .pytest_cache
