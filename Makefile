# The two commands: `make run` and `make test`. Everything they need is installed here.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# The browser tests drive Debian's Chromium: Playwright's own browser download needs the
# internet. Installed once from the machine's package mirror (as root, or with sudo).
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# make run's monitoring, as make test checks it: written here from deploy/prometheus and
# deploy/alertmanager with the default settings.
MONITORING_CONFIG := test-artefacts/monitoring
# Installed below when missing. Defined before the rules that need them: make expands a
# rule's prerequisites as it reads the rule.
MONITORING_PACKAGES := prometheus prometheus-alertmanager prometheus-blackbox-exporter
MONITORING := $(addprefix /usr/bin/,$(MONITORING_PACKAGES))
# Debian's docker-compose validates docker-compose.yml in make test (no engine needed).
DOCKER_COMPOSE := /usr/bin/docker-compose

.PHONY: run test lint format bench soak clean pango

run: $(INSTALLED) node_modules/.installed pango $(MONITORING)
	$(BIN)/familyties run

test: $(INSTALLED) node_modules/.installed $(CHROMIUM) pango $(MONITORING) $(DOCKER_COMPOSE)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/familyties asyncapi --check
	$(BIN)/familyties deploy kafka-acls --check
	$(BIN)/python deploy/grafana/generate.py --check
	$(BIN)/python -m services.monitoring $(MONITORING_CONFIG)
	promtool check config $(MONITORING_CONFIG)/prometheus.yml
	promtool check rules deploy/prometheus/rules/*.yml
	promtool test rules deploy/prometheus/tests/*.yml
	amtool check-config $(MONITORING_CONFIG)/alertmanager.yml
	prometheus-blackbox-exporter --config.check --log.level=warn \
		--config.file=$(MONITORING_CONFIG)/blackbox.yml
	$(BIN)/pytest --numprocesses=2 --dist=loadfile --durations=30

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

# Prometheus (with promtool), Alertmanager (with amtool) and the blackbox exporter, for
# make run's monitoring and make test's checks of it: from the package mirror, as Chromium
# is. Where systemd runs, the packages also start system-wide copies listening on every
# interface, on the ports make run's own use: those are stopped and disabled again.
$(MONITORING) &:
	$(SUDO) apt-get install -y --no-install-recommends $(MONITORING_PACKAGES) \
		|| ($(SUDO) apt-get update \
			&& $(SUDO) apt-get install -y --no-install-recommends $(MONITORING_PACKAGES))
	[ ! -d /run/systemd/system ] || $(SUDO) systemctl disable --now $(MONITORING_PACKAGES)

$(DOCKER_COMPOSE):
	$(SUDO) apt-get install -y --no-install-recommends docker-compose \
		|| ($(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends docker-compose)

clean:
	rm -rf $(VENV) node_modules var .pytest_cache test-artefacts
