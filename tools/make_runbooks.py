"""Writes runbooks/*.ipynb (stored without outputs) from the cell lists below.

The notebooks are the product; this script keeps their common parts (parameters, header,
footer) identical across the nine phases. The parameters cell comes from the table
``mdstools.phases.PARAMS`` (type, default, help of each parameter and the phases that have
it), the same table the CLI and ``mdstools.start`` check values against. Edit here, run
``python tools/make_runbooks.py``, commit both. A test checks that the notebooks match this script.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mdstools.phases import BY_ID, CLI_OPTIONS, phase_params  # noqa: E402


def parameters(pid: str) -> str:
    """The parameters cell of phase ``pid``, one annotated line per parameter of the table."""
    return "".join(p.line(pid) + "\n" for p in phase_params(BY_ID[pid]))


def params_dict(pid: str) -> str:
    names = [p.name for p in phase_params(BY_ID[pid]) if p.name not in CLI_OPTIONS]
    return "dict(" + ", ".join(f"{n}={n}" for n in names) + ")"


def header(pid: str, imports: str) -> str:
    breaks = "break_lock=break_lock,\n                     " if BY_ID[pid].mutating else ""
    return (
        f"import mdstools\n{imports}\n\n"
        f'run = mdstools.start(inventory, ticket=ticket, operator=operator, phase="{pid}",\n'
        f"                     interactive=interactive, dry_run=dry_run, "
        f"reports_dir=reports_dir,\n"
        f"                     {breaks}params={params_dict(pid)})"
    )


FOOTER = [
    (
        "md",
        "## Verdict\nEvery check of this phase, failing ones first; the phase result "
        "is recorded for the next phases' gates.",
    ),
    ("code", "run.finish()"),
]

CELLS: dict[str, tuple[str, str, list[tuple[str, str]]]] = {
    "00": (
        "from mdstools import checks, ui\nfrom mdstools.procedure import discover",
        "Run it first, and again whenever you want a fresh picture. It changes nothing.",
        [
            (
                "md",
                "## Step 1 (R2, R4): connect to every server and take the snapshot\n"
                "Versions, `mdsstat` of every server, domains and HA state, in parallel.",
            ),
            (
                "code",
                "snap = discover.snapshot(run)\nrun.gate(discover.reachable(snap))\n"
                "discover.servers_frame(snap)",
            ),
            (
                "md",
                "## Step 2 (R12): process status of every DMS and Domain Log Server\n"
                "Rows that are not all up come first.",
            ),
            ("code", 'ui.table(discover.domain_servers_frame(snap), "domain servers")'),
            (
                "md",
                "## Step 3 (R1, R7): HA state per domain and the active MDS of Global\n"
                "Global policy and objects can only be managed on the active MDS (R1).",
            ),
            (
                "code",
                "run.gate(discover.global_active(run, snap), stop=False)\n"
                'ui.table(discover.domains_frame(snap), "domains")',
            ),
            ("md", "## Step 4 (R4): versions\nMDSs only synchronize at the same version."),
            (
                "code",
                "run.gate(checks.versions_consistent({s.name: s.version for s in snap.servers}),"
                " stop=False)\nrun.gate(checks.versions_on_target({s.name: s.version for s in "
                'snap.servers}, run.inventory.target_version, severity="info"))',
            ),
            (
                "md",
                "## Step 5 (R4, R12): record the baseline\n"
                "Phase 08 compares the end state with it.",
            ),
            ("code", "discover.save(run, snap, discover.BASELINE)"),
            ("md", "## Out of scope (R16)"),
            ("code", "discover.out_of_scope()"),
        ],
    ),
    "01": (
        "from mdstools import checks, frames\nfrom mdstools.procedure import verification",
        "Run it on every server before upgrading any (R2), and again after fixing errors. "
        "With CPUSE it imports the upgrade package where it is missing (no upgrade yet).",
        [
            ("md", "## Step 1 (R2): the pre-upgrade verifier on ALL MDSs and MLMs, in parallel"),
            ("code", "reports = verification.verify_all(run)\nverification.summary_frame(reports)"),
            ("md", "## Step 2 (R2): every finding, errors first"),
            ("code", "frames.findings({n: r.findings for n, r in reports.items()})"),
            (
                "md",
                "## Step 3 (R3): acknowledge every warning by name\n"
                "Interactively: tick each reviewed warning, click Acknowledge, run the next cell. "
                "Headless: `acknowledge_warnings` lists the ids.",
            ),
            (
                "code",
                'ack = run.acknowledge("warnings reviewed", verification.warning_items(reports))',
            ),
            (
                "md",
                "## Step 4 (R3): gate: no error on any server, every warning acknowledged\n"
                "Phase 03 refuses to start unless this passed for this ticket and inventory.",
            ),
            ("code", "run.gate(checks.verifier_clean(reports, run.decided(await ack)))"),
        ],
    ),
    "02": (
        "from mdstools import checks\nfrom mdstools.procedure import common, prepare",
        "Run it right before the upgrade. Undo: `set-ha-state` back to the previous actives "
        "(the table below is the record of what was active).",
        [
            ("md", "## Step 1 (R3): the earlier phases passed"),
            ("code", "run.require_phases()"),
            (
                "md",
                "## Step 2 (R7, R1): active and standby per domain\n"
                "Before an MDS is upgraded in HA mode, every DMS must be Active on the primary.",
            ),
            (
                "code",
                "primary = run.inventory.primary.name\nentries = common.ha_state(run)\n"
                "switch = prepare.to_switch(entries, primary)\n"
                "prepare.ha_frame(entries, primary)",
            ),
            ("md", "## Step 3 (R7, X1): confirm the changes of this phase"),
            (
                "code",
                "ok = run.confirm(prepare.confirm_question(switch, primary))",
            ),
            ("md", "## Step 4 (R7, R1): make the primary's DMS active where it is not"),
            ("code", "run.decided(await ok)\nprepare.make_active_on_primary(run, switch)"),
            ("md", "## Step 5 (R7): gate: every DMS active on the primary"),
            ("code", "run.gate(checks.dms_active_on_primary(common.ha_state(run), primary))"),
            ("md", "## Step 6 (X1): free space for the backups"),
            (
                "code",
                "space = prepare.free_space(run)\n"
                'run.gate(prepare.space_check(space, run.params["backup_min_free_mb"]))\nspace',
            ),
            ("md", "## Step 7 (X1): `mds_backup` on every MDS (size, path, SHA-256)"),
            (
                "code",
                "backups = prepare.run_backups(run)\nrun.gate(prepare.backups_check(backups))\n"
                "backups",
            ),
            (
                "md",
                "## Step 8 (R6): start the change freeze\n"
                "The last published session of every DMS database; later phases report "
                "changes made since.",
            ),
            ("code", "prepare.freeze_markers(run)"),
        ],
    ),
    "03": (
        "from mdstools.procedure import upgrade",
        "The primary MDS first (R5). It reboots; the runbook waits for it. Undo: restore "
        "the Gaia snapshot or the mds_backup taken in phase 02.",
        [
            ("md", "## Step 1 (R3): phases 01 and 02 passed for this ticket and inventory"),
            ("code", "run.require_phases()"),
            ("md", "## Step 2 (R5): confirm the upgrade of the primary"),
            (
                "code",
                "primary = run.inventory.primary.name\n"
                'ok = run.confirm(f"Upgrade {primary} to {run.inventory.target_version} '
                '(it reboots)")',
            ),
            (
                "md",
                "## Step 3 (R5): upgrade the primary and wait for it\n"
                "`installer upgrade` returns at once; done when `show installer package` says "
                "Installed and `fw ver` the target. The wait survives the reboot.",
            ),
            (
                "code",
                "run.decided(await ok)\noutcomes = [upgrade.upgrade_server(run, primary)]\n"
                "upgrade.outcomes_frame(outcomes)",
            ),
            ("md", "## Step 4 (R4): its version and its processes"),
            (
                "code",
                "run.gate(upgrade.on_target(run, outcomes))\n"
                "run.gate(upgrade.processes_after(outcomes), stop=False)\n"
                "upgrade.current_mdsstat(run, primary)",
            ),
            (
                "md",
                "## Continuous management (R13)\nWith `continuous_management=True` the "
                "primary's DMSs may now be set Active and managed while the others are "
                "upgraded; synchronization waits until every MDS is upgraded (phase 07).",
            ),
            (
                "code",
                'print("continuous management:", run.carried_text("continuous_management"))',
            ),
        ],
    ),
    "04": (
        "from mdstools.procedure import upgrade",
        "Each secondary MDS, one at a time, after the primary (R5).",
        [
            ("md", "## Step 1 (R5): phase 03 passed and the primary runs the target version"),
            ("code", "run.require_phases()\nrun.gate(upgrade.primary_on_target(run))"),
            ("md", "## Step 2 (R5): confirm"),
            (
                "code",
                "names = [s.name for s in run.inventory.secondaries]\n"
                "ok = run.confirm(f\"Upgrade {', '.join(names) or 'no secondary'} to "
                '{run.inventory.target_version}, one at a time (each reboots)")',
            ),
            ("md", "## Step 3 (R5): upgrade each secondary, one at a time"),
            (
                "code",
                "run.decided(await ok)\n"
                "outcomes = [upgrade.upgrade_server(run, n) for n in names]\n"
                "upgrade.outcomes_frame(outcomes)",
            ),
            ("md", "## Step 4 (R4): versions and processes"),
            (
                "code",
                "run.gate(upgrade.on_target(run, outcomes))\n"
                "run.gate(upgrade.processes_after(outcomes), stop=False)",
            ),
        ],
    ),
    "05": (
        "from mdstools import checks\nfrom mdstools.procedure import common, upgrade",
        "Every Multi-Domain Log Server, to the same version as the MDSs (R8).",
        [
            ("md", "## Step 1 (R5): phase 04 passed and every MDS runs the target version"),
            ("code", "run.require_phases()\nrun.gate(upgrade.mdss_on_target(run))"),
            ("md", "## Step 2 (R8): confirm"),
            (
                "code",
                "names = [s.name for s in run.inventory.log_servers]\n"
                "ok = run.confirm(f\"Upgrade {', '.join(names) or 'no log server'} to "
                '{run.inventory.target_version} (each reboots)")',
            ),
            ("md", "## Step 3 (R8): upgrade each log server"),
            (
                "code",
                "run.decided(await ok)\n"
                "outcomes = [upgrade.upgrade_server(run, n) for n in names]\n"
                "upgrade.outcomes_frame(outcomes)",
            ),
            ("md", "## Step 4 (R4, R8): every server now runs the target version"),
            (
                "code",
                "run.gate(upgrade.processes_after(outcomes), stop=False)\n"
                "versions = common.versions_all(run)\n"
                "run.gate(checks.versions_on_target(versions, run.inventory.target_version))\n"
                "import pandas as pd\n"
                'pd.DataFrame(sorted(versions.items()), columns=["server", "version"])',
            ),
        ],
    ),
    "06": (
        "from mdstools.procedure import objects",
        "After every server is upgraded: the guide's exact commands on each MDS (R12), so "
        "that standby DMSs and log servers show the right versions (R11).",
        [
            ("md", "## Step 1 (R5): phase 05 passed"),
            ("code", "run.require_phases()"),
            ("md", "## Step 2 (R11): object versions before"),
            ("code", "before = objects.object_versions(run)\nobjects.versions_frame(before)"),
            ("md", "## Step 3 (R12): confirm"),
            (
                "code",
                "names = [m.name for m in run.inventory.mdss]\n"
                "ok = run.confirm(f\"On {', '.join(names)}: start DMSs that are down, "
                'mds_fix_cmas_clms_version -c ALL, mdsstop; mdsstart")',
            ),
            (
                "md",
                "## Step 4 (R12): on each MDS: `mdsstat`; `mdsstart_customer` for DMSs that "
                "are down; `mdsenv`; `$MDSDIR/scripts/mds_fix_cmas_clms_version -c ALL`; "
                "`mdsstop; mdsstart`; `mdsstat` until all up",
            ),
            (
                "code",
                "run.decided(await ok)\nsteps = [objects.on_mds(run, n) for n in names]\n"
                "run.gate(objects.steps_check(steps))\n"
                "import pandas as pd\npd.concat(steps, ignore_index=True)",
            ),
            ("md", "## Step 5 (R11): object versions after"),
            (
                "code",
                "after = objects.object_versions(run)\n"
                "run.gate(objects.versions_check(run, after))\n"
                "objects.versions_frame(before, after)",
            ),
        ],
    ),
    "07": (
        "from mdstools import checks, ui\nfrom mdstools.procedure import freeze, sync",
        "After every MDS and MLM runs the target version (R4): one active per domain (R9), "
        "Collision resolved (R14, R15), standbys synchronized (R10).",
        [
            ("md", "## Step 1 (R4): phase 06 passed; every server on the target version"),
            (
                "code",
                "run.require_phases()\nsnap = sync.view(run)\n"
                "run.gate(sync.versions_check(run, snap))\nsync.sync_frame(snap)",
            ),
            (
                "md",
                "## Step 2 (R14): domains in Collision, and what each side changed\n"
                "Their databases were changed on two MDSs during the upgrade. For each: the "
                "changes of each side since the freeze, and the recommended side to retain "
                "(the smaller loss; the primary's when equal).",
            ),
            (
                "code",
                "collisions = sync.collided(snap)\nrun.gate(checks.no_collision("
                "{d.name: d.sync_status for d in snap.domains}, "
                '"no collision before resolution"), stop=False, severity="warning")\n'
                "found = [freeze.forensics(run, d, sorted(dom.sync_status)) for d in collisions "
                "for dom in snap.domains if dom.name == d]\n"
                "for f in found:\n"
                "    ui.markdown(freeze.heading(f))\n"
                "    ui.display(freeze.sides_frame(f))",
            ),
            (
                "md",
                "## Step 3 (R15): the database to retain\nOnly where both sides changed "
                "something (a domain changed on one side only keeps that side: nothing is "
                "lost). Interactively: choose below. Headless: `retain_database_on`.",
            ),
            (
                "code",
                "mdss = [m.name for m in run.inventory.mdss]\n"
                "pending = [f.domain for f in found if f.lossless_choice is None]\n"
                'choice = (run.choose_each("retain_database_on", freeze.choice_question(found), '
                'pending, mdss, "retain_database_on", '
                "recommended={f.domain: f.recommended for f in found}) if pending else None)",
            ),
            ("md", "## Step 4 (R15, R10): the decision, and confirm"),
            (
                "code",
                "retain = freeze.retained(run, found, await run.wait(choice), mdss)\n"
                'ok = run.confirm(f"{freeze.retain_words(found, retain)}; one active per '
                'domain; full sync of the standbys")\nfreeze.retain_frame(found, retain)',
            ),
            (
                "md",
                "## Step 5 (R15, R9, R10): resolve collisions, one active per domain, "
                "synchronize the standbys",
            ),
            (
                "code",
                "run.decided(await ok)\nimport pandas as pd\n"
                "actions = [sync.resolve(run, snap, retain)]\n"
                "actions.append(sync.one_active(run, sync.view(run)))\n"
                "actions.append(sync.synchronize_standbys(run, sync.view(run)))\n"
                "pd.concat(actions, ignore_index=True)",
            ),
            (
                "md",
                "## Step 6 (R15): the changes to re-enter\nEvery change of the side that "
                "was not retained: the checklist below, `reentry.csv`, and a DRAFT "
                "`reentry_draft.mgmt.txt` (hosts, networks, groups, services; review it).",
            ),
            (
                "code",
                "lost = freeze.reentry(run, found, retain)\nui.markdown(freeze.checklist(lost))\n"
                "lost",
            ),
            (
                "md",
                "## Step 7 (R9, R10, R14): gate: one active per domain, every peer Synchronized",
            ),
            (
                "code",
                "final = sync.wait_synchronized(run)\n"
                "state = {d.name: d.sync_status for d in final.domains}\n"
                "run.gate(checks.no_collision(state))\nrun.gate(checks.synchronized(state))\n"
                "sync.sync_frame(final)",
            ),
        ],
    ),
    "08": (
        "from mdstools import ui\nfrom mdstools.procedure import discover, timeline",
        "The end state against the baseline of phase 00. It changes nothing.",
        [
            ("md", "## Step 1 (R4, R12): the end state"),
            ("code", "snap = discover.snapshot(run)\ndiscover.servers_frame(snap)"),
            ("md", "## Step 2 (R4, R10, R12): compared with the baseline"),
            (
                "code",
                "results = discover.compare(run, snap)\nfor r in results:\n"
                "    run.gate(r, stop=False)\nui.checks_table(results)",
            ),
            ("md", "## Step 3 (R9, R10, R12): domains and domain servers now"),
            ("code", 'ui.table(discover.domains_frame(snap), "domains")'),
            ("code", 'ui.table(discover.domain_servers_frame(snap), "domain servers")'),
            (
                "md",
                "## Step 4 (R5, X5): the campaign timeline\nWhich server was upgraded "
                "when, how long its domains were down, and when each decision was made "
                "(D1, D2, ...: what, by whom, how). Phase time is the run of each phase "
                "whose verdict is on record; abandoned, superseded and dry runs are left out.",
            ),
            (
                "code",
                "ui.html_block(timeline.svg(run.report_dir, run.run_id))\n"
                "import pandas as pd\n"
                "ui.display(pd.DataFrame(timeline.decisions(run.report_dir, run.run_id), "
                'columns=["label", "time", "phase", "decision", "value", "by", "how"]))\n'
                "pd.DataFrame(timeline.downtime(run.report_dir), "
                'columns=["server", "down from", "seconds"])',
            ),
            ("md", "## Step 5 (X5): record the final state"),
            ("code", "discover.save(run, snap, discover.FINAL)"),
        ],
    ),
}


def build(pid: str) -> nbformat.NotebookNode:
    ph = BY_ID[pid]
    imports, when, steps = CELLS[pid]
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "mdstools",
        "display_name": "mdstools",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    intro = (
        f"# {ph.id} {ph.title}  ({', '.join(ph.requirements)})\n\n{ph.summary[0].upper()}"
        f"{ph.summary[1:]}.\n\n**When:** {when}\n\n"
        "Set the parameters below (or run headless: "
        f"`mdstools run {ph.id} -i INVENTORY --ticket T`). Every command, decision and "
        "check goes to `reports/<ticket>/journal.jsonl`."
    )
    cells = [nbformat.v4.new_markdown_cell(intro)]
    p = nbformat.v4.new_code_cell(parameters(pid))
    p.metadata["tags"] = ["parameters"]
    cells.append(p)
    cells.append(
        nbformat.v4.new_markdown_cell("## The run\nWho, what, where: the header of the record.")
    )
    cells.append(nbformat.v4.new_code_cell(header(pid, imports)))
    watch = []
    if pid >= "03":
        blocking = "True" if pid <= "06" else "False"
        watch = [
            (
                "md",
                "## Step 0 (R6, R13): changes since the change freeze\nEvery change "
                "published since phase 02, per domain and MDS (who, when, which objects): "
                "*safe* when made on the DMS whose database is kept, else a *collision "
                "risk*. A risk stops this phase unless `continuous_management=True` "
                "(then it is carried forward to phase 07). Set in one phase, "
                "`continuous_management` holds for the later phases of this ticket that "
                "leave it `None`; the header says where it came from.",
            ),
            (
                "code",
                "from mdstools.procedure import freeze\nchanges = freeze.watch(run)\n"
                f"run.gate(freeze.watch_check(run, changes, blocking={blocking}))\nchanges",
            ),
        ]
    for kind, text in watch + steps + FOOTER:
        cells.append(
            nbformat.v4.new_markdown_cell(text) if kind == "md" else nbformat.v4.new_code_cell(text)
        )
    nb.cells = cells
    for i, c in enumerate(nb.cells):
        c["id"] = f"{pid}-{i:02d}"
    return nb


def main() -> None:
    out = ROOT / "runbooks"
    out.mkdir(exist_ok=True)
    for pid in CELLS:
        nbformat.write(build(pid), str(out / BY_ID[pid].notebook))


if __name__ == "__main__":
    main()
