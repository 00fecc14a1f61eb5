"""Cases of ``mdstools.procedure.upgrade``: one server at a time (03-05)."""

from __future__ import annotations

from typing import Any

from mdstools.errors import ConnectionLostError, MdstoolsError
from mdstools.procedure import upgrade
from mdstools.procedure.upgrade import ServerState
from mdstools.run import Run
from tests.procedure.harness import PACKAGE, Case, fixture

R81_10 = fixture("fw_ver/lab_r81.10.txt")
R81_20 = fixture("fw_ver/lab_r81.20_after_upgrade.txt")
DETAIL = f"clish -c 'show installer package {PACKAGE}'"
LISTED = "clish -c 'show installer packages imported'"
JOB = "/var/log/mdstools/jobs/CHG-PROC-1/mds_setup_upgrade"

DECISIONS: list[tuple[str, ServerState, bool, str]] = [
    ("cpuse", ServerState(version="R81.20"), False, "skip"),
    ("cpuse", ServerState(version="R81.20", package="Installed"), True, "finished"),
    ("cpuse", ServerState(version="R81.10", package="Installing", progress=45), False, "wait"),
    ("cpuse", ServerState(version="R81.10", package="Installed"), False, "wait"),
    ("cpuse", ServerState(version="R81.10", package="Imported"), False, "start"),
    ("cpuse", ServerState(version="R81.10", package="Failed"), True, "start"),
    ("cpuse", ServerState(version=None), False, "start"),
    ("mds_setup", ServerState(version="R81.10", job="running"), False, "wait"),
    ("mds_setup", ServerState(version="R81.10", job="finished", job_rc=0), True, "wait"),
    ("mds_setup", ServerState(version="R81.10", job="lost"), True, "wait"),
    ("mds_setup", ServerState(version="R81.10", job="finished", job_rc=1), True, "start"),
    ("mds_setup", ServerState(version="R81.10", job="finished", job_rc=0), False, "start"),
    ("mds_setup", ServerState(version="R81.10"), False, "start"),
]
"""(method, what the server says, the journal shows an upgrade under way, the action)."""


def _outcome(run: Run) -> tuple[str, str | None, str | None, str]:
    o = upgrade.upgrade_server(run, "mds2")
    return o.server, o.before, o.after, o.outcome


def _dry_outcome(run: Run) -> tuple[tuple[str, str | None, str | None, str], bool]:
    """The outcome, and whether the journal now shows an upgrade of mds2 under way."""
    return _outcome(run), upgrade.started_before(run, "mds2")


def on(version: str, package: str) -> dict[str, Any]:
    """A server on ``version`` whose package shows as the fixture ``package`` says."""
    return {
        "^fw ver$": version,
        "show installer package ": fixture(f"show_installer_package/{package}"),
        "show installer packages imported": fixture(
            "show_installer_packages/lab_r81.10_imported.txt"
        ),
    }


def _primary(run: Run) -> tuple[bool, str]:
    c = upgrade.primary_on_target(run)
    return c.passed, c.reason


UPGRADED = {
    "mds2": {
        "^fw ver$": [R81_10, R81_20],
        "show installer package ": [
            fixture("show_installer_package/lab_r81.10_imported.txt"),
            fixture("show_installer_package/lab_r81.10_installing.txt"),
            fixture("show_installer_package/lab_r81.20_installed.txt"),
        ],
        "show installer packages imported": fixture(
            "show_installer_packages/lab_r81.10_imported.txt"
        ),
        "lock database override": "",
        "installer upgrade": f"Info: Initiating upgrade of {PACKAGE}...\n",
        "^mdsstat$": fixture("mdsstat/lab_r81.20_after_upgrade.txt"),
    }
}

REBOOT = {
    "mds2": {
        **UPGRADED["mds2"],
        "show installer package ": [
            fixture("show_installer_package/lab_r81.10_imported.txt"),
            fixture("show_installer_package/lab_r81.10_installing.txt"),
            ConnectionLostError("mds2", "the server rebooted (fake)"),
            ConnectionLostError("mds2", "the server rebooted (fake)"),
            fixture("show_installer_package/lab_r81.20_installed.txt"),
        ],
    }
}


def _reconnects(run: Run) -> tuple[tuple[str, str | None, str | None, str], int]:
    """The outcome, and how often mds2's connection was opened again."""
    outcome = _outcome(run)
    transport = run.session("mds2").transport
    return outcome, getattr(transport, "reconnects", -1)


CASES = [
    Case(
        "CPUSE: the upgrade is sent once, then polled until the server runs the target",
        _outcome,
        answers=UPGRADED,
        phase_id="04",
        sent={
            "mds2": [
                "fw ver",
                DETAIL,
                LISTED,
                "clish -c 'lock database override'",
                f"clish -c 'installer upgrade {PACKAGE} not-interactive'",
                DETAIL,
                DETAIL,
                "fw ver",
                "mdsstat",
                "fw ver",
            ]
        },
        result=("mds2", "R81.10", "R81.20", "upgraded"),
        events=[
            ("step", {"event": "upgrade-start", "server": "mds2", "target": "R81.20"}),
            ("step", {"event": "upgrade-end", "server": "mds2", "after": "R81.20", "not_up": []}),
        ],
    ),
    Case(
        "CPUSE: the wait goes on through the reboot that drops the connection",
        _reconnects,
        answers=REBOOT,
        phase_id="04",
        sent={
            "mds2": [
                "fw ver",
                DETAIL,
                LISTED,
                "clish -c 'lock database override'",
                f"clish -c 'installer upgrade {PACKAGE} not-interactive'",
                DETAIL,
                DETAIL,
                DETAIL,
                DETAIL,
                "fw ver",
                "mdsstat",
                "fw ver",
            ]
        },
        result=(("mds2", "R81.10", "R81.20", "upgraded"), 2),
        events=[
            ("step", {"event": "upgrade-start", "server": "mds2"}),
            ("step", {"event": "upgrade-end", "server": "mds2", "after": "R81.20"}),
        ],
    ),
    Case(
        "a server already on the target is skipped",
        _outcome,
        answers={"mds2": on(R81_20, "lab_r81.20_installed.txt")},
        phase_id="04",
        sent={"mds2": ["fw ver", DETAIL]},
        result=("mds2", "R81.20", "R81.20", "already on target (skipped)"),
    ),
    Case(
        "dry run: the upgrade is shown, not sent",
        _dry_outcome,
        answers={"mds2": on(R81_10, "lab_r81.10_imported.txt")},
        phase_id="04",
        dry_run=True,
        sent={"mds2": ["fw ver", DETAIL, LISTED]},
        result=(("mds2", "R81.10", "R81.10", "dry run"), False),
        events=[
            ("dry-run", {"server": "mds2", "command": "lock database override"}),
            (
                "dry-run",
                {"server": "mds2", "command": f"installer upgrade {PACKAGE} not-interactive"},
            ),
        ],
    ),
    Case(
        "dry run: the waits after the shown upgrade are said, not waited",
        _outcome,
        answers={"mds2": on(R81_10, "lab_r81.10_imported.txt")},
        phase_id="04",
        dry_run=True,
        sent={"mds2": ["fw ver", DETAIL, LISTED]},
        result=("mds2", "R81.10", "R81.10", "dry run"),
        events=[
            (
                "step",
                {
                    "event": "would-wait",
                    "server": "mds2",
                    "step": "the upgrade to R81.20 (the reboot, then every process up)",
                },
            ),
        ],
    ),
    Case(
        "mds_setup, dry run: the waits after the shown upgrade are said, not waited",
        _outcome,
        answers={"mds2": {"^fw ver$": R81_10, f"cat {JOB}/pid": ""}},
        method="mds_setup",
        phase_id="04",
        dry_run=True,
        sent={
            "mds2": [
                "fw ver",
                f"cat {JOB}/pid 2>/dev/null && cat {JOB}/started 2>/dev/null; true",
            ]
        },
        result=("mds2", "R81.10", "R81.10", "dry run"),
        events=[
            (
                "step",
                {
                    "event": "would-wait",
                    "server": "mds2",
                    "step": "the upgrade to R81.20 (the reboot, then every process up)",
                },
            ),
        ],
    ),
    Case(
        "the upgrade is refused: the phase stops with the server's words",
        _outcome,
        answers={
            "mds2": {
                **on(R81_10, "lab_r81.10_imported.txt"),
                "lock database override": "",
                "installer upgrade": "Upgrade is not allowed: the verifier found errors\n",
            }
        },
        phase_id="04",
        sent={
            "mds2": [
                "fw ver",
                DETAIL,
                LISTED,
                "clish -c 'lock database override'",
                f"clish -c 'installer upgrade {PACKAGE} not-interactive'",
            ]
        },
        raises=(MdstoolsError, "mds2: the upgrade did not start: Upgrade is not allowed"),
        events=[("step", {"event": "upgrade-start", "server": "mds2", "before": "R81.10"})],
    ),
    Case(
        "mds_setup, dry run: the ticket's job is looked for, none is started",
        _outcome,
        answers={"mds2": {"^fw ver$": R81_10, f"cat {JOB}/pid": ""}},
        method="mds_setup",
        phase_id="04",
        dry_run=True,
        sent={
            "mds2": [
                "fw ver",
                f"cat {JOB}/pid 2>/dev/null && cat {JOB}/started 2>/dev/null; true",
            ]
        },
        result=("mds2", "R81.10", "R81.10", "dry run"),
    ),
    Case(
        "the primary is not on the target: secondaries wait",
        _primary,
        answers={"mds1": {"^fw ver$": R81_10}},
        phase_id="04",
        sent={"mds1": ["fw ver"]},
        result=(False, "mds1 runs R81.10, not R81.20"),
    ),
    Case(
        "the primary's version cannot be read",
        _primary,
        down=["mds1"],
        phase_id="04",
        raises=(MdstoolsError, "mds1"),
    ),
]
