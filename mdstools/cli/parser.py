"""The ``mdstools`` argument parser: one function per command's arguments."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mdstools import __version__
from mdstools.cli.demo import cmd_demo
from mdstools.cli.jupyterlab import cmd_jupyter
from mdstools.cli.lab import (
    cmd_lab_change,
    cmd_lab_down,
    cmd_lab_drop,
    cmd_lab_events,
    cmd_lab_fix,
    cmd_lab_reboot,
    cmd_lab_serve,
    cmd_lab_status,
    cmd_lab_up,
)
from mdstools.cli.record import cmd_bundle, cmd_seal, cmd_verify
from mdstools.cli.rehearse import cmd_rehearse
from mdstools.cli.runs import cmd_campaign, cmd_run
from mdstools.cli.status_plan import cmd_plan, cmd_status

DEFAULT_LAB_DIR = Path("lab-data")


def _add_lab_shape(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dir", default=str(DEFAULT_LAB_DIR), help="lab directory (default lab-data)")
    p.add_argument("--scenario", default="default", help="named scenario (see README)")
    p.add_argument(
        "--like",
        metavar="FILE",
        default=None,
        help="a twin of the deployment in FILE (a baseline.json or status --format json): "
        "its servers, versions, domains and HA state; not with --mds, --mlm, --domains, "
        "--source",
    )
    p.add_argument("--mds", type=int, default=None, help="number of MDSs, 1..4 (default 2)")
    p.add_argument("--mlm", type=int, default=None, help="number of log servers, 0..4 (default 1)")
    p.add_argument(
        "--domains", type=int, default=None, help="number of domains, 1..500 (default 5)"
    )
    p.add_argument(
        "--time-scale",
        type=float,
        default=None,
        help="lab seconds per real second of the product (default: scenario's, 0.01)",
    )
    p.add_argument("--source", default=None, help="release installed now (default R81.10)")
    p.add_argument(
        "--target",
        default=None,
        help="release to upgrade to (default R81.20; with --like: the file's target_version)",
    )
    p.add_argument(
        "--columns",
        action="append",
        default=[],
        metavar="RELEASE=COL,...",
        help="mdsstat process columns of a release, e.g. R81.20=FWM,FWMHA,FWD,CPD,CPCA",
    )
    p.add_argument(
        "--double-echo",
        action="store_true",
        help="echo interactive commands twice, as some Gaia builds do",
    )
    p.add_argument(
        "--owner-pid",
        type=int,
        metavar="PID",
        help="stop the lab by itself when process PID ends (a rehearsal's twin)",
    )
    for flag, kind, meta, what in (
        ("--api-latency", float, "SECONDS", "product seconds of a read/write API login"),
        ("--api-init-after-boot", float, "SECONDS", "the API's initializing time after a reboot"),
        ("--api-rate-limit", float, "CALLS_PER_S", "API calls per second a server takes"),
        ("--api-max-sessions", int, "N", "read/write API sessions per server (100)"),
    ):
        p.add_argument(flag, type=kind, metavar=meta, help=f"{what} (docs/durations.md)")


def _add_status(sub: Any) -> None:
    p = sub.add_parser(
        "status",
        help="live health snapshot of the deployment",
        description=(cmd_status.__doc__ or "").strip(),
    )
    p.add_argument("-i", "--inventory", required=True, help="inventory YAML file")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument(
        "--cross-check",
        action="store_true",
        help="also read show-servers-and-processes (R81.10 JHF T79+; one API login per "
        "server) and note whether it agrees with mdsstat",
    )
    p.set_defaults(func=cmd_status)


def _run_options() -> argparse.ArgumentParser:
    """The options ``run`` and ``campaign`` share, as a parent parser."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-i", "--inventory", required=True, help="inventory YAML file")
    common.add_argument("--reports", default="reports", help="reports folder (default reports)")
    common.add_argument("--operator", default="", help="who runs it (default: login name)")
    common.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="runbook parameter, e.g. -p confirm=true",
    )
    common.add_argument("--dry-run", action="store_true", help="show what would change")
    common.add_argument(
        "--break-lock",
        action="store_true",
        help="break a STALE lock left by a dead run on this host, or the lock on the primary "
        "MDS left by a run from another host (journaled)",
    )
    return common


def _add_run(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "run",
        parents=[common],
        help="execute one runbook headless",
        description=(cmd_run.__doc__ or "").strip(),
    )
    p.add_argument(
        "phase", help="00..08, 09 (the back-out) or a name such as upgrade_primary or backout"
    )
    p.add_argument("--ticket", required=True, help="change ticket id (names reports/<ticket>)")
    p.set_defaults(func=cmd_run)


def _add_campaign(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "campaign",
        parents=[common],
        help="run the phases in order",
        description=(cmd_campaign.__doc__ or "").strip(),
    )
    p.add_argument("--ticket", required=True)
    p.add_argument("--from", dest="from_phase", default="00")
    p.add_argument(
        "--to",
        dest="to_phase",
        default="08",
        help="the last phase (default 08: the back-out, 09, runs only when named)",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="start after the last phase that passed for this ticket",
    )
    p.add_argument(
        "--confirm",
        action="store_true",
        help="confirm every mutating step (headless change window)",
    )
    p.set_defaults(func=cmd_campaign)


def _add_plan(sub: Any) -> None:
    p = sub.add_parser(
        "plan",
        help="the campaign as it would run; nothing is executed",
        description=(cmd_plan.__doc__ or "").strip(),
    )
    p.add_argument("-i", "--inventory", required=True)
    p.add_argument(
        "--ticket",
        default="",
        help="the estimate counts the domains of reports/<ticket>/baseline.json when it exists",
    )
    p.add_argument("--reports", default="reports", help="reports folder (default reports)")
    p.add_argument(
        "--baseline",
        default="",
        metavar="FILE",
        help="a baseline.json or the output of status --format json for the estimate "
        "(instead of the ticket's)",
    )
    p.set_defaults(func=cmd_plan)


def _add_verify(sub: Any) -> None:
    p = sub.add_parser(
        "verify",
        help="check a report's manifest and hash chain",
        description=(cmd_verify.__doc__ or "").strip(),
    )
    p.add_argument("report", help="reports/<ticket>")
    p.set_defaults(func=cmd_verify)


def _add_seal(sub: Any) -> None:
    p = sub.add_parser(
        "seal",
        help="seal runs journaled since the last seal (JupyterLab runs)",
        description=(cmd_seal.__doc__ or "").strip(),
    )
    p.add_argument("report", help="reports/<ticket>")
    p.add_argument(
        "notebooks",
        nargs="*",
        metavar="NOTEBOOK",
        help="executed notebooks of runs of this ticket (papermill's output files)",
    )
    p.add_argument(
        "-i",
        "--inventory",
        default=None,
        help="the runs' inventory, for masking its secrets (default: the one each run names)",
    )
    p.add_argument("--operator", default="", help="who seals it (default: login name)")
    p.set_defaults(func=cmd_seal)


def _add_bundle(sub: Any) -> None:
    p = sub.add_parser(
        "bundle", help="zip a ticket's report", description=(cmd_bundle.__doc__ or "").strip()
    )
    p.add_argument("report", help="reports/<ticket>")
    p.add_argument("-o", "--output", default=None, help="zip file (default next to the report)")
    p.set_defaults(func=cmd_bundle)


def _add_jupyter(sub: Any) -> None:
    p = sub.add_parser(
        "jupyter",
        help="JupyterLab on the runbooks (the lab unless -i)",
        description=(cmd_jupyter.__doc__ or "").strip(),
    )
    p.add_argument("-i", "--inventory", default=None, help="inventory YAML (default: the lab's)")
    p.add_argument(
        "--lab-dir", default=str(DEFAULT_LAB_DIR), help="lab directory (default lab-data)"
    )
    p.add_argument(
        "--scenario", default=None, help="lab scenario when it starts the lab (default default)"
    )
    p.add_argument("--port", type=int, default=8888, help="JupyterLab's port (default 8888)")
    p.add_argument(
        "--ticket", default="", help="change ticket (needed with -i; on the lab: LAB-<date>)"
    )
    p.add_argument("--reports", default="reports", help="reports folder (default reports)")
    p.add_argument(
        "--no-browser", action="store_true", help="only print the URL; do not open a browser"
    )
    p.set_defaults(func=cmd_jupyter)


def _add_demo(sub: Any) -> None:
    p = sub.add_parser(
        "demo", help="the embedded lab end to end", description=(cmd_demo.__doc__ or "").strip()
    )
    p.add_argument("--dir", default=None, help="lab directory (default: a new temp dir)")
    p.add_argument("--scenario", default="default")
    p.add_argument("--domains", type=int, default=5)
    p.add_argument(
        "--time-scale",
        type=float,
        default=0.005,
        help="lab time scale (default 0.005: a 25-minute upgrade takes 7.5 s)",
    )
    p.add_argument("--reports", default="reports", help="reports folder (default reports)")
    p.add_argument("--ticket", default="", help="ticket id (default DEMO-<timestamp>)")
    p.set_defaults(func=cmd_demo)


def _add_rehearse(sub: Any) -> None:
    p = sub.add_parser(
        "rehearse",
        help="the whole campaign on a lab twin of the real deployment first",
        description=(cmd_rehearse.__doc__ or "").strip(),
    )
    p.add_argument("-i", "--inventory", required=True, help="inventory YAML of the real servers")
    p.add_argument(
        "--ticket", required=True, help="change ticket id (names reports/<ticket>-rehearsal)"
    )
    p.add_argument("--scenario", default="default", help="a lab fault scenario on the twin")
    p.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="runbook parameter, as for the campaign",
    )
    p.add_argument("--confirm", action="store_true", help="confirm every mutating step")
    p.add_argument("--reports", default="reports", help="reports folder (default reports)")
    p.add_argument("--operator", default="", help="who runs it (default: login name)")
    p.add_argument(
        "--time-scale",
        type=float,
        default=None,
        help="the twin's time scale (default: the lab's, 0.01)",
    )
    p.add_argument(
        "--keep-twin",
        action="store_true",
        help="leave the twin running at the end (its inventory and how to stop it are printed)",
    )
    p.set_defaults(func=cmd_rehearse)


_LAB_CONTROL_COMMANDS: tuple[tuple[str, Callable[[argparse.Namespace], int], str], ...] = (
    ("down", cmd_lab_down, "stop the lab"),
    ("status", cmd_lab_status, "servers, versions, HA per domain"),
    ("change", cmd_lab_change, "an admin publishes a change on a DMS"),
    ("fix", cmd_lab_fix, "clear injected faults"),
    ("reboot", cmd_lab_reboot, "reboot one simulated server"),
    ("drop", cmd_lab_drop, "drop a server's connections for a while"),
    ("events", cmd_lab_events, "what the lab did lately"),
)


def _add_lab_control_options(p: argparse.ArgumentParser, name: str) -> None:
    """The options of one ``lab`` command after ``serve``, besides ``--dir``."""
    if name == "status":
        p.add_argument("--format", choices=("table", "json"), default="table")
    if name == "change":
        p.add_argument("--domain", required=True, help="domain name, e.g. dom1")
        p.add_argument("--on", required=True, help="server whose DMS gets the change")
        p.add_argument("--admin", default="lab-admin", help="who publishes")
        p.add_argument("--object", default=None, help="object name (default generated)")
    if name == "fix":
        p.add_argument("--server", default=None, help="only this server")
    if name in ("reboot", "drop"):
        p.add_argument("server", help="server name, e.g. mds2")
    if name == "drop":
        p.add_argument("--seconds", type=float, default=5.0)
    if name == "events":
        p.add_argument("--last", type=int, default=50)


def _add_lab(sub: Any) -> None:
    lab = sub.add_parser("lab", help="the embedded MDS HA lab (simulated servers over SSH)")
    labsub = lab.add_subparsers(dest="lab_command", required=True)
    p = labsub.add_parser("up", help="start the lab in the background")
    _add_lab_shape(p)
    p.set_defaults(func=cmd_lab_up)
    p = labsub.add_parser("serve", help="run the lab in the foreground")
    _add_lab_shape(p)
    p.set_defaults(func=cmd_lab_serve)
    for name, func, help_ in _LAB_CONTROL_COMMANDS:
        p = labsub.add_parser(name, help=help_, description=(func.__doc__ or "").strip())
        p.add_argument("--dir", default=str(DEFAULT_LAB_DIR), help="lab directory")
        p.set_defaults(func=func)
        _add_lab_control_options(p, name)


def build_parser() -> argparse.ArgumentParser:
    """The ``mdstools`` argument parser: one subcommand per command of the README's table."""
    parser = argparse.ArgumentParser(
        prog="mdstools",
        description="Check Point MDS High Availability upgrade runbooks, and their lab.",
    )
    parser.add_argument("--version", action="version", version=f"mdstools {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_status(sub)
    common = _run_options()
    _add_run(sub, common)
    _add_campaign(sub, common)
    _add_plan(sub)
    _add_verify(sub)
    _add_seal(sub)
    _add_bundle(sub)
    _add_jupyter(sub)
    _add_demo(sub)
    _add_rehearse(sub)
    _add_lab(sub)
    return parser
