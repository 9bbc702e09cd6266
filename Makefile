# The two promises: `make run` serves the demo on embedded defaults; `make test` passes.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 5000
export PORT

.PHONY: run test install services lint bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

run: install
	$(VENV)/bin/citypair demo
	$(VENV)/bin/citypair run --port $(PORT)

# Starts PostgreSQL and Redis when they are installed but down; the suite needs both.
services:
	@bash scripts/ensure-services.sh

test: install services
	$(VENV)/bin/citypair workflow check
	$(VENV)/bin/pytest -q -p no:cacheprovider

lint: install
	$(VENV)/bin/ruff check .

bench: install services
	$(PY) -m bench $(BENCH)

clean:
	rm -rf $(VENV) instance .pytest_cache
