"""Gaia snapshots in clish, as the back-out (phase 09) reads and uses them:
``show snapshots`` and ``set snapshot revert <name>``.

Formats: ``docs/formats.md#snapshot-revert-and-boot-time`` (RECONSTRUCTED where no
verbatim sample is public). The list is what the parser relies on: the names alone on
their line under ``Restore points:`` are complete snapshots, a ``Snapshot <name> is being
created`` line is one in progress. The revert prints one line and the server reboots.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mdstools.commands._text import fail, lines
from mdstools.commands.base import Command, Mode, raw

__all__ = [
    "SnapshotList",
    "boot_time",
    "parse_boot_time",
    "parse_snapshots",
    "set_snapshot_revert",
    "show_snapshots",
]

NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_HEADING = "Restore points:"
_CREATING = re.compile(r"^Snapshot (?P<name>\S+) is being created\b")
_SPACE = re.compile(r"^Creation of an additional snapshot\b")
_BOOTED = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")
REVERT_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class SnapshotList:
    """What ``show snapshots`` lists: complete snapshots and those still being created."""

    complete: tuple[str, ...]
    in_progress: tuple[str, ...] = ()


def parse_snapshots(text: str) -> SnapshotList:
    """``show snapshots`` -> the complete names and the ones being created; ParseError when
    the ``Restore points:`` heading is missing."""
    rows = [r.strip() for r in lines(text)]
    if _HEADING not in rows:
        raise fail("show snapshots", "no 'Restore points:' heading", text)
    complete: list[str] = []
    creating: list[str] = []
    for row in rows[rows.index(_HEADING) + 1 :]:
        m = _CREATING.match(row)
        if m:
            creating.append(m["name"])
        elif NAME.fullmatch(row) and not set(row) <= {"-"}:
            complete.append(row)
        elif _SPACE.match(row):
            break
    return SnapshotList(tuple(complete), tuple(creating))


def show_snapshots() -> Command[SnapshotList]:
    """clish ``show snapshots``: the snapshots of this server. Read-only.

    Example record: ``SnapshotList(complete=("mdstools_CHG1_mds1",), in_progress=())``.
    """
    return Command("show snapshots", parse_snapshots, mode=Mode.CLISH, name="show_snapshots")


def set_snapshot_revert(name: str) -> Command[str]:
    """clish ``set snapshot revert <name>`` (``name`` checked by the caller against
    :data:`NAME`): revert the server to the snapshot; it reboots
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
