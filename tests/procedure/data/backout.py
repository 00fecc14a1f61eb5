"""Cases of ``mdstools.procedure.backout``: the way back of phase 09 (B2, B3, B4)."""

from __future__ import annotations

import json
from typing import Any

from mdstools.errors import ConnectionLostError
from mdstools.procedure import backout, discover, prepare
from mdstools.run import Run
from tests.procedure.data import discover as discover_data
from tests.procedure.data import freeze as freeze_data
from tests.procedure.harness import TICKET, Case, fixture, in_session

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


def snapshot(server: str, status: str = "complete", detail: str = "") -> dict[str, Any]:
    """The record 02 keeps of ``server``'s snapshot."""
    return {
        "server": server,
        "name": name(server),
        "version": "R81.10",
        "taken_at": "2026-12-07T03:00:00Z",
        "size": "7.8G",
        "size_bytes": 7_800_000_000,
        "status": status,
        "detail": detail,
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
        setup=prepared(
            snapshot("mds1"), snapshot("mds2"), snapshot("mlm1", "skipped", "take_snapshots=false")
        ),
        any_order=("mds1", "mds2", "mlm1"),
        sent={s: ["fw ver", SNAPSHOTS] for s in ("mds1", "mds2", "mlm1")},
        result=[
            ("mds1", True, ""),
            ("mds2", False, ""),
            ("mlm1", False, f"snapshot {name('mlm1')} recorded as skipped (take_snapshots=false)"),
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


def resumed(run: Run) -> None:
    """The record of a run of 09 stopped while mds1 reverted (its boot time before)."""
    prepared(snapshot("mds1"), snapshot("mds2"))(run)
    run.journal.write(
        "step", event="revert-start", server="mds1", snapshot=name("mds1"), booted=BOOTED.strip()
    )


def _refused(run: Run) -> tuple[bool, str, list[str]]:
    """The snapshot gate when mds1's snapshot is missing, and what the manual steps name."""
    picked = backout.chosen(run, backout.targets(run), ["mds1"])
    check = backout.snapshots_check(picked)
    text = backout.manual_steps(picked)
    named = ["clean install R81\\.10", "mds_restore", "mds1\\.tgz", "ab" * 32, "mdsstop"]
    return check.passed, check.reason, [n for n in named if n in text]


def _end_state(run: Run) -> list[tuple[str, bool, str]]:
    """09's checks of an end state against a baseline of that same state (R81.10)."""
    snap = discover.snapshot(run)
    discover.save(run, snap, discover.BASELINE)
    return [(c.name, c.passed, c.severity) for c in backout.compare(run, snap)]


def _not_reverted(run: Run) -> list[tuple[str, bool, str]]:
    """09's versions check when mds1 still runs the target (left out of backout_servers)."""
    snap = discover.snapshot(run)
    base = {"servers": [{"name": s.name, "version": "R81.10"} for s in snap.servers]}
    run.write_file(discover.BASELINE, json.dumps({**base, "domains": [], "domain_servers": []}))
    return [(c.name, c.passed, c.reason) for c in backout.compare(run, snap)][:1]


CASES += [
    Case(
        "B2: a dry run shows the revert and mdsstart, and waits for nothing",
        _reverted,
        answers={
            "mds1": reverting(),
            "mds2": {"^fw ver$": R81_10, "show snapshots": listing(name("mds2"))},
            "mlm1": {"^fw ver$": R81_10, "show snapshots": listing()},
        },
        phase_id="09",
        dry_run=True,
        setup=prepared(snapshot("mds1"), snapshot("mds2")),
        sent={
            "mds1": ["fw ver", SNAPSHOTS, "uptime -s"],
            "mds2": ["fw ver", SNAPSHOTS],
            "mlm1": ["fw ver", SNAPSHOTS],
        },
        any_order=("mds1", "mds2", "mlm1"),
        result=[("mds1", "R81.20", "dry run")],
        events=[
            ("dry-run", {"server": "mds1", "command": f"set snapshot revert {name('mds1')}"}),
            ("dry-run", {"server": "mds1", "command": "mdsstart"}),
        ],
    ),
    Case(
        "B2: a revert a stopped run started is waited for, never sent again",
        _reverted,
        answers={
            "mds1": {**reverting(), "^uptime -s$": REBOOTED, "^fw ver$": [R81_20, R81_10]},
            "mds2": {"^fw ver$": R81_10, "show snapshots": listing(name("mds2"))},
            "mlm1": {"^fw ver$": R81_10, "show snapshots": listing()},
        },
        phase_id="09",
        setup=resumed,
        sent={
            "mds1": ["fw ver", SNAPSHOTS, "uptime -s", "fw ver", "fw ver", *MDSSTART, "mdsstat"],
            "mds2": ["fw ver", SNAPSHOTS],
            "mlm1": ["fw ver", SNAPSHOTS],
        },
        any_order=("mds2", "mlm1"),
        result=[("mds1", "R81.10", "reverted")],
        events=[
            ("step", {"event": "upgrade-start", "server": "mds1"}),
            ("step", {"event": "revert-start", "server": "mds1"}),
            ("step", {"event": "found", "server": "mds1", "step": "revert"}),
            ("step", {"event": "revert-end", "server": "mds1", "after": "R81.10"}),
        ],
    ),
    Case(
        "B2: no snapshot of the primary: nothing is reverted, the manual steps name its backup",
        _refused,
        answers={
            "mds1": {"^fw ver$": R81_20, "show snapshots": listing()},
            "mds2": {"^fw ver$": R81_10, "show snapshots": listing(name("mds2"))},
            "mlm1": {"^fw ver$": R81_10, "show snapshots": listing()},
        },
        phase_id="09",
        setup=prepared(snapshot("mds2")),
        sent={s: ["fw ver", SNAPSHOTS] for s in ("mds1", "mds2", "mlm1")},
        any_order=("mds1", "mds2", "mlm1"),
        result=(
            False,
            "no usable snapshot: mds1: no snapshot of phase 02 in backups.json; nothing was "
            "reverted",
            ["clean install R81\\.10", "mds_restore", "mds1\\.tgz", "ab" * 32, "mdsstop"],
        ),
    ),
]

CASES += [
    Case(
        "B4: the end state against a baseline of the same state on R81.10",
        _end_state,
        answers=discover_data.fleet(discover_data.SYSTEM_DATA),
        sent=discover_data.EVERY_SERVER,
        any_order=["mds1", "mds2", "mlm1"],
        phase_id="09",
        result=[
            ("versions as in the baseline", True, "error"),
            ("every domain active on the primary", True, "error"),
            ("all domain servers present", True, "error"),
            ("all domain servers up", True, "error"),
            ("all domains present", True, "error"),
            ("no collision", True, "error"),
            ("synchronized", False, "warning"),
            ("one active per domain", True, "error"),
        ],
    ),
    Case(
        "B4: a server left on the target fails the versions check",
        _not_reverted,
        answers={
            **discover_data.fleet(discover_data.SYSTEM_DATA),
            "mlm1": {"^fw ver$": R81_20, "^mdsstat$": fixture("mdsstat/lab_r81.10_mlm.txt")},
        },
        sent=discover_data.EVERY_SERVER,
        any_order=["mds1", "mds2", "mlm1"],
        phase_id="09",
        result=[
            (
                "versions as in the baseline",
                False,
                "not as in the baseline: mlm1=R81.20 (was R81.10)",
            )
        ],
    ),
]


def primary_target(taken_at: str) -> backout.Target:
    """The upgraded primary with its complete snapshot, taken at ``taken_at``."""
    return backout.Target(
        server="mds1",
        role="primary",
        baseline="R81.10",
        now="R81.20",
        upgrade_started=True,
        snapshot=name("mds1"),
        snapshot_version="R81.10",
        snapshot_status="complete",
        taken_at=taken_at,
        on_server=True,
    )


def losing(taken_at: str) -> Any:
    """The changes the revert of the primary (snapshot at ``taken_at``) loses, as the
    re-entry list has them, and whether the DRAFT batch names them."""

    def act(run: Run) -> tuple[list[tuple[str, str, str]], bool]:
        lost = backout.reentry(run, backout.losses(run, [primary_target(taken_at)]))
        draft = (run.report_dir / "backout_reentry_draft.mgmt.txt").read_text()
        rows = [(r["lost on"], r["admin"], r["object"]) for _, r in lost.iterrows()]
        return rows, "lost_host" in draft

    return act


CHANGED_ON_PRIMARY = {
    "mds1": {
        "show-last-published": freeze_data.MOVED,
        "show-changes": json.dumps({"task-id": freeze_data.TASK}),
        "read-only true.*show-task": in_session(
            "dom1", answer=freeze_data.changes_task("alice", 150, "lost_host")
        ),
        "show-task": freeze_data.changes_task("alice", 150, "lost_host"),
    },
    "mds2": {"show-last-published": freeze_data.UNMOVED},
}
WATCHED = {
    "mds1": [
        freeze_data.BATCH,
        freeze_data.SHOW_CHANGES,
        freeze_data.WAIT_TASK,
        freeze_data.SHOW_TASK,
    ],
    "mds2": [freeze_data.BATCH],
}

CASES += [
    Case(
        "B3: a change published on the primary after its snapshot is listed for re-entry",
        losing("1970-01-01T00:00:00.050Z"),
        answers=CHANGED_ON_PRIMARY,
        setup=freeze_data._freeze_at_100,
        phase_id="09",
        sent=WATCHED,
        result=([("mds1", "alice", "lost_host")], True),
        events=[("reentry", {"changes": 1, "csv": "backout_reentry.csv"})],
    ),
    Case(
        "B3: a change the primary's snapshot holds is not lost",
        losing("1970-01-01T00:00:00.200Z"),
        answers=CHANGED_ON_PRIMARY,
        setup=freeze_data._freeze_at_100,
        phase_id="09",
        sent=WATCHED,
        result=([], False),
        events=[("reentry", {"changes": 0, "csv": "backout_reentry.csv"})],
    ),
]

CASES += [
    Case(
        "B3: a change on the secondary is lost too: the full sync from the primary overwrites it",
        losing("1970-01-01T00:00:00.200Z"),
        answers={"mds1": CHANGED_ON_PRIMARY["mds2"], "mds2": CHANGED_ON_PRIMARY["mds1"]},
        setup=freeze_data._freeze_at_100,
        phase_id="09",
        sent={"mds1": WATCHED["mds2"], "mds2": WATCHED["mds1"]},
        result=([("mds2", "alice", "lost_host")], True),
    ),
]
