# mdstools: set-up, checks and demo.  `make help` lists the targets.
# On a fresh Debian 12 machine `make test` and `make demo` do all the set-up themselves.

PY ?= python3
VENV = .venv
BIN = $(VENV)/bin
STAMP = $(VENV)/.installed

# apt-get through sudo only when not root; never prompts.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_GET = $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get
APT_INSTALL = $(APT_GET) install -y -qq --no-install-recommends -o Dpkg::Use-Pty=0

# Only the directories that exist are linted.
LINT_DIRS = $(wildcard mdstools tests benchmarks)

# Extra options of `make jupyter`, e.g. JUPYTER_ARGS="--scenario verifier-warnings --port 8890"
JUPYTER_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help venv sysdeps lint test demo jupyter clean

help:  ## list the targets
	@echo "mdstools make targets:"
	@echo "  make test      set up (Debian packages, .venv), lint, then run the test suite"
	@echo "  make demo      set up .venv, then lab up, the whole upgrade campaign, verify, lab down"
	@echo "  make jupyter   the lab, then JupyterLab on the ticket's copies of the runbooks; Ctrl-C stops both"
	@echo "  make lint      ruff check, ruff format --check, mypy"
	@echo "  make venv      create .venv and install mdstools[dev] (editable) and its kernel"
	@echo "  make sysdeps   install OpenSSH and Chromium (browser tests) with apt-get if missing"
	@echo "  make clean     remove .venv, build artifacts and caches (keeps reports/)"
	@echo "Variables: PY=$(PY) (the Python that creates .venv), JUPYTER_ARGS (mdstools jupyter -h)"

venv: $(STAMP)

# The virtual environment, rebuilt when pyproject.toml changes.
$(STAMP): pyproject.toml
	@if [ ! -x $(BIN)/python ] && ! $(PY) -c 'import ensurepip, venv' >/dev/null 2>&1; then \
		echo "$(PY) cannot create a venv (no ensurepip): installing python3-venv with apt-get"; \
		$(APT_GET) update -qq && $(APT_INSTALL) python3-venv; \
	fi
	[ -x $(BIN)/python ] || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name mdstools --display-name "mdstools (.venv)"
	touch $@

# Debian OpenSSH, for the tests marked `openssh`, and Debian Chromium, for the tests marked
# `browser` (Playwright drives /usr/bin/chromium; `playwright install` is never used).
# Quiet and does nothing when present.
sysdeps:
	@pkgs=""; \
	if ! command -v ssh >/dev/null 2>&1 || [ ! -x /usr/sbin/sshd ]; then \
		pkgs=" openssh-client openssh-server"; \
	fi; \
	if [ ! -x /usr/bin/chromium ]; then pkgs="$$pkgs chromium"; fi; \
	if [ -n "$$pkgs" ]; then \
		echo "Installing with apt-get:$$pkgs"; \
		$(APT_GET) update -qq && $(APT_INSTALL) $$pkgs; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check $(LINT_DIRS)
	$(BIN)/ruff format --check $(LINT_DIRS)
	$(BIN)/mypy mdstools

# Two workers that take two tests at a time as they finish; tests/conftest.py puts the long
# ones first, so that neither worker is left running the last campaigns alone.
test: sysdeps $(STAMP) lint
	$(BIN)/pytest -n 2 --maxschedchunk 2 --durations=25 tests

demo: $(STAMP)
	$(BIN)/mdstools demo

# mdstools jupyter: the lab in lab-data/ (reused when running), JupyterLab on the ticket's
# working copies of the runbooks (reports/<ticket>/.work/) with the inventory filled in,
# token-protected on 127.0.0.1; ended runs are sealed into the record; Ctrl-C stops both.
jupyter: $(STAMP)
	$(BIN)/mdstools jupyter $(JUPYTER_ARGS)

clean:
	rm -rf $(VENV) build dist *.egg-info .mypy_cache .ruff_cache .pytest_cache
	find . -path ./$(VENV) -prune -o \
		\( -name __pycache__ -o -name .ipynb_checkpoints \) -type d -prune -exec rm -rf {} +
