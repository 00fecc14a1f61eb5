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


@dataclass(frozen=True, kw_only=True)
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


@dataclass(frozen=True, kw_only=True)
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


@dataclass(frozen=True, kw_only=True)
class VerifierReport:
    """The verifier's findings and, for CPUSE ``installer verify``, its verdict."""

    findings: tuple[VerifierFinding, ...]
    upgrade_allowed: bool | None = None
    report_path: str | None = None
    summary: str | None = None
    verdicts: tuple[InstallerVerdict, ...] = ()

    @property
    def errors(self) -> tuple[VerifierFinding, ...]:
        return tuple(f for f in self.findings if f.severity == "error")

    @property
    def warnings(self) -> tuple[VerifierFinding, ...]:
        return tuple(f for f in self.findings if f.severity == "warning")


@dataclass(frozen=True, kw_only=True)
class DomainServerInfo:
    """A domain server of ``show-domains`` (full): which MDS hosts it, active or not."""

    domain: str
    name: str
    mds: str
    ip: str | None
    type: str  # "management server" | "log server"
    active: bool | None
    version: str | None = None


@dataclass(frozen=True, kw_only=True)
class HaStateEntry:
    """One server of one domain in ``show-ha-state``."""

    domain: str
    domain_type: str
    mds: str
    name: str | None
    ip: str | None
    ha_state: str  # "active" | "standby"


@dataclass(frozen=True, kw_only=True)
class HaPeer:
    """A peer in ``show-ha-status`` (seen from the server the session is on)."""

    mds: str
    ip: str | None
    ha_state: str
    sync_state: str | None
    last_successful_sync: str | None


@dataclass(frozen=True, kw_only=True)
class HaStatus:
    """``show-ha-status`` of one domain, seen from one MDS."""

    domain: str
    domain_type: str
    seen_from: str
    peers: tuple[HaPeer, ...]
    successfully_synced: bool | None


@dataclass(frozen=True, kw_only=True)
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


# -- added for the command families (mdstools.commands) -------------------------------------


@dataclass(frozen=True, kw_only=True)
class GaiaVersion:
    """``clish -c "show version all"``.

    Example: ``GaiaVersion(product="Check Point Gaia R81.20", version="R81.20",
    os_build="631", kernel="3.10.0-957.21.3cpx86_64", edition="64-bit")``.
    """

    product: str
    version: str | None
    os_build: str | None = None
    kernel: str | None = None
    edition: str | None = None


@dataclass(frozen=True)
class MdsAddress:
    """One row of ``mdsquerydb MDSs``: ``MdsAddress("mds1", "192.0.2.11")`` (no role)."""

    name: str
    ip: str


@dataclass(frozen=True)
class InstallerVerdict:
    """One CPUSE verdict line: ``Upgrade: Upgrade is not allowed. <reason>``.

    Example: ``InstallerVerdict(subject="Upgrade", allowed=False, reason="<reason>")``.
    """

    subject: str
    allowed: bool
    reason: str | None = None


@dataclass(frozen=True, kw_only=True)
class InstallerPackage:
    """One row of ``show installer packages <scope>``.

    Example: ``InstallerPackage(num=1, name="Check_Point_R81.20_T631_Fresh_Install_and_Upgrade.tgz",
    type="Major Version", status=None, category="Major Versions")``. ``num`` is None in the
    unnumbered R82.10 layout; ``type`` or ``status`` is None when the scope's table lacks it.
    """

    num: int | None
    name: str
    type: str | None
    status: str | None
    category: str | None = None


@dataclass(frozen=True, kw_only=True)
class InstallerPackageDetail:
    """``show installer package <id>``.

    Example: ``InstallerPackageDetail(name="Check_Point_R82_10_jumbo_hf_main_Bundle_T36_FULL.tgz",
    status="Installing", progress=45, installed_on=None, fields={"Display name": ..., ...},
    contains=("Check_Point_R82_10_jumbo_hf_main_Bundle_T19_FULL.tgz", ...))``.
    """

    name: str
    status: str | None
    progress: int | None
    installed_on: str | None
    fields: dict[str, str] = field(default_factory=dict)
    contains: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class ObjectFixOutcome:
    """One object of ``mds_fix_cmas_clms_version``: ``ObjectFixOutcome("dom1_Server", "Done",
    "CMA", "R81.20")``."""

    name: str
    result: str  # "Done" | "Failed"
    server_type: str | None = None
    version: str | None = None

    @property
    def ok(self) -> bool:
        return self.result.lower() == "done"


@dataclass(frozen=True)
class ObjectVersionFix:
    """What ``mds_fix_cmas_clms_version`` printed; ``outcomes`` is empty when the text is not
    understood (the raw text is always kept)."""

    outcomes: tuple[ObjectFixOutcome, ...]
    raw: str

    @property
    def failed(self) -> tuple[str, ...]:
        return tuple(o.name for o in self.outcomes if not o.ok)


@dataclass(frozen=True, kw_only=True)
class MdsInfo:
    """An MDS or MLM of ``show-mdss``: ``MdsInfo("mds1", "multi-domain server", "R81.20",
    "192.0.2.11")``; fields the answer lacks are None."""

    name: str
    server_type: str | None
    version: str | None
    ip: str | None


@dataclass(frozen=True)
class TaskRef:
    """The answer of an asynchronous Management API command (``set-ha-state``,
    ``ha-full-sync``): ``TaskRef("01234567-89ab-cdef-a930-8c37a59972b3", login_required=True)``.
    """

    task_id: str
    login_required: bool | None = None


@dataclass(frozen=True)
class BackupFile:
    """A ``*.mdsbk.*`` file: ``BackupFile("/var/log/mds_backups/26Nov2026-143615.mdsbk.tar",
    4096000, 1795969015)`` (size in bytes, mtime in POSIX seconds)."""

    path: str
    size: int
    mtime: int


@dataclass(frozen=True, kw_only=True)
class FreeSpace:
    """``df -P -k <path>``: ``FreeSpace("/dev/mapper/vg_splat-lv_log", 103081248, 20971520,
    82109728, "/var/log")`` (kilobytes)."""

    filesystem: str
    total_kb: int
    used_kb: int
    available_kb: int
    mount: str


@dataclass(frozen=True, kw_only=True)
class PublishedSession:
    """A published session (``show-last-published-session``): the change marker of a DMS
    database. ``PublishedSession("2c7e13c7-...", "admin", "2020-10-26T16:32+0200",
    1603722758612)``."""

    uid: str
    user: str | None
    publish_time: str | None
    publish_posix: int | None


@dataclass(frozen=True, kw_only=True)
class ChangeRecord:
    """One object change of a published session (``show-changes``).

    ``ChangeRecord(domain="dom1", session_uid="92365b59-...", admin="admin",
    publish_time="2026-11-26T15:12+0000", publish_posix=1795705957141, operation="added",
    object_type="host", object_name="h9", object_uid="7b8c2f5e-...",
    fields={"ipv4-address": "1.2.3.4"})``; ``server`` is the MDS whose DMS it was made on.
    """

    domain: str
    session_uid: str
    admin: str | None
    publish_time: str | None
    publish_posix: int | None
    operation: str  # added | modified | deleted
    object_type: str
    object_name: str
    object_uid: str
    fields: dict[str, str] = field(default_factory=dict)
    server: str = ""


@dataclass(frozen=True, kw_only=True)
class SnapshotList:
    """Gaia's ``show snapshots``: the complete snapshots (restore points), those being
    created with their percentage, and the space figures of its last line (bytes; None
    when the line is missing or unreadable).

    ``SnapshotList(complete=("s1",), creating={"s2": 40}, needed_bytes=8375186227,
    available_bytes=53687091200, space_line="Creation of an additional snapshot ...")``
    """

    complete: tuple[str, ...] = ()
    creating: dict[str, int | None] = field(default_factory=dict)
    needed_bytes: int | None = None
    available_bytes: int | None = None
    space_line: str = ""


@dataclass(frozen=True, kw_only=True)
class SnapshotDetail:
    """Gaia's ``show snapshot <name> all``: its ``key: value`` lines, the known ones typed
    (``size_bytes`` from ``size: 7.8G``); a key it did not print is None.

    ``SnapshotDetail(name="s1", description="mdstools CHG1 before upgrade",
    date="2026-12-07T04:00:00Z", size="7.8G", size_bytes=8375186227, version="R81.10",
    status="complete")``
    """

    name: str
    description: str | None = None
    date: str | None = None
    size: str | None = None
    size_bytes: int | None = None
    version: str | None = None
    status: str | None = None
