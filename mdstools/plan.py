"""``mdstools plan``: the whole campaign as it would run, nothing executed (X2).

Every phase with its requirements, entry gates, decisions, and the commands it sends to each
server, built with the same command builders the runbooks use. Reads need no connection.
"""

from __future__ import annotations

import json
import posixpath
from typing import Any

from mdstools import lock
from mdstools.commands import backup, ha, mdsstat, objects, services, upgrade, verifier, versions
from mdstools.commands.base import Command, quote
from mdstools.commands.lock import LOCK_FILE, release_lock, take_lock
from mdstools.inventory import Inventory
from mdstools.phases import PHASES, Phase

GATES = {
    "00": ["every server reachable (R2)"],
    "01": ["no verifier error on any server; every warning acknowledged by id (R3)"],
    "02": [
        "01 passed for this ticket and inventory",
        "every DMS active on the primary (R7)",
        "backup space and a backup of every MDS (X1)",
    ],
    "03": [
        "01 and 02 passed for this ticket and inventory (R3)",
        "the primary runs the target afterwards (R4)",
    ],
    "04": ["03 passed; the primary runs the target version (R5)"],
    "05": [
        "04 passed; every MDS runs the target version (R5)",
        "every server on the target afterwards (R4, R8)",
    ],
    "06": [
        "05 passed",
        "every R12 step succeeded and every DMS is up (R12)",
        "every DMS/DLS object on the target version (R11)",
    ],
    "07": [
        "06 passed; every server on the target version (R4)",
        "no Collision; one active per domain; every peer Synchronized (R9, R10, R14)",
    ],
    "08": [
        "every domain server of the baseline present and up; versions on target; "
        "HA synchronized (R4, R10, R12)"
    ],
}


def _line(cmd: Command[Any]) -> str:
    mark = " (changes the server)" if cmd.mutating else ""
    return f"[{cmd.mode.value}] {cmd.line}{mark}"


def _commands(ph: Phase, inv: Inventory) -> list[tuple[str, list[str]]]:
    pkg_path = inv.upgrade_package
    pkg = posixpath.basename(pkg_path)
    primary = inv.primary.name
    per: list[tuple[str, list[str]]] = []
    reads = [_line(versions.fw_ver()), _line(mdsstat.mdsstat())]
    if ph.id in ("00", "08"):
        per.append(("every server", reads))
        per.append(
            (
                primary,
                [
                    _line(ha.show_domains()),
                    _line(ha.show_ha_state()),
                    "[expert] mgmt_cli -r true -d <domain> show-ha-status (R81.20+)",
                ],
            )
        )
    elif ph.id == "01":
        if inv.upgrade_method == "cpuse":
            per.append(
                (
                    "every server",
                    [
                        _line(upgrade.show_installer_packages("imported")),
                        _line(upgrade.installer_import_local(pkg_path))
                        + " -- only if not imported",
                        _line(verifier.installer_verify(pkg)),
                        "[expert] cat <verifier report>",
                    ],
                )
            )
        else:
            per.append(
                (
                    "every server",
                    [
                        _line(
                            verifier.mds_setup_verification(pkg_path or "$MDSDIR/scripts/mds_setup")
                        )
                    ],
                )
            )
    elif ph.id == "02":
        per.append(
            (
                primary,
                [
                    _line(ha.show_ha_state()),
                    _line(ha.set_ha_state("<domain>", "active"))
                    + " -- for each domain not active on the primary",
                    "[expert] mgmt_cli show-task (until done)",
                ],
            )
        )
        per.append(
            (
                "every MDS",
                [
                    _line(backup.free_space(inv.backup_dir)),
                    _line(backup.mds_backup(inv.backup_dir)) + " -- detached job",
                    _line(backup.backup_files(inv.backup_dir)),
                    _line(ha.show_last_published_session("<domain>")) + " -- per domain (R6)",
                ],
            )
        )
    elif ph.id in ("03", "04", "05"):
        targets = {
            "03": [primary],
            "04": [s.name for s in inv.secondaries],
            "05": [s.name for s in inv.log_servers],
        }[ph.id]
        steps = (
            [
                _line(upgrade.lock_database_override()),
                _line(upgrade.installer_upgrade(pkg)),
                f"[clish] show installer package {pkg} -- until Installed (reboot expected)",
            ]
            if inv.upgrade_method == "cpuse"
            else [
                f"[expert] printf '2\\ny\\n' | {pkg_path or '$MDSDIR/scripts/mds_setup'} "
                "(changes the server) -- detached job"
            ]
        )
        steps += [
            _line(versions.fw_ver()) + " -- until the target version",
            _line(mdsstat.mdsstat()) + " -- until all up",
        ]
        for t in targets or ["(none in the inventory)"]:
            per.append((t, steps))
    elif ph.id == "06":
        steps = [
            _line(mdsstat.mdsstat()),
            _line(services.mdsstart_customer("<DMS>")) + " -- for each DMS that is down",
            "[expert] mdsenv",
            _line(objects.fix_cmas_clms_version()) + " -- detached job",
            "[expert] mdsstop; mdsstart (changes the server) -- detached job",
            _line(mdsstat.mdsstat()) + " -- until all up",
        ]
        for m in inv.mdss:
            per.append((m.name, steps))
        per.append((primary, [_line(ha.show_domains()) + " -- object versions before/after"]))
    elif ph.id == "07":
        per.append(
            (
                "every MDS",
                [
                    _line(ha.show_ha_state()),
                    "[expert] mgmt_cli -d <domain> show-ha-status",
                    _line(ha.set_ha_state("<domain>", "standby")) + " -- on the side not retained",
                    _line(ha.ha_full_sync("<domain>", "<peer>"))
                    + " -- from the active/retained side",
                    "[expert] mgmt_cli show-task (until done)",
                ],
            )
        )
    return per


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


def render(inv: Inventory) -> str:
    """The plan as text."""
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
        for g in GATES.get(ph.id, []):
            out.append(f"   gate: {g}")
        for d in ph.decisions:
            out.append(f"   decision: {d} (widget interactively; parameter -p {d}=... headless)")
        steps = _commands(ph, inv)
        if ph.mutating:
            summary, first, last = _lock_steps(inv)
            out.append(f"   {summary}")
            steps = [(inv.primary.name, first), *steps, (inv.primary.name, last)]
        for server, cmds in steps:
            out.append(f"   on {server}:")
            out.extend(f"      {c}" for c in cmds)
        out.append("")
    out.append("Out of scope (R16): gateways (ClusterXL) are not upgraded by this toolkit.")
    return "\n".join(out)
