"""Cases of ``mdstools.procedure.snapshots``: a Gaia snapshot of every MDS and MLM (02, B1)."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from mdstools.procedure import prepare, snapshots
from mdstools.run import Run
from tests.procedure.harness import TICKET, Case

SERVERS = ("mds1", "mds2", "mlm1")
LIST = "clish -c 'show snapshots'"
SPACE = (
    "Creation of an additional snapshot on the backup volume can take up to {need}. "
    "Available space for snapshots: {free}\n"
)


def name(server: str) -> str:
    """The ticket's snapshot of ``server``."""
    return f"mdstools_{TICKET}_{server}"


def listing(complete: tuple[str, ...] = (), creating: str = "", free: str = "52.5G") -> str:
    """A ``show snapshots`` answer."""
    rows = "".join(f"{n}\n" for n in complete)
    busy = f"Snapshot {creating} is being created (40% done)\n" if creating else ""
    return f"Restore points:\n---------------\n{rows}{busy}" + SPACE.format(need="7.8G", free=free)


def detail(server: str, size: str = "7.8G") -> str:
    """A ``show snapshot <name> all`` answer."""
    return (
        f"name: {name(server)}\ndescription: mdstools {TICKET} before upgrade\n"
        f"date: 2026-12-07T04:00:00Z\nsize: {size}\nversion: R81.10\nstatus: complete\n"
    )


def add(server: str) -> str:
    """The ``add snapshot`` line as sent."""
    return f"clish -c 'add snapshot {name(server)} desc \"mdstools {TICKET} before upgrade\"'"


def snapshots_line(server: str) -> str:
    """The ``add snapshot`` clish line itself."""
    return f'add snapshot {name(server)} desc "mdstools {TICKET} before upgrade"'


def show(server: str) -> str:
    """The ``show snapshot <name> all`` line as sent."""
    return f"clish -c 'show snapshot {name(server)} all'"


def fresh(server: str, add_answer: Any = None) -> dict[str, Any]:
    """A server without the ticket's snapshot, where it is created after one poll."""
    return {
        "show snapshots'": [
            listing(),
            listing(creating=name(server)),
            listing(complete=(name(server),)),
        ],
        "show snapshot \\S+ all": detail(server),
        "add snapshot": add_answer
        or f"Creating snapshot {name(server)}. It can take a while; see 'show snapshots'.\n",
    }


TAKEN_SENT = [LIST, "~add snapshot", LIST, LIST, "~show snapshot \\S+ all"]


def known(value: Any) -> int | None:
    """A byte count of the frame, None where it is missing."""
    return None if pd.isna(value) else int(value)


def _space(run: Run) -> tuple[list[tuple[str, Any, Any, Any]], bool, str]:
    df = snapshots.space(run)
    check = snapshots.space_check(df)
    rows = [
        (str(r["server"]), known(r["needed"]), known(r["available"]), known(r["earlier"]))
        for r in df.to_dict(orient="records")
    ]
    return rows, check.passed, check.reason


def _labels(run: Run) -> tuple[str, str, list[dict[str, Any]]]:
    space = snapshots.space_check(snapshots.space(run))
    taken = snapshots.taken_check(snapshots.take(run))
    record = json.loads((run.report_dir / prepare.BACKUPS).read_text())["snapshots"]
    return (
        f"{space.label} {space.reason}",
        f"{taken.label} {taken.reason}",
        [{k: r[k] for k in ("server", "status", "detail")} for r in record],
    )


def _take(run: Run) -> tuple[list[tuple[str, str, str, str, str]], bool, str]:
    df = snapshots.take(run)
    check = snapshots.taken_check(df)
    rows = [
        (str(r["server"]), str(r["status"]), str(r["version"]), str(r["size"]), str(r["detail"]))
        for r in df.to_dict(orient="records")
    ]
    return rows, check.passed, check.reason


def _recorded(run: Run) -> list[dict[str, Any]]:
    snapshots.take(run)
    data = json.loads((run.report_dir / prepare.BACKUPS).read_text())
    return [
        {k: s[k] for k in ("server", "name", "size_bytes", "taken_at")} for s in data["snapshots"]
    ]


def _earlier_dry_run(run: Run) -> dict[str, Any]:
    """A dry run after a real 02: its backups row replaces the backups, the snapshots stay."""
    earlier = {"backups": [{"server": "mds1"}], "snapshots": [{"server": "mds1", "name": "n"}]}
    run.write_file(prepare.BACKUPS, json.dumps(earlier) + "\n")
    snapshots.take(run)
    prepare.update_backups(run, "backups", [{"server": "mds1", "file": "(dry run)"}])
    return dict(json.loads((run.report_dir / prepare.BACKUPS).read_text()))


def _after_backups(run: Run) -> None:
    run.write_file(prepare.BACKUPS, json.dumps({"backups": [{"server": "mds1"}]}) + "\n")


G78 = round(7.8 * 1024**3)
G525 = round(52.5 * 1024**3)
COMPLETE = [(s, "complete", "R81.10", "7.8G", "") for s in SERVERS]
SNAPSHOT_EVENTS = [
    ("step", {"event": "snapshot", "server": s, "name": name(s), "size": "7.8G"}) for s in SERVERS
]

CASES = [
    Case(
        "space: every server has what a snapshot needs",
        _space,
        answers={s: {"show snapshots'": listing()} for s in SERVERS},
        sent={s: [LIST] for s in SERVERS},
        result=(
            [(s, G78, G525, 0) for s in SERVERS],
            True,
            "every MDS and MLM has the space a new snapshot needs",
        ),
    ),
    Case(
        "space: too little on the MLM, no figure on mds2: the gate names both",
        _space,
        answers={
            "mds1": {"show snapshots'": listing()},
            "mds2": {"show snapshots'": "Restore points:\n---------------\n"},
            "mlm1": {"show snapshots'": listing(free="3.0G")},
        },
        sent={s: [LIST] for s in SERVERS},
        result=(
            [
                ("mds1", G78, G525, 0),
                ("mds2", None, None, 0),
                ("mlm1", G78, round(3.0 * 1024**3), 0),
            ],
            False,
            "not enough space for a snapshot: mds2 (space for snapshots unknown: show "
            "snapshots gave no needed and no available space figure), mlm1 (needs 7.8G, 3.0G "
            "available: 4.8G missing)",
        ),
    ),
    Case(
        "space: show snapshots not understood on one server",
        _space,
        answers={
            "mds1": {"show snapshots'": listing()},
            "mds2": {"show snapshots'": "CLINFR0329  Invalid command:'show snapshots'.\n"},
            "mlm1": {"show snapshots'": listing()},
        },
        sent={s: [LIST] for s in SERVERS},
        result=(
            [("mds1", G78, G525, 0), ("mds2", None, None, 0), ("mlm1", G78, G525, 0)],
            False,
            "not enough space for a snapshot: mds2 (space for snapshots unknown: parse error: "
            "no 'Restore points:' list and no space line)",
        ),
    ),
    Case(
        "space on a rerun: the ticket's earlier snapshot, deleted before, counts as free",
        _space,
        answers={
            "mds1": {
                "show snapshots'": listing(complete=(name("mds1"),), free="1.0G"),
                "show snapshot \\S+ all": detail("mds1"),
            },
            "mds2": {"show snapshots'": listing()},
            "mlm1": {"show snapshots'": listing()},
        },
        sent={"mds1": [LIST, show("mds1")], "mds2": [LIST], "mlm1": [LIST]},
        result=(
            [("mds1", G78, 1024**3, G78), ("mds2", G78, G525, 0), ("mlm1", G78, G525, 0)],
            True,
            "every MDS and MLM has the space a new snapshot needs",
        ),
    ),
    Case(
        "a snapshot of every MDS and MLM: all started, then each waited for and read",
        _take,
        answers={s: fresh(s) for s in SERVERS},
        sent={s: [LIST, add(s), LIST, LIST, show(s)] for s in SERVERS},
        result=(COMPLETE, True, "a snapshot of every MDS and MLM was taken"),
        events=[*SNAPSHOT_EVENTS, ("file", {"path": "backups.json"})],
    ),
    Case(
        "the record: backups.json keeps the backups and gains the snapshots",
        _recorded,
        setup=_after_backups,
        answers={s: fresh(s) for s in SERVERS},
        sent={s: TAKEN_SENT for s in SERVERS},
        result=[
            {"server": s, "name": name(s), "size_bytes": G78, "taken_at": "2026-12-07T04:00:00Z"}
            for s in SERVERS
        ],
    ),
    Case(
        "a rerun of 02: the ticket's earlier snapshot is deleted and taken again",
        _take,
        answers={
            "mds1": {
                **fresh("mds1"),
                "show snapshots'": [
                    listing(complete=(name("mds1"),)),
                    listing(complete=(name("mds1"),)),
                ],
                "delete snapshot": f"Snapshot {name('mds1')} deleted\n",
            },
            "mds2": fresh("mds2"),
            "mlm1": fresh("mlm1"),
        },
        sent={
            "mds1": [
                LIST,
                f"clish -c 'delete snapshot {name('mds1')}'",
                add("mds1"),
                LIST,
                show("mds1"),
            ],
            "mds2": TAKEN_SENT,
            "mlm1": TAKEN_SENT,
        },
        result=(COMPLETE, True, "a snapshot of every MDS and MLM was taken"),
        events=[
            ("step", {"event": "found", "server": "mds1", "found": "already done"}),
            *SNAPSHOT_EVENTS,
        ],
    ),
    Case(
        "a rerun while an earlier run's snapshot is being created: waited for, then taken again",
        _take,
        answers={
            "mds1": {
                **fresh("mds1"),
                "show snapshots'": [
                    listing(creating=name("mds1")),
                    listing(complete=(name("mds1"),)),
                    listing(complete=(name("mds1"),)),
                ],
                "delete snapshot": f"Snapshot {name('mds1')} deleted\n",
            },
            "mds2": fresh("mds2"),
            "mlm1": fresh("mlm1"),
        },
        sent={
            "mds1": [
                LIST,
                LIST,
                f"clish -c 'delete snapshot {name('mds1')}'",
                add("mds1"),
                LIST,
                show("mds1"),
            ],
            "mds2": TAKEN_SENT,
            "mlm1": TAKEN_SENT,
        },
        result=(COMPLETE, True, "a snapshot of every MDS and MLM was taken"),
        events=[
            ("step", {"event": "found", "server": "mds1", "found": "in progress"}),
            ("step", {"event": "found", "server": "mds1", "found": "already done"}),
            *SNAPSHOT_EVENTS,
        ],
    ),
    Case(
        "add snapshot refused on the MLM: the gate names it and why",
        _take,
        answers={
            "mds1": fresh("mds1"),
            "mds2": fresh("mds2"),
            "mlm1": fresh(
                "mlm1",
                ("Not enough space for the snapshot: 7.8G needed, 3.0G available\n", "", 1),
            ),
        },
        sent={"mds1": TAKEN_SENT, "mds2": TAKEN_SENT, "mlm1": [LIST, add("mlm1")]},
        result=(
            [
                *COMPLETE[:2],
                (
                    "mlm1",
                    "failed",
                    "",
                    "",
                    "add snapshot: Not enough space for the snapshot: 7.8G needed, 3.0G available",
                ),
            ],
            False,
            "no snapshot of mlm1 (add snapshot: Not enough space for the snapshot: 7.8G "
            "needed, 3.0G available)",
        ),
    ),
    Case(
        "a snapshot that vanishes while being created fails, the others are taken",
        _take,
        answers={
            "mds1": {
                **fresh("mds1"),
                "show snapshots'": [listing(), listing(creating=name("mds1")), listing()],
            },
            "mds2": fresh("mds2"),
            "mlm1": fresh("mlm1"),
        },
        sent={"mds1": [LIST, add("mds1"), LIST, LIST], "mds2": TAKEN_SENT, "mlm1": TAKEN_SENT},
        result=(
            [
                (
                    "mds1",
                    "failed",
                    "",
                    "",
                    f"mds1: snapshot {name('mds1')} is neither being created nor a restore "
                    "point. read 'show snapshots' and /var/log/messages on the server, then "
                    "rerun 02",
                ),
                *COMPLETE[1:],
            ],
            False,
            f"no snapshot of mds1 (mds1: snapshot {name('mds1')} is neither being created nor "
            "a restore point. read 'show snapshots' and /var/log/messages on the server, then "
            "rerun 02)",
        ),
    ),
    Case(
        "dry run: each add snapshot shown, nothing waited for, the gate passes",
        _take,
        dry_run=True,
        answers={s: fresh(s) for s in SERVERS},
        sent={s: [LIST] for s in SERVERS},
        result=(
            [(s, "skipped", "", "", "dry run: not taken") for s in SERVERS],
            True,
            "a snapshot of every MDS and MLM was taken",
        ),
        events=[
            *[
                e
                for s in SERVERS
                for e in (
                    ("dry-run", {"server": s, "command": snapshots_line(s)}),
                    ("step", {"event": "would-wait", "server": s}),
                )
            ],
            *[("step", {"event": "snapshot", "server": s, "status": "skipped"}) for s in SERVERS],
        ],
    ),
    Case(
        "take_snapshots=false: nothing sent, the space INFO, the snapshot gate a WARNING, recorded",
        _labels,
        params={"take_snapshots": False},
        result=(
            "INFO not checked: the parameter take_snapshots=false, 02 takes no Gaia snapshot",
            "WARNING no Gaia snapshot taken (the parameter take_snapshots=false): the way back of "
            "a failed upgrade is the backups only, runbook 09 cannot revert",
            [
                {
                    "server": s,
                    "status": "skipped",
                    "detail": "not taken: the parameter take_snapshots=false (operator "
                    "proc-tester): runbook 09 cannot revert this server",
                }
                for s in SERVERS
            ],
        ),
        events=[
            *[("step", {"event": "snapshot", "server": s, "status": "skipped"}) for s in SERVERS],
            ("file", {"path": "backups.json"}),
        ],
    ),
    Case(
        "dry run after a real 02: the record keeps the snapshots still on the servers",
        _earlier_dry_run,
        dry_run=True,
        answers={s: fresh(s) for s in SERVERS},
        sent={s: [LIST] for s in SERVERS},
        result={
            "backups": [{"server": "mds1", "file": "(dry run)"}],
            "snapshots": [{"server": "mds1", "name": "n"}],
        },
        events=[("file", {"path": "backups.json"}), ("file", {"path": "backups.json"})],
    ),
]
