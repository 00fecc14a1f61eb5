"""Cases of ``mdstools.procedure.prepare``: HA on the primary, backups, the freeze (02)."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from mdstools import mgmt_api
from mdstools.commands import ha
from mdstools.procedure import prepare
from mdstools.run import Run
from tests.procedure.harness import (
    Case,
    change_sent,
    fixture,
    ha_state_json,
    in_session,
    mgmt_error,
    wait_sent,
)

HA_STATE = "mgmt_cli -r true show-ha-state --format json"
TASK = "ac3e43e5-efa9-48da-9463-1756fdf87635"
ON_SECONDARY = ha_state_json(
    {"Global": {"mds1": "active", "mds2": "standby"}, "dom1": {"mds1": "standby", "mds2": "active"}}
)
ON_PRIMARY = ha_state_json(
    {"Global": {"mds1": "active", "mds2": "standby"}, "dom1": {"mds1": "active", "mds2": "standby"}}
)
ON_BOTH = ha_state_json(
    {"Global": {"mds1": "active", "mds2": "standby"}, "dom1": {"mds1": "active", "mds2": "active"}}
)
SET_ACTIVE = change_sent("dom1", lambda s: ha.set_ha_state("dom1", "active", s))
SET_STANDBY = change_sent("dom1", lambda s: ha.set_ha_state("dom1", "standby", s))
SHOW_TASK = wait_sent("dom1", TASK)
DIR = "/var/log/mds_backups"


def published(uid: str, posix: int) -> str:
    """A ``show-last-published-session`` answer."""
    return json.dumps(
        {
            "uid": uid,
            "user-name": "admin",
            "publish-time": {"posix": posix, "iso-8601": "2026-11-26T14:56+0000"},
        }
    )


def known(value: Any) -> Any:
    """A frame's cell, None where pandas holds a missing value as NaN."""
    return None if pd.isna(value) else value


def _switch(run: Run) -> list[tuple[str, str, str]]:
    df = prepare.make_active_on_primary(run, ["dom1"])
    return [tuple(r) for r in df.itertuples(index=False)]


def _space(run: Run) -> tuple[list[Any], bool, str]:
    space = prepare.free_space(run)
    check = prepare.space_check(space, 1024)
    return list(space["server"]), check.passed, check.reason


def _markers(run: Run) -> tuple[list[tuple[str, str, Any, Any]], bool]:
    df = prepare.freeze_markers(run)
    rows = [
        (r.domain, r.server, known(r.session), known(r.error)) for r in df.itertuples(index=False)
    ]
    return rows, (run.report_dir / prepare.FREEZE).exists()


def _dry_backups(run: Run) -> list[tuple[str, str]]:
    df = prepare.run_backups(run)
    return [(str(r.server), str(r.file)) for r in df.itertuples(index=False)]


LAST = "show-last-published-session"
IN_SESSION = [f'mgmt_cli {LAST} -s "$d/s1" --format json']


MARKER_ANSWERS: dict[str, dict[str, Any]] = {
    "mds1": {
        "show-ha-state": ON_PRIMARY,
        "-d 'Global' read-only": in_session("Global", answer=published("s-g1", 1795704000000)),
        "-d 'dom1' read-only": in_session("dom1", answer=published("s-d1", 1795704992087)),
    },
    "mds2": {
        "-d 'Global' read-only": in_session("Global", answer=published("s-g2", 1795704000000)),
        "-d 'dom1' read-only": in_session(
            "dom1", login_error=mgmt_error("err_login_failed", "Login to dom1 failed")[0]
        ),
    },
}
MARKERS_SENT = {
    "mds1": [
        HA_STATE,
        mgmt_api.script([("Global", "Global", IN_SESSION)]),
        mgmt_api.script([("dom1", "dom1", IN_SESSION)]),
    ],
    "mds2": [
        mgmt_api.script([("Global", "Global", IN_SESSION)]),
        mgmt_api.script([("dom1", "dom1", IN_SESSION)]),
    ],
}
MARKER_ROWS = [
    ("Global", "mds1", "s-g1", None),
    ("dom1", "mds1", "s-d1", None),
    ("Global", "mds2", "s-g2", None),
    (
        "dom1",
        "mds2",
        None,
        "mgmt_cli show-last-published-session: err_login_failed: Login to dom1 failed. "
        "check that the domain exists and its DMS is up on this server",
    ),
]

JOB = "/var/log/mdstools/jobs/CHG-PROC-1/mds_backup"
DIGEST = "63596927d6bf9b7e838679acae4b8d84717f24b8fdc8044e7805ba64c1ee5b97"
ARCHIVE = "/var/log/mds_backups/26Nov2026-144235.mdsbk.tar"


def backup_server(rc: int) -> dict[str, Any]:
    """A server with no backup job of the ticket yet, where ``mds_backup`` ends with ``rc``."""
    return {
        f"^cat {JOB}/pid": "",
        f"^if \\[ -e {JOB} \\]": "4242\n1000\n",
        f"^if \\[ -f {JOB}/rc \\]": f"rc={rc}\n20\nmds_backup ended\n",
        f"^cat {JOB}/log$": "mds_backup ended\n",
        "^stat -c": fixture("backup_files/lab_r81.10_one.txt"),
        "^sha256sum": fixture("sha256/lab_r81.10_backup.txt"),
    }


BACKUP_SENT = [
    f"cat {JOB}/pid 2>/dev/null && cat {JOB}/started 2>/dev/null; true",
    f"~^if \\[ -e {JOB} \\]; then mv {JOB} {JOB}\\.\\$\\(date",
    f"~^if \\[ -f {JOB}/rc \\]",
    f"cat {JOB}/log",
]


def _backups(run: Run) -> tuple[list[tuple[str, str, Any, str]], bool, str]:
    df = prepare.run_backups(run)
    check = prepare.backups_check(df)
    rows = [(str(r[0]), str(r[1]), known(r[2]), str(r[3])) for r in df.itertuples(index=False)]
    return rows, check.passed, check.reason


CASES = [
    Case(
        "mds_backup on every MDS as a job of the ticket, its archive hashed",
        _backups,
        answers={"mds1": backup_server(0), "mds2": backup_server(0)},
        sent={
            "mds1": [
                *BACKUP_SENT,
                f"stat -c '%n|%s|%Y' {DIR}/*.mdsbk.* 2>/dev/null",
                f"sha256sum {ARCHIVE}",
            ],
            "mds2": [
                *BACKUP_SENT,
                f"stat -c '%n|%s|%Y' {DIR}/*.mdsbk.* 2>/dev/null",
                f"sha256sum {ARCHIVE}",
            ],
        },
        result=(
            [("mds1", ARCHIVE, 725.0, DIGEST), ("mds2", ARCHIVE, 725.0, DIGEST)],
            True,
            "an mds_backup archive exists for every MDS",
        ),
        events=[("file", {"path": "backups.json"})],
    ),
    Case(
        "mds_backup fails on one MDS: the check names it",
        _backups,
        answers={"mds1": backup_server(1), "mds2": backup_server(0)},
        sent={
            "mds1": BACKUP_SENT,
            "mds2": [
                *BACKUP_SENT,
                f"stat -c '%n|%s|%Y' {DIR}/*.mdsbk.* 2>/dev/null",
                f"sha256sum {ARCHIVE}",
            ],
        },
        result=(
            [
                (
                    "mds1",
                    "FAILED: mds1: job 'mds_backup' failed with exit status 1. read the job "
                    "log in the record; rerun the step when fixed",
                    None,
                    "",
                ),
                ("mds2", ARCHIVE, 725.0, DIGEST),
            ],
            False,
            "no backup for mds1",
        ),
    ),
    Case(
        "a domain active on the secondary is made active on the primary",
        _switch,
        answers={
            "mds1": {
                "show-ha-state": [ON_SECONDARY, ON_PRIMARY],
                "set-ha-state": in_session(
                    "dom1", answer=fixture("set_ha_state/lab_r81.10_to_active.txt")
                ),
                "show-task": in_session(
                    "dom1", answer=fixture("show_task/lab_r81.10_set_ha_state_done.txt")
                ),
            }
        },
        sent={"mds1": [HA_STATE, SET_ACTIVE, SHOW_TASK, HA_STATE]},
        result=[("dom1", "mds2", "succeeded")],
    ),
    Case(
        "a domain already active on the primary is left as it is",
        _switch,
        answers={"mds1": {"show-ha-state": ON_PRIMARY}},
        sent={"mds1": [HA_STATE, HA_STATE]},
        result=[("dom1", "mds1", "already active on the primary")],
        events=[("step", {"event": "found", "server": "mds1", "found": "already done"})],
    ),
    Case(
        "a peer still active after the switch is demoted",
        _switch,
        answers={
            "mds1": {
                "show-ha-state": [ON_SECONDARY, ON_BOTH],
                "set-ha-state": in_session(
                    "dom1", answer=fixture("set_ha_state/lab_r81.10_to_active.txt")
                ),
                "show-task": in_session(
                    "dom1", answer=fixture("show_task/lab_r81.10_set_ha_state_done.txt")
                ),
            },
            "mds2": {
                "set-ha-state": in_session(
                    "dom1", answer=fixture("set_ha_state/lab_r81.10_to_active.txt")
                ),
                "show-task": in_session(
                    "dom1", answer=fixture("show_task/lab_r81.10_set_ha_state_done.txt")
                ),
            },
        },
        sent={
            "mds1": [HA_STATE, SET_ACTIVE, SHOW_TASK, HA_STATE],
            "mds2": [SET_STANDBY, SHOW_TASK],
        },
        result=[("dom1", "mds2", "succeeded")],
    ),
    Case(
        "a switch that failed leaves the peer active: the domain keeps its only active",
        _switch,
        answers={
            "mds1": {
                "show-ha-state": [ON_SECONDARY, ON_SECONDARY],
                "set-ha-state": in_session(
                    "dom1", answer=fixture("set_ha_state/lab_r81.10_to_active.txt")
                ),
                "show-task": in_session(
                    "dom1",
                    answer=json.dumps(
                        {
                            "tasks": [
                                {"task-id": TASK, "status": "failed", "progress-percentage": 100}
                            ]
                        }
                    ),
                ),
            }
        },
        sent={"mds1": [HA_STATE, SET_ACTIVE, SHOW_TASK, HA_STATE]},
        result=[("dom1", "mds2", "failed")],
    ),
    Case(
        "dry run: the switch is shown, its task not waited for, no demotion shown",
        _switch,
        answers={"mds1": {"show-ha-state": ON_SECONDARY}},
        dry_run=True,
        sent={"mds1": [HA_STATE, HA_STATE]},
        result=[("dom1", "mds2", "dry run: not switched")],
        events=[
            ("dry-run", {"server": "mds1", "command": SET_ACTIVE}),
            ("step", {"event": "would-wait", "step": "the task of set-ha-state dom1 active"}),
        ],
    ),
    Case(
        "set-ha-state refused by the Management API",
        _switch,
        answers={
            "mds1": {
                "show-ha-state": [ON_SECONDARY, ON_PRIMARY],
                "set-ha-state": in_session(
                    "dom1", answer=mgmt_error("err_validation_failed", "dom1 is locked")
                ),
            }
        },
        sent={"mds1": [HA_STATE, SET_ACTIVE, HA_STATE]},
        result=[
            (
                "dom1",
                "mds2",
                "failed: mgmt_cli task: err_validation_failed: dom1 is locked. see the "
                "Management API reference for the code",
            )
        ],
    ),
    Case(
        "free space of the backup directory; one df that does not parse",
        _space,
        answers={
            "mds1": {
                "^mkdir -p": "",
                "^df -P -k": fixture("free_space/lab_r81.10_var_log.txt"),
            },
            "mds2": {"^mkdir -p": "", "^df -P -k": fixture("free_space/missing.txt")},
        },
        sent={
            "mds1": [f"mkdir -p {DIR}", f"df -P -k {DIR}"],
            "mds2": [f"mkdir -p {DIR}", f"df -P -k {DIR}"],
        },
        result=(["mds1", "mds2"], False, "less than 1024 MB free: mds2 (free space unknown)"),
    ),
    Case(
        "the freeze markers of every DMS; one DMS that cannot be asked",
        _markers,
        answers=MARKER_ANSWERS,
        sent=MARKERS_SENT,
        any_order=["mds1", "mds2"],
        result=(MARKER_ROWS, True),
        events=[("file", {"path": "freeze.json"})],
    ),
    Case(
        "dry run: the freeze markers are read, not recorded",
        _markers,
        answers=MARKER_ANSWERS,
        dry_run=True,
        sent=MARKERS_SENT,
        any_order=["mds1", "mds2"],
        result=(MARKER_ROWS, False),
    ),
    Case(
        "dry run: no backup is started",
        _dry_backups,
        dry_run=True,
        result=[("mds1", "(dry run)"), ("mds2", "(dry run)")],
        events=[
            ("dry-run", {"server": "mds1", "command": f"cd {DIR} && mds_backup -b -l -d {DIR}"}),
            ("dry-run", {"server": "mds2", "command": f"cd {DIR} && mds_backup -b -l -d {DIR}"}),
            ("file", {"path": "backups.json"}),
        ],
    ),
]
