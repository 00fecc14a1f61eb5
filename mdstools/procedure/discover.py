"""Phase 00 (the baseline) and phase 08 (the end state compared with it)."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from mdstools import checks, status, ui
from mdstools.checks import CheckResult
from mdstools.escape import markdown_text
from mdstools.records import COLLISION, ProcessState
from mdstools.run import Run

BASELINE = "baseline.json"
FINAL = "final_state.json"


def snapshot(run: Run) -> status.Snapshot:
    """The live snapshot of every server (versions, mdsstat, domains, HA)."""
    snap = status.collect(run.fleet)
    for s in snap.servers:
        if not s.reachable:
            ui.banner(f"{s.name} unreachable", [s.error or ""], False)
    for note in snap.notes:
        ui.markdown(f"*note:* {markdown_text(note)}")
    return snap


def _procs(p: dict[str, ProcessState]) -> str:
    return " ".join(f"{k}:{v.status}" for k, v in p.items())


def servers_frame(snap: status.Snapshot) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "server": s.name,
                "role": s.role,
                "reachable": s.reachable,
                "version": s.version,
                "build": s.build,
                "processes": _procs(s.processes) if s.reachable else s.error,
            }
            for s in snap.servers
        ],
        columns=["server", "role", "reachable", "version", "build", "processes"],
    )


def domain_servers_frame(snap: status.Snapshot) -> pd.DataFrame:
    """Every DMS/DLS with its process state, the ones not up first."""
    df = pd.DataFrame(
        [
            {
                "server": d.server,
                "type": d.type,
                "name": d.name,
                "domain": d.domain,
                "ip": d.ip,
                "all_up": d.all_up,
                "processes": _procs(d.processes),
            }
            for d in snap.domain_servers
        ],
        columns=["server", "type", "name", "domain", "ip", "all_up", "processes"],
    )
    return df.sort_values("all_up", kind="stable").reset_index(drop=True) if not df.empty else df


def domains_frame(snap: status.Snapshot) -> pd.DataFrame:
    """Active/standby and sync status per domain, the ones needing attention first."""
    rows = []
    for d in snap.domains:
        attention = d.active_server is None or COLLISION in d.sync_status.values()
        rows.append(
            {
                "domain": d.name,
                "active": d.active_server or "+".join(d.active_servers),
                "standby": ", ".join(d.standby_servers),
                "sync": ", ".join(f"{k}={v}" for k, v in d.sync_status.items()),
                "attention": attention,
            }
        )
    df = pd.DataFrame(rows, columns=["domain", "active", "standby", "sync", "attention"])
    return (
        df.sort_values("attention", ascending=False, kind="stable").reset_index(drop=True)
        if not df.empty
        else df
    )


def save(run: Run, snap: status.Snapshot, name: str) -> str:
    return str(run.write_file(name, json.dumps(snap.to_json(), indent=2) + "\n"))


def load_baseline(run: Run) -> dict[str, Any] | None:
    try:
        data: dict[str, Any] = json.loads((run.report_dir / BASELINE).read_text())
        return data
    except (FileNotFoundError, ValueError):
        return None


def global_active(run: Run, snap: status.Snapshot) -> CheckResult:
    """R1: which MDS is active for the Global domain (global policy and objects)."""
    glob = next((d for d in snap.domains if d.name == "Global"), None)
    reachable = {s.name for s in snap.servers if s.reachable}
    if glob is None:
        return CheckResult(
            name="Global domain active MDS",
            passed=False,
            reason="the Global domain was not found in show-ha-state",
            requirement="R1",
            severity="warning",
            next_step="check the Management API on the primary",
        )
    active = glob.active_server
    if active is None:
        return CheckResult(
            name="Global domain active MDS",
            passed=False,
            reason=f"Global has {len(glob.active_servers)} active MDSs "
            f"({', '.join(glob.active_servers) or 'none'})",
            requirement="R1",
            next_step="make one MDS active for Global (phase 02)",
        )
    if active not in reachable:
        return CheckResult(
            name="Global domain active MDS",
            passed=False,
            reason=f"the active MDS of Global, {active}, is unreachable",
            requirement="R1",
            next_step="make a standby MDS active for Global (phase 02, with confirmation)",
        )
    return CheckResult(
        name="Global domain active MDS",
        passed=True,
        reason=f"{active} is the active MDS for global policy and objects",
        requirement="R1",
    )


def reachable(snap: status.Snapshot) -> CheckResult:
    bad = [f"{s.name} ({s.error})" for s in snap.unreachable]
    return CheckResult(
        name="every server reachable",
        passed=not bad,
        reason="every server answered" if not bad else "unreachable: " + ", ".join(bad),
        requirement="R2",
        next_step="fix the connection (inventory, network, host keys)",
    )


def out_of_scope() -> None:
    """R16: gateways are not upgraded by this toolkit; the record says so."""
    ui.banner(
        "Out of scope (R16)",
        [
            "Domain Security Gateways get their HA from ClusterXL, configured in SmartConsole; "
            "this toolkit does not upgrade or change gateways."
        ],
        None,
    )


def compare(run: Run, snap: status.Snapshot) -> list[CheckResult]:
    """Phase 08: the end state against the baseline of phase 00."""
    base = load_baseline(run)
    if base is None:
        return [
            CheckResult(
                name="baseline present",
                passed=False,
                reason=f"no {BASELINE} for ticket {run.ticket}",
                requirement="R4",
                next_step="run phase 00 first",
            )
        ]
    sync = {d.name: d.sync_status for d in snap.domains}
    return [
        _domain_servers_present(base, snap),
        _domain_servers_up(snap),
        checks.versions_on_target(
            {s.name: s.version for s in snap.servers}, run.inventory.target_version
        ),
        _domains_present(base, snap),
        checks.no_collision(sync),
        checks.synchronized(sync),
        _one_active(snap),
    ]


def _domain_servers_present(base: dict[str, Any], snap: status.Snapshot) -> CheckResult:
    """R12: every DMS/DLS of the baseline is still there."""
    before = {(d["server"], d["name"]) for d in base["domain_servers"]}
    now = {(d.server, d.name) for d in snap.domain_servers}
    missing = sorted(f"{s}/{n}" for s, n in before - now)
    return CheckResult(
        name="all domain servers present",
        passed=not missing,
        reason="every DMS/DLS of the baseline is present"
        if not missing
        else "missing: " + ", ".join(missing[:10]),
        requirement="R12",
        evidence=tuple(missing),
        next_step="check mdsstat on the servers listed",
    )


def _domain_servers_up(snap: status.Snapshot) -> CheckResult:
    """R12: every DMS/DLS is up."""
    down = [f"{d.server}/{d.name}" for d in snap.domain_servers if not d.all_up]
    return CheckResult(
        name="all domain servers up",
        passed=not down,
        reason="every DMS/DLS is up" if not down else "not up: " + ", ".join(down[:10]),
        requirement="R12",
        evidence=tuple(down),
        next_step="start them with mdsstart_customer (phase 06)",
    )


def _domains_present(base: dict[str, Any], snap: status.Snapshot) -> CheckResult:
    """R4: every domain of the baseline is still there."""
    doms_before = {d["name"] for d in base["domains"]}
    doms_now = {d.name for d in snap.domains}
    lost = sorted(doms_before - doms_now)
    return CheckResult(
        name="all domains present",
        passed=not lost,
        reason=f"{len(doms_now)} domains, as in the baseline"
        if not lost
        else "missing domains: " + ", ".join(lost),
        requirement="R4",
        evidence=tuple(lost),
    )


def _one_active(snap: status.Snapshot) -> CheckResult:
    bad = [
        f"{d.name} ({len(d.active_servers)} active)"
        for d in snap.domains
        if len(d.active_servers) != 1
    ]
    return CheckResult(
        name="one active per domain",
        passed=not bad,
        reason="each domain has one active server"
        if not bad
        else "not exactly one active: " + ", ".join(bad),
        requirement="R9",
        evidence=tuple(bad),
        next_step="phase 07 sets one active per domain",
    )
