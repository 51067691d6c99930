# oms developer tasks. Needs only python3 and make; uv is bootstrapped into .tools/ if missing.
#
#   make test [PYTEST_ARGS="-k foo"]   tests against throwaway PostgreSQL + Redis
#   make run                           migrate var/ database and serve
#   make demo                          the demo brand + channel emulators, connected (Ctrl-C stops)
#   make lint | fmt | bench | env

SHELL := /bin/bash
.DEFAULT_GOAL := help

ROOT := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))

UV_VERSION := 0.13.9
TOOLS_UV := $(ROOT)/.tools/bin/uv
# uv from PATH, else a private copy in .tools/ (override with `make UV=/path/to/uv`).
ifndef UV
  UV := $(shell command -v uv 2>/dev/null)
  ifeq ($(UV),)
    UV := $(TOOLS_UV)
  endif
endif
UV_DEP := $(filter $(TOOLS_UV),$(UV))

# Always run from the committed lock file.
RUN := $(UV) run --frozen
TESTENV := scripts/testenv.sh
PYTEST_ARGS ?=
# Test processes (pytest-xdist): one per core; `make test XDIST=` runs in one process.
XDIST ?= -n auto

.PHONY: help env run demo test test-long bench lint fmt

help:
	@echo "targets: env run demo test test-long bench lint fmt   (make test PYTEST_ARGS='-k foo')"

$(TOOLS_UV):
	@echo "bootstrapping uv $(UV_VERSION) into .tools/"
	@python3 -m venv "$(ROOT)/.tools" || { rm -rf "$(ROOT)/.tools"; \
	  echo "python3 -m venv failed (on Debian: apt-get install python3-venv)" >&2; exit 1; }
	@"$(ROOT)/.tools/bin/pip" install -q --disable-pip-version-check "uv==$(UV_VERSION)"

env: $(UV_DEP)
	@cd "$(ROOT)" && $(UV) sync --frozen

run: env
	cd "$(ROOT)" && mkdir -p var && $(RUN) oms db upgrade && exec $(RUN) oms serve

# oms (embedded: SQLite in var/demo/, no Redis) with the demo brand and the three channel
# emulators connected; a receipt reaches "Amazon" and orders come in. Ctrl-C stops it all.
demo: env
	@cd "$(ROOT)" && exec $(RUN) oms demo run

# One shell: the servers are stopped on any exit (including Ctrl-C); pytest's status is kept.
test: env
	@cd "$(ROOT)" && \
	trap '$(TESTENV) stop .testenv' EXIT; trap 'exit 130' INT; trap 'exit 143' TERM; \
	$(TESTENV) start .testenv || exit 1; \
	. .testenv/env; \
	rc=0; $(RUN) pytest $(XDIST) $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests; failing" >&2; rc=1; fi; \
	exit $$rc

# The scheduled long run: the same suite with ten times the hypothesis examples.
test-long:
	@$(MAKE) --no-print-directory test OMS_HYPOTHESIS_PROFILE=long

bench: env
	@cd "$(ROOT)" && \
	trap '$(TESTENV) stop .benchenv' EXIT; trap 'exit 130' INT; trap 'exit 143' TERM; \
	OMS_TESTENV_DURABLE=1 $(TESTENV) start .benchenv || exit 1; \
	. .benchenv/env; \
	$(RUN) python -m bench

lint: env
	cd "$(ROOT)" && $(RUN) ruff format --check . && $(RUN) ruff check . && \
	  $(RUN) mypy oms tests && $(RUN) lint-imports

fmt: env
	cd "$(ROOT)" && $(RUN) ruff format . && $(RUN) ruff check --fix .
