"""``mdstools.start`` is what a notebook's header cell calls: it shows the real signature and
summary of :func:`mdstools.run.start`, and importing ``mdstools`` stays light."""

from __future__ import annotations

import inspect
import subprocess
import sys

import mdstools
import mdstools.run


def _summary(func: object) -> str:
    return (inspect.getdoc(func) or "").split("\n\n", 1)[0]


def test_start_shows_the_signature_of_run_start() -> None:
    assert inspect.signature(mdstools.start) == inspect.signature(mdstools.run.start)


def test_start_has_the_summary_of_run_start() -> None:
    assert _summary(mdstools.start) == _summary(mdstools.run.start)


def test_import_of_mdstools_loads_no_pandas_or_papermill() -> None:
    code = (
        "import sys, mdstools; "
        "print(sorted(m for m in ('pandas', 'papermill', 'mdstools.run') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
