"""Cases of ``mdstools.procedure.backout``: the way back of phase 09 (B2, B3, B4)."""

from __future__ import annotations

import json
from typing import Any

from mdstools.errors import ConnectionLostError
from mdstools.procedure import backout, discover, prepare
from mdstools.run import Run
from tests.procedure.harness import TICKET, Case, fixture

R81_10 = fixture("fw_ver/lab_r81.10.txt")
R81_20 = fixture("fw_ver/lab_r81.20_after_upgrade.txt")
JOBS = f"/var/log/mdstools/jobs/{TICKET}"
BOOTED = "2026-12-01 09:00:00\n"
REBOOTED = "2026-12-07 05:10:00\n"
SNAPSHOTS = "clish -c 'show snapshots'"


def name(server: str) -> str:
    """The snapshot 02 takes of ``server`` for the ticket."""
    return f"mdstools_{TICKET}_{server}"


def listing(*names: str, creating: str = "") -> str:
    """A ``show snapshots`` answer listing ``names`` complete (and one being created)."""
    rows = ["Restore points:", "---------------", *names]
    if creating:
        rows.append(f"Snapshot {creating} is being created (40% done)")
    rows.append(
        "Creation of an additional snapshot on the backup volume can take up to 7.8G. "
        "Available space for snapshots: 30.0G"
    )
    return "\n".join(rows) + "\n"


def snapshot(server: str, status: str = "complete") -> dict[str, Any]:
    """The record 02 keeps of ``server``'s snapshot."""
    return {
        "server": server,
        "name": name(server),
        "version": "R81.10",
        "taken_at": "2026-12-07T03:00:00Z",
        "size": "7.8G",
        "size_bytes": 7_800_000_000,
        "status": status,
        "detail": "",
    }


def prepared(*snaps: dict[str, Any], started: tuple[str, ...] = ("mds1",)) -> Any:
    """A record as 00-03 leave it: the baseline on R81.10, ``backups.json`` with the
    backups and ``snaps``, the journal's upgrade starts of ``started``."""

    def setup(run: Run) -> None:
        servers = [{"name": s.name, "version": "R81.10"} for s in run.inventory.servers]
        base = {"servers": servers, "domains": [], "domain_servers": []}
        run.write_file(discover.BASELINE, json.dumps(base))
        backups = [
            {
                "server": m.name,
                "file": f"/var/log/mds_backups/{m.name}.tgz",
                "size MB": 120.0,
                "sha256": "ab" * 32,
            }
            for m in run.inventory.mdss
        ]
        run.write_file(prepare.BACKUPS, json.dumps({"backups": backups, "snapshots": list(snaps)}))
        for server in started:
            run.journal.write("step", event="upgrade-start", server=server, before="R81.10")

    return setup


def _targets(run: Run) -> list[tuple[str, bool, str]]:
    return [(t.server, t.changed, t.problem) for t in backout.targets(run)]


CASES: list[Case] = []

CASES += [
    Case(
        "B2: the upgraded primary is reverted; a log server without a snapshot is not needed",
        _targets,
        answers={
            "mds1": {"^fw ver$": R81_20, "show snapshots": listing(name("mds1"), name("x"))},
            "mds2": {"^fw ver$": R81_10, "show snapshots": listing(name("mds2"))},
            "mlm1": {"^fw ver$": R81_10, "show snapshots": listing(creating=name("mlm1"))},
        },
        phase_id="09",
        setup=prepared(snapshot("mds1"), snapshot("mds2"), snapshot("mlm1", "failed")),
        any_order=("mds1", "mds2", "mlm1"),
        sent={s: ["fw ver", SNAPSHOTS] for s in ("mds1", "mds2", "mlm1")},
        result=[
            ("mds1", True, ""),
            ("mds2", False, ""),
            ("mlm1", False, f"snapshot {name('mlm1')} recorded as failed"),
        ],
    ),
]


def _reverted(run: Run) -> list[tuple[str, str | None, str]]:
    picked = backout.chosen(run, backout.targets(run), ["mds1"])
    done = backout.revert_all(run, picked)
    return [(r.server, r.after, r.outcome) for r in done.itertuples()]


MDSSTART = [
    f"cat {JOBS}/mdsstart/pid 2>/dev/null && cat {JOBS}/mdsstart/started 2>/dev/null; true",
    f"~^if \\[ -e {JOBS}/mdsstart \\].*nohup bash -c .*\\( mdsstart\n\\)",
    f"~^if \\[ -f {JOBS}/mdsstart/rc \\]",
    f"cat {JOBS}/mdsstart/log",
]
DROPPED = ConnectionLostError("mds1", "the server rebooted (fake)")
REVERT = f"clish -c 'set snapshot revert {name('mds1')}'"
REVERTING = f"Reverting to snapshot {name('mds1')}. The machine will reboot when done.\n"


def reverting(*, after_revert: Any = DROPPED) -> dict[str, Any]:
    """The primary on R81.20 with its snapshot, reverted: the revert's answer, then the
    reboot into R81.10 (a new boot time), mdsstart as a job, every process up."""
    return {
        "^fw ver$": [R81_20, R81_20, R81_10],
        "show snapshots": listing(name("mds1")),
        "^uptime -s$": [BOOTED, BOOTED, REBOOTED],
        "set snapshot revert": after_revert,
        f"^cat {JOBS}/mdsstart/pid": "",
        "nohup": "4242\n",
        f"^if \\[ -f {JOBS}/mdsstart/rc \\]": "rc=0\n120\nDone.\n",
        f"^cat {JOBS}/mdsstart/log$": "mdsstart done\n",
        "^mdsstat$": fixture("mdsstat/lab_r81.10_all_up.txt"),
    }


CASES += [
    Case(
        "B2: revert the primary through its reboot, then mdsstart and every process up",
        _reverted,
        answers={
            "mds1": reverting(),
            "mds2": {"^fw ver$": R81_10, "show snapshots": listing(name("mds2"))},
            "mlm1": {"^fw ver$": R81_10, "show snapshots": listing()},
        },
        phase_id="09",
        setup=prepared(snapshot("mds1"), snapshot("mds2")),
        sent={
            "mds1": [
                "fw ver",
                SNAPSHOTS,
                "uptime -s",
                REVERT,
                "uptime -s",
                "fw ver",
                "uptime -s",
                "fw ver",
                "fw ver",
                *MDSSTART,
                "mdsstat",
            ],
            "mds2": ["fw ver", SNAPSHOTS],
            "mlm1": ["fw ver", SNAPSHOTS],
        },
        any_order=("mds2", "mlm1"),
        result=[("mds1", "R81.10", "reverted")],
        events=[
            ("step", {"event": "upgrade-start", "server": "mds1"}),
            ("step", {"event": "revert-start", "server": "mds1", "booted": BOOTED.strip()}),
            ("step", {"event": "revert-end", "server": "mds1", "after": "R81.10"}),
        ],
    ),
]
