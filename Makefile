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

# JupyterLab refuses to start as root without this flag.
JUPYTER_ROOT_FLAG := $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)

.DEFAULT_GOAL := help
.PHONY: help venv sysdeps lint test demo jupyter clean

help:  ## list the targets
	@echo "mdstools make targets:"
	@echo "  make test      set up (Debian packages, .venv), lint, then run the test suite"
	@echo "  make demo      set up .venv, then lab up, the whole upgrade campaign, verify, lab down"
	@echo "  make jupyter   JupyterLab on runbooks/, bound to 127.0.0.1"
	@echo "  make lint      ruff check, ruff format --check, mypy"
	@echo "  make venv      create .venv and install mdstools[dev] (editable) and its kernel"
	@echo "  make sysdeps   install openssh-client/openssh-server with apt-get if missing"
	@echo "  make clean     remove .venv, build artifacts and caches (keeps reports/)"
	@echo "Variables: PY=$(PY) (the Python that creates .venv)"

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

# Debian OpenSSH, for the tests marked `openssh`. Quiet and does nothing when present.
sysdeps:
	@if ! command -v ssh >/dev/null 2>&1 || [ ! -x /usr/sbin/sshd ]; then \
		echo "Installing openssh-client openssh-server with apt-get"; \
		$(APT_GET) update -qq && $(APT_INSTALL) openssh-client openssh-server; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check $(LINT_DIRS)
	$(BIN)/ruff format --check $(LINT_DIRS)
	$(BIN)/mypy mdstools

test: sysdeps $(STAMP) lint
	$(BIN)/pytest -n 2 tests

demo: $(STAMP)
	$(BIN)/mdstools demo

jupyter: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=runbooks --ip=127.0.0.1 $(JUPYTER_ROOT_FLAG)

clean:
	rm -rf $(VENV) build dist *.egg-info .mypy_cache .ruff_cache .pytest_cache
	find . -path ./$(VENV) -prune -o \
		\( -name __pycache__ -o -name .ipynb_checkpoints \) -type d -prune -exec rm -rf {} +
