"""``mdstools demo``: the whole campaign on the embedded lab.

A launcher of the lab: it imports only the lab's ``runtime`` and ``scenarios``."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from mdstools.cli.exits import error_code
from mdstools.cli.inputs import check_report, check_ticket, login_name
from mdstools.cli.runs import campaign_summary
from mdstools.errors import ExitCode, MdstoolsError, shown
from mdstools.phases import MAX_TIME_SCALE


def _demo_problem(args: argparse.Namespace) -> str | None:
    """What is wrong with ``demo``'s scenario, domains or time scale, if anything."""
    from mdstools.lab.scenarios import SCENARIOS

    if args.scenario not in SCENARIOS:
        return f"unknown scenario {shown(args.scenario)}; choose one of: {', '.join(SCENARIOS)}"
    if not 1 <= args.domains <= 500:
        return "--domains must be between 1 and 500"
    if not (math.isfinite(args.time_scale) and 0 < args.time_scale <= MAX_TIME_SCALE):
        return f"--time-scale must be a number above 0 and at most {MAX_TIME_SCALE:g}"
    return None


def _demo_campaign(lab_dir: Path, ticket: str, reports: Path) -> int:
    """The whole campaign on the running lab, its summary and the record verified; the exit
    code (the message of a failure is printed)."""
    from mdstools import audit, inventory, lock, runbook
    from mdstools.phases import CAMPAIGN

    try:
        inv = inventory.load(lab_dir / "inventory.yml")
        held = lock.acquire(inv.environment, ticket, "00", login_name(), break_stale=True)
        try:
            outcomes = runbook.campaign(
                list(CAMPAIGN),
                inv,
                ticket,
                login_name(),
                {"confirm": True},
                False,
                reports,
                held,
            )
        finally:
            held.release()
        rc = campaign_summary(outcomes, inv.environment, ticket, reports)
        result = audit.verify(reports / ticket)
        print(
            f"verify: {'OK' if result.ok else 'FAILED'} ({result.runs} runs sealed, "
            f"head {(result.head or '')[:16]})"
        )
        if not result.ok:
            rc = ExitCode.FAILED
    except lock.LockDirError as exc:
        print(f"mdstools demo: {exc}", file=sys.stderr)
        rc = ExitCode.USAGE
    except MdstoolsError as exc:
        print(f"mdstools demo: {exc}", file=sys.stderr)
        rc = ExitCode.FAILED
    return rc


def cmd_demo(args: argparse.Namespace) -> int:
    """The whole job on the embedded lab: lab up, the campaign 00..08 headless, verify, lab down.

    Prints where the report is. Takes about a minute once .venv exists.
    """
    import tempfile
    import time

    from mdstools.lab import runtime
    from mdstools.lab.scenarios import LabOptions

    problem = _demo_problem(args)
    if problem:
        print(f"mdstools demo: {problem}", file=sys.stderr)
        return ExitCode.USAGE
    ticket = args.ticket or f"DEMO-{time.strftime('%Y%m%d-%H%M%S')}"
    if not check_ticket("demo", ticket):
        return ExitCode.USAGE
    reports = Path(args.reports).resolve()
    try:
        check_report(reports, ticket)
    except (MdstoolsError, OSError) as exc:
        return error_code("demo", exc)
    from mdstools import runbook  # noqa: F401  papermill: loaded once the arguments hold

    lab_dir = Path(args.dir).resolve() if args.dir else Path(tempfile.mkdtemp(prefix="mdst-lab-"))
    print(
        f"demo: starting the lab (scenario {args.scenario}, {args.domains} domains) in {lab_dir}",
        file=sys.stderr,
    )
    try:
        runtime.up(
            lab_dir,
            LabOptions(scenario=args.scenario, domains=args.domains, time_scale=args.time_scale),
        )
    except runtime.LabRuntimeError as exc:
        print(f"mdstools demo: {exc}", file=sys.stderr)
        return ExitCode.FAILED
    started = time.monotonic()
    try:
        rc = _demo_campaign(lab_dir, ticket, reports)
    finally:
        runtime.down(lab_dir)
    outcome = "passed" if rc == ExitCode.OK else "FAILED"
    print(
        f"demo {outcome} in {time.monotonic() - started:.0f} s; "
        f"open {reports / ticket} (HTML next to each notebook); lab files in {lab_dir}"
    )
    return rc
