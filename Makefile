# email_account: developer and CI entry points (CI runs `make test` through .ci/run).
#
#   make run       demo mail servers + Odoo 18 with the addon on http://localhost:$DEMO_HTTP_PORT (8069)
#   make deps      Debian packages (Dovecot, Postfix, PostgreSQL, Chromium, node/npm if missing) + .venv with
#                  requirements-test.txt + .tools/ with the node programs of tools/node (rtlcss, for Arabic)
#   make test      lint, start the mail servers, pure tier, Odoo tier, stop
#                  (Odoo: ODOO_PATH/ODOO_PYTHON, an importable odoo, else ODOO_SOURCE or
#                  ../shared/odoo/odoo-18.0.tar.gz set up once in .odoo/ by tests/harness/odoo_setup.py)
#   make lint      ruff + pylint-odoo only
#   make bench     benchmarks vs stock Odoo and the protocol floor -> docs/BENCHMARKS.md (QUICK=1: skip
#                  stock's 75 s silent-server run; BENCH_BASE_PORT, default 29000; BENCH_STATE_DIR)
#   make screenshots  retake docs/screenshots/ in a fresh demo database (headless Chromium; SHOTS_HTTP_PORT 8169)
#   make demo-mail     while make run runs: a new message in the demo mailbox (TO, FROM, SUBJECT,
#                      IN_REPLY_TO = a Message-Id to answer, BODY; defaults: alice, a demo sender, ...)
#   make demo-outbox   while make run runs: what the demo was given to send (FULL=1: whole messages)
#   make servers   the harness mail servers in the foreground (Ctrl-C stops them); prints servers.json
#   make clean     stop leftover servers, remove .run/ and caches (distclean: also .venv/ and .odoo/)
#
# Variables: PYTHON (for the venv, default python3), HARNESS_STATE_DIR (default .run/harness),
# DEMO_STATE_DIR (default .run/demo), DEMO_HTTP_PORT / DEMO_BASE_PORT / DEMO_DB (make run: 8069, 24000,
# email_account_demo),
# HARNESS_BASE_PORT (default: the first free of 21000, 21500, ...), ODOO_PATH / ODOO_PYTHON / ODOO_SOURCE.

SHELL := /bin/bash
.DEFAULT_GOAL := test

ROOT := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
PYTHON ?= python3
VENV := $(ROOT)/.venv
VENV_PY := $(VENV)/bin/python
DEPS_STAMP := $(VENV)/.deps-stamp
TOOLS := $(ROOT)/.tools
TOOLS_STAMP := $(TOOLS)/.deps-stamp
HARNESS_STATE_DIR ?= $(ROOT)/.run/harness
HARNESS := $(VENV_PY) $(ROOT)/tests/harness/mailservers.py
DEMO_STATE_DIR ?= $(ROOT)/.run/demo
APT_PACKAGES := dovecot-imapd dovecot-pop3d dovecot-submissiond postfix postgresql chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
APT_INSTALL := $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends

export HARNESS_STATE_DIR DEMO_STATE_DIR

.PHONY: deps system-deps run demo-mail demo-outbox test lint bench screenshots servers stop-servers clean distclean

deps: system-deps $(DEPS_STAMP) $(TOOLS_STAMP)

# apt-get only for what is missing (apt-get update only if the install fails, e.g. on empty lists).
# A Dovecot or Postfix started by its package on the standard ports is stopped: the harness runs its own.
system-deps:
	@missing=""; \
	for pkg in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${db:Status-Status}' $$pkg 2>/dev/null | grep -qx installed || missing="$$missing $$pkg"; \
	done; \
	$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || missing="$$missing python3-venv"; \
	command -v npm >/dev/null || missing="$$missing nodejs npm"; \
	if [ -n "$$missing" ]; then \
	  echo "apt-get install:$$missing"; \
	  $(APT_INSTALL) $$missing </dev/null || { $(SUDO) apt-get update && $(APT_INSTALL) $$missing </dev/null; }; \
	fi
	@pid=$$(cat /run/dovecot/master.pid 2>/dev/null); \
	if [ -n "$$pid" ] && [ -r /proc/$$pid/stat ] && ! grep -q ') Z ' /proc/$$pid/stat; then \
	  echo "stopping the system Dovecot service (pid $$pid)"; \
	  $(SUDO) systemctl stop dovecot.socket dovecot.service 2>/dev/null || \
	  $(SUDO) service dovecot stop 2>/dev/null || $(SUDO) kill $$pid; \
	fi
	@pid=$$(tr -d ' ' 2>/dev/null </var/spool/postfix/pid/master.pid); \
	if [ -n "$$pid" ] && [ -r /proc/$$pid/stat ] && ! grep -q ') Z ' /proc/$$pid/stat; then \
	  echo "stopping the system Postfix service (pid $$pid)"; \
	  $(SUDO) systemctl stop postfix.service 2>/dev/null || \
	  $(SUDO) service postfix stop 2>/dev/null || $(SUDO) kill $$pid; \
	fi

$(DEPS_STAMP): $(ROOT)/requirements.txt $(ROOT)/requirements-test.txt
	@$(VENV_PY) -c 'import sys' 2>/dev/null || { rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); }
	$(VENV_PY) -m pip install --disable-pip-version-check -q -r $(ROOT)/requirements-test.txt
	@touch $@

# Exactly the versions of tools/node/package-lock.json, from the npm registry (npm ci).
$(TOOLS_STAMP): $(ROOT)/tools/node/package.json $(ROOT)/tools/node/package-lock.json
	@mkdir -p $(TOOLS)
	cp $(ROOT)/tools/node/package.json $(ROOT)/tools/node/package-lock.json $(TOOLS)/
	cd $(TOOLS) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

test: deps
	$(ROOT)/tests/harness/run_tests.sh

run: deps
	$(ROOT)/tests/harness/run_demo.sh

# The demo's servers (make run) keep their mailboxes in DEMO_STATE_DIR; these talk to them there.
demo-mail:
	@$(HARNESS) mail --state-dir $(DEMO_STATE_DIR) $(if $(TO),--to "$(TO)") $(if $(FROM),--from "$(FROM)") \
	  $(if $(SUBJECT),--subject "$(SUBJECT)") $(if $(IN_REPLY_TO),--in-reply-to "$(IN_REPLY_TO)") \
	  $(if $(BODY),--body "$(BODY)")

demo-outbox:
	@$(HARNESS) outbox --state-dir $(DEMO_STATE_DIR) $(if $(FULL),--full)

lint: deps
	$(ROOT)/tests/harness/run_tests.sh lint

bench: deps
	$(ROOT)/benchmarks/run.sh $(if $(QUICK),--quick)

screenshots: deps
	$(VENV_PY) $(ROOT)/tools/screenshots.py

servers: deps
	$(HARNESS) run --state-dir $(HARNESS_STATE_DIR)

# mailservers.py needs only the standard library to stop, so this works without the venv too.
stop-servers:
	@$$( [ -x $(VENV_PY) ] && echo $(VENV_PY) || echo $(PYTHON) ) $(ROOT)/tests/harness/mailservers.py \
	  stop --state-dir $(HARNESS_STATE_DIR)

clean: stop-servers
	rm -rf $(ROOT)/.run $(ROOT)/.pytest_cache $(ROOT)/.ruff_cache
	find $(ROOT) -name __pycache__ -type d -not -path '$(VENV)/*' -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) $(ROOT)/.odoo $(TOOLS)
