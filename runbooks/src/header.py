"""What a notebook defines before its steps, typed, for ruff and mypy to check the sources.

Every source of ``runbooks/src/`` imports from here in its first lines, which
``tools/make_runbooks.py`` does not copy: when a notebook runs, the header cell defines these
names. Nothing imports this module at run time.
"""

from mdstools.run import Run

run: Run
"""The run of the phase: ``run = mdstools.start(...)`` in the header cell."""
