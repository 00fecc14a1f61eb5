"""Whether the Management API's view of the processes (``show-servers-and-processes``, R81.10
JHF T79 and later) agrees with ``mdsstat`` on the same server: pure functions of the two
parsed tables, for the notes of ``mdstools status --cross-check``."""

from __future__ import annotations

import re
from collections.abc import Sequence

from mdstools.records import MdsStat, ProcessRow

SINCE = (81, 10)
"""The first release with ``show-servers-and-processes`` (its JHF take 79 and later)."""


def has_api_view(version: str | None) -> bool:
    """Whether a server of release ``version`` may answer ``show-servers-and-processes``
    (R81.10 and later; an R81.10 below JHF take 79 answers that the command is unknown)."""
    m = re.match(r"R(\d+)(?:\.(\d+))?", version or "")
    return m is not None and (int(m.group(1)), int(m.group(2) or 0)) >= SINCE


def _key(row: ProcessRow) -> str:
    """The row's name in both views: the server row is the server, a domain row its name."""
    return "the server" if row.is_server else (row.name or row.ip)


def differences(table: MdsStat, api_rows: Sequence[ProcessRow]) -> list[str]:
    """What differs, one phrase each: a row only one view lists, a process whose status
    differs. A process only one view has (``FWMHA`` where ``mdsstat`` has no such column) is
    no difference.

    Example: ``["dom1_Server FWM: down in mdsstat, up in the API"]``.
    """
    ours = {_key(r): r for r in table.rows}
    theirs = {_key(r): r for r in api_rows}
    out = [f"{k}: only in mdsstat" for k in ours if k not in theirs]
    out += [f"{k}: only in the API" for k in theirs if k not in ours]
    for key, row in ours.items():
        other = theirs.get(key)
        if other is None:
            continue
        for proc, state in row.processes.items():
            api_state = other.processes.get(proc)
            if api_state is not None and api_state.status.lower() != state.status.lower():
                out.append(
                    f"{key} {proc}: {state.status} in mdsstat, {api_state.status} in the API"
                )
    return out


def note(server: str, table: MdsStat, api_rows: Sequence[ProcessRow]) -> str:
    """The status note of one server: the views agree, or which processes differ."""
    diff = differences(table, api_rows)
    if not diff:
        return f"{server}: show-servers-and-processes agrees with mdsstat"
    return f"{server}: show-servers-and-processes differs from mdsstat: " + "; ".join(diff)
