"""Starting and stopping the MDS and its Domain Servers: ``mdsstart``, ``mdsstop``,
``mdsstart_customer``, ``mdsstop_customer``.

Their console text and exit codes are not known from any real capture
(``docs/formats.md#mdsstart-and-mdsstop``, INFERRED), so the parser only records the text.
Robust automation polls ``mdsstat`` (:func:`mdstools.commands.mdsstat.mdsstat`) until the
processes are up or down; it does not trust what these commands print.
"""

from __future__ import annotations

from mdstools.commands._text import quote
from mdstools.commands.base import Command, raw

__all__ = ["mdsstart", "mdsstart_customer", "mdsstop", "mdsstop_customer"]

START_TIMEOUT_S = 3600.0
STOP_TIMEOUT_S = 1800.0
CUSTOMER_TIMEOUT_S = 900.0


def mdsstart(mds_only: bool = False, sequential: bool = False) -> Command[str]:
    """``mdsstart`` (MDS and all DMSs, 10 at a time), ``mdsstart -m`` (MDS only) or
    ``mdsstart -s`` (DMSs one after another). Mutating; the record is the raw text.

    Example record: ``"Starting the Multi-Domain Server ...\\n"`` (not parsed).
    """
    if mds_only and sequential:
        raise ValueError("mdsstart: mds_only and sequential exclude each other")
    line = "mdsstart -m" if mds_only else "mdsstart -s" if sequential else "mdsstart"
    return Command(line, raw, name="mdsstart", timeout_s=START_TIMEOUT_S, mutating=True)


def mdsstop(mds_only: bool = False) -> Command[str]:
    """``mdsstop`` (MDS and all DMSs) or ``mdsstop -m`` (MDS only). Mutating; raw text.

    Example record: ``"Stopping the Multi-Domain Server ...\\n"`` (not parsed).
    """
    line = "mdsstop -m" if mds_only else "mdsstop"
    return Command(line, raw, name="mdsstop", timeout_s=STOP_TIMEOUT_S, mutating=True)


def mdsstart_customer(dms: str) -> Command[str]:
    """``mdsstart_customer <DMS name or IP>`` (quoted when it has spaces). Mutating; raw text.

    Example record: ``"Starting Domain server dom1_Server...\\n"`` (not parsed).
    """
    return Command(
        f"mdsstart_customer {quote(dms)}",
        raw,
        name="mdsstart_customer",
        timeout_s=CUSTOMER_TIMEOUT_S,
        mutating=True,
    )


def mdsstop_customer(dms: str) -> Command[str]:
    """``mdsstop_customer <DMS name or IP>`` (quoted when it has spaces). Mutating; raw text.

    Example record: ``"Stopping Domain server dom1_Server...\\n"`` (not parsed).
    """
    return Command(
        f"mdsstop_customer {quote(dms)}",
        raw,
        name="mdsstop_customer",
        timeout_s=CUSTOMER_TIMEOUT_S,
        mutating=True,
    )
