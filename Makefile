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

# Only the directories that exist are linted; runbooks/src holds the cells of the runbooks.
LINT_DIRS = $(wildcard mdstools tests benchmarks runbooks/src)

# The exact versions of every dependency (`make constraints` writes it, `make venv` installs it).
LOCK = constraints.txt
# The wheels a host without internet installs from (`make wheelhouse`).
WHEELHOUSE = wheelhouse

# Extra options of `make jupyter`, e.g. JUPYTER_ARGS="--scenario verifier-warnings --port 8890"
JUPYTER_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help venv sysdeps lint test test-matrix demo jupyter clean constraints wheelhouse offline-check

help:  ## list the targets
	@echo "mdstools make targets:"
	@echo "  make test      set up (Debian packages, .venv), lint, then run the test suite"
	@echo "  make test-matrix   every lab scenario campaign on both topologies (make test runs a subset)"
	@echo "  make demo      set up .venv, then lab up, the whole upgrade campaign, verify, lab down"
	@echo "  make jupyter   the lab, then JupyterLab on the ticket's copies of the runbooks; Ctrl-C stops both"
	@echo "  make lint      ruff check, ruff format --check, mypy"
	@echo "  make venv      create .venv and install mdstools[dev] (editable) and its kernel"
	@echo "  make sysdeps   install OpenSSH and Chromium (browser tests) with apt-get if missing"
	@echo "  make clean     remove .venv, build artifacts and caches (keeps reports/)"
	@echo "  make constraints    lock the newest versions pyproject.toml allows into $(LOCK)"
	@echo "  make wheelhouse     wheels of mdstools and its runtime dependencies, at the locked versions"
	@echo "  make offline-check  install from the wheelhouse alone in a fresh venv, and run mdstools"
	@echo "Variables: PY=$(PY) (the Python that creates .venv), JUPYTER_ARGS (mdstools jupyter -h)"

venv: $(STAMP)

# The virtual environment, rebuilt when pyproject.toml or the lock changes. The lock is for the
# Python its header names; another Python installs the newest versions pyproject.toml allows.
$(STAMP): pyproject.toml $(LOCK)
	@if [ ! -x $(BIN)/python ] && ! $(PY) -c 'import ensurepip, venv' >/dev/null 2>&1; then \
		echo "$(PY) cannot create a venv (no ensurepip): installing python3-venv with apt-get"; \
		$(APT_GET) update -qq && $(APT_INSTALL) python3-venv; \
	fi
	[ -x $(BIN)/python ] || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@lock_py=$$(sed -n 's/^# Locked for Python \([0-9][0-9.]*\).*/\1/p' $(LOCK)); \
	venv_py=$$($(BIN)/python -c 'import sys; print("%d.%d" % sys.version_info[:2])'); \
	if [ "$$lock_py" = "$$venv_py" ]; then lock="-c $(LOCK)"; else lock=""; \
		echo "$(LOCK) is locked for Python $$lock_py, .venv has $$venv_py:" \
			"installing the newest versions pyproject.toml allows (make constraints locks them)"; \
	fi; \
	echo "$(BIN)/python -m pip install --quiet -e '.[dev]' $$lock"; \
	$(BIN)/python -m pip install --quiet -e '.[dev]' $$lock
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
	$(BIN)/mypy runbooks/src

# Two workers that take two tests at a time as they finish; tests/conftest.py puts the long
# ones first, so that neither worker is left running the last campaigns alone.
test: sysdeps $(STAMP) lint
	$(BIN)/pytest -n 2 --maxschedchunk 2 --durations=25 -m "not matrix" tests

# Every lab scenario on both topologies (make test runs only the healthy one on the second:
# see tests/reliability/test_scenarios.py).
test-matrix: sysdeps $(STAMP)
	$(BIN)/pytest -n 2 --maxschedchunk 2 --durations=25 tests/reliability/test_scenarios.py

demo: $(STAMP)
	$(BIN)/mdstools demo

# mdstools jupyter: the lab in lab-data/ (reused when running), JupyterLab on the ticket's
# working copies of the runbooks (reports/<ticket>/.work/) with the inventory filled in,
# token-protected on 127.0.0.1; ended runs are sealed into the record; Ctrl-C stops both.
jupyter: $(STAMP)
	$(BIN)/mdstools jupyter $(JUPYTER_ARGS)

# The lock: a fresh venv in a temporary directory, the newest versions pyproject.toml allows,
# `pip freeze` without mdstools, sorted. $(LOCK) is replaced only when all of it worked.
constraints:
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(PY) -m venv "$$tmp/venv"; \
	"$$tmp/venv/bin/python" -m pip install --quiet --upgrade pip; \
	"$$tmp/venv/bin/python" -m pip install --quiet -e '.[dev]'; \
	"$$tmp/venv/bin/python" -m pip freeze --exclude-editable | grep -iv '^mdstools[=@ ]' \
		| LC_ALL=C sort -f -t = -k 1,1 > "$$tmp/pins"; \
	if grep -Ev '^[A-Za-z0-9][A-Za-z0-9._-]*==[0-9][0-9A-Za-z.!]*$$' "$$tmp/pins"; then \
		echo "make constraints: the lines above are not plain pins from an index (a local" \
			"path, a URL or a local version): install those packages from an index"; exit 1; \
	fi; \
	py=$$("$$tmp/venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])'); \
	{ echo "# The exact versions of mdstools[dev] and of everything it pulls in: make venv (and so"; \
	  echo "# make test and CI) installs with -c $(LOCK), make wheelhouse builds from it."; \
	  echo "# Written by make constraints: a fresh venv, pip install -e '.[dev]', pip freeze"; \
	  echo "# --exclude-editable without mdstools, sorted. Regenerate it after changing a dependency"; \
	  echo "# in pyproject.toml; do not edit it by hand."; \
	  echo "# Locked for Python $$py"; \
	  cat "$$tmp/pins"; } > "$$tmp/lock"; \
	mv "$$tmp/lock" $(LOCK); \
	echo "$(LOCK): $$(wc -l < "$$tmp/pins") packages locked for Python $$py"

# Wheels of mdstools and of every runtime dependency (not [dev]) at the locked versions, for this
# OS and Python, in a new $(WHEELHOUSE)/ that holds nothing else.
wheelhouse: $(STAMP)
	rm -rf $(WHEELHOUSE)
	$(BIN)/python -m pip wheel --quiet --wheel-dir $(WHEELHOUSE) -c $(LOCK) .
	@echo "$(WHEELHOUSE)/: $$(ls $(WHEELHOUSE) | wc -l) wheels"

# What a host without internet does with the wheelhouse: a fresh venv in a temporary directory,
# pip with no index and none of this machine's pip configuration, then the command line and the
# kernel; every package installed must be at its locked version.
offline-check: wheelhouse
	@set -e; tmp=$$(mktemp -d); \
	trap 'rc=$$?; rm -rf "$$tmp"; [ $$rc = 0 ] || echo "offline-check FAILED (exit $$rc): see above" >&2' EXIT; \
	$(PY) -m venv "$$tmp/venv"; \
	env -u PIP_FIND_LINKS -u PIP_INDEX_URL -u PIP_EXTRA_INDEX_URL -u PIP_CONSTRAINT \
		PIP_CONFIG_FILE=/dev/null "$$tmp/venv/bin/python" -m pip install --quiet \
		--no-index --find-links $(WHEELHOUSE) mdstools; \
	"$$tmp/venv/bin/mdstools" --version; \
	"$$tmp/venv/bin/mdstools" plan -h > "$$tmp/plan-help"; \
	"$$tmp/venv/bin/python" -m ipykernel install --sys-prefix --name mdstools > /dev/null; \
	norm='!/^#/ { n = tolower($$1); gsub(/[-_.]+/, "-", n); print n "==" $$2 }'; \
	awk -F'==' "$$norm" $(LOCK) > "$$tmp/locked"; \
	PIP_CONFIG_FILE=/dev/null "$$tmp/venv/bin/python" -m pip freeze | awk -F'==' "$$norm" \
		| grep -v '^mdstools==' > "$$tmp/installed"; \
	if grep -vxF -f "$$tmp/locked" "$$tmp/installed"; then \
		echo "offline-check: the packages above are not at their locked versions" >&2; exit 1; \
	fi; \
	echo "offline-check: OK, $$(wc -l < "$$tmp/installed") packages from $(WHEELHOUSE)/ alone"

clean:
	rm -rf $(VENV) build dist *.egg-info .mypy_cache .ruff_cache .pytest_cache
	find . -path ./$(VENV) -prune -o \
		\( -name __pycache__ -o -name .ipynb_checkpoints \) -type d -prune -exec rm -rf {} +
