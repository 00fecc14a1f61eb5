"""Phase 07: one active per domain (R9), Collision (R14, R15), synchronize standbys (R10).

The retained database of a collided domain is a decision (``retain_database_on``: one
server for every collided domain, or ``dom1=mds1,dom3=mds2``). The other side is set to
standby on its own server, then ``ha-full-sync`` runs from the retained server to it; its
changes since the freeze are lost and listed for re-entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from mdstools import audit, status
from mdstools.checks import CheckResult
from mdstools.errors import MdstoolsError, TransportError
from mdstools.procedure import steps
from mdstools.procedure.common import api_change, found, scaled, wait_task
from mdstools.procedure.objects import domain_servers
from mdstools.records import COLLISION, SYNCHRONIZED, DomainServerInfo
from mdstools.run import DryResult, Run
from mdstools.secrets import redact


def view(run: Run) -> status.Snapshot:
    """The HA picture now (show-ha-state, show-ha-status per domain)."""
    return status.collect(run.fleet)


def sync_frame(snap: status.Snapshot) -> pd.DataFrame:
    rows = [
        {
            "domain": d.name,
            "active": d.active_server or "+".join(d.active_servers) or "none",
            **d.sync_status,
            "ok": len(d.active_servers) == 1
            and all(v == SYNCHRONIZED for v in d.sync_status.values()),
        }
        for d in snap.domains
    ]
    df = pd.DataFrame(rows)
    if df.empty:
        return pd.DataFrame(columns=["domain", "active", "ok"])
    return df.sort_values("ok", kind="stable").reset_index(drop=True)


def states(snap: status.Snapshot) -> dict[str, dict[str, str]]:
    """Each domain's sync status per peer, as the collision and synchronization checks read it."""
    return {d.name: d.sync_status for d in snap.domains}


def collided(snap: status.Snapshot) -> list[str]:
    """R14: domains in Collision."""
    return [d.name for d in snap.domains if COLLISION in d.sync_status.values()]


def parse_retain(value: Any, domains: list[str], servers: list[str]) -> dict[str, str]:
    """``retain_database_on`` -> {domain: server}: one server name, ``d=s,d=s``, or a dict."""
    if isinstance(value, dict):
        mapping = {str(k): str(v) for k, v in value.items()}
    elif isinstance(value, str) and "=" in value:
        mapping = dict(part.split("=", 1) for part in value.split(",") if part.strip())
        mapping = {k.strip(): v.strip() for k, v in mapping.items()}
    elif isinstance(value, str) and value:
        mapping = {d: value for d in domains}
    else:
        return {}
    bad = [f"{d}={s}" for d, s in mapping.items() if s not in servers]
    if bad:
        raise MdstoolsError(
            f"retain_database_on names unknown servers: {', '.join(bad)}",
            f"use one of {', '.join(servers)}",
        )
    return mapping


@dataclass(frozen=True, kw_only=True)
class Action:
    domain: str
    action: str
    server: str
    outcome: str


def _peer_name(infos: list[DomainServerInfo], domain: str, mds: str) -> str:
    """The name ``ha-full-sync`` takes: the peer's domain server name (Global: the MDS)."""
    if domain == "Global":
        return mds
    for i in infos:
        if i.domain == domain and i.mds == mds and i.type == "management server":
            return i.name
    raise MdstoolsError(
        f"no domain server of {domain} on {mds} in show-domains",
        "check the domain's servers in SmartConsole",
    )


def _task(run: Run, server: str, step: steps.Step, **args: str) -> str:
    """Send ``step`` (a Management API command that starts a task) for ``args["domain"]``
    in one read/write session, and wait for the task in one read-only session.

    The task is journaled when it starts and ends: a rerun that finds the same command's
    task started by an earlier run and not ended waits for that task instead of starting
    another (journaled as found in progress).
    """
    domain = args["domain"]
    cmd = step.command(run.inventory, **args)
    key = f"{server} {cmd.name}: {redact(cmd.line)}"
    earlier = _unfinished_task(run, key)
    task = None
    if earlier is not None and run.waits(server, f"task {earlier} of {cmd.name}, started earlier"):
        found(run, server, cmd.name, "in progress", f"task {earlier} started by an earlier run")
        try:
            task = wait_task(run, server, domain, earlier)
        except TransportError:
            raise
        except MdstoolsError as exc:
            found(run, server, cmd.name, "not found", f"task {earlier}: {exc}; sending again")
    if task is None:
        res = api_change(run, server, step, **args)
        if isinstance(res, DryResult):
            run.waits(server, f"the task of {cmd.name}")
            return "dry run"
        if isinstance(res, MdstoolsError):
            return f"FAILED: {res}"
        run.journal.write("step", event="task-start", key=key, server=server, task=res.task_id)
        task = wait_task(run, server, domain, res.task_id)
    run.journal.write("step", event="task-end", key=key, server=server, status=task.status)
    return task.status if task.succeeded else f"FAILED: task {task.status} ({task.description})"


def _unfinished_task(run: Run, key: str) -> str | None:
    """The task id of ``key`` started by an earlier run of this ticket and not ended."""
    pending: str | None = None
    for e in audit.read_journal(run.report_dir / audit.JOURNAL):
        if e.get("kind") != "step" or e.get("key") != key:
            continue
        if e.get("event") == "task-start":
            pending = str(e.get("task"))
        elif e.get("event") == "task-end":
            pending = None
    return pending


def resolve(run: Run, snap: status.Snapshot, retain: dict[str, str]) -> pd.DataFrame:
    """R15: for each collided domain, standby the other side, full sync from the retained."""
    infos = domain_servers(run)
    actions: list[Action] = []
    for d in snap.domains:
        if d.name not in retain:
            continue
        keep = retain[d.name]
        for other in d.sync_status:
            if other == keep:
                continue
            if other in d.active_servers:
                actions.append(
                    Action(
                        domain=d.name,
                        action="set-ha-state standby",
                        server=other,
                        outcome=_task(run, other, steps.STANDBY, domain=d.name),
                    )
                )
            if keep not in d.active_servers:
                actions.append(
                    Action(
                        domain=d.name,
                        action="set-ha-state active",
                        server=keep,
                        outcome=_task(run, keep, steps.ACTIVE, domain=d.name),
                    )
                )
            peer = _peer_name(infos, d.name, other)
            actions.append(
                Action(
                    domain=d.name,
                    action=f"ha-full-sync {keep} -> {peer}",
                    server=keep,
                    outcome=_task(run, keep, steps.FULL_SYNC, domain=d.name, peer=peer),
                )
            )
    return pd.DataFrame(
        [a.__dict__ for a in actions], columns=["domain", "action", "server", "outcome"]
    )


def one_active(run: Run, snap: status.Snapshot) -> pd.DataFrame:
    """R9: a domain with two actives and no collision keeps the primary's DMS active."""
    primary = run.inventory.primary.name
    actions: list[Action] = []
    for d in snap.domains:
        if len(d.active_servers) <= 1 or COLLISION in d.sync_status.values():
            continue
        keep = primary if primary in d.active_servers else d.active_servers[0]
        for other in d.active_servers:
            if other != keep:
                actions.append(
                    Action(
                        domain=d.name,
                        action="set-ha-state standby",
                        server=other,
                        outcome=_task(run, other, steps.STANDBY, domain=d.name),
                    )
                )
    for d in snap.domains:
        if not d.active_servers:
            actions.append(
                Action(
                    domain=d.name,
                    action="set-ha-state active",
                    server=primary,
                    outcome=_task(run, primary, steps.ACTIVE, domain=d.name),
                )
            )
    return pd.DataFrame(
        [a.__dict__ for a in actions], columns=["domain", "action", "server", "outcome"]
    )


def synchronize_standbys(run: Run, snap: status.Snapshot) -> pd.DataFrame:
    """R10: a full sync from the active server to every standby that is not Synchronized."""
    infos = domain_servers(run)
    actions: list[Action] = []
    for d in snap.domains:
        if d.active_server is None:
            continue
        for peer_mds, state in d.sync_status.items():
            if peer_mds == d.active_server or state == SYNCHRONIZED:
                continue
            peer = _peer_name(infos, d.name, peer_mds)
            actions.append(
                Action(
                    domain=d.name,
                    action=f"ha-full-sync {d.active_server} -> {peer}",
                    server=d.active_server,
                    outcome=_task(run, d.active_server, steps.FULL_SYNC, domain=d.name, peer=peer),
                )
            )
    return pd.DataFrame(
        [a.__dict__ for a in actions], columns=["domain", "action", "server", "outcome"]
    )


def apply(run: Run, snap: status.Snapshot, retain: dict[str, str]) -> pd.DataFrame:
    """R15, R9, R10 in order: collisions resolved from the retained side, one active per
    domain, the standbys synchronized; each reads the HA picture its predecessor left. One
    table of every action taken."""
    actions = [resolve(run, snap, retain)]
    actions.append(one_active(run, view(run)))
    actions.append(synchronize_standbys(run, view(run)))
    return pd.concat(actions, ignore_index=True)


def wait_synchronized(run: Run, timeout_s: float = 1800) -> status.Snapshot:
    """Poll until every domain has one active and every peer is Synchronized (or timeout)."""
    import time

    t0 = time.monotonic()
    deadline = t0 + scaled(run, timeout_s, 2.0)
    while True:
        snap = view(run)
        pending = [
            d.name
            for d in snap.domains
            if len(d.active_servers) != 1 or any(v != SYNCHRONIZED for v in d.sync_status.values())
        ]
        run.progress(
            f"sync: {len(snap.domains) - len(pending)} of {len(snap.domains)} domains synchronized",
            None,
            time.monotonic() - t0,
        )
        if (
            not pending
            or time.monotonic() > deadline
            or not run.waits("every MDS", f"{len(pending)} domains synchronized")
        ):
            return snap
        time.sleep(scaled(run, 10.0))


def versions_check(run: Run, snap: status.Snapshot) -> CheckResult:
    """R4: synchronization only when every MDS and MLM runs the target version."""
    target = run.inventory.target_version
    bad = [f"{s.name}={s.version}" for s in snap.servers if s.version != target]
    return CheckResult(
        name="every server on target before sync",
        passed=not bad,
        reason=f"every server runs {target}" if not bad else "not on target: " + ", ".join(bad),
        requirement="R4",
        next_step="finish phases 03-05 first; MDSs on different versions do not synchronize",
    )
