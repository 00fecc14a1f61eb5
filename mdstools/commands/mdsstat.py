"""``mdsstat``: process status of the MDS (or MLM) and of every Domain Server on it.

The table is read the way the real-world parsers read it (``docs/formats.md#mdsstat``): split
every row on ``|``, strip the cells, find the columns by their header names. Column widths,
borders and the footer wording are not relied on.
"""

from __future__ import annotations

import re

from mdstools.commands._text import fail, integer, lines, quote
from mdstools.commands.base import Command
from mdstools.records import STATUS_TOKENS, MdsStat, ProcessRow, ProcessState

__all__ = ["mdsstat", "parse_mdsstat", "parse_process_cell"]

_FIXED = ("type", "name", "ip address")
_BORDER = re.compile(r"^[+\-=|\s]+$")
_TOKENS = {t.lower(): t for t in STATUS_TOKENS}


def mdsstat(dms: str | None = None, mds_only: bool = False) -> Command[MdsStat]:
    """``mdsstat [<DMS>]`` or ``mdsstat -m``: the process table as an :class:`MdsStat`.

    ``mdsstat("dom1_Server").line == "mdsstat dom1_Server"``; a name with spaces is quoted.

    Example record::

        MdsStat(columns=("FWM", "FWD", "CPD", "CPCA"),
                rows=(ProcessRow(type="MDS", name=None, ip="10.0.0.11",
                                 processes={"FWM": ProcessState("up", 12345), ...}),
                      ProcessRow(type="CMA", name="Dom_B_Server", ip="10.0.0.102",
                                 processes={"FWM": ProcessState("down"), ...})),
                total=3, up=2, down=1)
    """
    if dms is not None and mds_only:
        raise ValueError("mdsstat: give a DMS name or mds_only, not both")
    if mds_only:
        line = "mdsstat -m"
    elif dms is not None:
        line = f"mdsstat {quote(dms)}"
    else:
        line = "mdsstat"
    return Command(line, parse_mdsstat, name="mdsstat", timeout_s=120.0)


def parse_process_cell(cell: str) -> ProcessState:
    """One process cell; raises ValueError on anything but ``up [pid]`` and the tokens.

    Example record: ``up 1234`` -> ``ProcessState("up", 1234)``; ``N/R`` ->
    ``ProcessState("N/R", None)``.
    """
    words = cell.split()
    if not words or len(words) > 2:
        raise ValueError(f"unknown process status {cell!r}")
    status = _TOKENS.get(words[0].lower())
    if status is None:
        raise ValueError(f"unknown process status {cell!r}")
    pid: int | None = None
    if len(words) == 2:
        pid = integer(words[1])
        if pid is None:
            raise ValueError(f"unknown process status {cell!r}")
    return ProcessState(status, pid)


def _cells(line: str) -> list[str]:
    parts = [c.strip() for c in line.strip().split("|")]
    if parts and parts[0] == "":
        parts = parts[1:]
    if parts and parts[-1] == "":
        parts = parts[:-1]
    return parts


def _footer(text: str) -> tuple[int | None, int | None, int | None]:
    up = re.search(r"(?<!\d)(\d+)\s+up\b", text)
    down = re.search(r"(?<!\d)(\d+)\s+down\b", text)
    rest = re.sub(r"(?<!\d)\d+\s+(up|down)\b", " ", text)
    total = re.search(r"(\d+)", rest)
    return (
        integer(total.group(1)) if total else None,
        integer(up.group(1)) if up else None,
        integer(down.group(1)) if down else None,
    )


def _header(cells: list[str]) -> tuple[dict[str, int], list[tuple[str, int]]] | None:
    """For the header row: where Type, Name and IP address are, and each process column
    with its index; None for any other row."""
    lowered = [" ".join(c.lower().split()) for c in cells]
    if not all(f in lowered for f in _FIXED):
        return None
    idx = {f: lowered.index(f) for f in _FIXED}
    process_cols = [(c, i) for i, c in enumerate(cells) if lowered[i] not in _FIXED and c]
    return idx, process_cols


def _row(
    cells: list[str],
    idx: dict[str, int],
    process_cols: list[tuple[str, int]],
    line: str,
    text: str,
) -> ProcessRow:
    """One server's row (``line``, whose cells are ``cells``) of the table ``text``."""
    try:
        processes = {col: parse_process_cell(cells[i]) for col, i in process_cols}
    except ValueError as exc:
        raise fail("mdsstat", f"{exc} in row {line!r}", text) from None
    name = cells[idx["name"]]
    return ProcessRow(
        type=cells[idx["type"]],
        name=None if name in ("-", "") else name,
        ip=cells[idx["ip address"]],
        processes=processes,
    )


def parse_mdsstat(text: str) -> MdsStat:
    """Parse ``mdsstat`` output into an :class:`MdsStat`.

    Example record: ``| CMA | Dom_B_Server | 10.0.0.102 | down | ...`` gives
    ``ProcessRow(type="CMA", name="Dom_B_Server", ip="10.0.0.102",
    processes={"FWM": ProcessState("down"), ...})`` in ``MdsStat.rows``; the footer
    ``Total Domain Management Servers checked: 3    2 up   1 down`` gives ``total=3, up=2,
    down=1``.

    Tolerates any column widths, ``+---+`` borders or none, blank lines, CRLF, a trailing
    prompt, the title row, the ``Total Domain ...`` footer (its ``N up`` / ``N down`` numbers
    are read when present) and the ``Tip:`` line. ``Name`` ``-`` becomes None. Raises
    ParseError (with the raw text) when there is no header row, a row has the wrong number
    of cells, or a process cell holds an unknown token.
    """
    header: list[str] | None = None
    idx: dict[str, int] = {}
    process_cols: list[tuple[str, int]] = []
    rows: list[ProcessRow] = []
    total = up = down = None
    for line in lines(text):
        s = line.strip()
        if not s or _BORDER.match(s):
            continue
        if "total domain" in s.lower():
            total, up, down = _footer(s.strip("| "))
            continue
        if "|" not in s:
            continue
        cells = _cells(s)
        if header is None:
            found = _header(cells)
            if found is not None:
                header, (idx, process_cols) = cells, found
            continue
        if len(cells) <= 1:
            continue  # the title, the Tip: line, other one-cell notes
        if len(cells) != len(header):
            raise fail(
                "mdsstat",
                f"row has {len(cells)} cells, the header has {len(header)}: {s!r}",
                text,
            )
        rows.append(_row(cells, idx, process_cols, s, text))
    if header is None:
        raise fail("mdsstat", "no header row with Type, Name and IP address", text)
    return MdsStat(
        columns=tuple(c for c, _ in process_cols),
        rows=tuple(rows),
        total=total,
        up=up,
        down=down,
    )
