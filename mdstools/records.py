"""Typed records that parsers return and checks read; frozen, comparable, JSON-friendly.

``frames.py`` turns lists of them into DataFrames with fixed columns; ``asdict`` turns any
of them into plain data for JSON.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

UP_TOKENS = frozenset({"up", "N/R"})
STATUS_TOKENS = ("up", "down", "pnd", "init", "N/A", "N/R")

SYNCHRONIZED = "Synchronized"
NEVER_SYNCHRONIZED = "Never been synchronized"
COLLISION = "Collision"
UNKNOWN = "unknown"


def asdict(record: Any) -> Any:
    """Plain data (dicts, lists, str, numbers) of a record or a list of records."""
    if dataclasses.is_dataclass(record) and not isinstance(record, type):
        return {f.name: asdict(getattr(record, f.name)) for f in dataclasses.fields(record)}
    if isinstance(record, (list, tuple)):
        return [asdict(r) for r in record]
    if isinstance(record, dict):
        return {k: asdict(v) for k, v in record.items()}
    return record


def slug(text: str) -> str:
    """A stable identifier for a title: ``Invalid object names`` -> ``invalid-object-names``."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


@dataclass(frozen=True)
class ProcessState:
    """One process cell of ``mdsstat``: ``up 1234`` -> ProcessState("up", 1234)."""

    status: str
    pid: int | None = None

    @property
    def ok(self) -> bool:
        return self.status in UP_TOKENS


@dataclass(frozen=True)
class ProcessRow:
    """One ``mdsstat`` row.

    Example: ``ProcessRow(type="CMA", name="dom1_Server", ip="10.1.0.1",
    processes={"FWM": ProcessState("up", 20021), ...})``; the MDS/MLM row has ``name=None``.
    """

    type: str
    name: str | None
    ip: str
    processes: dict[str, ProcessState] = field(default_factory=dict)

    @property
    def all_up(self) -> bool:
        return bool(self.processes) and all(p.ok for p in self.processes.values())

    @property
    def is_server(self) -> bool:
        return self.type in ("MDS", "MLM")


@dataclass(frozen=True)
class MdsStat:
    """The whole ``mdsstat`` table plus its ``Total Domain ...`` footer when present."""

    columns: tuple[str, ...]
    rows: tuple[ProcessRow, ...]
    total: int | None = None
    up: int | None = None
    down: int | None = None

    @property
    def server_row(self) -> ProcessRow | None:
        return next((r for r in self.rows if r.is_server), None)

    @property
    def domain_rows(self) -> tuple[ProcessRow, ...]:
        return tuple(r for r in self.rows if not r.is_server)


@dataclass(frozen=True)
class VersionInfo:
    """A release as one command reports it: ``VersionInfo("R81.20", "059", "fw ver")``."""

    version: str
    build: str | None = None
    source: str = ""


@dataclass(frozen=True)
class Hotfix:
    """One ``cpinfo -y all`` entry: ``Hotfix("FW1", "HOTFIX_R81_20_JUMBO_HF_MAIN", 122)``."""

    product: str
    name: str
    take: int | None = None


@dataclass(frozen=True)
class VerifierFinding:
    """A pre-upgrade verifier finding; ``id`` is what an engineer acknowledges."""

    severity: str  # "error" | "warning"
    title: str
    description: str

    @property
    def id(self) -> str:
        return slug(self.title)


@dataclass(frozen=True)
class VerifierReport:
    """The verifier's findings and, for CPUSE ``installer verify``, its verdict."""

    findings: tuple[VerifierFinding, ...]
    upgrade_allowed: bool | None = None
    report_path: str | None = None
    summary: str | None = None

    @property
    def errors(self) -> tuple[VerifierFinding, ...]:
        return tuple(f for f in self.findings if f.severity == "error")

    @property
    def warnings(self) -> tuple[VerifierFinding, ...]:
        return tuple(f for f in self.findings if f.severity == "warning")


@dataclass(frozen=True)
class DomainServerInfo:
    """A domain server of ``show-domains`` (full): which MDS hosts it, active or not."""

    domain: str
    name: str
    mds: str
    ip: str | None
    type: str  # "management server" | "log server"
    active: bool | None
    version: str | None = None


@dataclass(frozen=True)
class HaStateEntry:
    """One server of one domain in ``show-ha-state``."""

    domain: str
    domain_type: str
    mds: str
    name: str | None
    ip: str | None
    ha_state: str  # "active" | "standby"


@dataclass(frozen=True)
class HaPeer:
    """A peer in ``show-ha-status`` (seen from the server the session is on)."""

    mds: str
    ip: str | None
    ha_state: str
    sync_state: str | None
    last_successful_sync: str | None


@dataclass(frozen=True)
class HaStatus:
    """``show-ha-status`` of one domain, seen from one MDS."""

    domain: str
    domain_type: str
    seen_from: str
    peers: tuple[HaPeer, ...]
    successfully_synced: bool | None


@dataclass(frozen=True)
class MgmtTask:
    """``show-task``: one asynchronous task."""

    task_id: str
    name: str
    status: str  # "in progress" | "succeeded" | "succeeded with warnings" | ... | "failed"
    progress: int | None
    description: str | None = None
    details: tuple[dict[str, Any], ...] = ()

    @property
    def done(self) -> bool:
        return self.status != "in progress"

    @property
    def succeeded(self) -> bool:
        return self.status in ("succeeded", "succeeded with warnings")
