"""Cases of ``mdstools.procedure.common``: versions, HA state, waits on tasks and mdsstat."""

from __future__ import annotations

from mdstools.errors import MdstoolsError
from mdstools.procedure import common
from mdstools.run import Run
from tests.procedure.harness import (
    Case,
    fixture,
    ha_state_json,
    in_session,
    mgmt_error,
    wait_sent,
)

HA_STATE = "mgmt_cli -r true show-ha-state --format json"
TASK = "ac3e43e5-efa9-48da-9463-1756fdf87635"
SHOW_TASK = wait_sent("dom1", TASK)
TWO_SIDES = ha_state_json({"Global": {"mds1": "active", "mds2": "standby"}})


def _entries(run: Run) -> list[tuple[str, str, str]]:
    return [(e.domain, e.mds, e.ha_state) for e in common.ha_state(run)]


def _not_up(run: Run, timeout_s: float) -> list[str]:
    table = common.wait_all_up(run, "mds1", timeout_s=timeout_s, interval_s=5.0)
    return [r.name or r.type for r in table.rows if not r.all_up]


def _task(run: Run) -> tuple[str, int | None]:
    task = common.wait_task(run, "mds1", "dom1", TASK)
    return task.status, task.progress


CASES = [
    Case(
        "versions of every server, one unreachable",
        common.versions_all,
        answers={
            "mds1": {"^fw ver$": fixture("fw_ver/lab_r81.10.txt")},
            "mds2": {"^fw ver$": fixture("fw_ver/lab_r81.20_after_upgrade.txt")},
        },
        down=["mlm1"],
        sent={"mds1": ["fw ver"], "mds2": ["fw ver"]},
        result={"mds1": "R81.10", "mds2": "R81.20", "mlm1": None},
    ),
    Case(
        "a version that does not parse is unknown",
        common.versions_all,
        answers={
            "mds1": {"^fw ver$": fixture("fw_ver/not_management.txt")},
            "mds2": {"^fw ver$": ("", "fw: command not found\n", 127)},
            "mlm1": {"^fw ver$": fixture("fw_ver/lab_r81.10.txt")},
        },
        sent={"mds1": ["fw ver"], "mds2": ["fw ver"], "mlm1": ["fw ver"]},
        result={"mds1": None, "mds2": None, "mlm1": "R81.10"},
    ),
    Case(
        "HA state from the secondary when the primary's answer is not JSON",
        _entries,
        answers={
            "mds1": {"show-ha-state": "Error: the API server is not running\n"},
            "mds2": {"show-ha-state": TWO_SIDES},
        },
        sent={"mds1": [HA_STATE], "mds2": [HA_STATE]},
        result=[("Global", "mds1", "active"), ("Global", "mds2", "standby")],
    ),
    Case(
        "no MDS answers show-ha-state",
        _entries,
        answers={"mds1": {"show-ha-state": mgmt_error("err_login_failed", "Login failed")}},
        down=["mds2"],
        sent={"mds1": [HA_STATE]},
        raises=(MdstoolsError, r"no MDS answered show-ha-state: mds1: .*Login failed.*; mds2: "),
    ),
    Case(
        "mdsstat is polled until every process is up",
        lambda run: _not_up(run, 60),
        answers={
            "mds1": {
                "^mdsstat$": [
                    fixture("mdsstat/lab_r81.10_dms_down.txt"),
                    fixture("mdsstat/lab_r81.10_all_up.txt"),
                ]
            }
        },
        sent={"mds1": ["mdsstat", "mdsstat"]},
        result=[],
    ),
    Case(
        "a DMS that never comes up: the last table is returned",
        lambda run: _not_up(run, 12),
        answers={"mds1": {"^mdsstat$": fixture("mdsstat/lab_r81.10_dms_down.txt")}},
        sent={"mds1": ["mdsstat", "mdsstat", "mdsstat"]},
        result=["dom1_Server"],
    ),
    Case(
        "a Management API task is polled until it ends",
        _task,
        answers={
            "mds1": {
                "show-task": [
                    in_session(
                        "dom1", answer=fixture("show_task/lab_r81.10_set_ha_state_in_progress.txt")
                    ),
                    in_session(
                        "dom1", answer=fixture("show_task/lab_r81.10_set_ha_state_done.txt")
                    ),
                ]
            }
        },
        sent={"mds1": [SHOW_TASK, SHOW_TASK]},
        result=("succeeded", 100),
    ),
    Case(
        "a task whose show-task fails on the server",
        _task,
        answers={
            "mds1": {
                "show-task": in_session(
                    "dom1", answer=mgmt_error("generic_err_object_not_found", "not found")
                )
            }
        },
        sent={"mds1": [SHOW_TASK]},
        raises=(MdstoolsError, "not found"),
    ),
]
