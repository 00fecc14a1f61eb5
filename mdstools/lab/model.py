"""The simulated Multi-Domain deployment: servers, processes, domains, HA and databases.

The rules, each tested in ``tests/lab/test_model.py``:

* every MDS hosts one DMS (CMA) per domain, every MLM one Domain Log Server (CLM) per
  domain; the Global domain has one copy per MDS;
* processes move ``down -> pnd -> init -> up`` over scaled time; ``mdsstart`` starts DMSs
  ten at a time; a DMS with a start fault never comes up until the fault is cleared;
* each domain has one active DMS and standbys; a publish on the active is synchronized to
  standbys that run the same version and are up; a standby that holds revisions the active
  lacks, or two DMSs that both hold revisions the other lacks, are in ``Collision``
  (sticky until ``ha-full-sync`` from the retained side, which loses the other side's
  changes);
* a CPUSE upgrade takes scaled time, reboots the server (SSH drops, the port refuses),
  and brings it back on the new version with every DMS starting; DMS/DLS object versions
  stay old until ``mds_fix_cmas_clms_version`` runs. On a server marked ``upgrade_fails``
  the package ends ``Failed`` instead and the server comes back on its old version with
  its DMSs down (the MDS processes up).
"""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mdstools.lab.api_costs import ApiMeter
from mdstools.lab.clock import Clock, Scheduler
from mdstools.lab.versions import VersionProfile, profile
from mdstools.lab.vfs import Mount, VirtualFS

if TYPE_CHECKING:
    from mdstools.lab.dbimage import BackupImage
    from mdstools.lab.snapshots import Snapshot

SYNCHRONIZED = "Synchronized"
NEVER_SYNCED = "Never been synchronized"
COLLISION = "Collision"
GLOBAL = "Global"
SNAPSHOT_SPACE = 60 * 1024**3  # unallocated LVM space for Gaia snapshots (ASSUMPTION)


class LabError(Exception):
    """A refused operation, with a Management-API style ``code``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Rebooted(Exception):
    """The server went down while a command was running on it."""


@dataclass
class Timings:
    """Realistic durations in seconds (the clock scales them)."""

    mds_start: float = 60.0
    dms_pnd: float = 20.0
    dms_init: float = 40.0
    mds_stop: float = 15.0
    dms_stop_batch: float = 15.0
    batch_size: int = 10
    import_package: float = 60.0
    verify_package: float = 90.0
    upgrade: float = 1500.0
    reboot: float = 300.0
    network_blip: float = 120.0
    set_ha_state: float = 10.0
    full_sync: float = 60.0
    fix_version_per_object: float = 2.0
    backup_base: float = 120.0
    backup_per_domain: float = 2.0
    snapshot_create: float = 1800.0  # for a snapshot of SNAPSHOT_REFERENCE_SIZE
    snapshot_revert: float = 1200.0  # before the reboot that ends a revert
    restore_base: float = 180.0
    restore_per_domain: float = 4.0
    command_latency: float = 0.0


@dataclass
class Finding:
    """One pre-upgrade verifier finding."""

    severity: str  # "error" | "warning"
    title: str
    description: str


@dataclass
class Package:
    """A CPUSE package known to one server."""

    num: int
    file_name: str
    display_name: str
    type: str
    target: str | None  # release a Major Version upgrades to
    status: str = "Imported"
    imported_on: float | None = None
    installed_on: float | None = None
    busy_until: float = 0.0
    busy_status: str = ""
    progress_from: float = 0.0
    progress_to: float = 0.0


@dataclass
class Change:
    """One object change inside a published session."""

    uid: str
    name: str
    type: str
    operation: str  # "added" | "modified" | "deleted"
    fields: dict[str, str] = field(default_factory=dict)


@dataclass
class Revision:
    """A published session in a DMS database."""

    uid: str
    admin: str
    publish_time: float
    changes: list[Change]
    server: str  # MDS where it was published
    application: str = "WEB_API"


class Lifecycle:
    """Process state of one ``mdsstat`` row, computed from timestamps."""

    def __init__(self, up: bool = True) -> None:
        self.phase = "up" if up else "down"
        self.start_at = 0.0
        self.init_at = 0.0
        self.up_at = 0.0
        self.down_at = 0.0
        self.pid_base = 0

    def state(self, now: float, stuck: bool = False) -> str:
        """One of ``down``, ``pnd``, ``init``, ``up``."""
        if self.phase == "starting":
            if stuck or now < self.start_at:
                return "down"
            if now < self.init_at:
                return "pnd"
            if now < self.up_at:
                return "init"
            return "up"
        if self.phase == "stopping":
            return "up" if now < self.down_at else "down"
        return self.phase

    def start(self, at: float, pnd: float, init: float, pid_base: int) -> None:
        self.phase, self.start_at, self.init_at, self.up_at = (
            "starting",
            at,
            at + pnd,
            at + pnd + init,
        )
        self.pid_base = pid_base

    def stop(self, at: float) -> None:
        self.phase, self.down_at = "stopping", at

    def force(self, up: bool, pid_base: int = 0) -> None:
        self.phase = "up" if up else "down"
        if up:
            self.pid_base = pid_base


@dataclass
class ProcessRow:
    """What one ``mdsstat`` row shows."""

    type: str  # MDS | MLM | CMA | CLM
    name: str
    ip: str
    cells: dict[str, tuple[str, int | None]]  # column -> (status, pid)

    @property
    def all_up(self) -> bool:
        return all(s in ("up", "N/R") for s, _ in self.cells.values())


class DomainServer:
    """A DMS (CMA) on an MDS, or a Domain Log Server (CLM) on an MLM."""

    def __init__(self, domain: Domain, host: SimServer, name: str, ip: str, kind: str) -> None:
        self.domain = domain
        self.host = host
        self.name = name
        self.ip = ip
        self.kind = kind  # CMA | CLM
        self.uid = str(uuid.uuid4())
        self.life = Lifecycle(up=True)
        self.ha_state = "standby"
        self.object_version = host.version.name
        self.revisions: list[Revision] = []
        self.sync_status = SYNCHRONIZED
        self.last_sync: float | None = None
        self.start_fault = False
        self.lost: list[Revision] = []
        self.not_running: frozenset[str] | None = None  # N/R columns; None: the lab's rule

    @property
    def is_global(self) -> bool:
        return self.domain.is_global

    def revision_ids(self) -> set[str]:
        return {r.uid for r in self.revisions}


class Domain:
    """A domain with its DMS per MDS and DLS per MLM."""

    def __init__(self, name: str, index: int, is_global: bool = False) -> None:
        self.name = name
        self.index = index
        self.is_global = is_global
        self.uid = str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{name}.domain.lab"))
        self.dms: list[DomainServer] = []
        self.dls: list[DomainServer] = []

    def actives(self) -> list[DomainServer]:
        return [d for d in self.dms if d.ha_state == "active"]

    def on(self, server: str) -> DomainServer | None:
        for d in self.dms + self.dls:
            if d.host.name == server:
                return d
        return None


@dataclass
class User:
    name: str
    shell: str  # "bash" | "clish"


@dataclass
class UpgradeState:
    target: VersionProfile
    package: str
    started: float
    reboot_at: float


class SimServer:
    """One simulated Multi-Domain Server (MDS) or Multi-Domain Log Server (MLM)."""

    def __init__(
        self, name: str, kind: str, role: str, ip: str, index: int, version: VersionProfile
    ) -> None:
        self.name = name
        self.kind = kind  # MDS | MLM
        self.role = role  # primary | secondary | log-server
        self.ip = ip
        self.index = index
        self.version = version
        self.life = Lifecycle(up=True)
        self.locals: list[DomainServer] = []
        self.vfs = VirtualFS()
        self.users: dict[str, User] = {}
        self.online = True
        self.boot_count = 0
        self.down_event = threading.Event()
        self.packages: dict[str, Package] = {}
        self.findings: list[Finding] = []
        self.upgrade: UpgradeState | None = None
        self.jobs: dict[int, threading.Event] = {}
        self.job_threads: dict[int, threading.Thread] = {}
        self.pids = itertools.count(4000 + 1000 * index)
        self.port = 0
        self.config_lock_owner: str | None = None
        self.expert_password = ""
        self.jumbo: int | None = version.jumbo_take
        self.snapshots: dict[str, Snapshot] = {}
        self.snapshot_space = SNAPSHOT_SPACE
        self.upgrade_fails = False  # the next CPUSE upgrade ends Failed (scenario upgrade-fails)
        self.dms_down_after_boot = False
        self.columns: dict[str, tuple[str, ...]] = {}  # mdsstat columns by release (a twin's)
        self.not_running: frozenset[str] | None = None  # N/R columns; None: the lab's rule

    def next_pid(self) -> int:
        return next(self.pids)

    def local(self, name_or_ip: str) -> DomainServer | None:
        for d in self.locals:
            if name_or_ip in (d.name, d.ip, d.domain.name):
                return d
        return None


class Deployment:
    """The whole simulated deployment; every public method is thread-safe."""

    def __init__(
        self,
        clock: Clock,
        timings: Timings | None = None,
        columns: dict[str, tuple[str, ...]] | None = None,
    ) -> None:
        self.clock = clock
        self.timings = timings or Timings()
        self.columns = columns or {}
        self.scheduler = Scheduler(clock)
        self.lock = threading.RLock()
        self.servers: list[SimServer] = []
        self.domains: list[Domain] = []
        self.tasks: dict[str, dict[str, object]] = {}
        self.sessions: dict[str, dict[str, object]] = {}
        self.api = ApiMeter()
        self.listeners: list[Callable[[SimServer, bool], None]] = []
        self.upgrade_hooks: list[Callable[[SimServer], None]] = []
        self.events: list[str] = []
        self.backups: dict[str, BackupImage] = {}  # by the digest in the archive
        self.drop_during_upgrade = False
        self._pid_counter = itertools.count(10000)
        self.boot_hooks: list[Callable[[SimServer], None]] = []
        self.target = "R81.20"
        self.double_echo = False
        self.environment: str | None = None  # the inventory's; None: lab-<scenario>

    # -- lookups -----------------------------------------------------------------
    def server(self, name: str) -> SimServer:
        for s in self.servers:
            if s.name == name:
                return s
        raise LabError("generic_err_object_not_found", f"Requested object [{name}] not found")

    def domain(self, name: str) -> Domain:
        for d in self.domains:
            if d.name == name or d.uid == name:
                return d
        raise LabError("generic_err_object_not_found", f"Requested object [{name}] not found")

    @property
    def mdss(self) -> list[SimServer]:
        return [s for s in self.servers if s.kind == "MDS"]

    @property
    def user_domains(self) -> list[Domain]:
        return [d for d in self.domains if not d.is_global]

    @property
    def primary(self) -> SimServer:
        """The primary MDS (not necessarily the first server of a twin)."""
        return next((s for s in self.mdss if s.role == "primary"), self.mdss[0])

    @property
    def secondaries(self) -> list[SimServer]:
        """The MDSs other than the primary, in order."""
        return [s for s in self.mdss if s is not self.primary]

    @property
    def last_mds(self) -> SimServer:
        """What the scenarios call "the last MDS": the last secondary MDS in order, the
        primary when there is none."""
        others = self.secondaries
        return others[-1] if others else self.primary

    def columns_for(self, server: SimServer) -> tuple[str, ...]:
        own = server.columns.get(server.version.name)
        return own or self.columns.get(server.version.name, server.version.process_columns)

    def log(self, text: str) -> None:
        with self.lock:
            self.events.append(f"{self.clock.wall():.3f} {text}")

    # -- processes ---------------------------------------------------------------
    def rows(self, server: SimServer, which: str = "all") -> list[ProcessRow]:
        """The ``mdsstat`` rows: ``all``, ``mds`` (the server row only), or one DMS name."""
        now = self.clock.now()
        cols = self.columns_for(server)
        out: list[ProcessRow] = []
        with self.lock:
            if which in ("all", "mds") or server.local(which) is not None:
                out.append(
                    self._row(
                        server.kind,
                        "-",
                        server.ip,
                        server.life,
                        cols,
                        now,
                        nr=_not_running(server.not_running, server.kind == "MLM"),
                    )
                )
            if which == "mds":
                return out
            for d in server.locals:
                if d.is_global:
                    continue
                if which != "all" and which not in (d.name, d.ip, d.domain.name):
                    continue
                mds_up = server.life.state(now) == "up"
                out.append(
                    self._row(
                        d.kind,
                        d.name,
                        d.ip,
                        d.life,
                        cols,
                        now,
                        nr=_not_running(d.not_running, d.kind == "CLM"),
                        stuck=d.start_fault,
                        host_up=mds_up,
                    )
                )
        return out

    def _row(
        self,
        kind: str,
        name: str,
        ip: str,
        life: Lifecycle,
        cols: tuple[str, ...],
        now: float,
        nr: set[str],
        stuck: bool = False,
        host_up: bool = True,
    ) -> ProcessRow:
        state = life.state(now, stuck=stuck)
        if not host_up and state == "up":
            state = "down"
        cells: dict[str, tuple[str, int | None]] = {}
        for i, col in enumerate(cols):
            if col in nr:
                cells[col] = ("N/R", None)
            elif state == "up":
                cells[col] = ("up", life.pid_base + 2 * i + 1)
            elif state == "init":
                if col == "FWM":
                    cells[col] = ("init", None)
                elif col == "CPCA":
                    cells[col] = ("N/A", None)
                else:
                    cells[col] = ("up", life.pid_base + 2 * i + 1)
            else:
                cells[col] = (state, None)
        return ProcessRow(kind, name, ip, cells)

    def dms_state(self, d: DomainServer) -> str:
        now = self.clock.now()
        if d.host.life.state(now) != "up" or not d.host.online:
            return "down"
        return d.life.state(now, stuck=d.start_fault)

    def server_state(self, s: SimServer) -> str:
        return s.life.state(self.clock.now()) if s.online else "down"

    def start_server(
        self,
        s: SimServer,
        mds_only: bool = False,
        sequential: bool = False,
        at: float | None = None,
    ) -> float:
        """``mdsstart``: returns the lab time when the last DMS start is launched."""
        t = self.timings
        c = self.clock
        with self.lock:
            now = c.now() if at is None else at
            begin = now
            if self.server_state(s) != "up":
                s.life.start(
                    now,
                    c.dur(t.mds_start) / 3,
                    c.dur(t.mds_start) * 2 / 3,
                    next(self._pid_counter) * 10,
                )
                begin = s.life.up_at
                self.api.started(s.name, begin, c.dur(self.api.costs.init_after_boot))
            if mds_only:
                return begin
            pending = [
                d
                for d in s.locals
                if not d.is_global and d.life.state(now, stuck=d.start_fault) == "down"
            ]
            size = 1 if sequential else max(1, t.batch_size)
            launch = begin
            step = c.dur(t.dms_pnd + t.dms_init)
            for i, d in enumerate(pending):
                at_i = begin + (i // size) * step
                d.life.start(
                    at_i, c.dur(t.dms_pnd), c.dur(t.dms_init), next(self._pid_counter) * 10
                )
                launch = max(launch, at_i)
            for d in s.locals:
                if d.is_global:
                    d.life.force(True, next(self._pid_counter) * 10)
            self.log(f"{s.name}: mdsstart ({len(pending)} domain servers)")
            self.scheduler.at(launch + step + 0.001, self.sync_all)
            return launch

    def stop_server(self, s: SimServer, mds_only: bool = False) -> float:
        """``mdsstop``: returns the lab time when everything asked is down."""
        t, c = self.timings, self.clock
        with self.lock:
            now = c.now()
            end = now
            if not mds_only:
                running = [d for d in s.locals if not d.is_global and self.dms_state(d) != "down"]
                for i, d in enumerate(running):
                    at = now + (i // max(1, t.batch_size) + 1) * c.dur(t.dms_stop_batch)
                    d.life.stop(at)
                    end = max(end, at)
                for d in s.locals:
                    if d.life.phase == "starting":
                        d.life.force(False)
            s.life.stop(end + c.dur(t.mds_stop))
            if not mds_only:
                for d in s.locals:
                    if d.is_global:
                        d.life.stop(end + c.dur(t.mds_stop))
            self.log(f"{s.name}: mdsstop{' -m' if mds_only else ''}")
            return end + c.dur(t.mds_stop)

    def start_dms(self, d: DomainServer) -> float:
        """``mdsstart_customer``: returns when it will be up (``inf`` with a start fault)."""
        t, c = self.timings, self.clock
        with self.lock:
            if self.server_state(d.host) != "up":
                raise LabError("generic_error", f"Multi-Domain Server {d.host.name} is not running")
            now = c.now()
            if d.life.state(now, stuck=d.start_fault) == "up":
                return now
            d.life.start(now, c.dur(t.dms_pnd), c.dur(t.dms_init), next(self._pid_counter) * 10)
            self.log(f"{d.host.name}: mdsstart_customer {d.name}")
            if d.start_fault:
                return float("inf")
            self.scheduler.at(d.life.up_at + 0.001, self.sync_all)
            return d.life.up_at

    def stop_dms(self, d: DomainServer) -> float:
        c = self.clock
        with self.lock:
            at = c.now() + c.dur(self.timings.dms_stop_batch)
            d.life.stop(at)
            self.log(f"{d.host.name}: mdsstop_customer {d.name}")
            return at

    # -- HA ----------------------------------------------------------------------
    def can_sync(self, a: DomainServer, b: DomainServer) -> bool:
        return (
            a.host.version.name == b.host.version.name
            and self.dms_state(a) == "up"
            and self.dms_state(b) == "up"
        )

    def sync_all(self) -> None:
        """Periodic synchronization: what the product does on its own."""
        with self.lock:
            for dom in self.domains:
                self._sync_domain(dom)

    def _sync_domain(self, dom: Domain) -> None:
        now = self.clock.wall()
        peers = dom.dms
        for i, a in enumerate(peers):
            for b in peers[i + 1 :]:
                ida, idb = a.revision_ids(), b.revision_ids()
                if ida - idb and idb - ida:
                    self._collide(a, b)
        actives = dom.actives()
        if len(actives) > 1:
            first = actives[0]
            for other in actives[1:]:
                if first.revision_ids() != other.revision_ids():
                    self._collide(first, other)
            return
        if len(actives) != 1:
            return
        active = actives[0]
        for s in peers:
            if s is active or s.sync_status == COLLISION:
                continue
            if s.revision_ids() - active.revision_ids():
                self._collide(active, s)
                continue
            if self.can_sync(active, s):
                if s.revision_ids() != active.revision_ids() or s.sync_status != SYNCHRONIZED:
                    s.revisions = list(active.revisions)
                s.sync_status = SYNCHRONIZED
                s.last_sync = now
                if active.sync_status != COLLISION:
                    active.sync_status = SYNCHRONIZED
                    active.last_sync = now

    def _collide(self, a: DomainServer, b: DomainServer) -> None:
        for d in (a, b):
            if d.sync_status != COLLISION:
                self.log(f"{d.domain.name}: {d.name} on {d.host.name} in Collision")
            d.sync_status = COLLISION

    def set_ha_state(self, d: DomainServer, new_state: str) -> None:
        if new_state not in ("active", "standby"):
            raise LabError(
                "generic_err_invalid_parameter",
                f"Invalid parameter for [new-state]. Invalid value [{new_state}]",
            )
        with self.lock:
            if d.ha_state == new_state:
                raise LabError(
                    "err_ha_invalid_operation",
                    f"Domain server {d.name or d.host.name} is already {new_state}",
                )
            d.ha_state = new_state
            if new_state == "active":
                for other in d.domain.dms:
                    if other is not d and other.ha_state == "active" and self.can_sync(d, other):
                        other.ha_state = "standby"
            self.log(f"{d.domain.name}: {d.name or 'Global'} on {d.host.name} -> {new_state}")
            self._sync_domain(d.domain)

    def full_sync(self, source: DomainServer, peer_name: str) -> DomainServer:
        """Validate an ``ha-full-sync`` from ``source`` and return the peer it overwrites."""
        with self.lock:
            peer = next(
                (
                    p
                    for p in source.domain.dms
                    if p is not source
                    and (p.name == peer_name or p.host.name == peer_name or p.ip == peer_name)
                ),
                None,
            )
            if peer is None:
                raise LabError(
                    "generic_err_object_not_found", f"Requested object [{peer_name}] not found"
                )
            if source.ha_state != "active":
                raise LabError(
                    "err_ha_invalid_operation",
                    "Full sync can only be performed from the active server",
                )
            if peer.ha_state == "active":
                raise LabError(
                    "err_ha_invalid_operation",
                    f"Peer {peer_name} is active. Set it to standby before a full sync",
                )
            if peer.host.version.name != source.host.version.name:
                raise LabError(
                    "err_ha_invalid_operation",
                    f"Cannot synchronize with {peer_name}: the Multi-Domain Servers run "
                    f"different versions ({source.host.version.name}, "
                    f"{peer.host.version.name})",
                )
            if self.dms_state(peer) != "up":
                raise LabError("err_ha_invalid_operation", f"Peer {peer_name} is not reachable")
            return peer

    def complete_full_sync(self, source: DomainServer, peer: DomainServer) -> None:
        with self.lock:
            mine = source.revision_ids()
            peer.lost.extend(r for r in peer.revisions if r.uid not in mine)
            peer.revisions = list(source.revisions)
            now = self.clock.wall()
            peer.sync_status = SYNCHRONIZED
            peer.last_sync = now
            others = [p for p in source.domain.dms if p is not source]
            if all(p.sync_status != COLLISION for p in others):
                source.sync_status = SYNCHRONIZED
                source.last_sync = now
            self.log(f"{source.domain.name}: full sync {source.host.name} -> {peer.host.name}")

    # -- database changes ---------------------------------------------------------
    def publish(
        self, d: DomainServer, changes: list[Change], admin: str, application: str = "WEB_API"
    ) -> Revision:
        with self.lock:
            if d.kind != "CMA":
                raise LabError(
                    "generic_err_invalid_api_object_feature",
                    "Domain Log Servers have no policy database",
                )
            if self.dms_state(d) != "up":
                raise LabError("err_login_failed", "Authentication to server failed.")
            if d.ha_state != "active":
                raise LabError(
                    "err_publish_failed",
                    f"Cannot publish: domain server {d.name} is in standby mode (read only)",
                )
            rev = Revision(
                str(uuid.uuid4()), admin, self.clock.wall(), changes, d.host.name, application
            )
            d.revisions.append(rev)
            self.log(
                f"{d.domain.name}: {admin} published {len(changes)} change(s) on {d.host.name}"
            )
            self._sync_domain(d.domain)
            return rev

    def lab_change(
        self, domain: str, on: str, admin: str = "lab-admin", obj: str | None = None
    ) -> Revision:
        """An administrator publishes a change on the DMS of ``domain`` on server ``on``.

        If that DMS is standby, the administrator first makes it active there, as people
        do when they manage a domain during an upgrade (R13).
        """
        with self.lock:
            d = self.domain(domain).on(on)
            if d is None or d.kind != "CMA":
                raise LabError(
                    "generic_err_object_not_found",
                    f"no Domain Management Server of {domain} on {on}",
                )
            if d.ha_state != "active":
                self.set_ha_state(d, "active")
            n = len(d.revisions) + len(d.lost) + 1
            name = obj or f"lab_host_{on}_{n}"
            change = Change(
                str(uuid.uuid4()),
                name,
                "host",
                "added",
                {"ip-address": f"198.51.100.{n % 250 + 1}"},
            )
            return self.publish(d, [change], admin, application="SmartConsole")

    # -- upgrade and reboot -------------------------------------------------------
    def start_upgrade(self, s: SimServer, target: VersionProfile, package: str) -> UpgradeState:
        t, c = self.timings, self.clock
        with self.lock:
            if s.upgrade is not None:
                raise LabError("generic_error", "Another upgrade is already in progress")
            now = c.now()
            st = UpgradeState(target, package, now, now + c.dur(t.upgrade))
            s.upgrade = st
            boot = s.boot_count
            # the installation stops the management processes first (cpstop/mdsstop), so
            # the server's DMSs neither answer nor synchronize while it is being upgraded
            self.stop_server(s)
            self.scheduler.at(st.reboot_at, lambda: self._finish_upgrade(s, boot))
            if self.drop_during_upgrade:
                self.scheduler.at(
                    now + c.dur(t.upgrade) * 0.3,
                    lambda: self.network_blip(s, c.dur(t.network_blip)),
                )
            self.log(f"{s.name}: upgrade to {target.name} started")
            return st

    def upgrade_progress(self, s: SimServer) -> int:
        st = s.upgrade
        if st is None:
            return 0
        span = max(st.reboot_at - st.started, 1e-9)
        return max(0, min(99, int(100 * (self.clock.now() - st.started) / span)))

    def _finish_upgrade(self, s: SimServer, boot: int) -> None:
        with self.lock:
            if s.upgrade is None or s.boot_count != boot:
                return
            if s.upgrade_fails:
                self._fail_upgrade(s)
                return
            st = s.upgrade
            s.upgrade = None
            for p in s.packages.values():
                if p.file_name == st.package:
                    p.status = "Installed"
                    p.installed_on = self.clock.wall()
            s.version = st.target
            for hook in self.upgrade_hooks:
                hook(s)
            self.log(f"{s.name}: upgraded to {st.target.name}, rebooting")
        self.reboot(s)

    def _fail_upgrade(self, s: SimServer) -> None:
        """The upgrade fails at its end: the package ``Failed``, the server reboots and
        comes back on its old release with its DMSs down."""
        st = s.upgrade
        assert st is not None
        s.upgrade = None
        for p in s.packages.values():
            if p.file_name == st.package:
                p.status = "Failed"
        s.dms_down_after_boot = True
        self.log(f"{s.name}: the upgrade to {st.target.name} failed, rebooting on {s.version.name}")
        self.reboot(s)

    def reboot(self, s: SimServer, down_for: float | None = None) -> None:
        """Reboot: connections drop, the port refuses, then everything starts again.

        ``down_for``: lab seconds before the server is back (default: a normal reboot).
        """
        c, t = self.clock, self.timings
        with self.lock:
            if s.upgrade is not None:
                for p in s.packages.values():
                    if p.file_name == s.upgrade.package:
                        p.status = "Failed"
                self.log(f"{s.name}: the upgrade to {s.upgrade.target.name} was interrupted")
                s.upgrade = None
            s.online = False
            s.boot_count += 1
            s.down_event.set()
            for ev in s.jobs.values():
                ev.set()
            s.jobs.clear()
            s.life.force(False)
            for d in s.locals:
                d.life.force(False)
            s.vfs.clear_tree("/tmp")
            s.config_lock_owner = None
            self.log(f"{s.name}: down (reboot)")
        for fn in list(self.listeners):
            fn(s, False)
        self.scheduler.after(
            c.dur(t.reboot) if down_for is None else down_for, lambda: self._boot(s)
        )

    def _boot(self, s: SimServer) -> None:
        with self.lock:
            s.down_event = threading.Event()
            s.online = True
            self.start_server(s, mds_only=s.dms_down_after_boot)
            s.dms_down_after_boot = False
            self.api.booted(s.name, s.life.up_at, self.clock.dur(self.api.costs.init_after_boot))
            for hook in self.boot_hooks:
                hook(s)
            self.log(f"{s.name}: up again on {s.version.name}")
        for fn in list(self.listeners):
            fn(s, True)

    def network_blip(self, s: SimServer, seconds: float) -> None:
        """Connections to ``s`` drop and its port refuses for ``seconds``; work goes on."""
        with self.lock:
            if not s.online:
                return
            s.online = False
            self.log(f"{s.name}: network drop for {seconds:.1f}s")
        for fn in list(self.listeners):
            fn(s, False)

        def back() -> None:
            with self.lock:
                s.online = True
            for fn in list(self.listeners):
                fn(s, True)

        self.scheduler.after(seconds, back)

    # -- object versions ----------------------------------------------------------
    def fix_object_versions(self, s: SimServer, name: str | None) -> list[tuple[DomainServer, str]]:
        """``mds_fix_cmas_clms_version``: (object, outcome) for each object touched."""
        with self.lock:
            if name is None:
                targets = [d for d in s.locals if not d.is_global]
                targets += [
                    d
                    for m in self.servers
                    if m.kind == "MLM" and m.version.name == s.version.name
                    for d in m.locals
                ]
            else:
                found = [
                    d
                    for m in self.servers
                    for d in m.locals
                    if not d.is_global and (d.name == name or d.ip == name)
                ]
                if not found:
                    raise LabError(
                        "generic_err_object_not_found",
                        f"Object {name} not found in the Multi-Domain Server database",
                    )
                targets = found
            out: list[tuple[DomainServer, str]] = []
            for d in targets:
                if d.kind == "CMA" and self.dms_state(d) != "up":
                    out.append((d, "down"))
                    continue
                d.object_version = d.host.version.name
                out.append((d, "updated"))
            return out

    # -- helpers for tests and the control API -----------------------------------
    def summary(self) -> dict[str, object]:
        with self.lock:
            self.sync_all()
            return {
                "servers": [
                    {
                        "name": s.name,
                        "kind": s.kind,
                        "role": s.role,
                        "version": s.version.name,
                        "online": s.online,
                        "state": self.server_state(s),
                        "port": s.port,
                        "upgrading": s.upgrade is not None,
                        "snapshots": sorted(s.snapshots),
                    }
                    for s in self.servers
                ],
                "domains": [
                    {
                        "name": d.name,
                        "servers": {
                            x.host.name: {
                                "ha": x.ha_state,
                                "sync": x.sync_status,
                                "state": self.dms_state(x),
                                "revisions": len(x.revisions),
                                "lost": [c.name for r in x.lost for c in r.changes],
                                "object_version": x.object_version,
                            }
                            for x in d.dms + d.dls
                        },
                    }
                    for d in self.domains
                ],
                "api": self.api.snapshot(self.clock.now()),
            }


def _not_running(own: frozenset[str] | None, log_server: bool) -> set[str]:
    """The columns a row shows ``N/R``: its own when known (a twin's), else CPCA on a log
    server's rows."""
    if own is not None:
        return set(own)
    return {"CPCA"} if log_server else set()


def build(
    clock: Clock,
    mds: int = 2,
    mlm: int = 1,
    domains: int = 5,
    version: VersionProfile | None = None,
    timings: Timings | None = None,
    columns: dict[str, tuple[str, ...]] | None = None,
) -> Deployment:
    """A healthy deployment: every DMS up, active on the primary, synchronized."""
    if not 1 <= mds <= 4:
        raise ValueError("--mds must be between 1 and 4")
    if not 0 <= mlm <= 4:
        raise ValueError("--mlm must be between 0 and 4")
    if not 1 <= domains <= 500:
        raise ValueError("--domains must be between 1 and 500")
    ver = version or profile("R81.10")
    dep = Deployment(clock, timings, columns)
    for i in range(mds):
        dep.servers.append(
            SimServer(
                f"mds{i + 1}",
                "MDS",
                "primary" if i == 0 else "secondary",
                f"192.0.2.{11 + i}",
                i,
                ver,
            )
        )
    for j in range(mlm):
        dep.servers.append(
            SimServer(f"mlm{j + 1}", "MLM", "log-server", f"192.0.2.{21 + j}", mds + j, ver)
        )
    glob = Domain(GLOBAL, 0, is_global=True)
    dep.domains.append(glob)
    for s in dep.mdss:
        g = DomainServer(glob, s, "", s.ip, "CMA")
        g.ha_state = "active" if s.role == "primary" else "standby"
        glob.dms.append(g)
        s.locals.append(g)
    for k in range(domains):
        dom = Domain(f"dom{k + 1}", k + 1)
        dep.domains.append(dom)
        for s in dep.servers:
            third, fourth = divmod(k, 250)
            ip = f"10.{s.index + 1}.{third}.{fourth + 1}"
            if s.kind == "MDS":
                suffix = "" if s.index == 0 else f"_{s.index + 1}"
                d = DomainServer(dom, s, f"{dom.name}_Server{suffix}", ip, "CMA")
                d.ha_state = "active" if s.role == "primary" else "standby"
                dom.dms.append(d)
            else:
                n = s.index - mds
                suffix = "" if n == 0 else f"_{n + 1}"
                d = DomainServer(dom, s, f"{dom.name}_Log_Server{suffix}", ip, "CLM")
                dom.dls.append(d)
            s.locals.append(d)
    base = 20000
    for s in dep.servers:
        s.life.force(True, base)
        base += 10
        for d in s.locals:
            d.life.force(True, base)
            base += 10
            d.last_sync = clock.wall()
        s.vfs.mounts = [
            Mount("/", 20 * 1024 * 1024, 8 * 1024 * 1024),
            Mount("/var/log", 200 * 1024 * 1024, 40 * 1024 * 1024),
        ]
    return dep
