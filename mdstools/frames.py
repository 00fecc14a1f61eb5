"""Records -> pandas DataFrames with fixed columns (an empty result keeps its columns).

Only the notebooks (and ``report.py``) use these; the ``status`` command does not import
pandas.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from mdstools.checks import LABELS, CheckResult
from mdstools.records import ProcessRow, VerifierFinding


def records(
    items: Sequence[Any], cls: type[Any] | None = None, columns: Sequence[str] | None = None
) -> pd.DataFrame:
    """One row per dataclass record; columns from ``cls`` (or ``columns``) even when empty."""
    if columns is None:
        if cls is None and items:
            cls = type(items[0])
        columns = [f.name for f in dataclasses.fields(cls)] if cls is not None else []
    rows = [{c: getattr(r, c, None) for c in columns} for r in items]
    return pd.DataFrame(rows, columns=list(columns))


CHECK_COLUMNS = ["result", "check", "requirement", "reason", "next step"]


def checks(results: Iterable[CheckResult]) -> pd.DataFrame:
    """Check results, failing rows first."""
    rows = []
    for c in results:
        rows.append(
            {
                "result": c.label,
                "check": c.name,
                "requirement": c.requirement,
                "reason": c.reason,
                "next step": "" if c.passed else c.next_step,
            }
        )
    df = pd.DataFrame(rows, columns=CHECK_COLUMNS)
    order = {label: i for i, label in enumerate(LABELS)}
    if not df.empty:
        df = df.sort_values("result", key=lambda s: s.map(order), kind="stable")
        df = df.reset_index(drop=True)
    return df


PROCESS_COLUMNS = ["server", "type", "name", "ip", "all_up", "processes"]


def process_rows(by_server: dict[str, Iterable[ProcessRow]]) -> pd.DataFrame:
    """``mdsstat`` rows of several servers; rows not all up first."""
    rows = []
    for server, table in by_server.items():
        for r in table:
            rows.append(
                {
                    "server": server,
                    "type": r.type,
                    "name": r.name or "-",
                    "ip": r.ip,
                    "all_up": r.all_up,
                    "processes": " ".join(
                        f"{k}:{v.status}" + (f"({v.pid})" if v.pid else "")
                        for k, v in r.processes.items()
                    ),
                }
            )
    df = pd.DataFrame(rows, columns=PROCESS_COLUMNS)
    if not df.empty:
        df = df.sort_values("all_up", kind="stable").reset_index(drop=True)
    return df


FINDING_COLUMNS = ["server", "severity", "id", "title", "description"]


def findings(by_server: dict[str, Iterable[VerifierFinding]]) -> pd.DataFrame:
    """Verifier findings of every server, errors first."""
    rows = [
        {
            "server": s,
            "severity": f.severity,
            "id": f.id,
            "title": f.title,
            "description": f.description,
        }
        for s, fs in by_server.items()
        for f in fs
    ]
    df = pd.DataFrame(rows, columns=FINDING_COLUMNS)
    if not df.empty:
        df = df.sort_values("severity", kind="stable").reset_index(drop=True)
    return df
