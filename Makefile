# The two commands: `make run` and `make test`. Everything they need is installed here.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# The browser tests drive Debian's Chromium: Playwright's own browser download needs the
# internet. Installed once from the machine's package mirror (as root, or with sudo).
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test lint format bench soak clean pango

run: $(INSTALLED) node_modules/.installed pango
	$(BIN)/familyties run

test: $(INSTALLED) node_modules/.installed $(CHROMIUM) pango
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/familyties asyncapi --check
	$(BIN)/familyties deploy kafka-acls --check
	$(BIN)/pytest

lint format: $(INSTALLED)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Benchmarks write docs/benchmarks.md (bench.reporting alone takes about 15 minutes, most
# of it loading a view of a million referrals); the soak (about 15 minutes) docs/reliability.md.
bench: $(INSTALLED) node_modules/.installed pango
	$(BIN)/python -m bench.intake
	$(BIN)/python -m bench.retryable_writes
	$(BIN)/python -m bench.capacity
	$(BIN)/python -m bench.event_log_count
	$(BIN)/python -m bench.notifications
	$(BIN)/python -m bench.reporting

soak: $(INSTALLED) node_modules/.installed
	$(BIN)/python -m bench.soak

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

$(CHROMIUM):
	$(SUDO) apt-get install -y --no-install-recommends chromium \
		|| ($(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends chromium)

# WeasyPrint (reporting's PDF) draws with the operating system's Pango: installed from the
# package mirror when missing, as Chromium is.
PANGO_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core
pango:
	@ldconfig -p | grep -q libpangoft2-1.0 \
		|| $(SUDO) apt-get install -y --no-install-recommends $(PANGO_PACKAGES) \
		|| ($(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends $(PANGO_PACKAGES))

clean:
	rm -rf $(VENV) node_modules var .pytest_cache test-artefacts
