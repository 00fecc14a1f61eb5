"""Gaia snapshots in clish: list, inspect, add, delete (``docs/formats.md#gaia-snapshots``).

``add snapshot`` returns at once and the snapshot is created in the background: its end is
seen in ``show snapshots`` (the name moves from "is being created" to the restore points).
The parsers read by structure: a line they do not know is skipped, a missing space figure
is None, never a guess.
"""

from __future__ import annotations

import re

from mdstools.commands._text import fail, lines
from mdstools.commands.base import Command, Mode, raw
from mdstools.records import SnapshotDetail, SnapshotList

__all__ = [
    "NAME",
    "add_snapshot",
    "delete_snapshot",
    "parse_detail",
    "parse_size",
    "parse_snapshots",
    "show_snapshot",
    "show_snapshots",
]

#: What clish takes as a snapshot's name.
NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_UNITS = {"K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([KMGT])i?B?\b", re.IGNORECASE)
_HEADER = re.compile(r"^\s*Restore points\s*:?\s*$", re.IGNORECASE)
_RULE = re.compile(r"^\s*-{3,}\s*$")
_CREATING = re.compile(
    r"^\s*Snapshot\s+(\S+)\s+is\s+being\s+created(?:.*?\((\d+)(?:\.\d+)?\s*%)?", re.IGNORECASE
)
_AMOUNT = r"(\d+(?:\.\d+)?\s*[KMGT]i?B?)\b"
_NEEDED = re.compile(r"can\s+take\s+up\s+to\s+" + _AMOUNT, re.IGNORECASE)
_AVAILABLE = re.compile(r"Available\s+space\s+for\s+snapshots\s*:\s*" + _AMOUNT, re.IGNORECASE)
_KEY = re.compile(r"[A-Za-z][A-Za-z _-]{0,40}")
# what survives as one clish word inside ``clish -c '...'``: no space, quote or backslash
_WORD = re.compile(r"[^\s\"'\\]{1,64}")
_DESC_TEXT = re.compile(r"[^\"'\\\n\r]{1,100}")


def _name(name: str) -> str:
    if not _WORD.fullmatch(name):
        raise ValueError(f"snapshot name {name!r} cannot be passed to clish")
    return name


def show_snapshots() -> Command[SnapshotList]:
    """clish ``show snapshots``: the restore points, the snapshots being created, and the
    space a new one needs against the space for snapshots.

    Example record: ``SnapshotList(complete=("s1",), creating={}, needed_bytes=8375186227,
    available_bytes=53687091200, space_line="...")``.
    """
    return Command("show snapshots", parse_snapshots, mode=Mode.CLISH, name="show_snapshots")


def show_snapshot(name: str) -> Command[SnapshotDetail]:
    """clish ``show snapshot <name> all``: one snapshot's fields (exit 1, ``Snapshot <name>
    does not exist``, for an unknown name: not ok, parsed by nobody).

    Example record: ``SnapshotDetail(name="s1", version="R81.10", size="7.8G", ...)``.
    """
    return Command(
        f"show snapshot {_name(name)} all", parse_detail, mode=Mode.CLISH, name="show_snapshot"
    )


def add_snapshot(name: str, description: str) -> Command[str]:
    """clish ``add snapshot <name> desc "<text>"``: starts the snapshot and returns at once
    (exit 0); exit 1 with one line when it cannot (exists, no space, another operation).
    Mutating; raw text: the end is seen in ``show snapshots``. ``description`` is plain
    words (no quotes, no shell characters): clish gets it as one double-quoted argument.

    Example record: ``"Creating snapshot s1. It can take a while; see 'show snapshots'.\\n"``.
    """
    if not _DESC_TEXT.fullmatch(description):
        raise ValueError(f"snapshot description {description!r} cannot be passed to clish")
    return Command(
        f'add snapshot {_name(name)} desc "{description}"',
        raw,
        mode=Mode.CLISH,
        name="add_snapshot",
        timeout_s=300.0,
        mutating=True,
        ok_codes=(0, 1),
    )


def delete_snapshot(name: str) -> Command[str]:
    """clish ``delete snapshot <name>``: exit 0 ``Snapshot <name> deleted``; exit 1 with
    one line when it does not exist or cannot be deleted now. Mutating; raw text.

    Example record: ``"Snapshot s1 deleted\\n"``.
    """
    return Command(
        f"delete snapshot {_name(name)}",
        raw,
        mode=Mode.CLISH,
        name="delete_snapshot",
        timeout_s=600.0,
        mutating=True,
        ok_codes=(0, 1),
    )


def parse_size(text: str) -> int | None:
    """``"7.8G"`` -> bytes (units K, M, G, T as powers of 1024); None when not a size."""
    m = _SIZE.fullmatch(text.strip().rstrip(".,"))
    if m is None:
        return None
    return round(float(m.group(1)) * _UNITS[m.group(2).upper()])


def parse_snapshots(text: str) -> SnapshotList:
    """``show snapshots`` by structure: names alone on their lines under ``Restore
    points:``, ``Snapshot <name> is being created (<pct>% done)`` lines, and the space line
    (``... can take up to <X>G. Available space for snapshots: <Y>G``). Unknown lines are
    skipped; ParseError when nothing of the three is found (not a snapshot listing)."""
    complete: list[str] = []
    creating: dict[str, int | None] = {}
    needed = available = None
    space_line = ""
    in_list = seen_header = False
    for line in lines(text):
        if _HEADER.match(line):
            in_list = seen_header = True
            continue
        m = _CREATING.match(line)
        if m is not None:
            creating[m.group(1).rstrip(".")] = int(m.group(2)) if m.group(2) else None
            continue
        need, avail = _NEEDED.search(line), _AVAILABLE.search(line)
        if need or avail:
            space_line = line.strip()
            needed = parse_size(need.group(1)) if need else None
            available = parse_size(avail.group(1)) if avail else None
            in_list = False
            continue
        if in_list and not _RULE.match(line) and line.strip():
            if NAME.fullmatch(line.strip()):
                complete.append(line.strip())
            else:
                in_list = False
    if not (seen_header or creating or space_line):
        raise fail("show snapshots", "no 'Restore points:' list and no space line", text)
    return SnapshotList(
        complete=tuple(complete),
        creating=creating,
        needed_bytes=needed,
        available_bytes=available,
        space_line=space_line,
    )


def parse_detail(text: str) -> SnapshotDetail:
    """``show snapshot <name> all``: ``key: value`` lines (keys in any case, unknown keys
    skipped); ParseError without a ``name:`` line."""
    fields: dict[str, str] = {}
    for line in lines(text):
        key, colon, value = line.partition(":")
        key = key.strip()
        if colon and _KEY.fullmatch(key):
            fields.setdefault(key.lower(), value.strip())
    if not fields.get("name"):
        raise fail("show snapshot", "no 'name:' line", text)
    size = fields.get("size")
    status = fields.get("status")
    return SnapshotDetail(
        name=fields["name"],
        description=fields.get("description"),
        date=fields.get("date"),
        size=size,
        size_bytes=parse_size(size) if size else None,
        version=fields.get("version"),
        status=status.lower() if status else None,
    )
