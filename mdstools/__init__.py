"""mdstools: the Check Point Multi-Domain Server HA upgrade as parameterized Jupyter runbooks.

The runbooks in ``runbooks/`` call this package; the ``mdstools`` command line runs them
headless with papermill, and ``mdstools.lab`` serves an embedded MDS HA lab over real SSH.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    from mdstools.run import Run

__version__ = "0.1.0"


def start(
    inventory: str | Path,
    ticket: str,
    operator: str = "",
    phase_id: str = "",
    interactive: bool = True,
    dry_run: bool = False,
    reports_dir: str | Path = "reports",
    params: dict[str, Any] | None = None,
    break_lock: bool = False,
    **extra: Any,
) -> Run:
    """Open the run of one phase; shows its header. ``phase`` may be passed as ``phase=``.

    The same as :func:`mdstools.run.start` (its signature repeated here, so that a notebook
    shows it), imported only when called: ``import mdstools`` loads no pandas or papermill.
    """
    from mdstools.run import start as _start

    return _start(
        inventory,
        ticket,
        operator,
        phase_id,
        interactive,
        dry_run,
        reports_dir,
        params,
        break_lock,
        **extra,
    )
