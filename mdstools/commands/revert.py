"""What phase 09 (the back-out) sends to go back to a Gaia snapshot: clish ``set snapshot
revert <name>`` and ``uptime -s`` (when the server booted). The snapshots themselves are
listed and read by :mod:`mdstools.commands.snapshot`.

Formats: ``docs/formats.md#snapshot-revert-and-boot-time`` (RECONSTRUCTED where no
verbatim sample is public). The revert prints one line and the server reboots.
"""

from __future__ import annotations

import re

from mdstools.commands._text import fail, lines
from mdstools.commands.base import Command, Mode, raw

__all__ = ["boot_time", "parse_boot_time", "set_snapshot_revert"]

_BOOTED = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")
REVERT_TIMEOUT_S = 300.0


def set_snapshot_revert(name: str) -> Command[str]:
    """clish ``set snapshot revert <name>`` (``name`` checked by the caller against
    :data:`mdstools.commands.snapshot.NAME`): revert the server to the snapshot; it reboots
    when done (the connection drops). Mutating; raw text (one line, not parsed).

    Example record: ``"Reverting to snapshot mdstools_CHG1_mds1. The machine will reboot
    when done.\\n"``.
    """
    return Command(
        f"set snapshot revert {name}",
        raw,
        mode=Mode.CLISH,
        name="set_snapshot_revert",
        timeout_s=REVERT_TIMEOUT_S,
        mutating=True,
    )


def parse_boot_time(text: str) -> str:
    """``uptime -s`` -> ``YYYY-MM-DD HH:MM:SS``, when the server booted; ParseError else."""
    rows = [r.strip() for r in lines(text) if r.strip()]
    if len(rows) != 1 or not _BOOTED.fullmatch(rows[0]):
        raise fail("uptime -s", "not one 'YYYY-MM-DD HH:MM:SS' line", text)
    return rows[0]


def boot_time() -> Command[str]:
    """``uptime -s``: when the server booted; a revert is done once it changed. Read-only.

    Example record: ``"2026-12-07 04:12:09"``.
    """
    return Command("uptime -s", parse_boot_time, name="uptime")
