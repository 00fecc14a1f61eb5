"""``mdstools plan``: the whole campaign as it would run, nothing executed (X2).

Every phase with its requirements, gates and decisions (:data:`mdstools.phases.PHASES`) and
the commands it sends to each server: the steps the procedures themselves run
(:mod:`mdstools.procedure.steps`). Reads need no connection.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from mdstools import estimate, lock
from mdstools.commands.base import Command, quote
from mdstools.commands.lock import LOCK_FILE, release_lock, take_lock
from mdstools.inventory import Inventory
from mdstools.phases import BACKOUT, PHASES, Phase
from mdstools.procedure.steps import Step, phase_steps


def _line(cmd: Command[Any]) -> str:
    mark = " (changes the server)" if cmd.mutating else ""
    return f"[{cmd.mode.value}] {cmd.line}{mark}"


def _steps_by_server(ph: Phase, inv: Inventory) -> list[tuple[str, list[str]]]:
    """The phase's steps (:mod:`mdstools.procedure.steps`) in order, consecutive steps on
    the same servers under one heading."""
    per: list[tuple[str, list[str]]] = []
    for step in phase_steps(ph.id, inv):
        names = step.servers.names(inv)
        where = f"{step.servers.value} ({', '.join(names) or 'none in the inventory'})"
        if not per or per[-1][0] != where:
            per.append((where, []))
        per[-1][1].append(_describe(step, inv))
    return per


def _describe(step: Step, inv: Inventory) -> str:
    """The step's line; a step that needs the upgrade package of an inventory without one
    says so (such an inventory serves status and discovery)."""
    if not step.lacks_package(inv):
        return step.describe(inv)
    note = f" -- {step.note}" if step.note else ""
    return f"(a command with upgrade.package, which the inventory does not give){note}"


def _lock_steps(inv: Inventory) -> tuple[str, list[str], list[str]]:
    """What a mutating phase does about the lock: a summary, its first and last commands."""
    token = "0" * 32
    info = {"token": token}
    take = _line(take_lock(info)).replace(
        quote(json.dumps(info)),
        "'<holder: environment, pid, host, ticket, phase, operator, started, token>'",
    )
    release = _line(release_lock(token)).replace(token, "<token>")
    summary = (
        f"lock: the host-wide lock {lock.lock_path(inv.environment)} and {LOCK_FILE} on "
        f"{inv.primary.name}, taken (or confirmed: same token) first, released at the end; "
        "another holder stops the phase (exit 3)"
    )
    return summary, [take + " -- first"], [release + " -- last, also on failure"]


def _way_back(ph: Phase, inv: Inventory) -> list[str]:
    """09's lines beside the campaign: when it runs, and per server what its revert does
    and loses (B2, B3)."""
    if ph.id != BACKOUT:
        return []
    out = [
        "   the way back: not part of `mdstools campaign` (its default range is 00..08); "
        "run it when the campaign must be undone, after 02 passed",
        "   by default it reverts the servers whose upgrade was started or whose version "
        "differs from the baseline (-p backout_servers=... narrows it)",
    ]
    for s in inv.servers:
        lost = (
            f"changes published after 02's snapshot on {s.name} are lost and listed for "
            "re-entry (backout_reentry.csv, a DRAFT mgmt_cli batch)"
            if s in inv.mdss
            else f"what changed on {s.name} after 02's snapshot, outside /var/log, is lost"
        )
        out.append(
            f"   {s.name}: set snapshot revert mdstools_<ticket>_{s.name} (02's snapshot; it "
            f"reboots, waited for), mdsstart; {lost}"
        )
    return out


def render(
    inv: Inventory, document: Mapping[str, Any] | None = None, origin: str = "the document"
) -> str:
    """The plan as text, ending with the change window's estimate
    (:func:`mdstools.estimate.estimate` of ``document``, a baseline or status document
    named ``origin``; None: the inventory and an assumed domain count)."""
    out = [
        f"Campaign plan for {inv.environment}: {len(inv.mdss)} MDS, "
        f"{len(inv.log_servers)} log servers, to {inv.target_version} "
        f"({inv.upgrade_method}{': ' + inv.upgrade_package if inv.upgrade_package else ''})",
        f"inventory {inv.path} (SHA-256 {inv.sha256[:16]}...)",
        *(
            [f"time scale {inv.time_scale:g} (the inventory's): timeouts and waits are scaled"]
            if inv.time_scale != 1.0
            else []
        ),
        "Nothing below has been executed.",
        "",
    ]
    for ph in PHASES:
        out.append(
            f"{ph.id} {ph.title}  [{', '.join(ph.requirements)}]"
            + ("  -- changes servers" if ph.mutating else "  -- read only")
        )
        out.append(f"   {ph.summary}")
        out.extend(_way_back(ph, inv))
        if ph.needs:
            out.append(f"   gate: {' and '.join(ph.needs)} passed for this ticket and inventory")
        for g in ph.gates:
            out.append(f"   gate: {g.describe()}")
        for d in ph.decisions:
            out.append(f"   decision: {d} (widget interactively; parameter -p {d}=... headless)")
        steps = _steps_by_server(ph, inv)
        if ph.mutating:
            summary, first, last = _lock_steps(inv)
            out.append(f"   {summary}")
            steps = [(inv.primary.name, first), *steps, (inv.primary.name, last)]
        for server, cmds in steps:
            out.append(f"   on {server}:")
            out.extend(f"      {c}" for c in cmds)
        out.append("")
    out.append("Out of scope (R16): gateways (ClusterXL) are not upgraded by this toolkit.")
    out.append("")
    out.extend(estimate.estimate(inv, document, origin).lines())
    return "\n".join(out)
