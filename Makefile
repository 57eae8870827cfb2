# Two commands from a fresh clone: `make run` and `make test`.
# Each creates .venv itself and installs what it needs from pyproject.toml.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

.PHONY: run test test-postgres bench lint install chromium clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(PY)
	$(PIP) install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(PY)
	$(PIP) install -q -e '.[test]'
	touch $@ $(VENV)/.installed-run

install: $(VENV)/.installed-run

# Browser tests drive Debian's Chromium; Playwright cannot download its own here.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests..."; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

run: $(VENV)/.installed-run
	@PY=$(PY) bash scripts/run.sh

test: $(VENV)/.installed-test chromium
	$(PY) -m pytest $(PYTEST_ARGS)

# The same suite on PostgreSQL (the scale-out backend). Needs a server; by default the
# local one with trust auth: TEST_DATABASE_URL=postgres://user@host:5432/db to change it.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test
test-postgres: $(VENV)/.installed-test chromium
	DATABASE_URL=$(TEST_DATABASE_URL) $(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check .

bench: $(VENV)/.installed-test
	$(PY) -m pytest benchmarks -q -p no:cacheprovider $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-wal db.sqlite3-shm
