"""mdstools: the Check Point Multi-Domain Server HA upgrade as parameterized Jupyter runbooks.

The runbooks in ``runbooks/`` call this package; the ``mdstools`` command line runs them
headless with papermill, and ``mdstools.lab`` serves an embedded MDS HA lab over real SSH.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mdstools.run import Run

__version__ = "0.1.0"


def start(*args: Any, **kwargs: Any) -> Run:
    """Open the run of one runbook phase (see :func:`mdstools.run.start`)."""
    from mdstools.run import start as _start

    return _start(*args, **kwargs)
