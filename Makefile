# Two commands from a fresh clone: `make run` and `make test`.
# Each creates .venv itself and installs what it needs from pyproject.toml.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

.PHONY: run test test-postgres bench bench-suite faults lint install chromium axe clean

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

# axe-core, for the accessibility browser tests only: from npm into tests/vendor/ (git-ignored,
# never served by the site). Debian's npm is installed first when it is missing.
AXE_VERSION := 4.10.3
AXE := tests/vendor/axe-core-$(AXE_VERSION).min.js
axe: $(AXE)
$(AXE):
	@command -v npm >/dev/null 2>&1 || { \
	  echo "Installing Debian's npm to fetch axe-core for the browser tests..."; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq npm >/dev/null; }
	@mkdir -p tests/vendor
	cd tests/vendor && npm pack --silent axe-core@$(AXE_VERSION) >/dev/null \
	  && tar -xzf axe-core-$(AXE_VERSION).tgz package/axe.min.js \
	  && mv package/axe.min.js axe-core-$(AXE_VERSION).min.js && rm -rf package axe-core-$(AXE_VERSION).tgz

run: $(VENV)/.installed-run
	@PY=$(PY) bash scripts/run.sh

test: $(VENV)/.installed-test chromium $(AXE)
	$(PY) -m pytest $(PYTEST_ARGS)

# The same suite on the scale-out backends: PostgreSQL with django-q2's Redis broker, real
# qcluster workers included. Needs both servers; by default the local ones (PostgreSQL with
# trust auth). TEST_DATABASE_URL=postgres://user@host:5432/db and TEST_REDIS_URL=redis://host:port/N
# change them; TEST_DATABASE_NAME names the test database (default: Django's test_<db>).
# Two runs at once need different ones: .ci/run picks a fresh pair for every run.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
test-postgres: $(VENV)/.installed-test chromium
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(PY) -m pytest $(PYTEST_ARGS)

# ruff, then the layers of docs/design.md as import-linter contracts (pyproject.toml).
lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

# What a deployment runs (gunicorn, qcluster, a 50 ms receiver on loopback), measured in one run
# and printed as one table: docs/performance.md. Sizes and rates: BENCH_ARGS (see --help).
bench: $(VENV)/.installed-test
	$(PY) -m benchmarks.deployment $(BENCH_ARGS)

# The in-process benchmarks (history pages, export memory, the outage), each with its own target.
bench-suite: $(VENV)/.installed-test
	$(PY) -m pytest benchmarks -q -p no:cacheprovider $(PYTEST_ARGS)

# The fault suite (docs/reliability.md): on SQLite, then on a PostgreSQL and a Redis of its own,
# with real gunicorn, qcluster workers and the sandbox. Full size by default (about half an hour);
# FAULTS_SIZE=ci is the scaled-down run of .ci/run. Restarting PostgreSQL needs initdb (as root it
# runs it as the postgres user); the network-namespace scenario needs root and `ip`, else it is skipped.
FAULTS_SIZE ?= full
faults: $(VENV)/.installed-test
	FAULTS_SIZE=$(FAULTS_SIZE) PY=$(PY) bash scripts/faults.sh $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-wal db.sqlite3-shm
