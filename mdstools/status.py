"""The live health snapshot behind ``mdstools status``: versions, processes, HA per domain.

Cost: about two round trips per server, in parallel. First, on every server at once, as
concurrent channels: ``fw ver`` and ``mdsstat``, plus (on the primary, or the first MDS that
answers) ``show-domains`` and ``show-ha-state``. Then, on each MDS that holds active DMSs,
``show-ha-status`` for those domains, each in its own read-only API session, a few execs at
once (:mod:`mdstools.mgmt_api`; R81.20 JHF T43 and later; before that the sync status is
derived from ``show-ha-state`` alone and the snapshot says so).

The JSON form (``status --format json``, phase 00's ``baseline.json``) is described in
``docs/formats.md#the-status-document``; ``mdstools lab up --like`` builds a lab from it.

Imports nothing heavy (no pandas, no papermill): ``mdstools status`` starts fast.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from mdstools import checks, mgmt_api, process_views
from mdstools.checks import CheckResult
from mdstools.commands import ha, mdsstat, versions
from mdstools.commands.base import Command
from mdstools.errors import ApiError, ConnectError, ExitCode, MdstoolsError, ParseError
from mdstools.escape import terminal_text
from mdstools.fleet import Fleet, run_all
from mdstools.inventory import Inventory
from mdstools.records import (
    COLLISION,
    NEVER_SYNCHRONIZED,
    SYNCHRONIZED,
    UNKNOWN,
    DomainServerInfo,
    HaStateEntry,
    HaStatus,
    MdsStat,
    ProcessState,
    VersionInfo,
)
from mdstools.session import Session


@dataclass(frozen=True, kw_only=True)
class ServerStatus:
    name: str
    role: str
    host: str
    reachable: bool
    error: str | None
    version: str | None
    build: str | None
    processes: dict[str, ProcessState]
    login_shell: str | None = None  # "bash" | "clish": the shell the client logged in to


@dataclass(frozen=True, kw_only=True)
class DomainServerStatus:
    server: str
    type: str
    name: str
    domain: str | None
    ip: str
    processes: dict[str, ProcessState]
    all_up: bool


@dataclass(frozen=True, kw_only=True)
class DomainStatus:
    name: str
    active_server: str | None
    standby_servers: list[str]
    sync_status: dict[str, str]
    active_servers: list[str] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class Snapshot:
    collected_at: str
    servers: list[ServerStatus]
    domain_servers: list[DomainServerStatus]
    domains: list[DomainStatus]
    checks: list[CheckResult]
    notes: list[str]
    environment: str | None = None  # the inventory's environment
    target_version: str | None = None  # the inventory's target_version

    @property
    def unreachable(self) -> list[ServerStatus]:
        return [s for s in self.servers if not s.reachable]

    def exit_code(self) -> ExitCode:
        """4 when a server is unreachable, 1 when a blocking check fails, else 0."""
        if self.unreachable:
            return ExitCode.UNREACHABLE
        return ExitCode.FAILED if any(c.blocking for c in self.checks) else ExitCode.OK

    def to_json(self) -> dict[str, Any]:
        """Plain data in the shape of ``status --format json`` (shallow: the records hold
        plain values)."""

        def procs(p: dict[str, ProcessState]) -> dict[str, Any]:
            return {k: {"status": v.status, "pid": v.pid} for k, v in p.items()}

        def flat(record: Any, **override: Any) -> dict[str, Any]:
            out = {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}
            out.update(override)
            return out

        return {
            "collected_at": self.collected_at,
            "environment": self.environment,
            "target_version": self.target_version,
            "servers": [flat(s, processes=procs(s.processes)) for s in self.servers],
            "domain_servers": [flat(d, processes=procs(d.processes)) for d in self.domain_servers],
            "domains": [flat(d) for d in self.domains],
            "checks": [
                {
                    "name": c.name,
                    "passed": c.passed,
                    "reason": c.reason,
                    "severity": c.severity,
                    "requirement": c.requirement,
                }
                for c in self.checks
            ],
            "notes": self.notes,
        }


def _ha_status_of(text: str, domain: str) -> HaStatus | ApiError | ParseError:
    try:
        return ha.show_ha_status(domain).parse(text)
    except (ApiError, ParseError) as exc:
        return exc


def _first_stage(fleet: Fleet) -> dict[str, Any]:
    """``fw ver`` and ``mdsstat`` on every server at once, plus ``show-domains`` and
    ``show-ha-state`` on the primary: each server's outcome."""
    mgmt_host = fleet.inventory.primary.name

    def on_server(sess: Session) -> dict[str, Any]:
        cmds: list[Command[Any]] = [versions.fw_ver(), mdsstat.mdsstat()]
        if sess.name == mgmt_host:
            cmds += [ha.show_domains(), ha.show_ha_state()]
        results = run_all(sess, cmds)
        for i in range(2, len(results)):
            if mgmt_api.not_now(results[i]) is not None:
                results[i] = mgmt_api.run_retrying(
                    sess, cmds[i], time_scale=fleet.inventory.time_scale
                )
        return {
            "version": results[0],
            "mdsstat": results[1],
            "domains": results[2] if len(results) > 2 else None,
            "ha_state": results[3] if len(results) > 3 else None,
        }

    return fleet.map(on_server)


def _servers(
    inv: Inventory, first: dict[str, Any], notes: list[str]
) -> tuple[list[ServerStatus], dict[str, MdsStat], dict[str, str | None]]:
    """Each server's status, the ``mdsstat`` tables that were read and each server's
    version (None when unknown); a note for each ``mdsstat`` that failed."""
    servers: list[ServerStatus] = []
    tables: dict[str, MdsStat] = {}
    version_of: dict[str, str | None] = {}
    for s in inv.servers:
        o = first[s.name]
        if o.error is not None or o.value is None:
            err = o.error
            servers.append(
                ServerStatus(
                    name=s.name,
                    role=s.role.value,
                    host=s.host,
                    reachable=False,
                    error=str(err) if err else "unknown error",
                    version=None,
                    build=None,
                    processes={},
                )
            )
            version_of[s.name] = None
            continue
        ver = o.value["version"]
        vi: VersionInfo | None = ver.data if ver.ok else None
        table: MdsStat | None = o.value["mdsstat"].data if o.value["mdsstat"].ok else None
        if table is not None:
            tables[s.name] = table
        else:
            notes.append(f"{s.name}: mdsstat failed: {o.value['mdsstat'].error}")
        version_of[s.name] = vi.version if vi else None
        row = table.server_row if table else None
        servers.append(
            ServerStatus(
                name=s.name,
                role=s.role.value,
                host=s.host,
                reachable=True,
                error=None,
                version=vi.version if vi else None,
                build=vi.build if vi else None,
                processes=dict(row.processes) if row else {},
                login_shell=s.shell,
            )
        )
    return servers, tables, version_of


def _domains_and_ha(
    fleet: Fleet, first: dict[str, Any], notes: list[str]
) -> tuple[list[DomainServerInfo], list[HaStateEntry], dict[str, str]]:
    """The domains, the HA state and each domain's UID from the primary, else from the
    first MDS that answers (one more round trip); a note for each MDS whose Management
    API failed."""
    inv = fleet.inventory
    mgmt_host = inv.primary.name
    order = [mgmt_host] + [m.name for m in inv.mdss if m.name != mgmt_host]
    for name in order:
        o = first[name]
        if o.value is None:
            continue
        if name == mgmt_host:
            d, h = o.value["domains"], o.value["ha_state"]
        else:
            d, h = run_all(fleet.session(name), [ha.show_domains(), ha.show_ha_state()])
        if d is not None and d.ok and h is not None and h.ok:
            if name != mgmt_host:
                notes.append(f"domains and HA state read from {name} ({mgmt_host} did not answer)")
            return d.data, h.data, _uids(d.stdout)
        problems = [r.error for r in (d, h) if r is not None and r.error]
        notes.append(f"{name}: Management API: {'; '.join(p for p in problems if p)}")
    return [], [], {}


def _uids(text: str) -> dict[str, str]:
    try:
        return ha.parse_domain_uids(text)
    except (ApiError, ParseError):
        return {}


def _domain_servers(
    tables: dict[str, MdsStat], domain_infos: list[DomainServerInfo]
) -> list[DomainServerStatus]:
    """Each domain server (CMA, CLM) of each ``mdsstat`` table, with the domain it serves."""
    domain_of = {i.name: i.domain for i in domain_infos}
    out: list[DomainServerStatus] = []
    for server, table in tables.items():
        for row in table.domain_rows:
            name = row.name or ""
            out.append(
                DomainServerStatus(
                    server=server,
                    type=row.type,
                    name=name,
                    domain=domain_of.get(name),
                    ip=row.ip,
                    processes=dict(row.processes),
                    all_up=row.all_up,
                )
            )
    return out


def _checks(
    tables: dict[str, MdsStat],
    entries: list[HaStateEntry],
    domains: list[DomainStatus],
    version_of: dict[str, str | None],
    target_version: str,
    notes: list[str],
    sync_unread: dict[str, str] | None = None,
) -> list[CheckResult]:
    """The snapshot's checks; without an HA state, those that need it are left out. An MDS
    whose ``show-ha-status`` could not be read (``sync_unread``: its API still initializing
    after the retries, say) is a warning: the sync status of its domains is unknown."""
    check_list = [
        checks.all_processes_up(tables),
        checks.one_active_per_domain(entries),
        checks.no_collision({d.name: d.sync_status for d in domains}),
        checks.versions_consistent(version_of),
        checks.versions_on_target(version_of, target_version, severity="info"),
    ]
    if not entries:
        check_list = [
            c for c in check_list if c.name not in ("one active per domain", "no collision")
        ]
        notes.append("HA state unknown: no MDS answered show-ha-state")
        check_list.append(
            CheckResult(
                name="domains and HA state read",
                passed=False,
                reason="no MDS's Management API answered show-domains and show-ha-state: "
                "the domains and their HA state are unknown (not zero)",
                requirement="R4",
                next_step="see the notes for each MDS's answer; run status again",
            )
        )
    if sync_unread:
        where = sorted(sync_unread)
        check_list.append(
            CheckResult(
                name="sync status read",
                passed=False,
                reason=f"show-ha-status not read on {', '.join(where)}: the sync status of "
                "the domains active there is unknown (" + sync_unread[where[0]] + ")",
                requirement="R4",
                severity="warning",
                next_step="wait until the Management API of "
                f"{', '.join(where)} answers (it may be starting) and run status again",
            )
        )
    return check_list


def collect(fleet: Fleet, cross_check: bool = False) -> Snapshot:
    """Take the snapshot of every server of ``fleet`` (unreachable ones are reported).

    ``cross_check``: also read ``show-servers-and-processes`` on each server whose release
    has it (one more round trip and one API login per server) and say in the notes whether
    it agrees with ``mdsstat``.
    """
    inv = fleet.inventory
    notes: list[str] = []
    first = _first_stage(fleet)
    servers, tables, version_of = _servers(inv, first, notes)
    if cross_check:
        _cross_check(fleet, tables, version_of, notes)
    domain_infos, entries, uids = _domains_and_ha(fleet, first, notes)
    domain_servers = _domain_servers(tables, domain_infos)
    sync_unread: dict[str, str] = {}
    statuses = _ha_statuses(fleet, entries, version_of, notes, uids, sync_unread)
    domains = _domains(entries, statuses)
    return Snapshot(
        collected_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        environment=inv.environment,
        target_version=inv.target_version,
        servers=servers,
        domain_servers=domain_servers,
        domains=domains,
        checks=_checks(
            tables, entries, domains, version_of, inv.target_version, notes, sync_unread
        ),
        notes=notes,
    )


def _cross_check(
    fleet: Fleet,
    tables: dict[str, MdsStat],
    version_of: dict[str, str | None],
    notes: list[str],
) -> None:
    """A note per server on whether ``show-servers-and-processes`` agrees with its
    ``mdsstat``; servers whose release lacks the command are named once."""
    asked = [n for n in tables if process_views.has_api_view(version_of.get(n))]
    lacking = sorted(n for n in tables if n not in asked)
    if lacking:
        notes.append(
            "show-servers-and-processes needs R81.10 JHF T79 or later; not cross-checked: "
            + ", ".join(lacking)
        )
    if not asked:
        return
    got = fleet.map(
        lambda sess: sess.run(ha.show_servers_and_processes(), check=True).value(), asked
    )
    for name in asked:
        o = got[name]
        if o.error is not None or o.value is None:
            notes.append(
                f"{name}: show-servers-and-processes not read ({o.error}); not cross-checked"
            )
        else:
            notes.append(process_views.note(name, tables[name], o.value))


def _ha_statuses(
    fleet: Fleet,
    entries: list[HaStateEntry],
    version_of: dict[str, str | None],
    notes: list[str],
    uids: dict[str, str],
    unread: dict[str, str] | None = None,
) -> dict[str, list[HaStatus]]:
    """``show-ha-status`` of each domain on the MDS where it is active (one read-only API
    session per domain, :mod:`mdstools.mgmt_api`); each MDS whose read failed is added to
    ``unread`` with its error."""
    by_mds: dict[str, list[str]] = defaultdict(list)
    for e in entries:
        if e.ha_state == "active":
            by_mds[e.mds].append(e.domain)
    asked = {
        m: sorted(set(ds))
        for m, ds in by_mds.items()
        if m in version_of and _has_ha_status(version_of[m])
    }
    skipped = sorted(m for m in by_mds if m not in asked)
    if skipped:
        notes.append(
            "show-ha-status needs R81.20 JHF T43 or later; sync status of domains "
            f"active on {', '.join(skipped)} is derived from show-ha-state only "
            "(Collision when two actives, else unknown)"
        )
    out: dict[str, list[HaStatus]] = defaultdict(list)
    if not asked:
        return out
    api_notes: list[str] = []
    results = fleet.map(
        lambda sess: {
            d: _ha_status_of(texts[0], d)
            for d, texts in mgmt_api.read_domains(
                sess,
                asked[sess.name],
                lambda d, s: [ha.mgmt("show-ha-status", session=s)],
                uids=uids,
                time_scale=fleet.inventory.time_scale,
                notes=api_notes,
            ).items()
        },
        list(asked),
    )
    notes.extend(api_notes)
    for mds, o in results.items():
        if o.error is not None or o.value is None:
            notes.append(f"{mds}: show-ha-status failed: {o.error}")
            if unread is not None:
                unread[mds] = str(o.error)
            continue
        for dom, st in o.value.items():
            if isinstance(st, HaStatus):
                out[dom].append(st)
            else:
                notes.append(f"{mds}: show-ha-status {dom}: {st}")
    return out


def _has_ha_status(version: str | None) -> bool:
    m = re.match(r"R(\d+)(?:\.(\d+))?", version or "")
    return bool(m) and (int(m.group(1)), int(m.group(2) or 0)) >= (81, 20)  # type: ignore[union-attr]


def _domains(
    entries: list[HaStateEntry], statuses: dict[str, list[HaStatus]]
) -> list[DomainStatus]:
    by_domain: dict[str, list[HaStateEntry]] = defaultdict(list)
    for e in entries:
        by_domain[e.domain].append(e)
    out = []
    for name, es in by_domain.items():
        actives = [e.mds for e in es if e.ha_state == "active"]
        standbys = [e.mds for e in es if e.ha_state != "active"]
        sync = ha.sync_status(name, es, statuses.get(name, []))
        full = {e.mds: sync.get(e.mds, UNKNOWN) for e in es}
        if len(actives) == 1 and actives[0] not in sync:
            others = [v for k, v in full.items() if k != actives[0]]
            full[actives[0]] = (
                SYNCHRONIZED if others and all(v == SYNCHRONIZED for v in others) else UNKNOWN
            )
        out.append(
            DomainStatus(
                name=name,
                active_server=actives[0] if len(actives) == 1 else None,
                standby_servers=standbys,
                sync_status=full,
                active_servers=actives,
            )
        )
    return out


def render_table(snap: Snapshot, max_domains: int = 40) -> str:
    """A readable text form: servers, checks, then the domains that need attention first."""
    lines = [f"collected {snap.collected_at}", ""]
    lines.append(f"{'server':10} {'role':10} {'reachable':9} {'version':8} {'build':6} processes")
    for s in snap.servers:
        procs = " ".join(f"{k}:{v.status}" for k, v in s.processes.items())
        state = "yes" if s.reachable else "NO"
        lines.append(
            f"{s.name:10} {s.role:10} {state:9} {s.version or '-':8} "
            f"{s.build or '-':6} {procs if s.reachable else s.error}"
        )
    lines.append("")
    down = [d for d in snap.domain_servers if not d.all_up]
    total = len(snap.domain_servers)
    lines.append(f"domain servers: {total - len(down)} of {total} up")
    for d in down[:max_domains]:
        procs = " ".join(f"{k}:{v.status}" for k, v in d.processes.items() if not v.ok)
        lines.append(f"  DOWN {d.server:8} {d.type} {d.name} ({procs})")
    if len(down) > max_domains:
        lines.append(f"  ... and {len(down) - max_domains} more (use --format json)")
    lines.append("")
    attention = [
        d
        for d in snap.domains
        if d.active_server is None
        or any(v in (COLLISION, NEVER_SYNCHRONIZED) for v in d.sync_status.values())
    ]
    lines.append(f"domains: {len(snap.domains)}, needing attention: {len(attention)}")
    shown = attention if attention else snap.domains[:max_domains]
    for dom in shown[:max_domains]:
        active = dom.active_server or ("+".join(dom.active_servers) or "none")
        sync = ", ".join(f"{k}={v}" for k, v in dom.sync_status.items())
        lines.append(f"  {dom.name:12} active {active:10} {sync}")
    if len(shown) > max_domains:
        lines.append(f"  ... and {len(shown) - max_domains} more (use --format json)")
    lines.append("")
    lines.append("checks:")
    for c in snap.checks:
        lines.append(f"  [{c.label}] {c.name} ({c.requirement}): {c.reason}")
    for n in snap.notes:
        lines.append(f"note: {n}")
    return "\n".join(terminal_text(line) for line in lines)


def render_json(snap: Snapshot, pretty: bool = True) -> str:
    """JSON; indented for people (a terminal), compact for programs (a pipe: 5x faster)."""
    return json.dumps(snap.to_json(), indent=2 if pretty else None)


__all__ = ["ConnectError", "MdstoolsError", "Snapshot", "collect", "render_json", "render_table"]
