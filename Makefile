# loranet: one-command setup, test and demo.
#
#   make demo    set up what is missing, then run the local loop on anvil
#   make test    set up what is missing, then run every test   (make test ARGS=tests/trainer)
#   make lint    ruff over the Python code
#   make setup   only the set-up: .venv, Python packages, npm packages, the solc shim
#
# Set-up is idempotent: each step leaves a stamp and reruns only when its inputs change.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

ROOT    := $(CURDIR)
VENV    := $(ROOT)/.venv
BIN     := $(VENV)/bin
STAMPS  := $(ROOT)/.cache/stamps
PYTHON  ?= $(shell command -v python3.11 || command -v python3)
NETWORK ?= ethereum:local:foundry
ARGS    ?= tests

# Everything below runs with the venv's tools, node_modules/.bin (anvil, solcjs) and the solc
# shim that py-solc-x (ape-solidity) finds through SOLCX_BINARY_PATH.
export PATH := $(ROOT)/node_modules/.bin:$(BIN):$(PATH)
export SOLCX_BINARY_PATH := $(ROOT)/.cache/solcx
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help setup test demo lint audit compile clean distclean

help:
	@sed -n '2,9p' Makefile | sed 's/^# \{0,1\}//'

setup: $(STAMPS)/python $(STAMPS)/npm $(STAMPS)/solc $(STAMPS)/chromium $(STAMPS)/web
	@echo "setup: ready (python $$($(BIN)/python -c 'import platform; print(platform.python_version())'), node $$(node --version), solc shim $$(ls $(SOLCX_BINARY_PATH)))"

$(STAMPS)/python: pyproject.toml constraints.txt
	@mkdir -p $(STAMPS)
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "loranet needs Python 3.11; set PYTHON=/path/to/python3.11")'
	@test -x $(BIN)/python || { echo "setup: creating .venv with $(PYTHON)"; $(PYTHON) -m venv $(VENV); }
	@echo "setup: installing Python packages (pinned by constraints.txt)"
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $@

$(STAMPS)/npm: package.json package-lock.json
	@mkdir -p $(STAMPS)
	@command -v npm >/dev/null || { echo "setup: npm not found; install Node.js 20+" >&2; exit 1; }
	@echo "setup: installing npm packages (solc-js, anvil, OpenZeppelin)"
	npm ci --no-audit --no-fund --loglevel=error
	@# OpenZeppelin's npm package ships ~260 build/*.json artifacts we never use. Ape copies the
	@# package into contracts/.cache and lists at most 500 files of the contracts folder, so
	@# those JSON files would crowd our own sources out of the list: drop them.
	rm -rf node_modules/@openzeppelin/contracts/build
	@touch $@

$(STAMPS)/solc: tools/solc/install.sh tools/solc/solc-shim.sh tools/solc/solc-shim.js $(STAMPS)/npm
	@bash tools/solc/install.sh
	@touch $@

# Headless Chromium for the gateway's chat-page screenshot test (Debian's package). Installed
# only when missing and apt is usable as root; otherwise a note, and that test skips.
# (phony-like: no prerequisites; it reruns only while the stamp is missing)
$(STAMPS)/chromium:
	@mkdir -p $(STAMPS)
	@if [ -x /usr/bin/chromium ]; then \
	  echo "setup: chromium present"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "setup: installing chromium (apt-get)"; \
	  apt-get install -y -qq chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } \
	    || echo "setup: note: chromium could not be installed; the chat-page screenshot test will skip"; \
	else \
	  echo "setup: note: /usr/bin/chromium missing and apt-get unusable (not root); the chat-page screenshot test will skip"; \
	fi
	@# stamped only once chromium is there, so a failed install is retried by the next setup
	@if [ -x /usr/bin/chromium ]; then touch $@; fi

# The dashboard's front end (`loranet web`): its own npm project in web/ (vite, viem;
# playwright-core and axe-core for the browser test), built into offchain/web/static, which
# the Python package ships. Rebuilt when its sources or lockfile change; offline from npm.
WEB_SOURCES := $(wildcard web/src/*) web/index.html web/vite.config.js web/package.json web/package-lock.json
$(STAMPS)/web: $(WEB_SOURCES)
	@mkdir -p $(STAMPS)
	@command -v npm >/dev/null || { echo "setup: npm not found; install Node.js 20+" >&2; exit 1; }
	@echo "setup: building the dashboard's front end (web/ -> offchain/web/static)"
	cd web && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent
	@test -f offchain/web/static/index.html
	@touch $@

compile: setup
	ape compile

test: setup
	ape test $(ARGS) --network $(NETWORK)

demo: setup
	$(BIN)/python -m offchain.demo $(DEMO_ARGS)

lint: setup
	ruff check .
	ruff format --check .

# Slither over every contract (tools/slither/All.sol imports them), offline through the solc
# shim in standard-JSON mode; fails on any high or medium finding not triaged beside the code
# (`// slither-disable-next-line <detector>` with the reason above it).
audit: setup
	slither tools/slither --solc $(SOLCX_BINARY_PATH)/solc-v0.8.37 --solc-standard-json \
	  --solc-remaps "@openzeppelin/contracts=node_modules/@openzeppelin/contracts" \
	  --filter-paths node_modules --exclude-informational --exclude-low --exclude-optimization \
	  --fail-medium

clean:
	rm -rf .build contracts/.cache .pytest_cache .ruff_cache demo-output

distclean: clean
	rm -rf .venv node_modules .cache web/node_modules offchain/web/static
